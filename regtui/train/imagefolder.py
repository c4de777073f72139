"""Image folders as people have them: `--dataset imagefolder --data-dir ROOT`.

Two layouts are read:

- ROOT/<class>/<images>: one folder per class; the splits are carved out
  (data.test_fraction, data.val_fraction).
- ROOT/train/<class>/..., with ROOT/val/ (or valid/, validation/) and/or ROOT/test/
  (testing/) beside it: the layout of most downloaded datasets. Those folders are the
  splits; a split without a folder is carved from train/. The classes are train/'s: a
  class folder in val/ or test/ that train/ lacks is an error, a class missing from them
  a warning.

A ROOT that only wraps one folder of folders (pets/PetImages/{Cat,Dog}, as unpacked
archives leave it) is looked into. Hidden and system entries (names starting with ".", such as .ipynb_checkpoints,
.DS_Store and AppleDouble ._* files, and __MACOSX, Thumbs.db, desktop.ini, @eaDir, ...)
are skipped wherever they are, and said once. Image files are those with one of
torchvision's IMG_EXTENSIONS; torchvision's find_classes lists the class folders. A
class folder without one readable image is dropped with a warning naming it; fewer than
2 classes is a DataError. Pictures are read by regtui.train.pictures; the dataset is RGB
when any picture has colour (decided after reading them all), else grey.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torchvision.datasets.folder import IMG_EXTENSIONS, find_classes, has_file_allowed_extension

from regtui.config import DataConfig
from regtui.train.data import DataError, Raw, Split
from regtui.train.pictures import Picture, read_picture

SYSTEM_NAMES = frozenset(name.lower() for name in (
    "__MACOSX", "Thumbs.db", "ehthumbs.db", "desktop.ini", "$RECYCLE.BIN", "RECYCLER",
    "System Volume Information", "lost+found", "__pycache__",
    "@eaDir", "#recycle", "#snapshot", "@Recycle", "@Recently-Snapshot"))  # NAS shares
SPLIT_NAMES = {"train": ("train", "training"), "val": ("val", "valid", "validation"),
               "test": ("test", "testing")}
LISTED = 5  # examples named in one warning


def is_skipped(name: str) -> bool:
    """Hidden (a leading dot: .ipynb_checkpoints, .DS_Store, ._x.jpg) or a system entry."""
    return name.startswith(".") or name.lower() in SYSTEM_NAMES


@dataclass
class Notes:
    """What reading the folder found worth saying, each kind said once (see lines())."""
    root: Path
    hidden: list[str] = field(default_factory=list)
    not_images: list[str] = field(default_factory=list)
    loose: list[str] = field(default_factory=list)
    unreadable: list[Path] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    conversions: Counter = field(default_factory=Counter)
    expanded: int = 0

    def relative(self, path: Path | str) -> str:
        try:
            return str(Path(path).relative_to(self.root))
        except ValueError:
            return str(path)

    def lines(self) -> list[str]:
        lines = [f"skipped unreadable image {path}" for path in self.unreadable[:LISTED]]
        if len(self.unreadable) > LISTED:
            lines.append(f"skipped {len(self.unreadable) - LISTED} more unreadable images")
        lines += [f"dropped class folder {name}: no readable image in it"
                  for name in self.dropped]
        if self.hidden:
            lines.append(f"skipped {len(self.hidden)} hidden or system files and folders: "
                         f"{_listed(self.hidden)}")
        if self.not_images:
            lines.append(f"ignored {len(self.not_images)} files that are not image files "
                         f"({_listed(self.not_images)}); image files end in "
                         f"{' '.join(IMG_EXTENSIONS)}")
        if self.loose:
            lines.append(f"ignored {len(self.loose)} images outside the class folders: "
                         f"{_listed(self.loose)}")
        lines += self.ignored + self.missing
        if self.conversions:
            total = sum(self.conversions.values())
            kinds = ", ".join(f"{count} {kind}" for kind, count in self.conversions.most_common())
            lines.append(f"converted {total} images to 8-bit grey or RGB: {kinds}")
        if self.expanded:
            lines.append(f"{self.expanded} grey images repeated to 3 channels: other images "
                         "have colour")
        return lines


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:LISTED])
    return shown + (f" and {len(names) - LISTED} more" if len(names) > LISTED else "")


# ---------------------------------------------------------------- finding files

def class_folders(folder: Path, notes: Notes) -> list[str]:
    """The visible subfolders of `folder`, sorted (torchvision's find_classes, less the
    hidden and system ones); files directly in it are noted."""
    try:
        names = find_classes(str(folder))[0]
    except FileNotFoundError:  # no subfolder at all
        names = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if is_skipped(entry.name):
            notes.hidden.append(notes.relative(entry.path))
        elif not entry.is_dir() and has_file_allowed_extension(entry.name, IMG_EXTENSIONS):
            notes.loose.append(notes.relative(entry.path))
    return [name for name in names if not is_skipped(name)]


def image_files(folder: Path, notes: Notes) -> list[Path]:
    """Image files anywhere below `folder` (links followed, each real folder once),
    hidden and system entries pruned."""
    files: list[Path] = []
    seen: set[str] = set()
    for current, dirnames, filenames in os.walk(folder, followlinks=True):
        real = os.path.realpath(current)
        if real in seen:  # a link back up the tree
            dirnames[:] = []
            continue
        seen.add(real)
        for name in sorted(dirnames):
            if is_skipped(name):
                notes.hidden.append(notes.relative(Path(current, name)))
        dirnames[:] = sorted(name for name in dirnames if not is_skipped(name))
        for name in sorted(filenames):
            path = Path(current, name)
            if is_skipped(name):
                notes.hidden.append(notes.relative(path))
            elif has_file_allowed_extension(name, IMG_EXTENSIONS) and path.is_file():
                files.append(path)  # a FIFO named x.png would block the reader forever
            else:
                notes.not_images.append(notes.relative(path))
    return files


def split_folders(root: Path, notes: Notes) -> dict[str, Path] | None:
    """{"train": ..., "val": ..., "test": ...} when ROOT holds train/ (with class folders)
    and a val/ or test/ folder with class folders (or nothing else); else None."""
    entries = sorted(os.scandir(root), key=lambda entry: entry.name)
    visible = {entry.name.lower(): Path(entry.path) for entry in entries
               if entry.is_dir() and not is_skipped(entry.name)}
    found = {split: visible[alias] for split, aliases in SPLIT_NAMES.items()
             for alias in reversed(aliases) if alias in visible}  # the first alias wins
    train = found.get("train")
    if train is None or not _has_subfolders(train):
        return None
    others = {split: path for split, path in found.items()
              if split != "train" and _has_subfolders(path)}
    strangers = [path for path in visible.values() if path not in found.values()]
    if not others and strangers:
        return None  # train/ beside other class folders: a class named "train"
    notes.hidden += [entry.name for entry in entries if is_skipped(entry.name)]
    for split, path in found.items():
        if split != "train" and split not in others:
            notes.ignored.append(f"{path.name}/ holds no class folders (unlabelled images?): "
                                 "ignored")
    notes.ignored += [f"{path.name}/ is not a train, val or test folder: ignored"
                      for path in strangers]
    return {"train": train, **others}


def _unwrapped(root: Path, notes: Notes) -> Path:
    """The folder holding the classes (or splits) when ROOT only wraps it, as unpacking
    an archive often leaves it (pets/PetImages/{Cat,Dog}): while ROOT holds one visible
    folder, no loose image, and that folder holds folders, go down into it."""
    while True:
        entries = [entry for entry in os.scandir(root) if not is_skipped(entry.name)]
        folders = [entry for entry in entries if entry.is_dir()]
        loose = [entry for entry in entries
                 if not entry.is_dir() and has_file_allowed_extension(entry.name, IMG_EXTENSIONS)]
        if len(folders) != 1 or loose or not _has_subfolders(Path(folders[0].path)):
            return root
        notes.hidden += [notes.relative(entry.path) for entry in os.scandir(root)
                         if is_skipped(entry.name)]
        root = Path(folders[0].path)
        notes.root = root


def _has_subfolders(folder: Path) -> bool:
    return any(entry.is_dir() and not is_skipped(entry.name) for entry in os.scandir(folder))


# ---------------------------------------------------------------- reading pictures

def read_classes(folder: Path, size: int, notes: Notes) -> dict[str, list[Picture]]:
    """Every class folder's readable pictures, by class name (empty lists included)."""
    pictures: dict[str, list[Picture]] = {}
    for name in class_folders(folder, notes):
        pictures[name] = []
        for path in image_files(folder / name, notes):
            try:
                picture = read_picture(path, size)
            except Exception:  # noqa: BLE001 - Pillow raises many kinds for a bad file
                notes.unreadable.append(path)
                continue
            if picture.conversion:
                notes.conversions[picture.conversion] += 1
            pictures[name].append(picture)
    return pictures


def _stack(by_class: dict[str, list[Picture]], classes: list[str], channels: int,
           notes: Notes) -> Split:
    images, labels = [], []
    for label, name in enumerate(classes):
        for picture in by_class.get(name, []):
            pixels = picture.pixels
            if pixels.shape[-1] != channels:
                pixels = pixels.expand(-1, -1, channels)
                notes.expanded += 1
            images.append(pixels)
            labels.append(label)
    if not images:
        return Split(torch.zeros(0, channels, 1, 1, dtype=torch.uint8),
                     torch.zeros(0, dtype=torch.long))
    stacked = torch.stack(images).permute(0, 3, 1, 2).contiguous()
    return Split(stacked, torch.tensor(labels, dtype=torch.long))


# ---------------------------------------------------------------- the loader

def load_folder(cfg: DataConfig) -> Raw:
    """The image folder at data.data_dir (see the module docstring). Raises DataError."""
    root = Path(cfg.data_dir or "").expanduser()
    if not root.is_dir():
        raise DataError(f"imagefolder: {root} is not a folder; --data-dir takes a folder with "
                        "one subfolder of images per class")
    notes = Notes(root)
    try:
        root = _unwrapped(root, notes)
        folders = split_folders(root, notes)
        read = {split: read_classes(path, cfg.image_size, notes)
                for split, path in (folders or {"pool": root}).items()}
    except OSError as error:
        raise DataError(f"imagefolder: cannot read {error.filename or root}: "
                        f"{error.strerror or error}") from None
    pool_name = "train" if folders else "pool"
    pool_folder = folders["train"] if folders else root
    classes = _classes(read[pool_name], pool_folder, notes)
    if folders:
        _check_splits(read, folders, classes, notes)
    colour = any(p.pixels.shape[-1] == 3 for by_class in read.values()
                 for pictures in by_class.values() for p in pictures)
    splits = {name: _stack(by_class, classes, 3 if colour else 1, notes)
              for name, by_class in read.items()}
    pool = splits[pool_name]
    return Raw(pool.images, pool.labels, classes, test=splits.get("test"),
               val=splits.get("val"), warnings=notes.lines(), source=_source(root, folders))


def _classes(pool: dict[str, list[Picture]], folder: Path, notes: Notes) -> list[str]:
    """The classes with at least one readable picture; at least 2 of them."""
    classes = [name for name, pictures in pool.items() if pictures]
    notes.dropped += [name for name, pictures in pool.items() if not pictures]
    if len(classes) >= 2:
        return classes
    if not any(pool.values()):
        found = ("none of the image files could be read" if notes.unreadable else
                 f"no images found (files with {', '.join(IMG_EXTENSIONS)})")
        raise DataError(f"imagefolder: {found} in the class folders of {folder}; expected "
                        "one subfolder per class")
    raise DataError(f"imagefolder: {folder} holds 1 class folder with readable images "
                    f"({classes[0]}); a classifier needs at least 2, one subfolder per class")


def _check_splits(read: dict[str, dict[str, list[Picture]]], folders: dict[str, Path],
                  classes: list[str], notes: Notes) -> None:
    """val/ and test/ hold train/'s classes: extra ones are an error, missing ones noted."""
    for split in ("val", "test"):
        if split not in read:
            continue
        folder, by_class = folders[split], read[split]
        present = [name for name, pictures in by_class.items() if pictures]
        extra = [name for name in present if name not in classes]
        if extra:
            raise DataError(f"imagefolder: {folder} has class folders that "
                            f"{folders['train']} has no images of: {', '.join(extra)}; the "
                            "splits must hold the same classes")
        if not present:
            raise DataError(f"imagefolder: {folder} holds no readable image; the {split} "
                            "split would be empty")
        absent = [name for name in classes if name not in present]
        if absent:
            notes.missing.append(f"{folder.name}/ has no images of class "
                                 f"{_listed(absent)}")


def _source(root: Path, folders: dict[str, Path] | None) -> str:
    if not folders:
        return f"class folders in {root}"
    names = [f"{path.name}/" for path in folders.values()]
    used = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
    carved = [name for split, name in (("val", "validation"), ("test", "test"))
              if split not in folders]
    tail = f"; {' and '.join(carved)} carved from {folders['train'].name}/" if carved else ""
    return f"{used} folders in {root} as the splits{tail}"
