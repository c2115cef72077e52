"""Small numpy drawing primitives for ``rgb_array`` frames.

Every function works on an RGB image ``img`` of shape (H, W, 3) and dtype uint8, in place, and
clips what it draws to the image, so callers never check bounds. Coordinates are (x, y) pixels,
x to the right, y down. Colours are (r, g, b) tuples of 0..255.

    frame = blank(64, 96)
    fill_rect(frame, 2, 2, 10, 10, (255, 0, 0))
    rect(frame, 20, 2, 16, 16, (0, 255, 0), thickness=2)
    line(frame, 0, 63, 95, 0, (255, 255, 255))
    text(frame, 40, 30, "A7", (255, 255, 0), scale=2)
    frame = hstack([frame, gray_to_rgb(upscale(digit, 4))], gap=4)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Color = tuple[int, int, int]

WHITE: Color = (255, 255, 255)
BLACK: Color = (0, 0, 0)
RED: Color = (230, 40, 40)
GREEN: Color = (40, 200, 60)
BLUE: Color = (60, 120, 255)
YELLOW: Color = (250, 210, 40)
GRAY: Color = (128, 128, 128)
#: one colour per retina scale or per head, cycled
PALETTE: tuple[Color, ...] = (RED, GREEN, BLUE, YELLOW, (220, 80, 220), (60, 220, 220))


def blank(height: int, width: int, color: Color = BLACK) -> np.ndarray:
    """A new (height, width, 3) uint8 image filled with ``color``."""
    img = np.empty((height, width, 3), np.uint8)
    img[:] = color
    return img


def fill_rect(img: np.ndarray, x: int, y: int, w: int, h: int, color: Color) -> None:
    """Fill the w x h rectangle whose top-left pixel is (x, y)."""
    H, W = img.shape[:2]
    x0, y0, x1, y1 = max(int(x), 0), max(int(y), 0), min(int(x + w), W), min(int(y + h), H)
    if x0 < x1 and y0 < y1:
        img[y0:y1, x0:x1] = color


def rect(img: np.ndarray, x: int, y: int, w: int, h: int, color: Color, thickness: int = 1) -> None:
    """Outline the w x h rectangle whose top-left pixel is (x, y), ``thickness`` pixels inwards."""
    t = thickness
    fill_rect(img, x, y, w, t, color)
    fill_rect(img, x, y + h - t, w, t, color)
    fill_rect(img, x, y, t, h, color)
    fill_rect(img, x + w - t, y, t, h, color)


def line(
    img: np.ndarray, x0: float, y0: float, x1: float, y1: float, color: Color, thickness: int = 1
) -> None:
    """A straight line from (x0, y0) to (x1, y1), sampled once per pixel along its longer axis."""
    n = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
    xs = np.rint(np.linspace(x0, x1, n)).astype(int)
    ys = np.rint(np.linspace(y0, y1, n)).astype(int)
    H, W = img.shape[:2]
    for dy in range(thickness):
        for dx in range(thickness):
            xx, yy = xs + dx - thickness // 2, ys + dy - thickness // 2
            ok = (xx >= 0) & (xx < W) & (yy >= 0) & (yy < H)
            img[yy[ok], xx[ok]] = color


def dot(img: np.ndarray, x: float, y: float, radius: int, color: Color) -> None:
    """A filled square dot of side 2 * radius + 1 centred on (x, y)."""
    fill_rect(
        img, int(round(x)) - radius, int(round(y)) - radius, 2 * radius + 1, 2 * radius + 1, color
    )


def upscale(img: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour upscaling of a (H, W) or (H, W, C) image by an integer ``factor``."""
    return np.repeat(np.repeat(img, factor, axis=0), factor, axis=1)


def gray_to_rgb(img: np.ndarray) -> np.ndarray:
    """A (H, W) image in [0, 1] (float) or 0..255 (uint8) as (H, W, 3) uint8."""
    if img.dtype != np.uint8:
        img = (np.clip(img, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
    return np.repeat(img[:, :, None], 3, axis=2)


def to_rgb(img: np.ndarray) -> np.ndarray:
    """A grayscale (H, W) or colour (H, W, C) image, in [0, 1] (float) or 0..255 (uint8), as
    (H, W, 3) uint8: grayscale repeated, RGB as it is, RGBA without alpha; other channel counts
    (2, or more than 4) as the grayscale mean of their channels."""
    if img.ndim == 2:
        return gray_to_rgb(img)
    if img.shape[2] in (3, 4):
        rgb = img[:, :, :3]
        if rgb.dtype != np.uint8:
            return (np.clip(rgb, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
        return np.ascontiguousarray(rgb)
    mean = img.mean(axis=2)
    return gray_to_rgb(mean if img.dtype != np.uint8 else (mean + 0.5).astype(np.uint8))


def pad(img: np.ndarray, height: int, width: int, color: Color = BLACK) -> np.ndarray:
    """``img`` in the top-left corner of a (height, width) canvas of ``color``."""
    out = blank(max(height, img.shape[0]), max(width, img.shape[1]), color)
    out[: img.shape[0], : img.shape[1]] = img
    return out


def hstack(images: Sequence[np.ndarray], gap: int = 0, color: Color = BLACK) -> np.ndarray:
    """Images side by side, top-aligned, ``gap`` pixels apart, on a background of ``color``."""
    height = max(i.shape[0] for i in images)
    width = sum(i.shape[1] for i in images) + gap * (len(images) - 1)
    out = blank(height, width, color)
    x = 0
    for i in images:
        out[: i.shape[0], x : x + i.shape[1]] = i
        x += i.shape[1] + gap
    return out


def vstack(images: Sequence[np.ndarray], gap: int = 0, color: Color = BLACK) -> np.ndarray:
    """Images one above the other, left-aligned, ``gap`` pixels apart."""
    width = max(i.shape[1] for i in images)
    height = sum(i.shape[0] for i in images) + gap * (len(images) - 1)
    out = blank(height, width, color)
    y = 0
    for i in images:
        out[y : y + i.shape[0], : i.shape[1]] = i
        y += i.shape[0] + gap
    return out


# A 3x5 bitmap font: digits, upper-case letters and a few signs. Each glyph is 5 rows of 3 bits.
_GLYPHS = {
    "0": "111101101101111",
    "1": "010110010010111",
    "2": "111001111100111",
    "3": "111001111001111",
    "4": "101101111001001",
    "5": "111100111001111",
    "6": "111100111101111",
    "7": "111001010010010",
    "8": "111101111101111",
    "9": "111101111001111",
    "A": "010101111101101",
    "B": "110101110101110",
    "C": "011100100100011",
    "D": "110101101101110",
    "E": "111100110100111",
    "F": "111100110100100",
    "G": "011100101101011",
    "H": "101101111101101",
    "I": "111010010010111",
    "J": "001001001101010",
    "K": "101101110101101",
    "L": "100100100100111",
    "M": "101111111101101",
    "N": "110101101101101",
    "O": "010101101101010",
    "P": "110101110100100",
    "Q": "010101101110011",
    "R": "110101110101101",
    "S": "011100010001110",
    "T": "111010010010010",
    "U": "101101101101111",
    "V": "101101101101010",
    "W": "101101111111101",
    "X": "101101010101101",
    "Y": "101101010010010",
    "Z": "111001010100111",
    " ": "000000000000000",
    "-": "000000111000000",
    "+": "000010111010000",
    ".": "000000000000010",
    ":": "000010000010000",
    "/": "001001010100100",
    "?": "111001010000010",
    "_": "000000000000111",
    "=": "000111000111000",
    "#": "101111101111101",
    "<": "001010100010001",
    ">": "100010001010100",
}
GLYPH_WIDTH, GLYPH_HEIGHT = 3, 5


def glyph(char: str) -> np.ndarray:
    """The (5, 3) bool bitmap of ``char`` (lower case drawn as upper case; unknown as ``?``)."""
    bits = _GLYPHS.get(char.upper(), _GLYPHS["?"])
    return np.array([b == "1" for b in bits]).reshape(GLYPH_HEIGHT, GLYPH_WIDTH)


def text_size(s: str, scale: int = 1) -> tuple[int, int]:
    """(width, height) in pixels of ``text(…, s, scale=scale)``."""
    return (max(len(s) * (GLYPH_WIDTH + 1) - 1, 0) * scale, GLYPH_HEIGHT * scale)


def text(img: np.ndarray, x: int, y: int, s: str, color: Color, scale: int = 1) -> None:
    """Draw ``s`` with the 3x5 bitmap font, top-left at (x, y), each font pixel scale x scale."""
    H, W = img.shape[:2]
    for n, ch in enumerate(s):
        bitmap = upscale(glyph(ch), scale)
        gx = x + n * (GLYPH_WIDTH + 1) * scale
        ys, xs = np.nonzero(bitmap)
        ys, xs = ys + y, xs + gx
        ok = (xs >= 0) & (xs < W) & (ys >= 0) & (ys < H)
        img[ys[ok], xs[ok]] = color
