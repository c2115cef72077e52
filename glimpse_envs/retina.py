"""Glimpse sensors: RAM's multi-resolution :class:`Retina` and the simple :class:`TileSensor`.

Both are batched over images and locations, take locations as float (B, 2) arrays of (x, y) in
[-1, 1] ((-1, -1) the top-left corner, (0, 0) the centre) and return float32 (B, k, g, g) in [0, 1].
"""

from __future__ import annotations

import math

import numpy as np


def pixel_corner(locations: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The pixel corners (cx, cy) that locations map to: ``floor((l + 1) / 2 * S + 0.5)``."""
    loc = np.asarray(locations, np.float64)
    cx = np.floor((loc[..., 0] + 1.0) * (width / 2.0) + 0.5).astype(np.int64)
    cy = np.floor((loc[..., 1] + 1.0) * (height / 2.0) + 0.5).astype(np.int64)
    return cx, cy


class Retina:
    """RAM's glimpse sensor: ``scales`` square patches centred on one location.

    Patch j (j = 0 .. scales - 1) is ``w = size * 2**j`` pixels wide; its left edge is at
    ``c - w // 2`` where ``c = floor((l + 1) / 2 * S + 0.5)`` is the pixel corner nearest the
    location (the same for y). Pixels outside the image count as zero. Each patch is averaged down
    to ``size`` x ``size``: output cell (r, q) of scale j is the mean of the ``2**j`` x ``2**j``
    block of pixels it covers, divided by 255.

    The implementation reads summed-area (integral) images: a block sum is four lookups, and
    clipping every block corner to the image gives the zero padding for free. :meth:`prepare`
    builds the integral images once per canvas; a call then gathers the (size + 1)^2 corners of
    every scale at once and takes two differences.

    Args:
        size: g, the side of each output patch in cells.
        scales: k, the number of patches.
    """

    def __init__(self, size: int = 8, scales: int = 1):
        if int(size) < 1 or int(scales) < 1:
            raise ValueError(f"Retina(size={size}, scales={scales}) invalid: both must be >= 1")
        self.size = g = int(size)
        self.scales = k = int(scales)
        self.shape = (k, g, g)
        self.pixels_per_glimpse = k * g * g
        self.largest = g * 2 ** (k - 1)
        block = 2 ** np.arange(k)
        # corner offsets from c, per scale: -(w // 2) + m * block, m = 0 .. g
        offsets = (-(g * block // 2))[:, None] + np.arange(g + 1)[None, :] * block[:, None]
        self._offsets = offsets.astype(np.int64)
        self._scale = (1.0 / (255.0 * block.astype(np.float64) ** 2)).astype(np.float32)[
            None, :, None, None
        ]
        self._consts: dict = {}

    def check_canvas(self, size: int) -> None:
        """Raise ValueError unless the largest patch is at most twice the canvas side."""
        if self.largest > 2 * size:
            raise ValueError(
                f"retina too large: its largest patch is {self.size} * 2**{self.scales - 1} = "
                f"{self.largest} pixels, more than twice the {size}-pixel canvas (the limit); use "
                "fewer scales, a smaller retina size or a larger canvas"
            )

    def prepare(self, images: np.ndarray) -> np.ndarray:
        """Integral images, float32 (B, H + 1, W + 1): ``I[b, r, c]`` = sum of pixels above-left."""
        images = np.asarray(images)
        B, H, W = images.shape
        out = np.zeros((B, H + 1, W + 1), np.float32)
        inner = out[:, 1:, 1:]
        if images.dtype == np.uint8 and H * W * 255 < 2**24:
            # Sums of uint8 pixels stay below 2**24, so every partial sum is an exact integer in
            # int32 and float32 alike: any summation order gives the same integral images.
            if B < 16:  # batch-last layout: both running sums are whole-row operations
                a = images.transpose(1, 2, 0).astype(np.int32)
                np.cumsum(a, axis=0, out=a)
                np.cumsum(a, axis=1, out=a)
                inner[:] = a.transpose(2, 0, 1)
            else:  # no transposes of large batches: rows one by one (batched over B), then cumsum
                a = images.astype(np.int32)
                for r in range(1, H):
                    a[:, r] += a[:, r - 1]
                np.cumsum(a, axis=2, out=a)
                inner[:] = a
        elif B < 16:
            np.cumsum(
                np.cumsum(images, axis=1, dtype=np.int32), axis=2, out=inner, dtype=np.float32
            )
        else:  # large batches: running sums row by row and column by column, each op batched over B
            inner[:] = images
            for r in range(1, H):
                inner[:, r] += inner[:, r - 1]
            for c in range(1, W):
                inner[:, :, c] += inner[:, :, c - 1]
        return out

    def _constants(self, B: int, H1: int, W1: int) -> dict:
        """Per-shape constants, kept between calls (a dict: the envs alternate batch sizes)."""
        key = (B, H1, W1)
        const = self._consts.get(key)
        if const is None:
            if len(self._consts) > 64:
                self._consts.clear()
            const = self._consts[key] = {
                "half": np.array([(W1 - 1) / 2.0, (H1 - 1) / 2.0]),
                "hx": (W1 - 1) / 2.0,
                "hy": (H1 - 1) / 2.0,
                "limit": np.array([W1 - 1, H1 - 1]).reshape(1, 2, 1, 1),
                "rowbase": (np.arange(B) * (H1 * W1)).reshape(B, 1, 1),
                "index": {},  # B == 1: corner indices per pixel corner (cx, cy)
            }
        return const

    def _index1(self, const: dict, cx: int, cy: int, H1: int, W1: int) -> np.ndarray:
        """The flat corner indices (k, g + 1, g + 1) of one image at pixel corner (cx, cy)."""
        cache = const["index"]
        idx = cache.get((cx, cy))
        if idx is None:
            if len(cache) > 100_000:
                cache.clear()
            ex = np.minimum(np.maximum(cx + self._offsets, 0), W1 - 1)
            ey = np.minimum(np.maximum(cy + self._offsets, 0), H1 - 1)
            idx = cache[(cx, cy)] = (ey * W1)[:, :, None] + ex[:, None, :]
        return idx

    def __call__(
        self, images: np.ndarray, locations: np.ndarray, prepared: bool | None = None
    ) -> np.ndarray:
        """Glimpses float32 (B, k, g, g) of uint8 images (B, H, W) or of ``prepare(images)``."""
        if prepared is None:
            prepared = images.dtype == np.float32
        integral = images if prepared else self.prepare(images)
        B, H1, W1 = integral.shape
        const = self._constants(B, H1, W1)
        if B == 1:  # one image: scalar corner, cached indices, a single gather
            lx, ly = np.asarray(locations, np.float64).reshape(2).tolist()
            cx = math.floor((lx + 1.0) * const["hx"] + 0.5)
            cy = math.floor((ly + 1.0) * const["hy"] + 0.5)
            corners = integral.reshape(-1).take(self._index1(const, cx, cy, H1, W1))
            d = corners[:, 1:, :] - corners[:, :-1, :]
            sums = d[:, :, 1:] - d[:, :, :-1]
            sums *= self._scale[0]
            return sums.reshape(1, *self.shape)
        # corner c = floor((l + 1) / 2 * S + 0.5), then the g + 1 block edges of every scale, clipped
        c = np.floor((np.asarray(locations, np.float64) + 1.0) * const["half"] + 0.5).astype(
            np.int64
        )
        edges = np.minimum(np.maximum(c[:, :, None, None] + self._offsets, 0), const["limit"])
        rows = edges[:, 1] * W1 + const["rowbase"]  # int64 indices: take() is fastest with intp
        # the indices and corners go into buffers kept between calls (only the result is new);
        # every index is in range, so take's "wrap" mode returns the same values, unbuffered
        buffers = const.get("buffers")
        if buffers is None:
            g1 = self.size + 1
            buffers = const["buffers"] = (
                np.empty((B, self.scales, g1, g1), np.int64),
                np.empty((B, self.scales, g1, g1), np.float32),
            )
        index, corners = buffers
        np.add(rows[:, :, :, None], edges[:, 0, :, None, :], out=index)
        integral.reshape(-1).take(index, out=corners, mode="wrap")
        d = corners[:, :, 1:, :] - corners[:, :, :-1, :]
        sums = d[:, :, :, 1:] - d[:, :, :, :-1]
        sums *= self._scale
        return sums

    def __repr__(self) -> str:
        return f"Retina(size={self.size}, scales={self.scales})"


def reference_retina(
    images: np.ndarray, locations: np.ndarray, size: int, scales: int
) -> np.ndarray:
    """The slow, obviously correct retina: pad with zeros, crop each patch, block-average it."""
    images = np.asarray(images, np.float64)
    B, H, W = images.shape
    out = np.zeros((B, scales, size, size), np.float32)
    cx, cy = pixel_corner(locations, H, W)
    for b in range(B):
        for j in range(scales):
            w, block = size * 2**j, 2**j
            m = w + H + W  # margin wide enough for any location in [-2, 2]
            padded = np.zeros((H + 2 * m, W + 2 * m))
            padded[m : m + H, m : m + W] = images[b]
            x0, y0 = cx[b] - w // 2 + m, cy[b] - w // 2 + m
            patch = padded[y0 : y0 + w, x0 : x0 + w]
            for r in range(size):
                for q in range(size):
                    cell = patch[r * block : (r + 1) * block, q * block : (q + 1) * block]
                    out[b, j, r, q] = cell.mean() / 255.0
    return out


class TileSensor:
    """The image cut into ``grid`` x ``grid`` tiles; a glimpse is the whole tile under the location.

    An SxS image is zero-padded to ``T * grid`` pixels, ``T = ceil(S / grid)``, with the padding
    split evenly (the extra pixel, if odd, on the bottom/right): 28x28 MNIST with grid 3 becomes
    30x30 (one blank pixel all round) cut into 10x10 tiles. The tile under location (x, y) is
    column ``min(floor((x + 1) / 2 * grid), grid - 1)``, likewise the row, so the grid points
    ``-1 + 2 j / (grid - 1)`` of the action grid fall on tile j. Output float32 (B, 1, T, T) in [0, 1].

    Args:
        grid: tiles per side.
        canvas_size: S, the side of the images.
    """

    def __init__(self, grid: int = 3, canvas_size: int = 28):
        if int(grid) < 1 or int(grid) > int(canvas_size):
            raise ValueError(
                f"TileSensor(grid={grid}) invalid: use 1 <= grid <= canvas size {canvas_size}"
            )
        self.grid = int(grid)
        self.canvas_size = int(canvas_size)
        self.tile = -(-self.canvas_size // self.grid)
        self.size = self.tile
        self.scales = 1
        self.shape = (1, self.tile, self.tile)
        self.pixels_per_glimpse = self.tile * self.tile
        padding = self.tile * self.grid - self.canvas_size
        self._pad = (padding // 2, padding - padding // 2)

    def check_canvas(self, size: int) -> None:
        if size != self.canvas_size:
            raise ValueError(f"TileSensor made for {self.canvas_size}-pixel canvases got {size}")

    def prepare(self, images: np.ndarray) -> np.ndarray:
        """Padded float32 tiles, (B, grid, grid, T, T), scaled to [0, 1]."""
        images = np.asarray(images)
        B = images.shape[0]
        t, G = self.tile, self.grid
        # zero padding, then scaled to [0, 1] (the same float32 products as padding first)
        padded = np.zeros((B, t * G, t * G), np.float32)
        lo, S = self._pad[0], images.shape[1]
        padded[:, lo : lo + S, lo : lo + images.shape[2]] = images
        padded *= np.float32(1 / 255)
        return np.ascontiguousarray(padded.reshape(B, G, t, G, t).transpose(0, 1, 3, 2, 4))

    def tile_index(self, locations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(column, row) of the tile under each location."""
        loc = np.asarray(locations, np.float64)
        ij = np.clip(np.floor((loc + 1.0) / 2.0 * self.grid), 0, self.grid - 1).astype(np.int64)
        return ij[..., 0], ij[..., 1]

    def __call__(
        self, images: np.ndarray, locations: np.ndarray, prepared: bool | None = None
    ) -> np.ndarray:
        """Glimpses float32 (B, 1, T, T) of uint8 images (B, S, S) or of ``prepare(images)``."""
        if prepared is None:
            prepared = images.ndim == 5
        tiles = images if prepared else self.prepare(images)
        if tiles.shape[0] == 1:  # one image: scalar tile index, as tile_index computes it
            G = self.grid
            lx, ly = np.asarray(locations, np.float64).reshape(2).tolist()
            col = min(max(math.floor((lx + 1.0) / 2.0 * G), 0), G - 1)
            row = min(max(math.floor((ly + 1.0) / 2.0 * G), 0), G - 1)
            return tiles[0, row, col].reshape(1, 1, self.tile, self.tile).copy()
        col, row = self.tile_index(locations)
        return tiles[np.arange(tiles.shape[0]), row, col][:, None]

    def __repr__(self) -> str:
        return f"TileSensor(grid={self.grid}, canvas_size={self.canvas_size})"
