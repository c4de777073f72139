"""The hand-written loops regtui is measured against, all in one place.

bare      the loop an expert writes over in-memory tensors: the same work as regtui's
          trainer (train, loss and accuracy accumulated on the device, validation every
          epoch, the test set at the end), with nothing else (W0).
textbook  the loop tutorials write: one PIL image per item transformed on the CPU in a
          torchvision Dataset, a DataLoader, loss.item() every step (W1, W3, T98).
"""

from __future__ import annotations

import os
import time
from typing import Callable, Iterator

import torch
import torch.nn.functional as F

from regtui.train.loop import EVAL_BATCH
from regtui.train.setup import Prepared

# ---------------------------------------------------------------- the bare loop


def bare_loop(prepared: Prepared, epochs: int | None = None) -> list[float]:
    """The hand-written loop over in-memory tensors; returns each epoch's train loss."""
    return [loss for loss in bare_epochs(prepared, epochs) if loss is not None]


def bare_epochs(prepared: Prepared, epochs: int | None = None) -> Iterator[float | None]:
    """The bare loop one epoch at a time: yields each epoch's train loss, then None once
    the test set is evaluated."""
    cfg, data, model, device = prepared.config, prepared.dataset, prepared.model, prepared.device
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.train.lr)
    generator = torch.Generator(device=device).manual_seed(cfg.train.seed)
    size, count = cfg.train.batch_size, len(data.train)
    for _ in range(epochs or cfg.train.epochs):
        model.train()
        order = torch.randperm(count, generator=generator, device=device)
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device)
        for start in range(0, count, size):
            index = order[start:start + size]
            targets = data.train.labels[index]
            logits = model(data.normalize(data.train.images[index]))
            loss = F.cross_entropy(logits, targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * len(index)
            correct += (logits.detach().argmax(dim=1) == targets).sum()
        correct.item()
        evaluate(model, data, data.val)
        yield loss_sum.item() / count
    evaluate(model, data, data.test)
    yield None


@torch.no_grad()
def evaluate(model, data, split) -> tuple[float, float]:
    """Loss and accuracy, as regtui reports them every epoch."""
    model.eval()
    loss = torch.zeros((), device=split.labels.device)
    correct = torch.zeros((), device=split.labels.device)
    for start in range(0, len(split), EVAL_BATCH):
        targets = split.labels[start:start + EVAL_BATCH]
        logits = model(data.normalize(split.images[start:start + EVAL_BATCH]))
        loss += F.cross_entropy(logits, targets, reduction="sum")
        correct += (logits.argmax(dim=1) == targets).sum()
    count = max(len(split), 1)
    return loss.item() / count, correct.item() / count


# ---------------------------------------------------------------- the textbook loop

class TextbookDataset(torch.utils.data.Dataset):
    """The usual way: one PIL image per item, transformed on the CPU in __getitem__."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform) -> None:
        from torchvision.transforms.functional import to_pil_image

        self.images = [to_pil_image(image) for image in images.cpu()]
        self.labels = labels.cpu().tolist()
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        return self.transform(self.images[index]), self.labels[index]


class SameOrder(torch.utils.data.Sampler):
    """The permutation regtui's trainer draws each epoch (same seed, same device; exact
    while no augmentation draws from the generator too), so both loops see the same
    batches and reach the target at the same epoch: the time to it then differs by speed
    alone, not by the luck of the shuffle."""

    def __init__(self, count: int, seed: int, device: torch.device) -> None:
        self.count = count
        self.device = device
        self.generator = torch.Generator(device=device).manual_seed(seed)

    def __len__(self) -> int:
        return self.count

    def __iter__(self):
        return iter(torch.randperm(self.count, generator=self.generator,
                                   device=self.device).tolist())


def textbook_epoch(model: torch.nn.Module, loader, optimizer: torch.optim.Optimizer,
                   device: torch.device) -> tuple[float, int]:
    """One epoch as tutorials write it: loss.item() every step. Returns (loss sum, samples)."""
    model.train()
    total, seen = 0.0, 0
    for images, targets in loader:
        images, targets = images.to(device), targets.to(device)
        loss = F.cross_entropy(model(images), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(targets)
        seen += len(targets)
    return total, seen


def textbook_loop(prepared: Prepared, epochs: int | None = None) -> list[float]:
    """W1's reference: torchvision transforms on PIL images, a DataLoader in the main
    process, loss.item() every step. Returns each epoch's train loss."""
    from torchvision import transforms

    cfg, data, model, device = prepared.config, prepared.dataset, prepared.model, prepared.device
    augment = cfg.augment
    mean, std = data.mean.cpu().tolist(), data.std.cpu().tolist()
    train_transform = transforms.Compose([
        transforms.RandomHorizontalFlip(augment.hflip),
        transforms.RandomAffine(degrees=augment.rotation, shear=augment.shear,
                                scale=augment.scale),
        transforms.ToTensor(), transforms.Normalize(mean, std)])
    plain = transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])
    train = TextbookDataset(data.train.images, data.train.labels, train_transform)
    loaders = {name: torch.utils.data.DataLoader(
        TextbookDataset(split.images, split.labels, plain), batch_size=EVAL_BATCH)
        for name, split in (("val", data.val), ("test", data.test))}
    loader = torch.utils.data.DataLoader(train, batch_size=cfg.train.batch_size, shuffle=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.train.lr)
    losses = []
    for _ in range(epochs or cfg.train.epochs):
        total, seen = textbook_epoch(model, loader, optimizer, device)
        losses.append(total / seen)
        _evaluate_loader(model, loaders["val"], device)
    _evaluate_loader(model, loaders["test"], device)
    return losses


def textbook_workers() -> int:
    return min(4, os.cpu_count() or 1)


def textbook_epochs(prepared: Prepared, augment: bool,
                    until: Callable[[float], bool] = lambda acc: False
                    ) -> list[tuple[float, float, float]]:
    """W3's and T98's reference: torchvision transforms on PIL images, a DataLoader with
    worker processes (pinned memory on CUDA) in regtui's batch order, loss.item() every
    step, validation every epoch; `until` (the val accuracy) ends it early.
    Returns (train samples/s, val acc, seconds since training began) per epoch."""
    from torchvision import transforms

    cfg, data, model, device = prepared.config, prepared.dataset, prepared.model, prepared.device
    normalize = [transforms.ToTensor(), transforms.Normalize(data.mean.cpu().tolist(),
                                                             data.std.cpu().tolist())]
    moves = [transforms.RandomHorizontalFlip(cfg.augment.hflip),
             transforms.RandomAffine(0, translate=(cfg.augment.translate,) * 2)] if augment else []
    loader = torch.utils.data.DataLoader(
        TextbookDataset(data.train.images, data.train.labels, transforms.Compose(moves + normalize)),
        batch_size=cfg.train.batch_size, sampler=SameOrder(len(data.train), cfg.train.seed, device),
        num_workers=textbook_workers(),
        pin_memory=device.type == "cuda", persistent_workers=True)
    val = torch.utils.data.DataLoader(
        TextbookDataset(data.val.images, data.val.labels, transforms.Compose(normalize)),
        batch_size=EVAL_BATCH)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.train.lr)
    results = []
    started = time.perf_counter()
    for _ in range(cfg.train.epochs):
        epoch_start = time.perf_counter()
        _, seen = textbook_epoch(model, loader, optimizer, device)
        rate = seen / (time.perf_counter() - epoch_start)
        acc = _accuracy(model, val, device)
        results.append((rate, acc, time.perf_counter() - started))
        if until(acc):
            break
    return results


@torch.no_grad()
def _evaluate_loader(model, loader, device) -> None:
    model.eval()
    for images, targets in loader:
        (model(images.to(device)).argmax(dim=1) == targets.to(device)).sum().item()


@torch.no_grad()
def _accuracy(model, loader, device) -> float:
    model.eval()
    correct = total = 0
    for images, targets in loader:
        correct += (model(images.to(device)).argmax(dim=1).cpu() == targets).sum().item()
        total += len(targets)
    return correct / max(total, 1)
