"""MNIST, Fashion-MNIST and CIFAR read straight from their files, as people have them.

torchvision's dataset classes insist on their own state of the folder: MNIST wants the
IDX files unzipped (the four standard `.gz` files alone read as "not found"), and CIFAR
checks the MD5 of every batch. Here the files are read as they are:

- MNIST and Fashion-MNIST: the four IDX files, gzipped or not, in `<root>/MNIST/raw/`
  (`FashionMNIST/raw/`), `<root>/MNIST/` or `<root>` itself; `train-images.idx3-ubyte`
  (a dot instead of the dash, as some mirrors name them) works too.
- CIFAR-10 / CIFAR-100: the pickled batches in `<root>/cifar-10-batches-py/`
  (`cifar-100-python/`) or the archive `cifar-10-python.tar.gz` (`cifar-100-python.tar.gz`)
  itself, unpacked in memory. The batches are unpickled with an unpickler that only
  builds arrays, lists and dicts: a crafted file cannot run code.

With data.download, torchvision fetches what is missing into the same layout. A missing
file raises DataError naming the folder looked in and the file names expected there.
"""

from __future__ import annotations

import gzip
import io
import pickle
import struct
import tarfile
import zlib
from pathlib import Path
from typing import Any, Callable

import torch

from regtui.config import DataConfig
from regtui.train.data import DataError, Raw, Split, data_root

# ---------------------------------------------------------------- MNIST and Fashion-MNIST

IDX_FOLDERS = {"mnist": ("MNIST", "MNIST"), "fashion-mnist": ("FashionMNIST", "FashionMNIST")}
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
IDX_UINT8 = 0x08  # the only element type MNIST-style files use


def _idx_candidates(root: Path, folder: str) -> list[Path]:
    return [root / folder / "raw", root / folder, root]


def _idx_path(folder: Path, name: str) -> Path | None:
    """The file for one IDX name in `folder`: plain or gzipped, with a dash or a dot."""
    dotted = name.replace("-idx", ".idx")
    for candidate in (name, name + ".gz", dotted, dotted + ".gz"):
        if (folder / candidate).is_file():
            return folder / candidate
    return None


def _find_idx_files(root: Path, folder: str) -> list[Path] | None:
    for candidate in _idx_candidates(root, folder):
        paths = [_idx_path(candidate, name) for name in IDX_FILES]
        if all(paths):
            return paths  # type: ignore[return-value]
    return None


def read_idx(path: Path) -> torch.Tensor:
    """An IDX file (gzipped or not, told by its first bytes) as a uint8 tensor of its
    dimensions. Raises DataError when it is not a readable IDX file of bytes."""
    try:
        payload = path.read_bytes()
        if payload[:2] == b"\x1f\x8b":  # the gzip magic number, whatever the file's name
            payload = gzip.decompress(payload)
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"{path}: cannot be read: {getattr(error, 'strerror', None) or error}"
                        ) from None
    if len(payload) < 4 or payload[0] or payload[1] or payload[2] != IDX_UINT8:
        raise DataError(f"{path}: not an IDX file of bytes (as MNIST ships them)")
    ndim = payload[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(payload) < header:
        raise DataError(f"{path}: truncated IDX header")
    dims = struct.unpack(f">{ndim}I", payload[4:header])
    count = 1
    for size in dims:
        count *= size
    if len(payload) - header < count:
        raise DataError(f"{path}: truncated: {len(payload) - header} of {count} bytes")
    data = bytearray(payload[header:header + count])
    return torch.frombuffer(data, dtype=torch.uint8).view(*dims) if count else \
        torch.zeros(dims, dtype=torch.uint8)


def _idx_split(images_path: Path, labels_path: Path, classes: int) -> Split:
    images, labels = read_idx(images_path), read_idx(labels_path).long()
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(f"{images_path.parent}: {images_path.name} holds "
                        f"{list(images.shape)} and {labels_path.name} {list(labels.shape)}; "
                        "expected (N, height, width) images and N labels")
    if len(labels) and int(labels.max()) >= classes:
        raise DataError(f"{labels_path}: label {int(labels.max())} is not one of the "
                        f"{classes} classes")
    return Split(images.unsqueeze(1).contiguous(), labels)


def load_idx(cfg: DataConfig, dataset: str) -> Raw:
    """MNIST or Fashion-MNIST from its four IDX files (see the module docstring)."""
    import torchvision.datasets as tvd

    folder, class_name = IDX_FOLDERS[dataset]
    tv_class = getattr(tvd, class_name)
    root = data_root(cfg)
    paths = _find_idx_files(root, folder)
    if paths is None and cfg.download:
        _download(cfg, root, lambda train: tv_class(str(root), train=train, download=True))
        paths = _find_idx_files(root, folder)
    if paths is None:
        return _torchvision_fallback(cfg, root, tv_class, _missing_idx(cfg, root, folder))
    classes = list(tv_class.classes)
    train = _idx_split(paths[0], paths[1], len(classes))
    test = _idx_split(paths[2], paths[3], len(classes))
    return Raw(train.images, train.labels, classes, test=test,
               source=f"IDX files in {paths[0].parent}")


def _missing_idx(cfg: DataConfig, root: Path, folder: str) -> str:
    raw = root / folder / "raw"
    missing = [name for name in IDX_FILES if _idx_path(raw, name) is None]
    return (f"{cfg.dataset} not found in {root}: expected {raw}/ with "
            f"{', '.join(name + '[.gz]' for name in IDX_FILES)}"
            + (f" (missing: {', '.join(missing)})" if len(missing) < len(IDX_FILES) else "")
            + "; pass --download to fetch it, or --data-dir to point at where it is")


# ---------------------------------------------------------------- CIFAR

# dataset -> (folder, archive, train batches, test batches, meta file, names key, labels key)
CIFAR = {
    "cifar10": ("cifar-10-batches-py", "cifar-10-python.tar.gz",
                tuple(f"data_batch_{i}" for i in range(1, 6)), ("test_batch",),
                "batches.meta", "label_names", "labels"),
    "cifar100": ("cifar-100-python", "cifar-100-python.tar.gz", ("train",), ("test",),
                 "meta", "fine_label_names", "fine_labels"),
}
CIFAR_SIDE = 32


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, strings and numpy arrays, and nothing that can run code."""
    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
               ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar")}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} has no place in a CIFAR batch")


def _unpickle(blob: bytes, where: str) -> dict:
    try:
        entry = _ArrayUnpickler(io.BytesIO(blob), encoding="latin1").load()
    except Exception as error:  # noqa: BLE001 - any malformed pickle is one bad file
        raise DataError(f"{where}: not a CIFAR batch ({type(error).__name__}: {error})") from None
    if not isinstance(entry, dict):
        raise DataError(f"{where}: not a CIFAR batch (a {type(entry).__name__}, not a dict)")
    # Python 2 pickles (the official files) have str keys; a Python 3 dump may have bytes
    return {key.decode("latin1") if isinstance(key, bytes) else key: value
            for key, value in entry.items()}


def _cifar_reader(root: Path, folder: str, archive: str, marker: str
                  ) -> tuple[Callable[[str], bytes], str] | None:
    """A function reading one member by name, from the folder or from the archive, and
    where that is; None when neither holds the batch named `marker`."""
    for candidate in (root / folder, root):
        if (candidate / marker).is_file():
            return (lambda name, base=candidate: (base / name).read_bytes()), str(candidate)
    if (root / archive).is_file():
        try:
            with tarfile.open(root / archive, "r:*") as tar:
                members = {m.name.rsplit("/", 1)[-1]: tar.extractfile(m).read()  # type: ignore[union-attr]
                           for m in tar.getmembers() if m.isfile()}
        except (OSError, tarfile.TarError, EOFError, zlib.error) as error:
            raise DataError(f"{root / archive}: cannot be read: {error}") from None
        return (lambda name: members[name]), str(root / archive)
    return None


def _cifar_split(read: Callable[[str], bytes], where: str, names: tuple[str, ...],
                 labels_key: str, classes: int) -> Split:
    import numpy as np

    images, labels = [], []
    for name in names:
        entry = _unpickle(read(name), f"{where}/{name}")
        try:
            data = np.asarray(entry["data"], dtype=np.uint8)
            batch_labels = [int(label) for label in entry[labels_key]]
            images.append(torch.from_numpy(data.copy()).view(-1, 3, CIFAR_SIDE, CIFAR_SIDE))
        except (KeyError, ValueError, TypeError, RuntimeError) as error:
            raise DataError(f"{where}/{name}: not a CIFAR batch ({type(error).__name__}: "
                            f"{error})") from None
        if len(batch_labels) != images[-1].shape[0] or any(
                not 0 <= label < classes for label in batch_labels):
            raise DataError(f"{where}/{name}: {len(batch_labels)} labels for "
                            f"{images[-1].shape[0]} images, or a label outside 0..{classes - 1}")
        labels += batch_labels
    return Split(torch.cat(images), torch.tensor(labels, dtype=torch.long))


def load_cifar(cfg: DataConfig, dataset: str) -> Raw:
    """CIFAR-10 or CIFAR-100 from its batches or its archive (see the module docstring)."""
    import torchvision.datasets as tvd

    folder, archive, train_names, test_names, meta, names_key, labels_key = CIFAR[dataset]
    tv_class = getattr(tvd, "CIFAR10" if dataset == "cifar10" else "CIFAR100")
    root = data_root(cfg)
    found = _cifar_reader(root, folder, archive, test_names[0])
    if found is None and cfg.download:
        _download(cfg, root, lambda train: tv_class(str(root), train=train, download=True))
        found = _cifar_reader(root, folder, archive, test_names[0])
    expected = (f"{cfg.dataset} not found in {root}: expected {root / folder}/ with "
                f"{', '.join((*train_names, *test_names, meta))} (or {root / archive}); "
                "pass --download to fetch it, or --data-dir to point at where it is")
    if found is None:
        raise DataError(expected)
    read, where = found
    warnings = []
    try:
        classes = [str(name) for name in _unpickle(read(meta), f"{where}/{meta}")[names_key]]
    except (OSError, KeyError):
        count = 10 if dataset == "cifar10" else 100
        classes = [str(index) for index in range(count)]
        warnings.append(f"{where}/{meta} is missing or holds no {names_key}: classes are "
                        "named by number")
    try:
        train = _cifar_split(read, where, train_names, labels_key, len(classes))
        test = _cifar_split(read, where, test_names, labels_key, len(classes))
    except (OSError, KeyError) as error:
        raise DataError(f"{expected} (cannot read {error})") from None
    return Raw(train.images, train.labels, classes, test=test, warnings=warnings,
               source=f"CIFAR batches in {where}")


# ---------------------------------------------------------------- shared

def _download(cfg: DataConfig, root: Path, fetch: Callable[[bool], Any]) -> None:
    try:
        fetch(True)
        fetch(False)
    except (RuntimeError, OSError) as error:  # network errors, failed checksums
        raise DataError(f"{cfg.dataset}: download into {root} failed: {error}") from None


def _torchvision_fallback(cfg: DataConfig, root: Path, tv_class: Any, missing: str) -> Raw:
    """Files only torchvision knows (MNIST's old processed/*.pt), else the message."""
    try:
        train, test = tv_class(str(root), train=True), tv_class(str(root), train=False)
    except (RuntimeError, OSError, ValueError):
        raise DataError(missing) from None
    as_split = lambda d: Split(torch.as_tensor(d.data).unsqueeze(1).to(torch.uint8),  # noqa: E731
                               torch.as_tensor(d.targets).long())
    first = as_split(train)
    return Raw(first.images, first.labels, list(train.classes), test=as_split(test),
               source=f"torchvision files in {root}")
