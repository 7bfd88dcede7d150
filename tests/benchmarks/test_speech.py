"""The speech path: the Speech Commands loader on a tiny fixture in the real layout, the
spectrograms, the built-in spoken-words set, LeNet / VGG-11 and every method on spectrograms."""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

import pytest
import torch
import torchaudio
from scipy.io import wavfile
from speech_fixture import SPEAKERS, V001_WORDS, write_speech_commands

from benchmarks.data import (
    DatasetNotFoundError,
    build_splits,
    check_dataset,
    dataset_spec,
    speech,
    speech_builtin,
)
from benchmarks.methods import METHOD_NAMES, get_method
from benchmarks.models import get_model

SHAPE = (1, 160, 100)


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """The 30-word fixture and its three splits, loaded once for the module."""
    root = tmp_path_factory.mktemp("speech")
    folder = write_speech_commands(root)
    return root, folder, build_splits("speechcommands", root)


# --- the loader ------------------------------------------------------------------------------


def test_the_loader_honours_the_lists_and_excludes_background_noise(release):
    _, folder, (train, test, val) = release
    assert train.classes == sorted(V001_WORDS) and "_background_noise_" not in train.classes
    assert (len(train), len(val), len(test)) == (30 * 3, 30, 30)
    for split, data in (("val", val), ("test", test)):
        listed = "validation_list.txt" if split == "val" else "testing_list.txt"
        assert sorted(data.files) == sorted((folder / listed).read_text().split())
        assert {name.split("/")[1].split("_")[0] for name in data.files} == set(SPEAKERS[split])
    assert not set(train.files) & (set(val.files) | set(test.files))
    assert not any("background" in name for name in train.files + val.files + test.files)
    for data in (train, val, test):
        assert [data.classes[t] for t in data.targets] == [f.split("/")[0] for f in data.files]
        check_dataset(data, dataset_spec("speechcommands"), split="any")


def test_items_are_normalised_160x100_spectrograms(release):
    _, _, (train, _, _) = release
    for index in (0, 45, 89):
        x, label = train[index]
        assert x.shape == SHAPE and x.dtype == torch.float32 and isinstance(label, int)
        assert abs(x.mean().item()) < 1e-2 and x.std().item() == pytest.approx(1.0, abs=1e-2)


def test_the_spectrogram_recipe():
    t = torch.arange(12_000) / 16_000  # 0.75 s: padded to one second
    wave = speech.fix_length(0.5 * torch.sin(2 * torch.pi * 1000 * t), 16_000)
    assert wave.shape == (16_000,) and torch.all(wave[12_000:] == 0)
    assert speech.fix_length(torch.ones(20_000), 16_000).shape == (16_000,)
    spec = speech.spectrograms(wave.unsqueeze(0))[0]
    assert spec.shape == SHAPE[1:]
    assert spec.mean().abs() < 1e-5 and spec.std() == pytest.approx(1.0, abs=1e-5)
    # 50 Hz per bin: the 1 kHz tone is in bin 20, and only the first 75 frames hear it.
    assert spec[:, :70].mean(1).argmax() == 20
    assert spec[20, :70].mean() > spec[20, 80:].mean() + 1
    silent = speech.spectrograms(torch.zeros(1, 16_000))
    assert torch.equal(silent, torch.zeros(1, 160, 100))
    with pytest.raises(ValueError, match="pad or cut them"):
        speech.spectrograms(torch.zeros(1, 8000))


def test_features_are_cached_and_recomputed_when_the_split_changes(tmp_path, monkeypatch):
    folder = write_speech_commands(tmp_path, V001_WORDS[:3])
    first = speech.load_splits(tmp_path, progress=False)
    assert len(list((tmp_path / speech.CACHE_FOLDER).rglob("*.pt"))) == 3

    def no_computing(*args, **kwargs):
        raise AssertionError("features recomputed despite a valid cache")

    monkeypatch.setattr(speech, "compute_features", no_computing)
    again = speech.load_splits(tmp_path, progress=False)
    assert torch.equal(again[0].features, first[0].features)
    (folder / "testing_list.txt").write_text("bed/4d5e6f70_nohash_0.wav\n")
    monkeypatch.undo()
    changed = speech.load_splits(tmp_path, progress=False)
    assert len(changed[1]) == 1 and len(changed[0]) == len(first[0]) + 2


def test_the_unpacked_folder_is_accepted_as_data_dir(release):
    _, folder, (train, _, _) = release
    train_again, _, _ = speech.load_splits(folder, progress=False)
    assert train_again.files == train.files


def test_the_archive_unpacked_into_any_folder_is_accepted(release, tmp_path):
    """The v0.01 archive holds ``./<word>/...`` and the lists at its top level, so
    ``tar xzf speech_commands_v0.01.tar.gz -C sc`` puts them straight into ``sc``."""
    _, folder, (train, test, val) = release
    archive = tmp_path / "speech_commands_v0.01.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=".", filter=lambda info: None if "comixup" in info.name else info)
    unpacked = tmp_path / "sc"
    unpacked.mkdir()
    with tarfile.open(archive) as tar:
        tar.extractall(unpacked, filter="data")
    assert (unpacked / "testing_list.txt").is_file()
    again = build_splits("speechcommands", unpacked)
    assert [split.files for split in again] == [train.files, test.files, val.files]
    assert [split.targets for split in again] == [train.targets, test.targets, val.targets]
    assert (unpacked / speech.CACHE_FOLDER).is_dir()  # its cache stays inside its own folder


@pytest.mark.parametrize(("split", "subset"), [("train", "training"), ("val", "validation"),
                                               ("test", "testing")])  # fmt: skip
def test_the_splits_are_torchaudios(release, split, subset):
    root, folder, _ = release
    listing = torchaudio.datasets.SPEECHCOMMANDS(root, url=speech.URL, subset=subset)
    expected = [
        Path(listing.get_metadata(n)[0]).relative_to(speech.URL).as_posix()
        for n in range(len(listing))
    ]
    assert speech.split_files(folder, split) == expected


def test_a_missing_release_names_the_download_command(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"Speech Commands v0\.01 not found") as error:
        build_splits("speechcommands", tmp_path)
    assert "url='speech_commands_v0.01', download=True" in str(error.value)
    assert "--download" in str(error.value)
    newer = tmp_path / "SpeechCommands" / "speech_commands_v0.02"
    newer.mkdir(parents=True)
    with pytest.raises(DatasetNotFoundError, match=r"35-word v0\.02"):
        build_splits("speechcommands", tmp_path)
    with pytest.raises(ValueError, match="--data-dir"):
        build_splits("speechcommands", None)


# --- the built-in spoken-words set --------------------------------------------------------------


def test_speech_builtin_without_espeak_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(DatasetNotFoundError, match="apt-get install espeak-ng"):
        build_splits("speech-builtin", tmp_path)
    assert not any(tmp_path.iterdir())


def test_speech_builtin_uses_a_set_already_in_data_dir(tmp_path, monkeypatch):
    write_speech_commands(tmp_path, speech_builtin.WORDS)
    monkeypatch.setattr(shutil, "which", lambda name: None)  # nothing to synthesise
    train, test, val = build_splits("speech-builtin", tmp_path)
    check_dataset(train, speech_builtin.SPEC, split="train")
    assert (len(train), len(val), len(test)) == (30, 10, 10)


@pytest.mark.skipif(
    shutil.which("espeak-ng") is None,
    reason="espeak-ng is not installed (apt-get install espeak-ng); the other speech tests "
    "use tone fixtures in the same layout",
)
def test_speech_builtin_synthesises_the_release_layout(tmp_path):
    folder = speech_builtin.make_speech_builtin(tmp_path)
    assert folder == tmp_path / "SpeechCommands" / "speech_commands_v0.01"
    wavs = sorted(folder.glob("*/*_nohash_0.wav"))
    assert len(wavs) == 10 * 36
    assert {path.parent.name for path in wavs} == set(speech_builtin.WORDS)
    rate, data = wavfile.read(wavs[0])
    assert rate == 16_000 and data.dtype.name == "int16" and data.shape == (16_000,)
    assert len((folder / "validation_list.txt").read_text().split()) == 40
    assert len((folder / "testing_list.txt").read_text().split()) == 40
    assert (folder / "_background_noise_").is_dir()
    train, test, val = speech_builtin.build(tmp_path)
    assert (len(train), len(val), len(test)) == (280, 40, 40)
    assert train.classes == sorted(speech_builtin.WORDS) and train[0][0].shape == SHAPE
    again = speech_builtin.make_speech_builtin(tmp_path)  # kept, not rebuilt
    assert again == folder and wavfile.read(wavs[0])[1].tolist() == data.tolist()


# --- models and methods on spectrograms --------------------------------------------------------


def test_speech_models_are_the_reference_nets_at_160x100():
    lenet, vgg = get_model("lenet", 30), get_model("vgg11", 30)
    # GCommandsPytorch model.py: Linear(16280, 1000) and Linear(7680, 512), 30 outputs.
    assert lenet.head[2].in_features == 16_280 and vgg.head[2].in_features == 7_680
    assert sum(p.numel() for p in lenet.parameters()) == 16_321_570
    assert sum(p.numel() for p in vgg.parameters()) == 13_172_894
    x = torch.randn(2, *SHAPE)
    assert lenet.block2(lenet.block1(x)).shape[-2:] == (37, 22)  # the pool is the identity
    assert vgg.block3(vgg.block2(vgg.block1(x))).shape[-2:] == (5, 3)


@pytest.mark.parametrize("name", ["lenet", "vgg11"])
def test_speech_models_compose_their_mixing_stages(name):
    torch.manual_seed(0)
    model = get_model(name, 10, width=4).eval()
    x = torch.randn(3, *SHAPE)
    with torch.no_grad():
        out = x
        for stage in model.mixing_stages():
            out = stage(out)
        torch.testing.assert_close(out, model(x), rtol=0, atol=0)
    assert out.shape == (3, 10)


@pytest.mark.parametrize("method", METHOD_NAMES)
@pytest.mark.parametrize("model_name", ["lenet", "vgg11"])
def test_every_method_trains_on_a_spectrogram_batch(method, model_name):
    torch.manual_seed(0)
    model = get_model(model_name, 10, width=2)
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(8, *SHAPE, generator=generator)
    y = torch.arange(8) % 10
    settings = {"block_nums": (2, 8, 16)} if method == "puzzle_mix" else {}
    runner = get_method(method, num_classes=10, dataset="speechcommands", **settings)
    for _ in range(2 if method == "puzzle_mix" else 1):  # two grid draws
        loss, _ = runner.loss(model, x, y, generator=generator)
        assert torch.isfinite(loss)
        loss.backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
