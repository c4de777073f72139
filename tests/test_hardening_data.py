"""Hardening (issue 14, sections 1, 2 and the augmentation fill of 7): image folders as
people have them, the files of torchvision datasets as people have them, settings that
cannot work refused before anything is created, and what augmentation shows where an
image moved away. Every picture, archive and folder here is a real file written by the
test; nothing is downloaded."""

from __future__ import annotations

import dataclasses
import gzip
import io
import math
import os
import pickle
import resource
import shutil
import subprocess
import sys
import tarfile
import typing
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from helpers import tiny, write_idx
from regtui import config, presets
from regtui.cli import app
from regtui.config import AugmentConfig, ConfigError, DataConfig
from regtui.train import SetupError, data, start
from regtui.train.augment import Augmenter

CPU = torch.device("cpu")
SIDE = 16
# The truth every grey file below encodes: a left-to-right ramp from black to white.
RAMP = np.tile(np.linspace(0, 255, SIDE).round().astype(np.uint8), (SIDE, 1))


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def one_line_error(result, *needles: str) -> None:
    """Exit status 2, one line, no traceback, naming what it must."""
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in result.output, (needle, result.output)


def save(image: Image.Image, path: Path, **options) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **options)
    return path


def flat(path: Path, value: int | tuple[int, ...], mode: str = "L", size: int = SIDE) -> Path:
    return save(Image.new(mode, (size, size), value), path)


def two_classes(root: Path, per_class: int = 10, dark: int = 30, light: int = 220) -> None:
    for index in range(per_class):
        flat(root / "cats" / f"{index:03}.png", dark)
        flat(root / "dogs" / f"{index:03}.png", light)


def load_folder(root: Path, **settings) -> data.Dataset:
    settings.setdefault("image_size", SIDE)
    return data.load(DataConfig(dataset="imagefolder", data_dir=str(root), **settings), CPU)


# ---------------------------------------------------------------- 1. hidden and system entries

HIDDEN_FOLDERS = [".ipynb_checkpoints", "__MACOSX", ".git", "@eaDir", "$RECYCLE.BIN",
                  ".Trash-1000", "System Volume Information", "#recycle", "lost+found"]


@pytest.mark.parametrize("hidden", HIDDEN_FOLDERS)
@pytest.mark.parametrize("holding", ["nothing", "an image"])
def test_hidden_and_system_folders_never_become_classes(tmp_path: Path, hidden: str,
                                                         holding: str) -> None:
    two_classes(tmp_path)
    (tmp_path / hidden).mkdir()
    if holding == "an image":
        flat(tmp_path / hidden / "copy.png", 128)
    loaded = load_folder(tmp_path)
    assert loaded.classes == ["cats", "dogs"]
    assert len(loaded.train) + len(loaded.val) + len(loaded.test) == 20
    said = [w for w in loaded.warnings if "hidden or system" in w]
    assert len(said) == 1 and hidden in said[0]


def test_apple_double_thumbs_and_ds_store_files_are_skipped_quietly_once(tmp_path: Path) -> None:
    two_classes(tmp_path)
    macosx = tmp_path / "__MACOSX" / "cats"
    macosx.mkdir(parents=True)
    for index in range(3):  # AppleDouble resource forks: image names, not images
        (macosx / f"._{index:03}.png").write_bytes(b"\x00\x05\x16\x07" + bytes(60))
        (tmp_path / "cats" / f"._{index:03}.png").write_bytes(b"\x00\x05\x16\x07" + bytes(60))
    (tmp_path / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (tmp_path / "dogs" / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")
    (tmp_path / "dogs" / ".hidden").mkdir()
    flat(tmp_path / "dogs" / ".hidden" / "x.png", 0)
    loaded = load_folder(tmp_path)
    assert loaded.classes == ["cats", "dogs"]
    assert len(loaded.train) + len(loaded.val) + len(loaded.test) == 20
    assert not any("unreadable" in w for w in loaded.warnings), loaded.warnings
    assert sum("hidden or system" in w for w in loaded.warnings) == 1


@pytest.mark.parametrize("content", ["empty", "unreadable files", "only text files"])
def test_a_class_folder_without_a_readable_image_is_dropped_with_its_name(
        tmp_path: Path, content: str) -> None:
    two_classes(tmp_path)
    birds = tmp_path / "birds"
    birds.mkdir()
    if content == "unreadable files":
        (birds / "a.png").write_bytes(b"not a png")
        (birds / "b.jpg").write_bytes(b"")
    elif content == "only text files":
        (birds / "notes.txt").write_text("hello")
    loaded = load_folder(tmp_path)
    assert loaded.classes == ["cats", "dogs"]
    assert "dropped class folder birds: no readable image in it" in loaded.warnings


# ---------------------------------------------------------------- 1. fewer than 2 classes

@pytest.mark.parametrize("layout", ["one class", "one readable class", "one image each"])
def test_fewer_than_two_classes_or_an_empty_split_is_refused_before_a_run(
        tmp_path: Path, runs_dir: Path, layout: str) -> None:
    root = tmp_path / "images"
    if layout == "one class":
        for index in range(10):
            flat(root / "cats" / f"{index}.png", 30)
    elif layout == "one readable class":
        for index in range(10):
            flat(root / "cats" / f"{index}.png", 30)
            (root / "dogs").mkdir(parents=True, exist_ok=True)
            (root / "dogs" / f"{index}.png").write_bytes(b"broken")
    else:  # 2 images in all: the 20% test split rounds to nothing
        flat(root / "cats" / "0.png", 30)
        flat(root / "dogs" / "0.png", 220)
    result = invoke("run", "--headless", "--dataset", "imagefolder", "--data-dir", str(root),
                    "--device", "cpu", "--epochs", "1", "--runs-dir", str(runs_dir))
    one_line_error(result)
    assert ("at least 2" in result.output or "no test samples" in result.output)
    assert not runs_dir.exists()


# ---------------------------------------------------------------- 1. train/ val/ test/ folders

def split_tree(root: Path, counts: dict[str, int], classes=("ants", "bees")) -> None:
    for split, count in counts.items():
        for label, name in enumerate(classes):
            for index in range(count):
                flat(root / split / name / f"{index:03}.png", 40 + 150 * label)


@pytest.mark.parametrize("names", [("train", "val", "test"), ("train", "valid", "test"),
                                   ("training", "validation", "testing")])
def test_train_val_test_folders_are_the_splits(tmp_path: Path, names) -> None:
    train, val, test = names
    split_tree(tmp_path, {train: 6, val: 3, test: 2})
    loaded = load_folder(tmp_path)
    assert loaded.classes == ["ants", "bees"]
    assert (len(loaded.train), len(loaded.val), len(loaded.test)) == (12, 6, 4)
    assert f"{train}/" in loaded.source and f"{val}/" in loaded.source
    # labels follow the class folders in every split
    for split in (loaded.train, loaded.val, loaded.test):
        means = split.images.float().mean(dim=(1, 2, 3))
        assert torch.equal(means > 100, split.labels == 1)


def test_a_missing_split_folder_is_carved_from_train_and_the_header_says_so(tmp_path: Path) -> None:
    split_tree(tmp_path, {"train": 10, "val": 3})
    loaded = load_folder(tmp_path, test_fraction=0.2)
    assert len(loaded.val) == 6 and len(loaded.test) == 4 and len(loaded.train) == 16
    assert "test carved from train/" in loaded.source
    assert loaded.describe()["source"] == loaded.source


def test_split_folders_must_agree_on_classes(tmp_path: Path) -> None:
    split_tree(tmp_path, {"train": 5, "val": 2})
    flat(tmp_path / "val" / "wasps" / "0.png", 90)
    with pytest.raises(data.DataError, match="wasps"):
        load_folder(tmp_path)
    shutil.rmtree(tmp_path / "val" / "wasps")
    shutil.rmtree(tmp_path / "val" / "bees")
    loaded = load_folder(tmp_path)  # a class missing from val/ is only worth a warning
    assert any("val/ has no images of class bees" in w for w in loaded.warnings)


def test_an_unlabelled_test_folder_is_ignored_with_a_warning(tmp_path: Path) -> None:
    split_tree(tmp_path, {"train": 10})
    for index in range(4):  # Kaggle style: test/ holds the unlabelled images
        flat(tmp_path / "test" / f"{index}.png", 100)
    loaded = load_folder(tmp_path)
    assert loaded.classes == ["ants", "bees"]
    assert any("test/ holds no class folders" in w for w in loaded.warnings)


def test_the_run_header_names_the_split_folders_and_the_warnings(tmp_path: Path,
                                                                  runs_dir: Path) -> None:
    split_tree(tmp_path / "data", {"train": 8, "val": 3, "test": 2})
    (tmp_path / "data" / ".ipynb_checkpoints").mkdir()
    result = invoke("run", "--headless", "--dataset", "imagefolder", "--data-dir",
                    str(tmp_path / "data"), "--device", "cpu", "--epochs", "1",
                    "--set", "data.image_size=8", "--set", "model.hidden=[8]",
                    "--runs-dir", str(runs_dir))
    assert result.exit_code == 0, result.output
    assert "data: train/, val/ and test/ folders" in result.output
    assert "warning: skipped 1 hidden or system" in result.output


@pytest.mark.parametrize("layout", ["classes", "splits"])
def test_a_folder_that_only_wraps_the_dataset_is_looked_into(tmp_path: Path, layout: str) -> None:
    inner = tmp_path / "pets" / "PetImages"  # as unpacking kagglecatsanddogs leaves it
    if layout == "classes":
        two_classes(inner)
    else:
        split_tree(inner, {"train": 5, "val": 2}, classes=("cats", "dogs"))
    (tmp_path / "__MACOSX" / "PetImages").mkdir(parents=True)
    (tmp_path / "readme.txt").write_text("cats and dogs")
    loaded = load_folder(tmp_path)
    assert loaded.classes == ["cats", "dogs"]
    assert str(inner) in loaded.source
    assert len(loaded.train) + len(loaded.val) + len(loaded.test) == (20 if layout == "classes"
                                                                      else 14)


# ---------------------------------------------------------------- 1. image modes

def _grey_files(tmp_path: Path) -> dict[str, tuple[Path, np.ndarray]]:
    """mode name -> (file, the 8-bit grey picture it must read as)."""
    ramp = RAMP.astype(np.float64)
    files = {
        "L png": (save(Image.fromarray(RAMP), tmp_path / "l.png"), RAMP),
        "1-bit png": (save(Image.fromarray(RAMP >= 128), tmp_path / "b.png"),
                      np.where(RAMP >= 128, 255, 0)),
        "16-bit png": (save(Image.fromarray((ramp * 257).astype(np.uint16)),
                            tmp_path / "i16.png"), RAMP),
        "16-bit tiff": (save(Image.fromarray((ramp * 257).astype(np.uint16)),
                             tmp_path / "i16.tif"), RAMP),
        "16-bit big-endian tiff": (save(Image.fromarray((ramp * 257).astype(">u2")),
                                        tmp_path / "i16b.tif"), RAMP),
        "16-bit pgm": (save(Image.fromarray((ramp * 257).astype(np.uint16)),
                            tmp_path / "i16.pgm"), RAMP),
        # a dark 16-bit picture stays dark: its file says 16 bits, not its own range
        "16-bit pgm, dark": (save(Image.fromarray((ramp * 40).astype(np.uint16)),
                                  tmp_path / "dark16.pgm"), np.rint(ramp * 40 / 257)),
        "16-bit tiff, dark": (save(Image.fromarray((ramp * 40).astype(np.uint16)),
                                   tmp_path / "dark16.tif"), np.rint(ramp * 40 / 257)),
        "32-bit int tiff": (save(Image.fromarray((ramp * 1000 + 5).astype(np.int32)),
                                 tmp_path / "i32.tif"), RAMP),
        "float tiff [0, 1]": (save(Image.fromarray((ramp / 255).astype(np.float32)),
                                   tmp_path / "f01.tif"), RAMP),
        "float tiff [-1, 3]": (save(Image.fromarray((ramp / 255 * 4 - 1).astype(np.float32)),
                                    tmp_path / "fwide.tif"), RAMP),
        "LA png, opaque": (save(Image.merge("LA", [Image.fromarray(RAMP),
                                                   Image.new("L", (SIDE, SIDE), 255)]),
                                tmp_path / "la.png"), RAMP),
    }
    grey_palette = Image.new("P", (SIDE, SIDE))
    grey_palette.putpalette([level for value in range(256) for level in (value,) * 3])
    grey_palette.putdata(RAMP.flatten().tolist())
    files["grey palette png"] = (save(grey_palette, tmp_path / "p.png"), RAMP)
    half_clear = np.full((SIDE, SIDE), 255, np.uint8)
    half_clear[:, : SIDE // 2] = 0  # left half transparent: shows the white background
    expected = RAMP.copy()
    expected[:, : SIDE // 2] = 255
    files["LA png, half transparent"] = (save(Image.merge("LA", [
        Image.fromarray(RAMP), Image.fromarray(half_clear)]), tmp_path / "la2.png"), expected)
    return files


def _colour_files(tmp_path: Path) -> dict[str, tuple[Path, np.ndarray]]:
    rgb = np.stack([RAMP, 255 - RAMP, np.full_like(RAMP, 60)], axis=-1)
    picture = Image.fromarray(rgb)
    alpha = Image.new("L", (SIDE, SIDE), 255)
    palette = Image.new("P", (SIDE, SIDE))
    palette.putpalette([c for value in range(256) for c in (value, 255 - value, 60)])
    palette.putdata(RAMP.flatten().tolist())
    half_white = rgb.copy()
    half_white[:, : SIDE // 2] = 255
    half_alpha = np.full((SIDE, SIDE), 255, np.uint8)
    half_alpha[:, : SIDE // 2] = 0
    keyed = palette.copy()  # palette entries of the left half made transparent
    keyed.putdata([0 if x < SIDE // 2 else int(RAMP[0, x]) for _ in range(SIDE)
                   for x in range(SIDE)])
    keyed_expected = rgb.copy()
    keyed_expected[:, : SIDE // 2] = 255
    return {
        "RGBA png, half transparent": (save(Image.merge("RGBA", [*picture.split(),
                                                                 Image.fromarray(half_alpha)]),
                                            tmp_path / "rgba-half.png"), half_white),
        "RGBA png, alpha 0 everywhere": (save(Image.merge("RGBA", [
            *picture.split(), Image.new("L", (SIDE, SIDE), 0)]), tmp_path / "rgba0.png"), rgb),
        "palette png with a transparent entry": (save(keyed, tmp_path / "keyed.png",
                                                      transparency=0), keyed_expected),
        "RGB png": (save(picture, tmp_path / "rgb.png"), rgb),
        "RGBA png, opaque": (save(Image.merge("RGBA", [*picture.split(), alpha]),
                                  tmp_path / "rgba.png"), rgb),
        "colour palette png": (save(palette, tmp_path / "pc.png"), rgb),
        "CMYK tiff": (save(picture.convert("CMYK"), tmp_path / "cmyk.tif"), rgb),
        "CMYK jpeg": (save(picture.convert("CMYK"), tmp_path / "cmyk.jpg", quality=100), rgb),
        "YCbCr tiff": (save(picture.convert("YCbCr"), tmp_path / "ycc.tif"), rgb),
        "LAB tiff": (save(picture.convert("LAB"), tmp_path / "lab.tif"), rgb),
    }


def read_picture(path: Path, size: int):
    from regtui.train.pictures import read_picture

    return read_picture(path, size)


def test_every_grey_mode_reads_as_its_0_to_255_picture(tmp_path: Path) -> None:
    for name, (path, expected) in _grey_files(tmp_path).items():
        picture = read_picture(path, SIDE)
        assert picture.pixels.shape == (SIDE, SIDE, 1), name
        error = (picture.pixels[..., 0].int() - torch.from_numpy(expected.astype(np.int32))).abs()
        assert error.max().item() <= 2, (name, picture.pixels[0, :, 0].tolist())


def test_every_colour_mode_reads_as_its_rgb_picture(tmp_path: Path) -> None:
    for name, (path, expected) in _colour_files(tmp_path).items():
        picture = read_picture(path, SIDE)
        assert picture.pixels.shape == (SIDE, SIDE, 3), name
        # LAB's A band is a colour axis, not alpha
        assert ("transparen" in name) == ("transparency" in (picture.conversion or "")), name
        error = (picture.pixels.int() - torch.from_numpy(expected.astype(np.int32))).abs()
        # JPEG is lossy; 8-bit LAB cannot hold every RGB colour (round trip up to ~20)
        tolerance = 12 if name.endswith("jpeg") else 8 if name.startswith("LAB") else 4
        assert error.float().mean().item() <= tolerance / 2, name
        assert error.max().item() <= tolerance * 3, name


def test_sixteen_bit_and_float_folders_keep_their_classes_apart(tmp_path: Path) -> None:
    for index in range(8):  # 16-bit PNGs: dark 10000/65535, light 50000/65535
        save(Image.fromarray(np.full((SIDE, SIDE), 10000 + index, np.uint16)),
             tmp_path / "dark" / f"{index}.png")
        save(Image.fromarray(np.full((SIDE, SIDE), 0.8 + index / 100, np.float32)),
             tmp_path / "light" / f"{index}.tif")
    loaded = load_folder(tmp_path)
    images = torch.cat([loaded.train.images, loaded.val.images, loaded.test.images])
    labels = torch.cat([loaded.train.labels, loaded.val.labels, loaded.test.labels])
    dark, light = (images[labels == k].float().mean().item() for k in (0, 1))
    assert dark == pytest.approx(10000 / 257, abs=2) and light == pytest.approx(0.835 * 255, abs=2)
    assert any(w.startswith("converted 16 images to 8-bit") and "16-bit grey" in w
               and "float grey" in w for w in loaded.warnings), loaded.warnings


def test_any_colour_picture_makes_the_dataset_rgb_whatever_comes_first(tmp_path: Path) -> None:
    flat(tmp_path / "a" / "000.png", 128)  # first in sorted order, and grey
    for index in range(1, 6):
        flat(tmp_path / "a" / f"{index:03}.png", (250, 10, 10), mode="RGB")
        flat(tmp_path / "b" / f"{index:03}.png", (10, 10, 250), mode="RGB")
    loaded = load_folder(tmp_path, val_fraction=0.2, test_fraction=0.2)
    assert loaded.shape == (3, SIDE, SIDE)
    images = torch.cat([loaded.train.images, loaded.val.images, loaded.test.images])
    labels = torch.cat([loaded.train.labels, loaded.val.labels, loaded.test.labels])
    reds = images[labels == 0].float().mean(dim=(2, 3))
    assert (reds[:, 0] >= 127).all() and (reds[:, 0] - reds[:, 2]).max().item() > 200
    assert any("1 grey images repeated to 3 channels" in w for w in loaded.warnings)


@pytest.mark.parametrize("orientation, bright", [(1, "top"), (3, "bottom"), (6, "right"),
                                                 (8, "left")])
def test_jpeg_exif_orientation_is_applied(tmp_path: Path, orientation: int, bright: str) -> None:
    stored = np.zeros((SIDE, SIDE), np.uint8)
    stored[:4] = 255  # a white band along the top of the stored pixels
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = save(Image.fromarray(stored), tmp_path / "photo.jpg", exif=exif.tobytes(),
                quality=95)
    pixels = read_picture(path, SIDE).pixels[..., 0].float()
    edges = {"top": pixels[:4].mean(), "bottom": pixels[-4:].mean(),
             "left": pixels[:, :4].mean(), "right": pixels[:, -4:].mean()}
    assert max(edges, key=edges.get) == bright, {k: float(v) for k, v in edges.items()}


# ---------------------------------------------------------------- 1. MNIST and CIFAR files

def mnist_files(folder: Path, gz: bool, dotted: bool = False, train: int = 60,
                test: int = 20) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(0)
    for prefix, count in (("train", train), ("t10k", test)):
        labels = torch.arange(count) % 10
        images = torch.randint(0, 256, (count, 28, 28), generator=generator)
        images[:, 0, 0] = labels * 20  # a pixel that tells the class
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            name = f"{prefix}-{kind}-ubyte"
            if dotted:
                name = name.replace("-idx", ".idx")
            write_idx(folder / name, array)
            if gz:
                raw = (folder / name).read_bytes()
                (folder / f"{name}.gz").write_bytes(gzip.compress(raw))
                (folder / name).unlink()


@pytest.mark.parametrize("dataset, folder", [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")])
@pytest.mark.parametrize("where, gz, dotted", [("raw", True, False), ("raw", False, False),
                                               ("folder", True, False), ("root", True, True)])
def test_mnist_style_files_are_read_gzipped_or_not(tmp_path: Path, dataset: str, folder: str,
                                                   where: str, gz: bool, dotted: bool) -> None:
    target = {"raw": tmp_path / folder / "raw", "folder": tmp_path / folder,
              "root": tmp_path}[where]
    mnist_files(target, gz, dotted)
    loaded = data.load(DataConfig(dataset=dataset, data_dir=str(tmp_path)), CPU)
    assert loaded.shape == (1, 28, 28) and loaded.num_classes == 10
    assert (len(loaded.train) + len(loaded.val), len(loaded.test)) == (60, 20)
    assert torch.equal(loaded.train.images[:, 0, 0, 0].long(), loaded.train.labels * 20)
    assert torch.equal(loaded.test.labels, torch.arange(20) % 10)


def test_mnist_gz_files_train_from_the_command_line(tmp_path: Path, runs_dir: Path) -> None:
    mnist_files(tmp_path / "MNIST" / "raw", gz=True)
    result = invoke("run", "--headless", "--dataset", "mnist", "--data-dir", str(tmp_path),
                    "--device", "cpu", "--epochs", "1", "--set", "model.hidden=[8]",
                    "--runs-dir", str(runs_dir))
    assert result.exit_code == 0, result.output
    assert "completed" in result.output


def test_missing_mnist_files_are_named_with_their_folder(tmp_path: Path, runs_dir: Path) -> None:
    mnist_files(tmp_path / "MNIST" / "raw", gz=True)
    (tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz").unlink()
    result = invoke("run", "--headless", "--dataset", "mnist", "--data-dir", str(tmp_path),
                    "--device", "cpu", "--runs-dir", str(runs_dir))
    one_line_error(result, str(tmp_path / "MNIST" / "raw"), "train-images-idx3-ubyte",
                   "missing: t10k-labels-idx1-ubyte", "--download")
    assert not runs_dir.exists()


@pytest.mark.parametrize("damage", ["truncated", "not idx", "bad gzip"])
def test_damaged_idx_files_are_one_clear_error(tmp_path: Path, damage: str) -> None:
    raw = tmp_path / "MNIST" / "raw"
    mnist_files(raw, gz=False)
    target = raw / "train-images-idx3-ubyte"
    if damage == "truncated":
        target.write_bytes(target.read_bytes()[:1000])
    elif damage == "not idx":
        target.write_bytes(b"PK\x03\x04" + bytes(100))
    else:
        target.write_bytes(b"\x1f\x8b" + bytes(50))
    with pytest.raises(data.DataError, match="train-images-idx3-ubyte"):
        data.load(DataConfig(dataset="mnist", data_dir=str(tmp_path)), CPU)


CIFAR_LAYOUT = {"cifar10": ("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)],
                            ["test_batch"], "batches.meta", "label_names", "labels", 10),
                "cifar100": ("cifar-100-python", ["train"], ["test"], "meta",
                             "fine_label_names", "fine_labels", 100)}


def cifar_files(root: Path, dataset: str, per_batch: int = 20) -> Path:
    """Pickled batches as torchvision expects them: dicts with str keys, uint8 rows of
    3072 values (red plane, green, blue), a list of labels."""
    folder, train, test, meta, names_key, labels_key, classes = CIFAR_LAYOUT[dataset]
    target = root / folder
    target.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in train + test:
        labels = [i % classes for i in range(per_batch)]
        rows = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        rows[:, 0] = np.array(labels) * 2  # red channel, top-left pixel tells the class
        with open(target / name, "wb") as handle:
            pickle.dump({"data": rows, labels_key: labels, "batch_label": name}, handle,
                        protocol=2)
    with open(target / meta, "wb") as handle:
        pickle.dump({names_key: [f"class{i}" for i in range(classes)]}, handle, protocol=2)
    return target


@pytest.mark.parametrize("dataset", ["cifar10", "cifar100"])
@pytest.mark.parametrize("packed", [False, True])
def test_cifar_batches_are_read_from_their_folder_or_archive(tmp_path: Path, dataset: str,
                                                             packed: bool) -> None:
    folder = cifar_files(tmp_path, dataset)
    if packed:
        archive = tmp_path / ("cifar-10-python.tar.gz" if dataset == "cifar10"
                              else "cifar-100-python.tar.gz")
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(folder, arcname=folder.name)
        shutil.rmtree(folder)
    loaded = data.load(DataConfig(dataset=dataset, data_dir=str(tmp_path)), CPU)
    train_batches = 5 if dataset == "cifar10" else 1
    assert loaded.shape == (3, 32, 32)
    assert len(loaded.train) + len(loaded.val) == 20 * train_batches and len(loaded.test) == 20
    assert loaded.classes[:2] == ["class0", "class1"]
    assert torch.equal(loaded.test.images[:, 0, 0, 0].long(), loaded.test.labels * 2)


def test_missing_cifar_names_its_folder_and_files(tmp_path: Path) -> None:
    with pytest.raises(data.DataError) as caught:
        data.load(DataConfig(dataset="cifar10", data_dir=str(tmp_path)), CPU)
    message = str(caught.value)
    for needle in (str(tmp_path / "cifar-10-batches-py"), "data_batch_1", "test_batch",
                   "batches.meta", "cifar-10-python.tar.gz", "--download"):
        assert needle in message


class _Planted:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_crafted_cifar_batch_cannot_run_code(tmp_path: Path) -> None:
    folder = cifar_files(tmp_path, "cifar10")
    marker = tmp_path / "pwned"
    with open(folder / "data_batch_1", "wb") as handle:
        pickle.dump({"data": _Planted(marker), "labels": []}, handle, protocol=2)
    with pytest.raises(data.DataError, match="data_batch_1"):
        data.load(DataConfig(dataset="cifar10", data_dir=str(tmp_path)), CPU)
    assert not marker.exists()


# ---------------------------------------------------------------- 2. batch norm with one sample

@pytest.mark.parametrize("args, key", [
    (["--preset", "batchnorm", "--batch-size", "1"], "train.batch_size = 1"),
    (["--preset", "batchnorm", "--set", "data.train_subset=1"], "data.train_subset = 1"),
    (["--set", "model.batchnorm=true", "--set", "train.batch_size=1"], "train.batch_size = 1"),
    (["--model", "resnet18", "--pretrained", "--batch-size", "1"], "train.batch_size = 1"),
])
def test_batch_norm_with_a_batch_of_one_is_refused_at_once(runs_dir: Path, args, key) -> None:
    result = invoke("run", "--headless", "--device", "cpu", "--runs-dir", str(runs_dir), *args)
    one_line_error(result, key, "batch norm")
    assert not runs_dir.exists()


def test_batch_norm_on_a_training_split_of_one_sample_is_refused_before_the_run(
        tmp_path: Path, runs_dir: Path) -> None:
    flat(tmp_path / "a" / "0.png", 10)  # 3 images: 1 test, 1 validation, 1 to train on
    flat(tmp_path / "a" / "1.png", 12)
    flat(tmp_path / "b" / "0.png", 200)
    resolved = presets.resolve(["batchnorm"], ["data.dataset=imagefolder",
                                               f"data.data_dir={tmp_path}",
                                               "data.image_size=8"],
                               {"train": {"device": "cpu", "epochs": 1}})
    with pytest.raises(SetupError, match="1 sample.*batch norm"):
        start(resolved, runs_dir)
    assert not runs_dir.exists()


# ---------------------------------------------------------------- 2. split fractions

@pytest.mark.parametrize("setting, key", [
    ("data.val_fraction=0.9999", "data.val_fraction"),
    ("data.test_fraction=0.9999", "data.test_fraction"),
    ("data.test_fraction=0.0001", "data.test_fraction"),
])
def test_fractions_that_leave_a_split_empty_are_refused(runs_dir: Path, setting: str,
                                                        key: str) -> None:
    with pytest.raises(SetupError, match=key):
        start(tiny(setting, "data.train_subset=0"), runs_dir)
    assert not runs_dir.exists()


def test_val_fraction_leaving_no_training_samples_on_an_official_test_split(
        tmp_path: Path, runs_dir: Path) -> None:
    mnist_files(tmp_path / "MNIST" / "raw", gz=True)
    result = invoke("run", "--headless", "--dataset", "mnist", "--data-dir", str(tmp_path),
                    "--device", "cpu", "--set", "data.val_fraction=0.999",
                    "--runs-dir", str(runs_dir))
    one_line_error(result, "data.val_fraction = 0.999", "no training samples")
    assert not runs_dir.exists()


# ---------------------------------------------------------------- 2. non-finite numbers

def _numeric_fields():
    for section, cls in config.SECTIONS.items():
        hints = typing.get_type_hints(cls)
        for field in dataclasses.fields(cls):
            hint = hints[field.name]
            args = typing.get_args(hint)
            if hint is float or float in args:
                yield section, field.name, list(field.default) if args and args[-1] is not \
                    type(None) and typing.get_origin(hint) is tuple else None


NON_FINITE = [math.inf, -math.inf, math.nan]


@pytest.mark.parametrize("section, key, template", list(_numeric_fields()))
def test_every_float_setting_refuses_non_finite_numbers(section: str, key: str,
                                                        template) -> None:
    for bad in NON_FINITE:
        value = [bad] * len(template) if template else bad
        with pytest.raises(ConfigError, match="not a finite number"):
            config.check_value(section, key, value, "test")


@pytest.mark.parametrize("where, text", [
    ("preset", "[train]\nlr = inf\n"),
    ("preset", "[regularization]\nl2 = 1e999\n"),
    ("preset", "[alerts]\noverfit_margin = nan\n"),
    ("preset", "[augment]\nscale = [0.5, +inf]\n"),
    ("config", "[init]\nstd = -inf\n"),
    ("config", "[regularization]\nweight_decay = 1" + "0" * 400 + "\n"),
    ("set", "train.lr=inf"),
    ("set", "regularization.l1=-inf"),
    ("set", "augment.fill=nan"),
    ("flag", "inf"),
    ("flag", "1e999"),
])
def test_non_finite_numbers_anywhere_are_one_line_before_anything(tmp_path: Path, runs_dir: Path,
                                                                  where: str, text: str) -> None:
    args = ["run", "--headless", "--device", "cpu", "--runs-dir", str(runs_dir)]
    if where in ("preset", "config"):
        path = tmp_path / "bad.toml"
        header = '[preset]\ndescription = "bad"\n' if where == "preset" else ""
        path.write_text(header + text)
        args += ["--preset" if where == "preset" else "--config", str(path)]
    elif where == "set":
        args += ["--set", text]
    else:
        args += ["--lr", text]
    result = invoke(*args)
    one_line_error(result, "not a finite number")
    assert not runs_dir.exists()


# ---------------------------------------------------------------- 2. integers and seeds

@pytest.mark.parametrize("args", [["--seed", str(2 ** 64)], ["--seed", "1180591620717411303424"],
                                  ["--seed", str(-2 ** 63 - 1)],
                                  ["--set", f"data.split_seed={2 ** 64}"]])
def test_seeds_beyond_64_bits_are_refused(runs_dir: Path, args) -> None:
    result = invoke("run", "--headless", "--device", "cpu", "--runs-dir", str(runs_dir), *args)
    one_line_error(result, "seed", "18446744073709551615")
    assert not runs_dir.exists()


@pytest.mark.parametrize("seed", [2 ** 64 - 1, -2 ** 63, -1])
def test_every_accepted_seed_is_one_torch_takes(seed: int) -> None:
    assert config.check_value("train", "seed", seed, "test") == seed
    assert config.check_value("data", "split_seed", seed, "test") == seed
    torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)


def test_no_integer_setting_takes_more_than_64_bits() -> None:
    for section, cls in config.SECTIONS.items():
        hints = typing.get_type_hints(cls)
        for field in dataclasses.fields(cls):
            hint = hints[field.name]
            if hint is int:
                with pytest.raises(ConfigError):
                    config.check_value(section, field.name, 2 ** 64, "test")
            elif typing.get_args(hint)[:1] == (int,):
                with pytest.raises(ConfigError, match="64 bits"):
                    config.check_value(section, field.name, [2 ** 70], "test")


# ---------------------------------------------------------------- 2. runs dir

def test_a_runs_dir_that_is_a_file_or_below_one_is_refused_before_data_loads(
        tmp_path: Path) -> None:
    blocker = tmp_path / "runs-file"
    blocker.write_text("not a folder")
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    for runs_dir, needle in ((blocker, "is a file"), (blocker / "runs", "is a file"),
                             (blocker / "a" / "b", str(blocker)),
                             (dangling, "broken symbolic link"),
                             (tmp_path / "fresh" / ("x" * 300) / "runs", "name too long")):
        # the data dir does not exist: only a check made before loading answers first
        result = invoke("run", "--headless", "--device", "cpu", "--dataset", "imagefolder",
                        "--data-dir", str(tmp_path / "no-such-images"),
                        "--runs-dir", str(runs_dir))
        one_line_error(result, "cannot write runs in")
        assert needle in result.output.lower() or needle in result.output
    assert blocker.read_text() == "not a folder"
    assert not (tmp_path / "fresh").exists()  # the probe removed what it made


@pytest.fixture
def read_only_dir(tmp_path: Path):
    """A real read-only file system (a tmpfs mounted ro): the OS, not the mode bits,
    refuses writes, even to root."""
    target = tmp_path / "archive"
    target.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(target)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a read-only tmpfs here: " + mounted.stderr.decode().strip())
    try:
        yield target
    finally:
        subprocess.run(["umount", str(target)], check=False)


@pytest.mark.parametrize("below", ["", "runs", "runs/deeper"])
def test_a_read_only_runs_dir_is_refused_before_data_loads(read_only_dir: Path,
                                                           below: str) -> None:
    runs_dir = read_only_dir / below if below else read_only_dir
    result = invoke("run", "--headless", "--device", "cpu", "--dataset", "imagefolder",
                    "--data-dir", "/no/such/images", "--runs-dir", str(runs_dir))
    one_line_error(result, "cannot write runs in", "Read-only file system")


def test_the_runs_dir_probe_leaves_nothing_behind(tmp_path: Path) -> None:
    from regtui.rundir.probe import check_runs_dir
    from regtui.rundir.writer import RunWriteError

    fresh = tmp_path / "new" / "runs"
    check_runs_dir(fresh)
    assert not (tmp_path / "new").exists()
    existing = tmp_path / "runs"
    existing.mkdir()
    check_runs_dir(existing)
    assert list(existing.iterdir()) == [] and list(tmp_path.iterdir()) == [existing]
    with pytest.raises(RunWriteError):
        check_runs_dir(Path("/proc/self/status/runs"))


def test_the_trainer_pads_with_the_datasets_fill(tmp_path: Path, runs_dir: Path) -> None:
    from helpers import new_store
    from regtui.train.loop import Trainer
    from regtui.train.setup import prepare

    two_classes(tmp_path / "images")
    for dataset, expected in (("imagefolder", "reflection"), ("digits", "zeros")):
        resolved = presets.resolve(["augment-light"], [f"data.dataset={dataset}",
                                                       f"data.data_dir={tmp_path / 'images'}"],
                                   {"train": {"device": "cpu"}})
        trainer = Trainer(prepare(resolved.config), new_store(runs_dir), lambda event: None)
        assert trainer.augmenter.fill == expected


# ---------------------------------------------------------------- 2. config files

@pytest.mark.parametrize("flag", ["--preset", "--config"])
@pytest.mark.parametrize("kind, needle", [
    ("directory", "is a directory"),
    ("binary", "not UTF-8"),
    ("latin-1", "not UTF-8"),
    ("png", "not UTF-8"),
    ("nul bytes", "TOML syntax error"),
])
def test_config_files_that_are_not_toml_text_are_one_line(tmp_path: Path, runs_dir: Path,
                                                          flag: str, kind: str,
                                                          needle: str) -> None:
    path = tmp_path / "settings.toml"
    if kind == "directory":
        path.mkdir()
    elif kind == "binary":
        path.write_bytes(os.urandom(64) + b"\xff\xfe")
    elif kind == "latin-1":
        path.write_bytes('[preset]\ndescription = "d\xe9j\xe0 vu"\n'.encode("latin-1"))
    elif kind == "png":
        buffer = io.BytesIO()
        Image.new("RGB", (4, 4)).save(buffer, format="PNG")
        path.write_bytes(buffer.getvalue())
    else:
        path.write_bytes(b"[train]\x00\nlr = 0.1\n")
    result = invoke("run", "--headless", "--device", "cpu", "--runs-dir", str(runs_dir),
                    flag, str(path))
    one_line_error(result, str(path), needle)
    assert not runs_dir.exists()


@pytest.mark.parametrize("flag", ["--preset", "--config"])
def test_devices_and_pipes_are_not_read_as_config_files(tmp_path: Path, runs_dir: Path,
                                                        flag: str) -> None:
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)

    def limit_memory() -> None:  # reading /dev/zero to the end must fail, not swap
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    for path in (fifo, Path("/dev/zero")):
        # its own process, with a deadline: a reader that waits on the pipe fails the test
        result = subprocess.run([sys.executable, "-m", "regtui.cli", "run", "--headless",
                                 "--runs-dir", str(runs_dir), flag, str(path)],
                                capture_output=True, text=True, timeout=60,
                                preexec_fn=limit_memory)
        assert result.returncode == 2, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert str(path) in result.stderr and "not a regular file" in result.stderr


# ---------------------------------------------------------------- 7. augmentation fill

def warp_white(fill, angle: float = 45.0, shift: float = 0.0) -> torch.Tensor:
    augmenter = Augmenter(AugmentConfig(rotation=angle, fill=fill),
                          torch.Generator().manual_seed(0))
    params = augmenter.sample_geometry(1, 16, 16, CPU)
    params["angle"], params["shift_x"] = torch.tensor([angle]), torch.tensor([shift])
    return augmenter.apply_geometry(torch.ones(1, 3, 16, 16), params)


@pytest.mark.parametrize("fill, corner", [("zeros", 0.0), ("border", 1.0), ("reflection", 1.0),
                                          (0.5, 0.5), (1.0, 1.0), (0.0, 0.0)])
def test_fill_decides_what_rotation_reveals(fill, corner: float) -> None:
    out = warp_white(fill)
    assert out[0, :, 0, 0].tolist() == pytest.approx([corner] * 3, abs=1e-4)
    assert out[0, :, 8, 8].tolist() == pytest.approx([1.0] * 3, abs=1e-4)  # centre untouched


def test_a_grey_fill_blends_smoothly_at_the_edge() -> None:
    out = warp_white(0.25, angle=0.0, shift=0.2)  # moved by 1.6 pixels
    row = out[0, 0, 8]
    assert row.min().item() == pytest.approx(0.25, abs=1e-4)
    assert ((row >= 0.25 - 1e-5) & (row <= 1 + 1e-5)).all()


def test_auto_fill_keeps_light_images_light_and_digit_backgrounds_black() -> None:
    from regtui.train.augment import resolve_fill

    assert resolve_fill("auto", "mnist") == "zeros" and resolve_fill("auto", "digits") == "zeros"
    assert resolve_fill("auto", "cifar10") == "reflection"
    assert resolve_fill("auto", "imagefolder") == "reflection"
    light = presets.resolve(["augment-light"]).config.augment
    batch = torch.full((64, 3, 32, 32), 0.9)
    darkened = {}
    for fill in ("auto", "zeros"):
        augmenter = Augmenter(dataclasses.replace(light, fill=fill),
                              torch.Generator().manual_seed(0), "imagefolder")
        darkened[fill] = (augmenter.before_standardize(batch) < 0.8).float().mean().item()
    assert darkened["zeros"] > 0.05 and darkened["auto"] < 0.001, darkened


@pytest.mark.parametrize("value, accepted", [("border", "border"), ("reflection", "reflection"),
                                             (0.3, 0.3), (1, 1.0), ("auto", "auto")])
def test_fill_accepts_modes_and_grey_levels_and_round_trips(tmp_path: Path, value,
                                                           accepted) -> None:
    assert config.check_value("augment", "fill", value, "test") == accepted
    built = config.build({"augment": {"fill": accepted}})
    path = tmp_path / "config.toml"
    path.write_text(config.to_toml(built))
    assert config.build(config.load_file(path)).augment.fill == accepted


@pytest.mark.parametrize("value", ["black", 1.5, -0.1, True, "0.5"])
def test_fill_refuses_anything_else_naming_what_it_takes(value) -> None:
    with pytest.raises(ConfigError, match="zeros, border, reflection, or a number in"):
        config.check_value("augment", "fill", value, "test")


def test_the_preview_shows_the_fill_and_uses_it(tmp_path: Path) -> None:
    from regtui.engine import augmentation_preview
    from regtui.tui.screens.augment import AugmentPreview

    two_classes(tmp_path, dark=230, light=250)  # light pictures
    resolved = presets.resolve(["augment-strong"], ["data.dataset=imagefolder",
                                                    f"data.data_dir={tmp_path}"])
    before, after, active, fill = augmentation_preview(resolved.config, 5, 0)
    assert active and fill == "reflection (auto for imagefolder)"
    assert after.min() > 150  # no black frames on light pictures
    text = AugmentPreview(resolved.config)._compose_text(before, after, active, fill, 80, 24).plain
    assert "reflection (auto for imagefolder)" in text
