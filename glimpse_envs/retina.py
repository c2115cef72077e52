"""Glimpse sensors: RAM's multi-resolution :class:`Retina` and the simple :class:`TileSensor`.

Both are batched over images and locations, take locations as float (B, 2) arrays of (x, y) in
[-1, 1] ((-1, -1) the top-left corner, (0, 0) the centre) and return float32 (B, k, g, g) in [0, 1].
Made with ``channels=C > 1`` they read colour images (B, H, W, C) and return (B, k, g, g, C): each
channel sensed as a grayscale image would be (the grayscale layout with the channel axis last, as in
the images).
"""

from __future__ import annotations

import numpy as np

from glimpse_envs.canvas import _windows


def _corners(locations, half: np.ndarray) -> np.ndarray:
    """Pixel corners int64 (..., 2) of locations (..., 2) in [-1, 1]: ``floor((l + 1) / 2 * S +
    0.5)``, ``half`` = (W / 2, H / 2). The one place the rule is written."""
    return np.floor((np.asarray(locations, np.float64) + 1.0) * half + 0.5).astype(np.int64)


def pixel_corner(locations: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The pixel corners (cx, cy) that locations map to: ``floor((l + 1) / 2 * S + 0.5)``."""
    c = _corners(locations, np.array([width / 2.0, height / 2.0]))
    return c[..., 0], c[..., 1]


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
    every scale at once (their indices kept per pixel corner) and takes two differences, each one
    contiguous operation over the whole batch. A one-scale retina (blocks of one pixel) needs
    no sums: its prepared form is the glimpse value of every pixel, zero-padded, and a glimpse is
    a plain crop of it.

    Unprepared grayscale uint8 images at locations in [-1, 1] are read straight instead (see
    :meth:`reads_raw`): each patch cropped and summed pairwise down to its g x g blocks. Block sums
    of uint8 pixels are exact integers either way, so both paths give the very same float32
    glimpses; the straight one skips the integral image, the cheaper for one glimpse per canvas
    (an env's reset), the integral image the cheaper for several.

    Colour (``channels=C > 1``): images (B, H, W, C), glimpses (B, k, g, g, C). The channels are
    sensed as B * C grayscale planes (their prepared form (B, C, ...)), every value the very one a
    grayscale image of that channel gives.

    Args:
        size: g, the side of each output patch in cells.
        scales: k, the number of patches.
        channels: C, channels per pixel (1: grayscale images (B, H, W), glimpses (B, k, g, g)).
    """

    def squares(self, location, size: int) -> list[tuple[int, int, int]]:
        """[(x0, y0, width)] in canvas pixels of the ``scales`` squares read at ``location`` (x, y)
        on a ``size``-pixel canvas, finest first: ``size * 2**j`` pixels centred on the location's
        pixel corner (:func:`pixel_corner`), as the glimpse itself reads them."""
        cx, cy = pixel_corner(np.asarray(location, np.float64).reshape(1, 2), size, size)
        return [
            (int(cx[0]) - w // 2, int(cy[0]) - w // 2, w)
            for w in (self.size * 2**j for j in range(self.scales))
        ]

    #: most pixel corners whose corner indices are kept per layout (see :meth:`_table_index`):
    #: a location grid has far fewer (ClutteredMNIST100's has 676)
    TABLE_CODES = 2048

    def __init__(self, size: int = 8, scales: int = 1, channels: int = 1):
        if int(size) < 1 or int(scales) < 1 or int(channels) < 1:
            raise ValueError(
                f"Retina(size={size}, scales={scales}, channels={channels}) invalid: all must be >= 1"
            )
        self.size = g = int(size)
        self.scales = k = int(scales)
        self.channels = C = int(channels)
        self.shape = (k, g, g) if C == 1 else (k, g, g, C)
        self.pixels_per_glimpse = k * g * g * C
        self.largest = g * 2 ** (k - 1)
        block = 2 ** np.arange(k)
        # corner offsets from c, per scale: -(w // 2) + m * block, m = 0 .. g
        offsets = (-(g * block // 2))[:, None] + np.arange(g + 1)[None, :] * block[:, None]
        self._offsets = offsets.astype(np.int64)
        self._scale = (1.0 / (255.0 * block.astype(np.float64) ** 2)).astype(np.float32)[
            None, :, None, None
        ]
        self._consts: dict = {}
        self._tables: dict = {}

    def __getstate__(self) -> dict:
        # the caches hold work arrays and strided views of them (a view pickles as a copy, and a
        # large one): they are left out and rebuilt by the next call
        state = self.__dict__.copy()
        state["_consts"], state["_tables"] = {}, {}
        return state

    def check_canvas(self, size: int) -> None:
        """Raise ValueError unless the largest patch is at most twice the canvas side."""
        if self.largest > 2 * size:
            raise ValueError(
                f"retina too large: its largest patch is {self.size} * 2**{self.scales - 1} = "
                f"{self.largest} pixels, more than twice the {size}-pixel canvas (the limit); use "
                "fewer scales, a smaller retina size or a larger canvas"
            )

    # -- preparing canvases ------------------------------------------------------------------------

    def prepare(self, images: np.ndarray) -> np.ndarray:
        """The float32 form of uint8 images (B, H, W) that a call with ``prepared=True`` reads.

        With several scales: integral images (B, H + 1, W + 1) (see :meth:`integral`). With one
        scale: the glimpse value of every pixel, zero-padded by ``size`` on every side, (B, H + 2g,
        W + 2g). Colour images (B, H, W, C): the same per channel plane, (B, C, ...).
        """
        images = np.asarray(images)
        if self.channels > 1:
            B, C = len(images), self.channels
            planes = _planes(images, C)
            prep = self._pixels(planes) if self.scales == 1 else self.integral(planes)
            return prep.reshape(B, C, *prep.shape[1:])  # a view, in either integral layout
        if self.scales == 1:
            return self._pixels(images)
        return self.integral(images)

    def integral(self, images: np.ndarray) -> np.ndarray:
        """Integral images, float32 (B, H + 1, W + 1): ``I[b, r, c]`` = sum of pixels above-left.

        A large batch of uint8 images gets the memory layout (H + 1, B, W + 1) (the array returned
        is its (B, H + 1, W + 1) view): the running sums down the columns are then whole rows of
        the batch at once, several times faster than per image; a call reads either layout.
        """
        images = np.asarray(images)
        B, H, W = images.shape
        if images.dtype == np.uint8 and H * W * 255 < 2**24:
            # Sums of uint8 pixels stay below 2**24, so every partial sum is an exact integer in
            # int32 and float32 alike: any summation order gives the same integral images.
            if B < 16:  # batch-last layout: both running sums are whole-row operations
                out = np.zeros((B, H + 1, W + 1), np.float32)
                a = images.transpose(1, 2, 0).astype(np.int32)
                np.cumsum(a, axis=0, out=a)
                np.cumsum(a, axis=1, out=a)
                out[:, 1:, 1:] = a.transpose(2, 0, 1)
                return out
            # Running sums along the rows: one running sum over each whole image (one long
            # accumulation per image is much faster than one short one per row), less, in every
            # row, the sum of the rows above it.
            a = images.astype(np.int32)
            flat = a.reshape(B, H * W)
            np.cumsum(flat, axis=1, out=flat)
            np.subtract(a, (a[:, :, 0] - images[:, :, 0])[:, :, None], out=a)
            # then down the columns, in the (H, B, W) layout: whole rows of the batch at once
            out = np.zeros((H + 1, B, W + 1), np.float32)
            out[1:, :, 1:] = a.transpose(1, 0, 2)
            for r in range(2, H + 1):
                out[r] += out[r - 1]
            return out.transpose(1, 0, 2)
        out = np.zeros((B, H + 1, W + 1), np.float32)
        inner = out[:, 1:, 1:]
        if B < 16:
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

    def _pixels(self, images: np.ndarray) -> np.ndarray:
        """One scale: every pixel's glimpse value, float32, zero-padded by g: (B, H + 2g, W + 2g).

        The value is the one-pixel block sum times ``1 / 255``, the very float32 product the
        integral-image path gives: for uint8 images the block sum is the pixel itself (exact);
        other images take the block sums from :meth:`integral`, as the corners would.
        """
        B, H, W = images.shape
        g = self.size
        out = np.zeros((B, H + 2 * g, W + 2 * g), np.float32)
        inner = out[:, g : g + H, g : g + W]
        scale = self._scale[0, 0, 0, 0]
        if images.dtype == np.uint8 and H * W * 255 < 2**24:
            np.multiply(images, scale, out=inner, dtype=np.float32)  # one pass: cast, then scale
        else:
            integral = self.integral(images)
            d = integral[:, 1:, :] - integral[:, :-1, :]
            np.multiply(d[:, :, 1:] - d[:, :, :-1], scale, out=inner)
        return out

    # -- glimpses ----------------------------------------------------------------------------------

    def __call__(
        self, images: np.ndarray, locations: np.ndarray, prepared: bool | None = None
    ) -> np.ndarray:
        """Glimpses float32 (B, k, g, g) of uint8 images (B, H, W) or of ``prepare(images)``
        (colour: (B, k, g, g, C) of (B, H, W, C))."""
        if prepared is None:
            prepared = images.dtype == np.float32
        if not prepared and self.reads_raw(images.shape[1:], images.dtype):
            glimpses = self._direct(images, locations)
            if glimpses is not None:
                return glimpses
        prep = images if prepared else self.prepare(images)
        if self.channels == 1:
            return self._sense(prep, locations)
        B, C = prep.shape[:2]
        if prep.ndim != 4 or C != self.channels:
            raise ValueError(
                f"{self!r} got prepared images of shape {prep.shape}: prepare them with this sensor"
            )
        # B * C grayscale planes, each at its image's location
        planes = self._sense(prep.reshape(B * C, *prep.shape[2:]), np.repeat(locations, C, axis=0))
        return np.ascontiguousarray(planes.reshape(B, C, *self.shape[:3]).transpose(0, 2, 3, 4, 1))

    def reads_raw(self, shape: tuple, dtype) -> bool:
        """Whether unprepared images of one image's ``shape`` and ``dtype`` are read straight (the
        pixels, not an integral image): grayscale uint8 whose pixel sums stay exact integers in
        float32 (below 2**24), with several scales (one scale's prepared form is no integral)."""
        H, W = shape[:2]
        return (
            self.channels == 1
            and self.scales > 1
            and len(shape) == 2
            and np.dtype(dtype) == np.uint8
            and H * W * 255 < 2**24
        )

    def _direct(self, images: np.ndarray, locations: np.ndarray) -> np.ndarray | None:
        """Glimpses (B, k, g, g) read straight from uint8 images (B, H, W) (see :meth:`reads_raw`),
        or None when a location lies outside [-1, 1] (then the integral images do it).

        Patch j, ``w = g * 2**j`` pixels from ``c - w // 2``, lies inside the largest patch at
        the same offset in every image: the largest is cropped once (a slice when every image has
        the same pixel corner and it lies inside, else a gather from the images, zero-padded by
        half of it where it crosses an edge), each patch's 2**j x 2**j blocks summed pairwise j
        times along each axis: exact integer block sums, scaled by the same float32 factor as
        :meth:`_block_means`'."""
        B, H, W = images.shape
        # (not self._constants: it is kept per batch size, and resets come in every size)
        c = _corners(locations, np.array([W / 2.0, H / 2.0]))
        if c.min() < 0 or (c > np.array([W, H])).any():
            return None
        g, L = self.size, self.largest
        lo = c - L // 2  # top-left corner of the largest patch
        inside = lo.min() >= 0 and (lo[:, 0] <= W - L).all() and (lo[:, 1] <= H - L).all()
        if inside and (lo == lo[0]).all():  # one corner for all: a slice
            x0, y0 = lo[0].tolist()
            big = images[:, y0 : y0 + L, x0 : x0 + L]
        else:
            pad = 0 if inside else L // 2
            src = images
            if pad:
                src = np.zeros((B, H + 2 * pad, W + 2 * pad), np.uint8)
                src[:, pad : pad + H, pad : pad + W] = images
            src = np.ascontiguousarray(src)
            Hp, Wp = src.shape[1:]
            first = np.arange(B) * (Hp * Wp) + (lo[:, 1] + pad) * Wp + lo[:, 0] + pad
            big = _windows(src, L, L)[first]
        out = np.empty((B, *self.shape), np.float32)
        # With g even, patch j starts on the grid of 2**j x 2**j blocks of the largest patch, so
        # its block sums are a slice of that patch's 2**j block sums, halved down level by level.
        pyramid, level = g % 2 == 0, big
        for j in range(self.scales):
            o, w = L // 2 - (g << j) // 2, g << j  # patch j's offset in the largest, its width
            if pyramid:
                level = _halve(level, j) if j else level
                x = level[:, o >> j : (o >> j) + g, o >> j : (o >> j) + g]
            else:
                x = big[:, o : o + w, o : o + w]
                for i in range(1, j + 1):
                    x = _halve(x, i)
            np.multiply(x, self._scale[0, j, 0, 0], out=out[:, j])
        return out

    def _sense(self, prep: np.ndarray, locations: np.ndarray) -> np.ndarray:
        """Glimpses (B, k, g, g) of prepared grayscale images (B, ...)."""
        if self.scales == 1:
            return self._crop(prep, locations)
        integral = prep
        B, H1, W1 = integral.shape
        const = self._constants(B, H1, W1)
        if B == 1:  # one image (a single env): cached corner indices, a single gather
            corners = integral.reshape(-1).take(self._index1(const, locations, H1, W1))
            d = corners[:, 1:, :] - corners[:, :-1, :]
            sums = d[:, :, 1:] - d[:, :, :-1]
            sums *= self._scale[0]
            return sums.reshape(1, *self.shape[:3])
        c = _corners(locations, const["half"])
        flat, sb, sy = _flat_layout(integral)
        # the flat indices of the (g + 1)^2 block corners of every scale (int64: take() is
        # fastest with intp)
        buffers = const.get("buffers")
        if buffers is None:
            buffers = const["buffers"] = self._buffers(B)
        index = buffers["index"]
        if c.min() >= 0 and (c <= const["cmax"]).all():  # the usual case: location in [-1, 1]
            self._table_index(const, c, W1, H1, sb, sy, index)
        else:  # the general case: every corner clipped to the image
            edges = np.minimum(np.maximum(c[:, :, None, None] + self._offsets, 0), const["limit"])
            rows = edges[:, 1] * sy + (np.arange(B) * sb).reshape(B, 1, 1)
            np.add(rows[:, :, :, None], edges[:, 0, :, None, :], out=index)
        # every index is in range, so take's "wrap" mode returns the same values, unbuffered
        flat.take(index.reshape(-1), out=buffers["corners"], mode="wrap")
        return self._block_means(buffers)

    def _buffers(self, B: int) -> dict:
        """Work arrays of a batched call, kept between calls (only the glimpses are new arrays).

        ``index`` and ``corners`` (flat) hold the (g + 1)^2 corners of every scale and image;
        ``d`` and ``e`` the two differences, zeroed once so that their tails, never written, hold
        no garbage; ``cells`` is the strided view of ``e`` that holds the g x g block sums.
        """
        k, g1 = self.scales, self.size + 1
        n = B * k * g1 * g1
        e = np.zeros(n, np.float32)
        s = e.itemsize
        return {
            "index": np.empty((B, k, g1, g1), np.int64),
            "corners": np.empty(n, np.float32),
            "d": np.zeros(n, np.float32),
            "e": e,
            "cells": np.lib.stride_tricks.as_strided(
                e,
                (B, k, g1 - 1, g1 - 1),
                (k * g1 * g1 * s, g1 * g1 * s, g1 * s, s),
                writeable=False,
            ),
        }

    def _block_means(self, buffers: dict) -> np.ndarray:
        """The glimpses (B, k, g, g) from the flat corners (B, k, g + 1, g + 1), a new array.

        Both differences run over the whole flat buffer as single contiguous operations (fast):
        ``d[p] = corners[p + g + 1] - corners[p]`` is the difference down a column and ``e[p] =
        d[p + 1] - d[p]`` the block sum, the same float32 operations in the same order as the
        per-patch differences; the entries that cross a patch edge are never read. The block sums
        are scaled in place and the g x g cells of each patch copied out.
        """
        corners, d, e = buffers["corners"], buffers["d"], buffers["e"]
        g1 = self.size + 1
        n = corners.size
        np.subtract(corners[g1:], corners[:-g1], out=d[: n - g1])
        np.subtract(d[1 : n - g1], d[: n - g1 - 1], out=e[: n - g1 - 1])
        sums = e.reshape(-1, self.scales, g1 * g1)
        sums *= self._scale[:, :, :, 0]
        return buffers["cells"].copy()

    def _crop(self, pixels: np.ndarray, locations: np.ndarray) -> np.ndarray:
        """One-scale glimpses (B, 1, g, g): the g x g crops of the prepared, padded pixels.

        The corner c is clipped to ``[-(g - g // 2), S + g // 2]`` first: beyond, the patch lies
        wholly outside the image (all zero) just as at the bound, and every crop lies within the
        padding of g.
        """
        B, Hp, Wp = pixels.shape
        g = self.size
        H, W = Hp - 2 * g, Wp - 2 * g
        const = self._constants(B, H + 1, W + 1)
        lo = -(g - g // 2)
        c = _corners(locations, const["half"])
        if B == 1:  # one image (a single env): a slice
            cx, cy = c.reshape(2).tolist()
            x0 = min(max(cx, lo), W + g // 2) - g // 2 + g
            y0 = min(max(cy, lo), H + g // 2) - g // 2 + g
            return pixels[:, y0 : y0 + g, x0 : x0 + g].reshape(1, 1, g, g).copy()
        start = np.minimum(np.maximum(c, lo), const["cmax"] + g // 2) + (g - g // 2)
        pixels = np.ascontiguousarray(pixels)
        first = (np.arange(B) * (Hp * Wp)) + start[:, 1] * Wp + start[:, 0]
        # the g x g windows of the flat pixels, [i] the one whose top-left pixel is flat pixel i
        # (built once per prepared array: the env reads the same one until its next reset)
        source, windows = const.get("windows", (None, None))
        if source is not pixels:
            windows = _windows(pixels, g, g)
            const["windows"] = (pixels, windows)
        return windows[first].reshape(B, 1, g, g)

    # -- indices -----------------------------------------------------------------------------------

    def _constants(self, B: int, H1: int, W1: int) -> dict:
        """Per-shape constants, kept between calls (a dict: the envs alternate batch sizes)."""
        key = (B, H1, W1)
        const = self._consts.get(key)
        if const is None:
            if len(self._consts) > 16:  # partial resets bring many batch sizes: start over
                self._consts.clear()
            const = self._consts[key] = {
                "half": np.array([(W1 - 1) / 2.0, (H1 - 1) / 2.0]),
                "limit": np.array([W1 - 1, H1 - 1]).reshape(1, 2, 1, 1),
                "cmax": np.array([W1 - 1, H1 - 1]),
                "index": {},  # B == 1: corner indices per location (see _index1)
            }
        return const

    def _index1(self, const: dict, location: np.ndarray, H1: int, W1: int) -> np.ndarray:
        """The flat corner indices (k, g + 1, g + 1) of one image at ``location`` (1, 2), kept
        per location (its bytes: a location grid has few), built from its pixel corner."""
        cache = const["index"]
        location = np.asarray(location)
        key = (location.dtype.char, location.tobytes())
        idx = cache.get(key)
        if idx is None:
            if len(cache) > 100_000:  # continuous locations: start over now and then
                cache.clear()
            cx, cy = _corners(location, const["half"]).reshape(2).tolist()
            ex = np.minimum(np.maximum(cx + self._offsets, 0), W1 - 1)
            ey = np.minimum(np.maximum(cy + self._offsets, 0), H1 - 1)
            idx = cache[key] = (ey * W1)[:, :, None] + ex[:, None, :]
        return idx

    def _table_index(
        self, const: dict, c: np.ndarray, W1: int, H1: int, sb: int, sy: int, index: np.ndarray
    ) -> None:
        """The flat corner indices at pixel corners ``c`` (B, 2), all in the image, into ``index``.

        The (g + 1)^2 corners of every scale around a pixel corner, clipped to the image, are the
        same for every image: ``ey * sy + ex``. They are kept in a table, one row per pixel corner
        met so far (a location grid has few), so that a call gathers one row per image and adds the
        image's offset ``b * sb``, instead of building the clipped edges and their (g + 1)^2 sums.
        """
        key = (H1, W1, sy)
        tables = self._tables
        table = tables.pop(key, None)  # re-inserted below: the dict keeps the latest used last
        if table is None:
            table = {"slot": np.full(H1 * W1, -1, np.int64), "rows": None, "n": 0}
        if len(tables) >= 4:  # a few layouts at most (batch sizes of partial resets come and go)
            del tables[next(iter(tables))]
        tables[key] = table
        codes = c[:, 1] * W1 + c[:, 0]
        slots = table["slot"][codes]
        if slots.min() < 0:  # pixel corners not met before: add their rows
            self._add_table_rows(table, np.unique(codes[slots < 0]), codes, W1, H1, sy)
            slots = table["slot"][codes]
        # gather the rows (every slot is in range: "clip" mode writes straight to the output), then
        # add each image's offset, kept whole (B, K) per layout: a plain add of two arrays is
        # several times faster than one broadcast along the rows
        index = index.reshape(len(c), -1)
        offset = const.get(("offset", sb))
        if offset is None:
            offset = np.repeat(np.arange(len(c), dtype=np.int64) * sb, index.shape[1])
            offset = const["offset", sb] = offset.reshape(index.shape)
        np.take(table["rows"], slots, axis=0, out=index, mode="clip")
        np.add(index, offset, out=index)

    def _add_table_rows(
        self, table: dict, new: np.ndarray, codes: np.ndarray, W1: int, H1: int, sy: int
    ) -> None:
        """Add the corner indices of the pixel corners ``new`` (codes ``cy * W1 + cx``) to a table.

        A table that would pass :attr:`TABLE_CODES` rows starts over with this call's ``codes``.
        """
        if table["n"] + len(new) > self.TABLE_CODES:
            table["slot"][:] = -1
            table["n"] = 0
            new = np.unique(codes)
        ex = np.minimum(np.maximum((new % W1)[:, None, None] + self._offsets, 0), W1 - 1)
        ey = np.minimum(np.maximum((new // W1)[:, None, None] + self._offsets, 0), H1 - 1)
        rows = ((ey * sy)[:, :, :, None] + ex[:, :, None, :]).reshape(len(new), -1)
        n, stored = table["n"], table["rows"]
        if stored is None or len(stored) < n + len(new):  # grow by doubling
            grown = np.empty((max(2 * (n + len(new)), 64), rows.shape[1]), np.int64)
            grown[:n] = stored[:n] if n else 0
            table["rows"] = stored = grown
        stored[n : n + len(new)] = rows
        table["slot"][new] = np.arange(n, n + len(new))
        table["n"] = n + len(new)

    def __repr__(self) -> str:
        colour = "" if self.channels == 1 else f", channels={self.channels}"
        return f"Retina(size={self.size}, scales={self.scales}{colour})"


def _halve(x: np.ndarray, level: int) -> np.ndarray:
    """Sums of the 2 x 2 blocks of images (B, h, w) that hold 2**(level - 1) block sums of uint8
    pixels, exact: pairs of rows first (whole contiguous rows at a time), then pairs of columns,
    in uint16 while 255 * 4**level fits, else int32."""
    wide = np.uint16 if level <= 4 else np.int32
    x = np.add(x[:, 0::2], x[:, 1::2], dtype=wide)
    return x[:, :, 0::2] + x[:, :, 1::2]


def _planes(images: np.ndarray, channels: int) -> np.ndarray:
    """Colour images (B, H, W, C) as B * C grayscale planes (B * C, H, W), C-contiguous."""
    if images.ndim != 4 or images.shape[3] != channels:
        raise ValueError(
            f"a sensor made for {channels} channels got images of shape {images.shape}: give "
            f"(B, H, W, {channels}) images, or make the sensor with channels={images.shape[-1]}"
        )
    B, H, W, C = images.shape
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2)).reshape(B * C, H, W)


def _flat_layout(integral: np.ndarray) -> tuple[np.ndarray, int, int]:
    """(flat array, image stride, row stride) of integral images in either layout.

    :meth:`Retina.integral` returns (B, H1, W1) in C order or as a view of (H1, B, W1) memory;
    element (b, r, c) is ``flat[b * image stride + r * row stride + c]``.
    """
    B, H1, W1 = integral.shape
    if not integral.flags.c_contiguous:
        hbw = integral.transpose(1, 0, 2)
        if hbw.flags.c_contiguous:
            return hbw.reshape(-1), W1, B * W1
        integral = np.ascontiguousarray(integral)
    return integral.reshape(-1), H1 * W1, W1


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
    ``-1 + 2 j / (grid - 1)`` of the action grid fall on tile j. Output float32 (B, 1, T, T) in [0, 1];
    with ``channels=C > 1``, of colour images (B, S, S, C), (B, 1, T, T, C).

    Args:
        grid: tiles per side.
        canvas_size: S, the side of the images.
        channels: C, channels per pixel (1: grayscale).
    """

    def __init__(self, grid: int = 3, canvas_size: int = 28, channels: int = 1):
        if int(grid) < 1 or int(grid) > int(canvas_size):
            raise ValueError(
                f"TileSensor(grid={grid}) invalid: use 1 <= grid <= canvas size {canvas_size}"
            )
        if int(channels) < 1:
            raise ValueError(f"TileSensor(channels={channels}) invalid: use 1 or more channels")
        self.grid = int(grid)
        self.canvas_size = int(canvas_size)
        self.channels = C = int(channels)
        self.tile = -(-self.canvas_size // self.grid)
        self.size = self.tile
        self.scales = 1
        self.shape = (1, self.tile, self.tile) if C == 1 else (1, self.tile, self.tile, C)
        self.pixels_per_glimpse = self.tile * self.tile * C
        self._pad = self.padding(self.canvas_size, self.grid)

    @staticmethod
    def padding(size: int, grid: int) -> tuple[int, int]:
        """(before, after) zero padding that makes a side of ``size`` pixels ``grid`` whole tiles of
        ``ceil(size / grid)``: split evenly, the odd pixel after."""
        padding = -(-size // grid) * grid - size
        return padding // 2, padding - padding // 2

    def squares(self, location, size: int | None = None) -> list[tuple[int, int, int]]:
        """[(x0, y0, width)] in canvas pixels: the one tile read at ``location`` (x, y)."""
        col, row = self.tile_index(np.asarray(location, np.float64).reshape(1, 2))
        t, pad = self.tile, self._pad[0]
        return [(int(col[0]) * t - pad, int(row[0]) * t - pad, t)]

    def check_canvas(self, size: int) -> None:
        if size != self.canvas_size:
            raise ValueError(f"TileSensor made for {self.canvas_size}-pixel canvases got {size}")

    def prepare(self, images: np.ndarray) -> np.ndarray:
        """Padded float32 tiles, (B, grid, grid, T, T) (colour: (B, grid, grid, T, T, C)) in [0, 1]."""
        images = np.asarray(images)
        B, H, W = images.shape[:3]
        C = self.channels
        if images.shape[3:] != self.shape[3:]:
            raise ValueError(
                f"{self!r} got images of shape {images.shape}: give (B, S, S"
                + ("" if C == 1 else f", {C}")
                + ") images"
            )
        t, G = self.tile, self.grid
        lo = self._pad[0]
        side = (t * G, t * G) + images.shape[3:]
        cut = (B, G, t, G, t) + images.shape[3:]
        order = (0, 1, 3, 2, 4) + ((5,) if C > 1 else ())
        if images.dtype != np.uint8:  # zero padding, then scaled to [0, 1]
            padded = np.zeros((B, *side), np.float32)
            padded[:, lo : lo + H, lo : lo + W] = images
            padded *= np.float32(1 / 255)
            return np.ascontiguousarray(padded.reshape(cut).transpose(order))
        # uint8: the zero padding and the cut into tiles move a quarter of the bytes, then one pass
        # casts to float32 and scales (the same float32 products as scaling a float32 padded image)
        padded = np.zeros((B, *side), np.uint8)
        padded[:, lo : lo + H, lo : lo + W] = images
        tiles = np.empty((B, G, G, t, t) + images.shape[3:], np.float32)
        np.multiply(
            padded.reshape(cut).transpose(order), np.float32(1 / 255), out=tiles, dtype=np.float32
        )
        return tiles

    def tile_index(self, locations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(column, row) of the tile under each location."""
        loc = np.asarray(locations, np.float64)
        ij = np.clip(np.floor((loc + 1.0) / 2.0 * self.grid), 0, self.grid - 1).astype(np.int64)
        return ij[..., 0], ij[..., 1]

    def __call__(
        self, images: np.ndarray, locations: np.ndarray, prepared: bool | None = None
    ) -> np.ndarray:
        """Glimpses float32 (B, 1, T, T) of uint8 images (B, S, S) or of ``prepare(images)``
        (colour: (B, 1, T, T, C) of (B, S, S, C))."""
        if prepared is None:
            prepared = images.ndim == len(self.shape) + 2
        tiles = images if prepared else self.prepare(images)
        col, row = self.tile_index(locations)
        return tiles[np.arange(tiles.shape[0]), row, col][:, None]

    def __repr__(self) -> str:
        colour = "" if self.channels == 1 else f", channels={self.channels}"
        return f"TileSensor(grid={self.grid}, canvas_size={self.canvas_size}{colour})"
