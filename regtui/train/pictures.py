"""One image file -> the 0-255 picture a person sees, whatever mode Pillow opens it in.

Pillow's own `convert("L")` clips 16-bit values at 255 (a 16-bit PNG turns white) and
truncates floats (a [0, 1] float TIFF turns black), so the numeric modes are scaled here:

- 16-bit grey (`I;16*`, 16-bit PNG/PGM read as `I`, TIFF by its BitsPerSample): 0-65535
  (0 to 2^bits - 1) onto 0-255;
- 32-bit integers of unknown depth and floats: floats in [0, 1] times 255, anything else
  by the picture's own range (its minimum to black, its maximum to white);
- palette images are expanded (to grey when the palette is grey), CMYK, YCbCr, LAB and
  HSV converted to RGB, 1-bit to 0/255;
- transparency (an alpha channel, or a transparent palette entry) is composited on white,
  as a viewer shows it, instead of revealing whatever colour hides under alpha 0; an
  alpha channel that is 0 everywhere is ignored (a writer's mistake, not a picture);
- the EXIF orientation is applied (a phone's portrait JPEG stands upright).

Whether a picture is grey or colour is reported; the caller decides one channel count
for the whole dataset.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

GREY_MODES = {"1", "L", "LA", "La", "F"}  # plus every "I..." mode


@dataclass
class Picture:
    pixels: torch.Tensor  # uint8 (size, size, 1 or 3)
    conversion: str | None  # what was done to reach 8-bit grey/RGB, e.g. "16-bit grey"


def read_picture(path: Path, size: int) -> Picture:
    """The file as a size x size 8-bit grey or RGB picture (bilinear resize).

    Raises whatever Pillow raises for a file it cannot read (OSError, ValueError,
    SyntaxError, DecompressionBombError, ...): the caller skips the file."""
    with Image.open(path) as image:
        if image.format == "JPEG":  # decode at 1/2, 1/4 or 1/8 size when that is enough
            image.draft(image.mode, (size, size))
        image.load()
        white = integer_white_level(image)  # from the file: the upright copy forgets it
        converted, conversion = to_8bit(_upright(image), white)
        resized = converted.resize((size, size), Image.Resampling.BILINEAR)
    pixels = np.asarray(resized, dtype=np.uint8).reshape(size, size, -1)
    return Picture(torch.from_numpy(pixels.copy()), conversion)


def _upright(image: Image.Image) -> Image.Image:
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # noqa: BLE001 - a broken EXIF block: the pixels are still good
        return image


def _is_grey(mode: str) -> bool:
    return mode in GREY_MODES or mode.startswith("I")


def to_8bit(image: Image.Image, white: int | None = None) -> tuple[Image.Image, str | None]:
    """(an "L" or "RGB" image, a short note of the conversion or None). `white` is the
    white level of an integer picture when known (integer_white_level of the file)."""
    mode = image.mode
    transparent = image.has_transparency_data  # alpha bands or a transparent colour key
    if mode in ("L", "RGB") and not transparent:
        return image, None
    if mode == "1":
        return image.convert("L"), "1-bit black and white"
    if mode == "F" or mode.startswith("I"):
        return _scaled_grey(image, white)
    if transparent:
        return _composited(image)
    if mode in ("P", "PA"):
        return _maybe_grey(image.convert("RGB")), "palette expanded"
    return image.convert("RGB"), f"{mode} converted to RGB"


def _scaled_grey(image: Image.Image, white: int | None) -> tuple[Image.Image, str]:
    values = np.asarray(image).astype(np.float64)
    if values.ndim == 3:  # a numeric mode with extra planes: the first is the picture
        values = values[..., 0]
    finite = np.isfinite(values)
    if not finite.all():
        values = np.where(finite, values, 0.0)
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    full = white or (65535 if image.mode.startswith("I;16") else None)
    if full and image.mode != "F":
        scaled, note = values * (255.0 / full), f"{full.bit_length()}-bit grey"
    elif image.mode == "F" and low >= 0.0 and high <= 1.0:
        scaled, note = values * 255.0, "float grey in [0, 1]"
    elif high > low:
        scaled = (values - low) * (255.0 / (high - low))
        note = ("float" if image.mode == "F" else "32-bit") + " grey scaled by its range"
    else:
        scaled, note = np.full_like(values, min(max(low, 0.0), 255.0)), "constant grey"
    pixels = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels), note


def integer_white_level(image: Image.Image) -> int | None:
    """The white level of an integer picture as opened from its file: 2^bits - 1 where
    the file says its depth (TIFF BitsPerSample up to 16, 16-bit modes, 16-bit PNG and
    PGM, which Pillow opens as "I" scaled to 0-65535); None for other modes and where it
    cannot be known (32-bit integers: the picture's own range is used)."""
    if not image.mode.startswith("I"):
        return None
    tags = getattr(image, "tag_v2", None)
    bits = tags.get(258) if tags is not None else None
    if isinstance(bits, tuple):
        bits = bits[0] if bits else None
    if isinstance(bits, int) and 1 <= bits <= 16:
        return 2 ** bits - 1
    if image.mode.startswith("I;16") or image.format in ("PNG", "PPM"):
        return 65535
    return None


def _composited(image: Image.Image) -> tuple[Image.Image, str]:
    """Alpha over a white background, in grey or RGB as the source is. An alpha channel
    that is 0 everywhere (32-bit BMPs and some exporters write one) hides nothing the
    author meant to hide: it is ignored instead of turning the picture white."""
    rgba = np.asarray(image.convert("RGBA"), dtype=np.float64)
    alpha = rgba[..., 3:] / 255.0
    note = f"{image.mode} with transparency composited on white"
    if not alpha.any():
        alpha, note = np.ones_like(alpha), f"{image.mode} with an empty alpha channel ignored"
    elif alpha.min() == 1.0:
        note = f"{image.mode} with an opaque alpha channel dropped"
    over_white = rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)
    pixels = np.clip(np.rint(over_white), 0, 255).astype(np.uint8)
    if _is_grey(image.mode):
        return Image.fromarray(np.ascontiguousarray(pixels[..., 0])), note
    if image.mode in ("P", "PA"):
        return _maybe_grey(Image.fromarray(pixels)), note
    return Image.fromarray(pixels), note


def _maybe_grey(rgb: Image.Image) -> Image.Image:
    """A palette picture whose colours are all greys is a grey picture."""
    pixels = np.asarray(rgb)
    if (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all():
        return rgb.convert("L")
    return rgb
