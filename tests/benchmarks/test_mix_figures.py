"""``comixup-bench figures``: the PNGs and their MLflow record, the shares each caption names,
seeding, the ImageNet folder and a trained run's saliency."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest
import torch
from mlflow.tracking import MlflowClient
from PIL import Image

from baselines.cutmix import CutMix
from baselines.input_mixup import InputMixup
from benchmarks.cli import main
from benchmarks.commands import figures as figures_command
from benchmarks.errors import UserError
from benchmarks.figures import draw, make, mixes
from benchmarks.figures.photos import builtin_batch, imagenet_batch
from benchmarks.figures.saliency import spectral_residual
from comixup.config import CoMixupConfig
from comixup.mixing import CoMixup

SMALL = 64
"""Image side for the quick tests (the command draws at 224)."""
PNGS = [name for name in make.FILES.values() if name.endswith(".png")]


@pytest.fixture(scope="module")
def small_batch():
    batch = builtin_batch(torch.Generator().manual_seed(0), size=SMALL)
    return batch, spectral_residual(batch.images)


def _artifacts(run_id: str) -> set[str]:
    return {item.path for item in MlflowClient().list_artifacts(run_id, make.ARTIFACT_PATH)}


def test_command_writes_the_pngs_and_logs_them_to_a_figures_run(store, capsys):
    assert main(["figures", "--out", "reports", "--seed", "1"]) == 0
    printed = capsys.readouterr().out
    for name in make.FILES.values():
        assert (Path("reports") / name).is_file()
    for name in PNGS:
        with Image.open(f"reports/{name}") as image:
            assert image.format == "PNG" and min(image.size) > 500
    [experiment] = [e for e in mlflow.search_experiments() if e.name == make.EXPERIMENT]
    [run] = MlflowClient().search_runs([experiment.experiment_id])
    assert run.info.run_id in printed
    assert _artifacts(run.info.run_id) == {f"figures/{name}" for name in make.FILES.values()}
    assert run.data.params["seed"] == "1"
    # More inputs per Co-Mixup output at the larger tau, as the summary says.
    default = run.data.metrics["sources_per_output.comixup"]
    larger = run.data.metrics["sources_per_output.comixup_larger_tau"]
    assert run.data.params["tau_large"] == str(figures_command.TAU_LARGE)
    assert 1 < default < larger
    assert "inputs per output" in Path("reports/figures.md").read_text()


def test_shares_are_each_mixers_labels_and_sum_to_one(small_batch):
    batch, saliency = small_batch
    images, size = batch.images, batch.images.shape[0]
    identity = torch.arange(size)
    comixup, _, input_mixup, _, cutmix, _ = [
        mixes.comixup_mix(images, saliency, tau=0.83, seed=2),
        mixes.comixup_mix(images, saliency, tau=0.99, seed=2),
        *mixes.pairwise_mixes(images, saliency, seed=2),
    ]
    for mix in (comixup, input_mixup, cutmix):
        torch.testing.assert_close(mix.shares.sum(dim=1), torch.ones(size))
        assert (mix.shares >= 0).all()
    # Co-Mixup's shares (from its labeling) are the soft labels of the mixer called as usual.
    mixer = CoMixup(CoMixupConfig(partition_size=size), num_classes=size)
    x, y = mixer(images, identity, saliency=saliency, generator=mixes._generator(2, 0))
    assert torch.equal(x, comixup.images)
    torch.testing.assert_close(comixup.shares, y)
    # The pairwise mixers' shares are their own labels; Input Mixup's outputs are the blends.
    x, y = InputMixup(alpha=1.0, num_classes=size)(
        images, identity, generator=mixes._generator(2, 1)
    )
    torch.testing.assert_close(input_mixup.shares, y)
    blends = torch.einsum("ji,ichw->jchw", input_mixup.shares, images)
    torch.testing.assert_close(input_mixup.images, blends)
    x, y = CutMix(alpha=1.0, num_classes=size)(images, identity, generator=mixes._generator(2, 3))
    torch.testing.assert_close(cutmix.shares, y)
    assert (input_mixup.sources <= 2).all() and (cutmix.sources <= 2).all()


def test_every_pairwise_share_is_drawn_from_at_most_two_inputs(small_batch):
    batch, saliency = small_batch
    for mix in mixes.pairwise_mixes(batch.images, saliency, seed=0):
        assert ((mix.sources >= 1) & (mix.sources <= 2)).all(), mix.name
        torch.testing.assert_close(mix.shares.sum(dim=1), torch.ones(len(mix.shares)))


def test_same_seed_same_pngs_other_seed_other_mixes(small_batch, tmp_path):
    def draw_once(seed: int, folder):
        batch, saliency, what, mixed = make.compute(seed=seed, tau_large=0.99, image_size=SMALL)
        paths = make.write_pngs(folder, batch, saliency, what, mixed, seed)
        return mixed, [path.read_bytes() for path in paths]

    first, first_pngs = draw_once(4, tmp_path / "a")
    again, again_pngs = draw_once(4, tmp_path / "b")
    other, _ = draw_once(5, tmp_path / "c")
    for a, b in zip(first, again, strict=True):
        assert torch.equal(a.images, b.images) and torch.equal(a.shares, b.shares)
    assert first_pngs == again_pngs
    assert not torch.equal(first[0].shares, other[0].shares)


def test_share_caption_names_sources_largest_first():
    shares = torch.zeros(30)
    shares[[0, 5, 10]] = torch.tensor([0.1875, 0.5, 0.3125])
    assert draw.share_caption(shares) == "F 50% · K 31% · A 19%"
    shares = torch.zeros(30)
    shares[[1, 2, 3, 27]] = 0.25
    assert draw.share_caption(shares) == "B 25% · C 25% · D 25% · +1"
    assert [draw.letter(i) for i in (0, 25, 26, 27)] == ["A", "Z", "AA", "AB"]


def test_defaults_shown_in_help_equal_the_real_ones():
    assert figures_command.TAU_LARGE == mixes.TAU_LARGE
    assert CoMixupConfig().tau < mixes.TAU_LARGE


def _imagenet_fixture(root, classes: int, per_class: int):
    generator = torch.Generator().manual_seed(0)
    for c in range(classes):
        folder = root / "val" / f"n{c:08d}"
        folder.mkdir(parents=True)
        for i in range(per_class):
            pixels = torch.randint(0, 256, (30 + i, 40, 3), generator=generator, dtype=torch.uint8)
            Image.fromarray(pixels.numpy()).save(folder / f"ILSVRC2012_val_{c:04d}{i:04d}.JPEG")


def test_imagenet_folder_gives_a_batch_of_its_validation_images(tmp_path):
    _imagenet_fixture(tmp_path, classes=5, per_class=6)
    batch = imagenet_batch(tmp_path, torch.Generator().manual_seed(0), size=SMALL)
    assert batch.images.shape == (24, 3, SMALL, SMALL)
    assert batch.images.min() >= 0 and batch.images.max() <= 1
    # one class after another: the first five inputs are five different classes
    assert len(set(batch.labels[:5].tolist())) == 5
    assert sorted(torch.bincount(batch.labels).tolist()) == [4, 5, 5, 5, 5]
    assert all(name.startswith("n0000") for name in batch.names)


def test_imagenet_folder_errors_say_what_to_do(tmp_path):
    with pytest.raises(UserError, match="--imagenet-dir"):
        imagenet_batch(tmp_path, torch.Generator())
    _imagenet_fixture(tmp_path, classes=2, per_class=3)
    with pytest.raises(UserError, match="holds 6 images; the figures need 24"):
        imagenet_batch(tmp_path, torch.Generator())


def test_run_id_takes_the_runs_saliency_and_logs_into_that_run(store, capsys):
    smoke = ["--epochs", "1", "--limit-batches", "1", "--width", "4", "--no-progress"]
    assert main(["train", "--dataset", "builtin", "--method", "cutmix", *smoke]) == 0
    [run] = mlflow.search_runs(search_all_experiments=True, output_format="list")
    result = make.make_figures(
        Path("reports"),
        seed=0,
        tau_large=0.99,
        run_id=run.info.run_id,
        image_size=SMALL,
    )
    assert result.run_id == run.info.run_id
    assert f"input gradients of run {run.info.run_id}" in result.saliency
    assert _artifacts(run.info.run_id) == {f"figures/{name}" for name in make.FILES.values()}
    assert run.info.run_id in Path("reports/figures.md").read_text()
    # no run of its own: the training run is the only one
    assert len(mlflow.search_runs(search_all_experiments=True, output_format="list")) == 1


def test_run_id_unknown_is_a_user_error(store, capsys):
    assert main(["figures", "--run-id", "0" * 32]) == 2
    assert "has no run" in capsys.readouterr().err
