"""Vectorized per-sample augmentation on the training device.

Every sample in a batch draws its own parameters; the geometric ones (flips, rotation,
shear, translation, zoom, padded crop) are folded into one affine matrix per sample and
applied in a single affine_grid / grid_sample pass. Images are floats in [0, 1] here.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from regtui.config import AugmentConfig

# Random erasing draws its box as torchvision's RandomErasing does.
ERASE_AREA = (0.02, 0.33)
ERASE_LOG_RATIO = (math.log(0.3), math.log(3.3))


class Augmenter:
    def __init__(self, cfg: AugmentConfig, generator: torch.Generator) -> None:
        self.cfg = cfg
        self.generator = generator

    @property
    def geometric(self) -> bool:
        c = self.cfg
        return bool(c.hflip or c.vflip or c.rotation or c.shear or c.translate
                    or c.crop_padding or c.scale != (1.0, 1.0))

    @property
    def photometric(self) -> bool:
        return bool(self.cfg.brightness or self.cfg.contrast)

    @property
    def active(self) -> bool:
        return self.geometric or self.photometric or bool(self.cfg.erasing)

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
        a = (cos) * inv_scale * flip_x
        b = (cos * shear - sin) * inv_scale * flip_x
        c = (sin) * inv_scale * flip_y
        d = (sin * shear + cos) * inv_scale * flip_y
        row_x = torch.stack([a, b, params["shift_x"]], dim=1)
        row_y = torch.stack([c, d, params["shift_y"]], dim=1)
        return torch.stack([row_x, row_y], dim=1)

    def apply_geometry(self, images: Tensor, params: dict[str, Tensor]) -> Tensor:
        theta = self.sampling_matrices(params).to(images.dtype)
        grid = F.affine_grid(theta, list(images.shape), align_corners=False)
        return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros",
                             align_corners=False)

    def apply_photometric(self, images: Tensor) -> Tensor:
        n, device = images.shape[0], images.device
        if self.cfg.brightness:
            factor = self._uniform(n, 1 - self.cfg.brightness, 1 + self.cfg.brightness, device)
            images = images * factor.view(-1, 1, 1, 1)
        if self.cfg.contrast:
            factor = self._uniform(n, 1 - self.cfg.contrast, 1 + self.cfg.contrast, device)
            mean = images.mean(dim=(1, 2, 3), keepdim=True)
            images = (images - mean) * factor.view(-1, 1, 1, 1) + mean
        return images.clamp(0.0, 1.0)

    def erase(self, images: Tensor) -> Tensor:
        """Random erasing on standardized images: the box is set to 0, the channel mean."""
        n, _, height, width = images.shape
        device = images.device
        area = self._uniform(n, *ERASE_AREA, device) * height * width
        ratio = torch.exp(self._uniform(n, *ERASE_LOG_RATIO, device))
        box_h = torch.sqrt(area * ratio).clamp(1, height)
        box_w = torch.sqrt(area / ratio).clamp(1, width)
        top = self._uniform(n, 0, 1, device) * (height - box_h)
        left = self._uniform(n, 0, 1, device) * (width - box_w)
        rows = torch.arange(height, device=device).view(1, height, 1)
        cols = torch.arange(width, device=device).view(1, 1, width)
        inside = ((rows >= top.view(-1, 1, 1)) & (rows < (top + box_h).view(-1, 1, 1))
                  & (cols >= left.view(-1, 1, 1)) & (cols < (left + box_w).view(-1, 1, 1)))
        chosen = self._chance(n, self.cfg.erasing, device).view(-1, 1, 1)
        return images.masked_fill((inside & chosen).unsqueeze(1), 0.0)

    def before_standardize(self, images: Tensor) -> Tensor:
        """Geometric and photometric changes on [0, 1] images."""
        if self.geometric:
            _, _, height, width = images.shape
            params = self.sample_geometry(images.shape[0], height, width, images.device)
            images = self.apply_geometry(images, params)
        if self.photometric:
            images = self.apply_photometric(images)
        return images

    def after_standardize(self, images: Tensor) -> Tensor:
        return self.erase(images) if self.cfg.erasing else images
