"""``comixup-bench figures``: the batch, its saliency, every mix, the PNGs, the MLflow record.

With ``run_id`` the saliency is that run's model's and the PNGs become artifacts of that run
(under ``figures/``); without, the saliency is the spectral residual and the PNGs go to a run
of their own in the experiment ``figures``. Everything is seeded: the same seed writes the
same PNGs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from benchmarks.data.spec import DatasetSpec
from benchmarks.errors import UserError
from benchmarks.figures import draw
from benchmarks.figures.mixes import Mix, comixup_mix, pairwise_mixes
from benchmarks.figures.photos import IMAGE_SIZE, PhotoBatch, builtin_batch, imagenet_batch
from benchmarks.figures.saliency import model_saliency, spectral_residual

EXPERIMENT = "figures"
ARTIFACT_PATH = "figures"
FILES = {
    "inputs": "figure7-inputs.png",
    "comixup": "figure8-comixup.png",
    "comixup_large_tau": "figure9-comixup-larger-tau.png",
    "mixers": "figure-mixers.png",
    "summary": "figures.md",
}
MIXER_COLUMNS = 8
"""Outputs per mixer in the side-by-side figure."""


@dataclass
class FigureSet:
    """What ``make_figures`` wrote and measured."""

    files: list[Path]
    run_id: str
    saliency: str
    sources: dict[str, list[int]] = field(default_factory=dict)
    """Inputs per output, per mix (name -> one count per output)."""
    seconds: float = 0.0


def load_run_model(run_id: str) -> tuple[torch.nn.Module, DatasetSpec, str]:
    """The trained model of MLflow run ``run_id`` (``benchmarks.runner.trained``), its
    dataset's spec and a one-line description for captions."""
    from benchmarks.runner.trained import load_trained

    trained = load_trained(run_id)
    if trained.spec.channels != 3:
        raise UserError(
            f"run {run_id} trained on {trained.dataset} ({trained.spec.channels}-channel "
            "inputs); the figures need a model of RGB images: pass an image run, or leave "
            "--run-id out."
        )
    what = f"input gradients of run {run_id} ({trained.describe()}, at its predicted class)"
    return trained.model, trained.spec, what


def _saliency(batch: PhotoBatch, run_id: str | None) -> tuple[torch.Tensor, str]:
    if run_id is None:
        what = "spectral residual of each photo (Hou & Zhang 2007; no network)"
        return spectral_residual(batch.images), what
    model, spec, what = load_run_model(run_id)
    saliency = model_saliency(
        model, batch.images, image_size=spec.image_size, mean=spec.mean, std=spec.std
    )
    return saliency, what


def compute(
    *,
    seed: int,
    tau_large: float,
    run_id: str | None = None,
    imagenet_dir: Path | None = None,
    image_size: int = IMAGE_SIZE,
) -> tuple[PhotoBatch, torch.Tensor, str, list[Mix]]:
    """The batch, its saliency (and what it is), and the mixes: Co-Mixup at the default tau,
    at ``tau_large``, then the pairwise mixers. ``image_size`` other than ImageNet's 224 is
    for quick tests."""
    from comixup.config import CoMixupConfig

    generator = torch.Generator().manual_seed(seed)
    if imagenet_dir is not None:
        batch = imagenet_batch(imagenet_dir, generator, size=image_size)
    else:
        batch = builtin_batch(generator, size=image_size)
    saliency, what = _saliency(batch, run_id)
    mixes = [
        comixup_mix(batch.images, saliency, tau=CoMixupConfig().tau, seed=seed),
        comixup_mix(batch.images, saliency, tau=tau_large, seed=seed, key="comixup_larger_tau"),
        *pairwise_mixes(batch.images, saliency, seed=seed),
    ]
    return batch, saliency, what, mixes


def _mean(counts: torch.Tensor) -> str:
    return f"{counts.float().mean().item():.2f}"


def write_pngs(
    out: Path, batch: PhotoBatch, saliency: torch.Tensor, what: str, mixes: list[Mix], seed: int
) -> list[Path]:
    from comixup.config import CoMixupConfig

    out.mkdir(parents=True, exist_ok=True)
    default, large = mixes[0], mixes[1]
    grid = CoMixupConfig().grid_size
    paths = {key: out / name for key, name in FILES.items()}
    draw.inputs_figure(
        batch.images,
        saliency,
        batch.names,
        title=f"Figure 7: the batch ({batch.source}; seed {seed}) and its saliency: {what}. "
        f"Lines: Co-Mixup's {grid}x{grid} labeling grid.",
        grid=grid,
        path=paths["inputs"],
    )
    for mix, key, number, which in (
        (default, "comixup", 8, "the default"),
        (large, "comixup_large_tau", 9, "a larger"),
    ):
        draw.outputs_figure(
            mix,
            title=f"Figure {number}: Co-Mixup outputs at {which} tau ({mix.settings}), each with "
            f"its sources (letters of Figure 7) and shares; {_mean(mix.sources)} inputs per "
            f"output on average. Saliency: {what}.",
            path=paths[key],
        )
    order = [*mixes[2:], default, large]
    draw.mixers_figure(
        batch.images,
        saliency,
        order,
        columns=MIXER_COLUMNS,
        title=f"The same batch through every mixer (outputs 1-{MIXER_COLUMNS}, seed {seed}); "
        f"saliency: {what}.",
        path=paths["mixers"],
    )
    return [paths[key] for key in ("inputs", "comixup", "comixup_large_tau", "mixers")]


def summary(paths: list[Path], what: str, mixes: list[Mix], batch: PhotoBatch, command: str) -> str:
    lines = [
        "# Mixes as pictures (paper Figures 7-9, and every mixer)",
        "",
        f"Command: `{command}`. Inputs: {batch.source}. Saliency: {what}.",
        "",
        "| mix | settings | inputs per output (mean) | min | max |",
        "| --- | --- | --- | --- | --- |",
    ]
    for mix in mixes:
        counts = mix.sources
        lines.append(
            f"| {mix.name} | {mix.settings} | {_mean(counts)} | {int(counts.min())} | "
            f"{int(counts.max())} |"
        )
    lines += ["", *(f"- `{path.name}`" for path in paths), ""]
    return "\n".join(lines)


def log_to_mlflow(
    files: list[Path], run_id: str | None, params: dict[str, str], metrics: dict
) -> str:
    """The files as artifacts of run ``run_id``, or of a new run in :data:`EXPERIMENT`."""
    import mlflow
    from mlflow.tracking import MlflowClient

    from benchmarks.runner.tracking import environment_tags, start_run

    if run_id is not None:
        client = MlflowClient()
        for path in files:
            client.log_artifact(run_id, str(path), ARTIFACT_PATH)
        return run_id
    with start_run(EXPERIMENT, run_name=f"figures-s{params['seed']}") as run:
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        mlflow.set_tags(environment_tags(torch.device("cpu")))
        for path in files:
            mlflow.log_artifact(str(path), ARTIFACT_PATH)
    return run.info.run_id


def make_figures(
    out: Path,
    *,
    seed: int,
    tau_large: float,
    run_id: str | None = None,
    imagenet_dir: Path | None = None,
    command: str = "comixup-bench figures",
    image_size: int = IMAGE_SIZE,
) -> FigureSet:
    """Write the PNGs (and ``figures.md``) to ``out`` and log them to MLflow."""
    from benchmarks.runner.tracking import connect

    connect()  # before anything is computed: an unreachable store fails first
    start = time.perf_counter()
    batch, saliency, what, mixes = compute(
        seed=seed,
        tau_large=tau_large,
        run_id=run_id,
        imagenet_dir=imagenet_dir,
        image_size=image_size,
    )
    pngs = write_pngs(out, batch, saliency, what, mixes, seed)
    notes = out / FILES["summary"]
    notes.write_text(summary(pngs, what, mixes, batch, command))
    files = [*pngs, notes]
    params = {
        "seed": str(seed),
        "tau_large": str(tau_large),
        "inputs": batch.source,
        "saliency": what,
    }
    metrics = {f"sources_per_output.{mix.key}": mix.sources.float().mean().item() for mix in mixes}
    logged = log_to_mlflow(files, run_id, params, metrics)
    sources = {mix.name: mix.sources.tolist() for mix in mixes}
    return FigureSet(files, logged, what, sources, time.perf_counter() - start)
