"""Seeded, batched canvas generators: the visual tasks' images and labels.

Every canvas kind has the same interface::

    canvas = ClutteredCanvas(size=60, n_clutter=4, clutter_size=8, dataset="mnist")
    images, labels = canvas.sample(rng, batch, split="train")  # uint8 (B,S,S), int64 (B,n_targets)
    images, labels = canvas.fixed("test", indices)             # pure function of (config, split, i)

Generation has two halves. :meth:`Canvas.draw` takes one fixed-size vector of integers per canvas
from a ``numpy.random.Generator`` (a single ``rng.random`` call: digit indices, positions, clutter
sources, crops and positions); :meth:`Canvas.render` turns a batch of such vectors into pixels with
batched numpy indexing, one vectorised operation per digit or clutter piece, never per pixel.
Layers are composited with a pixel-wise maximum (clutter first, digits on top), so overlapping
strokes stay visible and pixel values stay in 0..255.
"""

from __future__ import annotations

import math
import os

import numpy as np

from glimpse_envs import data as data_mod
from glimpse_envs.data import SPLIT_CODE, Dataset, check_split

#: the last entry of every fixed canvas's seed, so that fixed sets differ from other seeded streams
FIXED_SEED_TAG = 2014


class Canvas:
    """SxS canvases holding ``n_digits`` objects (digits) and ``n_clutter`` clutter pieces.

    The objects are the dataset's images, h x w pixels (28x28 for MNIST), resized first to
    ``round(object_scale * h) x round(object_scale * w)`` when ``object_scale != 1`` (area
    averaging, :func:`glimpse_envs.data.resize`, done once per dataset, split and scale). Colour
    datasets ((N, h, w, C) images) give colour canvases (B, S, S, C); grayscale ones (B, S, S).

    The objects are placed left to right: the canvas width is cut into ``n_digits`` equal slots of
    ``size // n_digits`` pixels, and object j lies at a uniformly random position wholly inside slot
    j (x) and wholly inside the canvas (y). The label sequence is therefore in reading order. A
    slot must hold an object: ``size // n_digits >= w``, and ``size >= h``.

    Clutter (as RAM's "cluttered translated MNIST"): each piece is a ``clutter_size`` x
    ``clutter_size`` crop, at a uniformly random offset inside the (resized) object, of an object
    of the *same split* that is not the (first) target, pasted at a uniformly random position
    wholly inside the canvas. Clutter is drawn under the objects (pixel-wise maximum, per channel).
    Using the same split keeps test canvases made of test images only.

    Args:
        size: canvas side S in pixels; None: the smallest canvas that holds the objects
            (``max(h, n_digits * w)``, 28 for MNIST).
        n_digits: objects per canvas (the targets), 1 to 5.
        n_clutter: clutter pieces per canvas.
        clutter_size: side of each clutter crop, 1 to the object's smaller side.
        dataset: ``"mnist"``, ``"fashion"``, the path of an image folder, or a
            :class:`glimpse_envs.data.Dataset` (your own images, of any size and channels).
        data_dir: where to look for the data first (see :mod:`glimpse_envs.data`).
        object_scale: resize factor of the objects (> 0; 1: as stored).
    """

    def __init__(
        self,
        size: int | None = None,
        n_digits: int = 1,
        n_clutter: int = 0,
        clutter_size: int = 8,
        dataset: str | Dataset = "mnist",
        data_dir: str | os.PathLike | None = None,
        object_scale: float = 1.0,
    ):
        if not isinstance(dataset, Dataset):
            data_mod.check_dataset_name(dataset, folders=True)
        if not 1 <= int(n_digits) <= 5:
            raise ValueError(f"n_digits={n_digits} invalid: use 1 to 5 digits per canvas")
        if int(n_clutter) < 0:
            raise ValueError(f"n_clutter={n_clutter} invalid: use 0 or more clutter pieces")
        scale = float(object_scale)
        if not math.isfinite(scale) or scale <= 0:
            raise ValueError(
                f"object_scale={object_scale!r} invalid: use a number > 0 (1: as stored)"
            )
        self.n_digits = self.n_targets = int(n_digits)
        self.n_clutter = int(n_clutter)
        self.clutter_size = int(clutter_size)
        self.dataset = dataset
        self.data_dir = data_dir
        self.object_scale = scale
        self._data = data_mod.load_dataset(dataset, data_dir)
        self.num_classes = self._data.num_classes
        self.channels = self._data.channels
        h, w = self._data.image_shape
        self.object_shape = oh, ow = (max(1, round(h * scale)), max(1, round(w * scale)))
        if min(oh, ow) < 2:
            raise ValueError(
                f"object_scale={object_scale} shrinks the {h}x{w} objects to {oh}x{ow} pixels: use "
                f"object_scale >= {2 / min(h, w):.3g}"
            )
        smallest = max(oh, ow * self.n_digits)
        self.size = smallest if size is None else int(size)
        if self.size < smallest:
            raise ValueError(
                f"canvas size={size} cannot hold {n_digits} digit(s) of {oh}x{ow} side by side: use "
                f"size >= {smallest} ({ow} * n_digits, and at least {oh})"
            )
        if not 1 <= self.clutter_size <= min(oh, ow):
            raise ValueError(
                f"clutter_size={clutter_size} invalid: use 1 to {min(oh, ow)} pixels (the objects "
                f"are {oh}x{ow})"
            )
        slot = self.size // self.n_digits
        self._slot = slot
        # one draw: per digit (index, x, y), per clutter piece (source, crop x, crop y, x, y)
        self.n_params = 3 * self.n_digits + 5 * self.n_clutter
        self._dx = slot - ow + 1
        self._dy = self.size - oh + 1
        self._crop = (ow - self.clutter_size + 1, oh - self.clutter_size + 1)
        self._place = self.size - self.clutter_size + 1
        self._highs_cache: dict[str, np.ndarray] = {}

    # -- pickling: a named dataset is reloaded from the per-process cache, not pickled
    def __getstate__(self):
        state = self.__dict__.copy()
        if not isinstance(self.dataset, Dataset):
            state["_data"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if self._data is None:
            self._data = data_mod.load_dataset(self.dataset, self.data_dir)

    @property
    def data(self) -> Dataset:
        return self._data

    def objects(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """(images, labels) of ``split`` as placed on the canvas (resized by ``object_scale``)."""
        images, labels = self._data.splits[check_split(split)]
        if self.object_shape != images.shape[1:3]:
            images = self._data.resized(split, *self.object_shape)
        return images, labels

    def split_size(self, split: str) -> int:
        """Images in ``split`` (55,000 / 5,000 / 10,000 for MNIST)."""
        return self._data.size(split)

    def _highs(self, split: str) -> np.ndarray:
        n = self.split_size(split)
        highs = [n, self._dx, self._dy] * self.n_digits
        highs += [max(n - 1, 1), *self._crop, self._place, self._place] * self.n_clutter
        return np.array(highs, np.int64)

    def draw(self, rng: np.random.Generator, split: str = "train", n: int = 1) -> np.ndarray:
        """``n`` canvas descriptions, int64 (n, n_params), from one ``rng.random`` call."""
        return self.from_uniform(rng.random((n, self.n_params)), split)

    def from_uniform(self, u: np.ndarray, split: str = "train") -> np.ndarray:
        """Descriptions from uniforms in [0, 1): ``floor(u * high)`` is uniform on 0 .. high - 1."""
        highs = self._highs_cache.get(split)
        if highs is None:
            highs = self._highs_cache[split] = self._highs(check_split(split))
        return (u * highs).astype(np.int64)

    def render(self, params: np.ndarray, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
        """Pixels of a batch of descriptions: uint8 (B, S, S) images (colour: (B, S, S, C)),
        int64 (B, n_targets) labels."""
        images, labels = self.objects(split)
        p = np.asarray(params, np.int64)
        B, S, C, n0 = p.shape[0], self.size, self.channels, 3 * self.n_digits
        # the windows below need C order: the loaded datasets have it (no copy is made)
        images = np.ascontiguousarray(images)
        out = np.zeros((B, S, S) if C == 1 else (B, S, S, C), np.uint8)
        # A colour pixel is C consecutive bytes: as (N, h, w * C) rows of bytes, every window below
        # is a grayscale window C times as wide, at C times the x offset.
        (oh, ow), N = self.object_shape, len(images)
        rows, wc = images.reshape(N, oh, ow * C), ow * C
        flat_out = out.reshape(B, S, S * C)
        base = np.arange(B) * (S * S * C)
        # The pixel-wise maximum does not depend on the order of the layers, so the digits go in
        # first, by plain assignment (their slots never overlap), and the clutter pieces are
        # composited onto them. Every layer moves whole rectangles, B at a time, through strided
        # views (see _windows), so no per-pixel index is ever built.
        d = p[:, :n0].reshape(B, self.n_digits, 3)
        digits = _windows(flat_out, oh, wc)
        for j in range(self.n_digits):  # a few slots at most
            digits[base + d[:, j, 2] * (S * C) + (d[:, j, 1] + j * self._slot) * C] = rows[
                d[:, j, 0]
            ]
        if self.n_clutter:
            K, cs = self.n_clutter, self.clutter_size
            c = p[:, n0:].reshape(B, K, 5)
            src = c[:, :, 0] + (c[:, :, 0] >= p[:, :1])  # any digit but the first target
            # The source objects lie anywhere in the dataset, so reading them is mostly cache
            # misses: first the cs whole rows of each crop, one contiguous band per piece (several
            # times faster than cs short rows), then the crops out of the bands (B, K, cs, cs * C).
            bands = _windows(rows, cs, wc)[src * (oh * wc) + c[:, :, 2] * wc]
            first = (np.arange(B * K) * (cs * wc)).reshape(B, K)
            crops = _windows(bands.reshape(B * K, cs, wc), cs, cs * C)[first + c[:, :, 1] * C]
            pieces = _windows(flat_out, cs, cs * C)
            at = base[:, None] + c[:, :, 4] * (S * C) + c[:, :, 3] * C
            for j in range(K):  # one piece of every canvas at a time: no overlaps within a step
                under = pieces[at[:, j]]
                np.maximum(under, crops[:, j], out=under)
                pieces[at[:, j]] = under
        return out, labels[d[:, :, 0]]

    def sample(
        self, rng: np.random.Generator, batch: int, split: str = "train"
    ) -> tuple[np.ndarray, np.ndarray]:
        """``batch`` random canvases of ``split``: uint8 (B, S, S), int64 (B, n_targets)."""
        return self.render(self.draw(rng, split, batch), split)

    def fixed_params(self, split: str, indices) -> np.ndarray:
        """The descriptions of fixed canvases ``indices`` of ``split`` (see :meth:`fixed`)."""
        check_split(split)
        idx = np.atleast_1d(np.asarray(indices, np.int64))
        n = self.split_size(split)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise ValueError(f"index out of range for split {split!r}: use 0 <= index < {n}")
        rows = []
        for i in idx:
            rng = np.random.default_rng(
                np.random.SeedSequence([int(i), SPLIT_CODE[split], FIXED_SEED_TAG])
            )
            p = self.draw(rng, split, 1)[0]
            p[0] = i
            rows.append(p)
        return np.array(rows, np.int64).reshape(len(idx), self.n_params)

    def fixed(self, split: str, indices) -> tuple[np.ndarray, np.ndarray]:
        """Fixed evaluation canvases: canvas i is a pure function of (this config, split, i).

        Its generator is seeded with ``SeedSequence([i, SPLIT_CODE[split], 2014])`` and its (first)
        digit is image i of the split, so every agent is scored on the same images in every process.
        """
        return self.render(self.fixed_params(split, indices), split)

    def __repr__(self) -> str:
        name = self.dataset.name if isinstance(self.dataset, Dataset) else str(self.dataset)
        scale = "" if self.object_scale == 1.0 else f", object_scale={self.object_scale}"
        return (
            f"{type(self).__name__}(size={self.size}, n_digits={self.n_digits}, n_clutter={self.n_clutter}, "
            f"clutter_size={self.clutter_size}, dataset={name!r}{scale})"
        )


class CenteredCanvas(Canvas):
    """The object itself (MNIST's own centring): a canvas of the object's size."""

    def __init__(self, dataset: str | Dataset = "mnist", data_dir=None, object_scale: float = 1.0):
        super().__init__(size=None, dataset=dataset, data_dir=data_dir, object_scale=object_scale)


class TranslatedCanvas(Canvas):
    """The object (a 28x28 digit) at a uniformly random position wholly inside an SxS blank canvas."""

    def __init__(
        self,
        size: int = 60,
        dataset: str | Dataset = "mnist",
        data_dir=None,
        object_scale: float = 1.0,
    ):
        super().__init__(size=size, dataset=dataset, data_dir=data_dir, object_scale=object_scale)


class ClutteredCanvas(Canvas):
    """Translated, plus ``n_clutter`` ``clutter_size``-square crops of other digits (see :class:`Canvas`).

    RAM's settings: 60x60 with 4 pieces of 8x8, and 100x100 with 8 pieces of 8x8.
    """

    def __init__(
        self,
        size: int = 60,
        n_clutter: int = 4,
        clutter_size: int = 8,
        dataset: str | Dataset = "mnist",
        data_dir=None,
        object_scale: float = 1.0,
    ):
        super().__init__(
            size=size,
            n_clutter=n_clutter,
            clutter_size=clutter_size,
            dataset=dataset,
            data_dir=data_dir,
            object_scale=object_scale,
        )


class MultiDigitCanvas(Canvas):
    """``n_digits`` digits left to right in equal slots; the target is the sequence in reading order."""

    def __init__(
        self,
        size: int = 60,
        n_digits: int = 2,
        n_clutter: int = 0,
        clutter_size: int = 8,
        dataset: str | Dataset = "mnist",
        data_dir=None,
        object_scale: float = 1.0,
    ):
        super().__init__(
            size=size,
            n_digits=n_digits,
            n_clutter=n_clutter,
            clutter_size=clutter_size,
            dataset=dataset,
            data_dir=data_dir,
            object_scale=object_scale,
        )


def _windows(images: np.ndarray, h: int, w: int) -> np.ndarray:
    """The h x w windows of C-contiguous ``images`` (N, H, W), a view indexed by flat pixel.

    (Colour images go in as (N, H, W * C): a window C times as wide, at C times the x offset.)

    Window ``n * H * W + y * W + x`` is the h x w block whose top-left pixel is (x, y) of image n.
    Fancy indexing the view with one index array reads or writes B whole windows in one
    operation; callers keep every window inside its image (``x <= W - w``, ``y <= H - h``). The
    view's first dimension stops where the last window would run past the end of the array, so no
    index reaches outside it.
    """
    flat = images.reshape(-1)
    W = images.shape[2]
    s = flat.strides[0]
    return np.lib.stride_tricks.as_strided(
        flat, (flat.size - (h - 1) * W - (w - 1), h, w), (s, W * s, s)
    )
