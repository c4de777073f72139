"""Vectorized per-sample augmentation on the training device.

Every sample draws its own parameters; the geometric ones (flips, rotation, shear,
translation, zoom, padded crop) are folded into one affine matrix per sample and applied
in a single affine_grid / grid_sample pass. The parameters of a whole epoch are drawn at
once (plan), so a batch only slices them: on small images the dozens of tiny tensor ops
per batch would otherwise cost more than the warping itself. Images are floats in [0, 1].
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from regtui.config import AugmentConfig

# augment.fill = "auto": zeros where the background is black (the digit sets), so a moved
# digit stays on its own background; reflection for natural images (CIFAR, photo
# folders), where black frames or the streaks of repeated edge pixels would be new,
# unnatural content (reflect padding is the usual choice in CIFAR crop recipes).
NATURAL_IMAGES = ("cifar10", "cifar100", "imagefolder")


def resolve_fill(fill: str | float, dataset: str) -> str | float:
    """augment.fill with "auto" decided for the dataset: "zeros", "border", "reflection"
    (grid_sample padding modes) or a grey level in [0, 1]. "auto" is zeros for any
    dataset not known to hold natural images (the digit sets)."""
    if fill == "auto":
        return "reflection" if dataset in NATURAL_IMAGES else "zeros"
    return fill


def describe_fill(fill: str | float, dataset: str) -> str:
    """One line for previews and headers, e.g. "reflection (auto for cifar10)"."""
    resolved = resolve_fill(fill, dataset)
    text = f"grey {resolved:g}" if isinstance(resolved, float) else str(resolved)
    return f"{text} (auto for {dataset})" if fill == "auto" else text


# Random erasing draws its box as torchvision's RandomErasing does.
ERASE_AREA = (0.02, 0.33)
ERASE_LOG_RATIO = (math.log(0.3), math.log(3.3))


class Augmenter:
    def __init__(self, cfg: AugmentConfig, generator: torch.Generator,
                 dataset: str = "") -> None:
        """`dataset` decides augment.fill = "auto" (see resolve_fill)."""
        self.cfg = cfg
        self.generator = generator
        self.fill = resolve_fill(cfg.fill, dataset)
        self._plan: dict[str, Tensor] = {}
        # Fixed for the run (the config is frozen); read every training step.
        self.geometric = bool(cfg.hflip or cfg.vflip or cfg.rotation or cfg.shear
                              or cfg.translate or cfg.crop_padding or cfg.scale != (1.0, 1.0))
        self.photometric = bool(cfg.brightness or cfg.contrast)
        self.active = self.geometric or self.photometric or bool(cfg.erasing)

    def _uniform(self, n: int, low: float, high: float, device: torch.device) -> Tensor:
        return torch.rand(n, generator=self.generator, device=device) * (high - low) + low

    def _chance(self, n: int, p: float, device: torch.device) -> Tensor:
        return torch.rand(n, generator=self.generator, device=device) < p

    def sample_geometry(self, n: int, height: int, width: int, device: torch.device) -> dict[str, Tensor]:
        """Per-sample parameters: degrees, zoom factors, shifts in normalized units, flips."""
        c = self.cfg
        shift_x = self._uniform(n, -c.translate, c.translate, device) * 2
        shift_y = self._uniform(n, -c.translate, c.translate, device) * 2
        if c.crop_padding:
            pad = c.crop_padding
            crop = torch.randint(-pad, pad + 1, (2, n), generator=self.generator, device=device)
            shift_x = shift_x + crop[0] * (2.0 / width)  # whole pixels: exact shifts
            shift_y = shift_y + crop[1] * (2.0 / height)
        return {
            "angle": self._uniform(n, -c.rotation, c.rotation, device),
            "shear": self._uniform(n, -c.shear, c.shear, device),
            "scale": self._uniform(n, c.scale[0], c.scale[1], device),
            "shift_x": shift_x,
            "shift_y": shift_y,
            "hflip": self._chance(n, c.hflip, device),
            "vflip": self._chance(n, c.vflip, device),
        }

    @staticmethod
    def sampling_matrices(params: dict[str, Tensor]) -> Tensor:
        """(N, 2, 3) matrices mapping output coordinates to input coordinates."""
        angle = torch.deg2rad(params["angle"])
        shear = torch.tan(torch.deg2rad(params["shear"]))
        cos, sin = torch.cos(angle), torch.sin(angle)
        inv_scale = 1.0 / params["scale"]
        flip_x = 1.0 - 2.0 * params["hflip"].float()
        flip_y = 1.0 - 2.0 * params["vflip"].float()
        # rotation @ shear (x += shear * y), shrunk by the zoom factor, then flipped
        a = cos * inv_scale * flip_x
        b = (cos * shear - sin) * inv_scale * flip_x
        c = sin * inv_scale * flip_y
        d = (sin * shear + cos) * inv_scale * flip_y
        row_x = torch.stack([a, b, params["shift_x"]], dim=1)
        row_y = torch.stack([c, d, params["shift_y"]], dim=1)
        return torch.stack([row_x, row_y], dim=1)

    def apply_geometry(self, images: Tensor, params: dict[str, Tensor]) -> Tensor:
        """Warp a batch with explicitly given parameters (for previews and tests)."""
        return self.warp(images, self.sampling_matrices(params))

    def warp(self, images: Tensor, theta: Tensor) -> Tensor:
        """Resample (N, C, H, W) images through (N, 2, 3) matrices; where a sample point
        falls outside the image, augment.fill decides what is seen. A grey level is
        blended in through a coverage mask warped along with the image (one extra
        channel), so its edge is as smooth as the image's own."""
        grid = F.affine_grid(theta.to(images.dtype), list(images.shape), align_corners=False)
        if isinstance(self.fill, str):
            return F.grid_sample(images, grid, mode="bilinear", padding_mode=self.fill,
                                 align_corners=False)
        if self.fill == 0.0:
            return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros",
                                 align_corners=False)
        ones = images.new_ones((images.shape[0], 1, *images.shape[2:]))
        warped = F.grid_sample(torch.cat([images, ones], dim=1), grid, mode="bilinear",
                               padding_mode="zeros", align_corners=False)
        image, covered = warped[:, :-1], warped[:, -1:]
        return image + (1.0 - covered) * self.fill

    def plan(self, count: int, height: int, width: int, device: torch.device) -> None:
        """Draw the parameters of the next `count` samples (an epoch) in one go."""
        plan: dict[str, Tensor] = {}
        if self.geometric:
            params = self.sample_geometry(count, height, width, device)
            plan["theta"] = self.sampling_matrices(params)
        if self.cfg.brightness:
            plan["brightness"] = self._uniform(count, 1 - self.cfg.brightness,
                                               1 + self.cfg.brightness, device).view(-1, 1, 1, 1)
        if self.cfg.contrast:
            plan["contrast"] = self._uniform(count, 1 - self.cfg.contrast,
                                             1 + self.cfg.contrast, device).view(-1, 1, 1, 1)
        if self.cfg.erasing:
            plan["erase_box"] = self._erase_boxes(count, height, width, device)
        self._plan = plan

    def _erase_boxes(self, n: int, height: int, width: int, device: torch.device) -> Tensor:
        """(n, 4) boxes top, bottom, left, right as torchvision's RandomErasing draws them;
        an empty box (0, 0, 0, 0) where the sample is not erased."""
        area = self._uniform(n, *ERASE_AREA, device) * height * width
        ratio = torch.exp(self._uniform(n, *ERASE_LOG_RATIO, device))
        box_h = torch.sqrt(area * ratio).clamp(1, height)
        box_w = torch.sqrt(area / ratio).clamp(1, width)
        top = self._uniform(n, 0, 1, device) * (height - box_h)
        left = self._uniform(n, 0, 1, device) * (width - box_w)
        chosen = self._chance(n, self.cfg.erasing, device).float()
        return torch.stack([top, top + box_h, left, left + box_w], dim=1) * chosen.view(-1, 1)

    def _planned(self, images: Tensor, positions: slice | None) -> tuple[dict[str, Tensor], slice]:
        if positions is None:  # a lone batch: plan just for it
            _, _, height, width = images.shape
            self.plan(images.shape[0], height, width, images.device)
            positions = slice(0, images.shape[0])
        return self._plan, positions

    def before_standardize(self, images: Tensor, positions: slice | None = None) -> Tensor:
        """Geometric and photometric changes on [0, 1] images; `positions` says which
        planned samples this batch is (None: draw fresh parameters for it)."""
        plan, positions = self._planned(images, positions)
        if "theta" in plan:
            images = self.warp(images, plan["theta"][positions])
        if "brightness" in plan:
            images = images * plan["brightness"][positions]
        if "contrast" in plan:
            mean = images.mean(dim=(1, 2, 3), keepdim=True)
            images = (images - mean) * plan["contrast"][positions] + mean
        if "brightness" in plan or "contrast" in plan:
            images = images.clamp(0.0, 1.0)
        return images

    def after_standardize(self, images: Tensor, positions: slice | None = None) -> Tensor:
        """Random erasing on standardized images: the box is set to 0, the channel mean."""
        if not self.cfg.erasing:
            return images
        plan, positions = self._planned(images, positions)
        box = plan["erase_box"][positions]
        _, _, height, width = images.shape
        rows = torch.arange(height, device=images.device).view(1, height, 1)
        cols = torch.arange(width, device=images.device).view(1, 1, width)
        top, bottom, left, right = (box[:, i].view(-1, 1, 1) for i in range(4))
        inside = (rows >= top) & (rows < bottom) & (cols >= left) & (cols < right)
        return images.masked_fill(inside.unsqueeze(1), 0.0)
