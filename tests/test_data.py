"""Dataset loaders on files the tests write; stratified splits; augmentation."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from PIL import Image

from helpers import write_idx

from regtui.config import AugmentConfig, DataConfig
from regtui.train import data
from regtui.train.augment import Augmenter


def fake_mnist(root: Path, folder: str = "MNIST", train: int = 200, test: int = 50) -> None:
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    generator = torch.Generator().manual_seed(0)
    for prefix, count in (("train", train), ("t10k", test)):
        labels = torch.arange(count) % 10
        images = torch.randint(0, 256, (count, 28, 28), generator=generator)
        images[:, 0, 0] = labels * 20  # a pixel that tells the class, so it can be checked
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)


@pytest.mark.parametrize("dataset, folder", [("mnist", "MNIST"),
                                             ("fashion-mnist", "FashionMNIST")])
def test_mnist_style_loader_reads_idx_files(tmp_path: Path, dataset: str, folder: str) -> None:
    fake_mnist(tmp_path, folder)
    loaded = data.load(DataConfig(dataset=dataset, data_dir=str(tmp_path), val_fraction=0.2),
                       torch.device("cpu"))
    assert loaded.shape == (1, 28, 28) and loaded.num_classes == 10
    assert (len(loaded.train), len(loaded.val), len(loaded.test)) == (160, 40, 50)
    assert loaded.train.images.dtype == torch.uint8
    # the official test split is kept whole and in order; labels match their images
    assert torch.equal(loaded.test.labels, torch.arange(50) % 10)
    assert torch.equal(loaded.train.images[:, 0, 0, 0].long(), loaded.train.labels * 20)
    assert torch.bincount(loaded.val.labels).tolist() == [4] * 10  # stratified


def test_missing_torchvision_dataset_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(data.DataError) as caught:
        data.load(DataConfig(dataset="cifar10", data_dir=str(tmp_path)), torch.device("cpu"))
    assert str(tmp_path) in str(caught.value) and "--download" in str(caught.value)


def _image(path: Path, value: int, mode: str = "RGB", size: int = 12) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, (size, size), (value,) * len(mode)).save(path)


def test_imagefolder_resizes_and_skips_unreadable_files(tmp_path: Path) -> None:
    for index in range(6):
        _image(tmp_path / "cats" / f"{index}.png", 10, size=12 + index)
        _image(tmp_path / "dogs" / f"{index}.jpg", 200, size=20)
    (tmp_path / "dogs" / "broken.png").write_bytes(b"not a png")
    loaded = data.load(DataConfig(dataset="imagefolder", data_dir=str(tmp_path), image_size=16,
                                  val_fraction=0.2, test_fraction=0.2), torch.device("cpu"))
    assert loaded.classes == ["cats", "dogs"]
    assert loaded.shape == (3, 16, 16)
    assert len(loaded.train) + len(loaded.val) + len(loaded.test) == 12
    assert loaded.warnings == [f"skipped unreadable image {tmp_path / 'dogs' / 'broken.png'}"]
    cats = loaded.train.images[loaded.train.labels == 0]
    assert cats.float().mean().item() == pytest.approx(10, abs=1)


def test_imagefolder_grayscale_keeps_one_channel(tmp_path: Path) -> None:
    for index in range(5):
        _image(tmp_path / "a" / f"{index}.png", 0, mode="L")
        _image(tmp_path / "b" / f"{index}.png", 255, mode="L")
    loaded = data.load(DataConfig(dataset="imagefolder", data_dir=str(tmp_path), image_size=8),
                       torch.device("cpu"))
    assert loaded.shape == (1, 8, 8)


@pytest.mark.parametrize("layout, needle", [
    ("missing", "is not a folder"),
    ("empty", "no images found"),
])
def test_imagefolder_errors(tmp_path: Path, layout: str, needle: str) -> None:
    root = tmp_path / "images"
    if layout == "empty":
        (root / "cats").mkdir(parents=True)
    with pytest.raises(data.DataError, match=needle):
        data.load(DataConfig(dataset="imagefolder", data_dir=str(root)), torch.device("cpu"))


def test_digits_split_is_stratified_and_subset_keeps_every_class() -> None:
    loaded = data.load(DataConfig(train_subset=100), torch.device("cpu"))
    assert (len(loaded.train), len(loaded.val), len(loaded.test)) == (100, 288, 359)
    assert torch.bincount(loaded.train.labels, minlength=10).min().item() >= 9
    assert loaded.shape == (1, 8, 8)
    assert loaded.train.images.max().item() == 255
    normalized = loaded.normalize(loaded.train.images)
    assert normalized.mean().abs().item() < 0.05
    assert normalized.std().item() == pytest.approx(1, abs=0.05)


def test_split_depends_on_split_seed_only() -> None:
    first = data.load(DataConfig(), torch.device("cpu"))
    again = data.load(DataConfig(), torch.device("cpu"))
    other = data.load(DataConfig(split_seed=1), torch.device("cpu"))
    assert torch.equal(first.val.images, again.val.images)
    assert not torch.equal(first.val.images, other.val.images)


# ---------------------------------------------------------------- augmentation

def augmenter(**settings) -> Augmenter:
    return Augmenter(AugmentConfig(**settings), torch.Generator().manual_seed(0))


def test_identical_images_in_one_batch_get_different_augmentations() -> None:
    image = torch.rand(1, 1, 16, 16)
    batch = image.repeat(8, 1, 1, 1)
    out = augmenter(rotation=20, translate=0.1, scale=(0.8, 1.2)).before_standardize(batch)
    differences = [(out[0] - out[i]).abs().max().item() for i in range(1, 8)]
    assert min(differences) > 0.01


def test_no_augmentation_is_the_identity_and_flip_is_exact() -> None:
    batch = torch.rand(4, 3, 10, 10)
    idle = augmenter()
    assert not idle.active
    flip = augmenter(hflip=1.0)
    assert torch.allclose(flip.before_standardize(batch), torch.flip(batch, dims=[3]), atol=1e-6)
    vflip = augmenter(vflip=1.0)
    assert torch.allclose(vflip.before_standardize(batch), torch.flip(batch, dims=[2]), atol=1e-6)


def test_crop_padding_shifts_by_whole_pixels() -> None:
    batch = torch.rand(64, 1, 12, 12)
    out = augmenter(crop_padding=2).before_standardize(batch)
    for original, shifted in zip(batch, out):
        matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                   if torch.allclose(_shift(original, dy, dx), shifted, atol=1e-5)]
        assert matches, "every output is the input moved by whole pixels"


def _shift(image: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    padded = torch.nn.functional.pad(image, (2, 2, 2, 2))
    return padded[:, 2 + dy:2 + dy + 12, 2 + dx:2 + dx + 12]


def test_sampled_parameters_stay_in_range_with_the_right_flip_rate() -> None:
    sampler = augmenter(rotation=15, shear=5, scale=(0.9, 1.1), translate=0.1, hflip=0.3)
    params = sampler.sample_geometry(20000, 28, 28, torch.device("cpu"))
    assert params["angle"].abs().max().item() <= 15
    assert params["angle"].std().item() == pytest.approx(30 / math.sqrt(12), rel=0.03)
    assert params["shear"].abs().max().item() <= 5
    assert 0.9 <= params["scale"].min().item() and params["scale"].max().item() <= 1.1
    assert params["shift_x"].abs().max().item() <= 0.2  # 10% of the size in [-1, 1] units
    assert params["hflip"].float().mean().item() == pytest.approx(0.3, abs=0.015)
    assert params["vflip"].float().mean().item() == 0


@pytest.mark.parametrize("angle", [90.0, 30.0, -30.0])
def test_rotation_turns_the_way_torchvision_does(angle: float) -> None:
    from torchvision.transforms.v2.functional import InterpolationMode, rotate

    image = torch.zeros(1, 1, 21, 21)
    image[..., 10, 10:17] = 1.0  # an arm from the centre to the right
    image[..., 4:10, 10] = 0.5  # and a fainter one up: no rotation or flip maps it to itself
    sampler = augmenter(rotation=90)
    params = sampler.sample_geometry(1, 21, 21, torch.device("cpu"))
    params["angle"] = torch.tensor([angle])
    ours = sampler.apply_geometry(image, params)
    reference = rotate(image, angle, interpolation=InterpolationMode.BILINEAR)
    turned_the_other_way = rotate(image, -angle, interpolation=InterpolationMode.BILINEAR)
    assert torch.allclose(ours, reference, atol=1e-4)
    assert not torch.allclose(ours, turned_the_other_way, atol=0.1)  # the sign is pinned


def test_positive_angles_turn_counter_clockwise() -> None:
    image = torch.zeros(1, 1, 21, 21)
    image[..., 10, 10:17] = 1.0  # an arm from the centre to the right
    sampler = augmenter(rotation=90)
    params = sampler.sample_geometry(1, 21, 21, torch.device("cpu"))
    params["angle"] = torch.tensor([90.0])
    ours = sampler.apply_geometry(image, params)
    assert ours[0, 0, 4:11, 10].min().item() > 0.99  # it now points up (rows above the centre)
    assert ours[0, 0, 11:, 10].max().item() < 0.01


def test_photometric_and_erasing() -> None:
    batch = torch.full((256, 1, 8, 8), 0.5)
    bright = augmenter(brightness=0.4).before_standardize(batch)
    factors = bright[:, 0, 0, 0] / 0.5
    assert factors.min().item() >= 0.6 - 1e-6 and factors.max().item() <= 1.4 + 1e-6
    assert factors.std().item() > 0.1
    erased = augmenter(erasing=0.5).after_standardize(torch.ones(2000, 1, 16, 16))
    hit = (erased == 0).flatten(1).any(dim=1).float().mean().item()
    assert hit == pytest.approx(0.5, abs=0.05)
    area = (erased == 0).flatten(1).float().mean(dim=1)
    assert area[area > 0].min().item() >= 0.003 and area.max().item() <= 0.34 + 0.06
