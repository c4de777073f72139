"""Images drawn with half-block characters: each cell shows two pixels, top and bottom."""

from __future__ import annotations

import base64
from typing import Sequence

from rich.style import Style
from rich.text import Text

UPPER_HALF = "▀"


def decode(pixels: str | bytes, shape: Sequence[int]) -> list[list[tuple[int, int, int]]]:
    """base64 (or raw) uint8 CHW bytes -> rows of RGB tuples."""
    raw = base64.b64decode(pixels) if isinstance(pixels, str) else pixels
    channels, height, width = shape
    plane = height * width

    def rgb(index: int) -> tuple[int, int, int]:
        if channels == 1:
            value = raw[index]
            return value, value, value
        return raw[index], raw[plane + index], raw[2 * plane + index]

    return [[rgb(row * width + col) for col in range(width)] for row in range(height)]


def upscale(rows: list[list[tuple[int, int, int]]], factor: int) -> list[list[tuple[int, int, int]]]:
    return [[pixel for pixel in row for _ in range(factor)] for row in rows for _ in range(factor)]


def render(rows: list[list[tuple[int, int, int]]]) -> list[Text]:
    """One Text line per two pixel rows."""
    lines = []
    for top_index in range(0, len(rows), 2):
        top = rows[top_index]
        bottom = rows[top_index + 1] if top_index + 1 < len(rows) else [(0, 0, 0)] * len(top)
        line = Text()
        for upper, lower in zip(top, bottom):
            line.append(UPPER_HALF, Style(color=f"rgb{upper}", bgcolor=f"rgb{lower}"))
        lines.append(line)
    return lines


def scale_for(height: int) -> int:
    """Small images (digits are 8x8) are doubled so they can be read."""
    return 2 if height <= 16 else 1


def grid(images: list[list[Text]], captions: list[Text], per_row: int) -> Text:
    """Lay out rendered images side by side with a caption under each."""
    out = Text()
    width = max((line.cell_len for image in images for line in image), default=0)
    for start in range(0, len(images), per_row):
        chunk = images[start:start + per_row]
        for line_index in range(max(len(image) for image in chunk)):
            for image in chunk:
                line = image[line_index] if line_index < len(image) else Text(" " * width)
                out.append_text(line)
                out.append("  ")
            out.append("\n")
        for caption in captions[start:start + per_row]:
            caption = caption.copy()
            caption.truncate(width, pad=True)
            out.append_text(caption)
            out.append("  ")
        out.append("\n")
    return out
