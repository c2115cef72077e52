"""The glimpse core on a torch device: canvases, the :class:`~glimpse_envs.retina.Retina` and the
:class:`~glimpse_envs.retina.TileSensor`, batched over N envs, as torch tensors.

The numpy classes stay the definition. Each class here is made from its numpy twin (its
configuration and constants are read from it) and applies the same rule in the same float32
operations, so its output equals the numpy output (``tests/test_torch_core.py``, on the CPU):

* canvases: uint8 pixels, placed and composited exactly (bit-identical);
* retina and tiles: float32 glimpses from the same integral images (exact integer sums), the same
  two differences and the same float32 scale (bit-identical).

Nothing in :mod:`glimpse_envs` imports this module: ``import glimpse_envs`` needs only numpy and
gymnasium, and torch is imported here, when this module is::

    from glimpse_envs.torch_core import TorchGlimpseCore

    env = gym.make_vec("glimpse_envs/ClutteredMNIST-v0", num_envs=1024,
                       vectorization_mode="vector_entry_point").unwrapped
    core = TorchGlimpseCore.from_env(env, device="cuda")
    images, labels = core.render(env.canvas.draw(rng, "train", 1024), "train")  # uint8 on cuda
    glimpses = core.sense(core.prepare(images), locations)  # float32 (1024, k, g, g) on cuda

The canvas descriptions (``Canvas.draw`` / ``from_uniform``) and the labels stay numpy: they are
drawn on the host from each env's own generator, a few integers per canvas; the pixels, prepared
canvases and glimpses live on the device.
"""

from __future__ import annotations

from typing import Any

import numpy as np

try:
    import torch
except ImportError as error:  # pragma: no cover - torch is an optional dependency
    raise ImportError(
        "glimpse_envs.torch_core needs torch (pip install torch); the numpy envs do not"
    ) from error

from glimpse_envs.canvas import Canvas
from glimpse_envs.retina import Retina, TileSensor

__all__ = ["TorchCanvas", "TorchGlimpseCore", "TorchRetina", "TorchTileSensor", "torch_sensor"]


def _windows(first: torch.Tensor, h: int, w: int, width: int) -> torch.Tensor:
    """The flat pixel indices (..., h, w) of the h x w windows whose top-left pixel is flat pixel
    ``first`` (any batch shape) of C-contiguous images ``width`` pixels wide.

    The torch twin of :func:`glimpse_envs.canvas._windows`, indexed by flat pixel likewise: a
    window is read with :func:`_read` and written with ``scatter_`` on the flat images."""
    rows = torch.arange(h, device=first.device).view(h, 1) * width
    return first[..., None, None] + rows + torch.arange(w, device=first.device)


def _read(images: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """The pixels of ``images`` at flat indices ``index``, shaped as ``index``."""
    return images.reshape(-1).gather(0, index.reshape(-1)).view(index.shape)


def _corner(locations: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Pixel corners (B, 2) of (x, y) locations: ``floor((l + 1) * S / 2 + 0.5)`` in float64, as
    :func:`glimpse_envs.retina.pixel_corner` and the retina's batched calls compute them."""
    half = torch.tensor([width / 2.0, height / 2.0], dtype=torch.float64, device=locations.device)
    return torch.floor((locations + 1.0) * half + 0.5).long()


class TorchCanvas:
    """:meth:`Canvas.render` on a device: the objects of each split kept there as a uint8 tensor.

    Args:
        canvas: the numpy canvas whose configuration (sizes, slots, clutter) and data are used.
        device: where the objects and the rendered canvases live.
    """

    def __init__(self, canvas: Canvas, device: Any = "cpu"):
        self.canvas = canvas
        self.device = torch.device(device)
        self._objects: dict[str, torch.Tensor] = {}

    def objects(self, split: str) -> torch.Tensor:
        """The objects of ``split`` as placed (resized), uint8 (N, h, w * C) on the device: a colour
        pixel is C consecutive bytes, as in the numpy renderer's rows."""
        rows = self._objects.get(split)
        if rows is None:
            images = self.canvas.objects(split)[0]
            rows = torch.tensor(
                images.reshape(len(images), images.shape[1], -1), device=self.device
            )
            self._objects[split] = rows
        return rows

    def render(self, params, split: str = "train") -> tuple[torch.Tensor, np.ndarray]:
        """Pixels of a batch of descriptions: uint8 (B, S, S) (colour: (B, S, S, C)) on the device,
        and the labels, int64 (B, n_targets), a numpy array (they index the host's labels).

        The same layers as :meth:`Canvas.render`, through flat-pixel windows (:func:`_windows`): the
        objects written in (their slots never overlap), then the clutter pieces composited onto
        them by a pixel-wise maximum, one piece of every canvas at a time (each write has distinct
        indices, so it is deterministic on every device). A colour window is a grayscale one C
        times as wide."""
        c = self.canvas
        rows = self.objects(split)
        p = np.asarray(params, np.int64)
        labels = c.objects(split)[1]
        B, S, C, n0 = p.shape[0], c.size, c.channels, 3 * c.n_digits
        (oh, ow), SC = c.object_shape, S * C
        wc = ow * C
        q = torch.as_tensor(p, device=self.device)
        out = torch.zeros(B * S * SC, dtype=torch.uint8, device=self.device)
        base = torch.arange(B, device=self.device) * (S * SC)
        d = q[:, :n0].reshape(B, c.n_digits, 3)
        for j in range(c.n_digits):  # a few slots at most
            at = _windows(base + d[:, j, 2] * SC + (d[:, j, 1] + j * c._slot) * C, oh, wc, SC)
            out.scatter_(0, at.view(-1), rows.index_select(0, d[:, j, 0]).view(-1))
        if c.n_clutter:
            K, cs = c.n_clutter, c.clutter_size
            e = q[:, n0:].reshape(B, K, 5)  # per piece: source, crop x, crop y, x, y
            src = e[:, :, 0] + (e[:, :, 0] >= q[:, :1]).long()  # any digit but the first target
            crops = _read(
                rows, _windows(src * (oh * wc) + e[:, :, 2] * wc + e[:, :, 1] * C, cs, cs * C, wc)
            )
            at = _windows(base[:, None] + e[:, :, 4] * SC + e[:, :, 3] * C, cs, cs * C, SC)
            for j in range(K):  # one piece of every canvas at a time: no overlaps within a step
                under = _read(out, at[:, j])
                out.scatter_(0, at[:, j].reshape(-1), torch.maximum(under, crops[:, j]).view(-1))
        shape = (B, S, S) if C == 1 else (B, S, S, C)
        return out.view(shape), labels[p[:, 0:n0:3]]


class TorchRetina:
    """:class:`Retina` on a device: ``prepare`` and the glimpses of uint8 image tensors.

    Several scales: integral images (B, H + 1, W + 1), the (g + 1)^2 block corners of every scale
    gathered at once (clipped to the image: the zero padding), two differences, one float32 scale.
    One scale: the pixels times ``1 / 255``, zero-padded by g, and a g x g crop. Colour images
    (B, H, W, C) are sensed as B * C grayscale planes (prepared form (B, C, ...)).
    """

    def __init__(self, retina: Retina, device: Any = "cpu"):
        self.retina = retina
        self.device = torch.device(device)
        self.size, self.scales, self.channels = retina.size, retina.scales, retina.channels
        self.shape = retina.shape
        self._offsets = torch.as_tensor(retina._offsets, device=self.device)  # (k, g + 1)
        self._scale = torch.as_tensor(retina._scale.reshape(-1), device=self.device)  # f32 (k,)

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """The float32 form of uint8 images that :meth:`__call__` reads (as :meth:`Retina.prepare`)."""
        images = _uint8(images, self)
        if self.channels > 1:
            B, C = images.shape[0], self.channels
            planes = _planes(images, C)
            prep = self._pixels(planes) if self.scales == 1 else self.integral(planes)
            return prep.view(B, C, *prep.shape[1:])
        return self._pixels(images) if self.scales == 1 else self.integral(images)

    def integral(self, images: torch.Tensor) -> torch.Tensor:
        """Integral images float32 (B, H + 1, W + 1) of uint8 images (B, H, W).

        The column sums are exact integers; below 2**24 (every canvas up to about 256 x 256) so is
        the whole sum, any order giving the same float32 values. Above, the row sums run left to
        right in float32, as :meth:`Retina.integral` adds them."""
        B, H, W = images.shape
        out = torch.zeros((B, H + 1, W + 1), dtype=torch.float32, device=images.device)
        columns = images.to(torch.int32).cumsum(1, dtype=torch.int32)
        if H * W * 255 < 2**24:
            out[:, 1:, 1:] = columns.cumsum(2, dtype=torch.int32)
        else:
            inner = out[:, 1:, 1:]
            inner.copy_(columns)
            for c in range(1, W):
                inner[:, :, c] += inner[:, :, c - 1]
        return out

    def _pixels(self, images: torch.Tensor) -> torch.Tensor:
        """One scale: every pixel's glimpse value, float32, zero-padded by g (as :meth:`Retina._pixels`)."""
        B, H, W = images.shape
        g = self.size
        out = torch.zeros((B, H + 2 * g, W + 2 * g), dtype=torch.float32, device=images.device)
        if H * W * 255 < 2**24:
            out[:, g : g + H, g : g + W] = images.to(torch.float32) * self._scale[0]
        else:
            integral = self.integral(images)
            d = integral[:, 1:, :] - integral[:, :-1, :]
            out[:, g : g + H, g : g + W] = (d[:, :, 1:] - d[:, :, :-1]) * self._scale[0]
        return out

    def __call__(
        self, images: torch.Tensor, locations, prepared: bool | None = None
    ) -> torch.Tensor:
        """Glimpses float32 (B, k, g, g) (colour: (B, k, g, g, C)) of uint8 images or of
        ``prepare(images)``, at float (B, 2) locations (numpy or torch, any device)."""
        if prepared is None:
            prepared = images.dtype == torch.float32
        prep = images if prepared else self.prepare(images)
        loc = torch.as_tensor(locations, device=prep.device).to(torch.float64).reshape(-1, 2)
        if self.channels == 1:
            return self._sense(prep, loc)
        B, C = prep.shape[:2]
        if prep.dim() != 4 or C != self.channels:
            raise ValueError(
                f"{self!r} got prepared images of shape {tuple(prep.shape)}: prepare them with this "
                "sensor"
            )
        planes = self._sense(prep.reshape(B * C, *prep.shape[2:]), loc.repeat_interleave(C, 0))
        return planes.view(B, C, *self.shape[:3]).permute(0, 2, 3, 4, 1).contiguous()

    sense = __call__

    def _sense(self, prep: torch.Tensor, loc: torch.Tensor) -> torch.Tensor:
        """Glimpses (B, k, g, g) of prepared grayscale images (B, ...) at float64 locations."""
        if self.scales == 1:
            return self._crop(prep, loc)
        B, H1, W1 = prep.shape
        c = _corner(loc, H1 - 1, W1 - 1)
        # every block corner of every scale, clipped to the image (the zero padding)
        limit = torch.tensor([W1 - 1, H1 - 1], device=prep.device).view(1, 2, 1, 1)
        edges = torch.minimum((c[:, :, None, None] + self._offsets).clamp_min(0), limit)
        rows = edges[:, 1] * W1 + (torch.arange(B, device=prep.device) * (H1 * W1)).view(B, 1, 1)
        corners = _read(prep, rows[:, :, :, None] + edges[:, 0, :, None, :])  # (B, k, g + 1, g + 1)
        d = corners[:, :, 1:, :] - corners[:, :, :-1, :]
        return (d[:, :, :, 1:] - d[:, :, :, :-1]) * self._scale.view(1, -1, 1, 1)

    def _crop(self, pixels: torch.Tensor, loc: torch.Tensor) -> torch.Tensor:
        """One-scale glimpses (B, 1, g, g): g x g crops of the padded pixels, the corner clipped to
        ``[-(g - g // 2), S + g // 2]`` first (as :meth:`Retina._crop`)."""
        B, Hp, Wp = pixels.shape
        g = self.size
        H, W = Hp - 2 * g, Wp - 2 * g
        c = _corner(loc, H, W)
        high = torch.tensor([W + g // 2, H + g // 2], device=pixels.device)
        start = torch.minimum(c.clamp_min(-(g - g // 2)), high) + (g - g // 2)
        first = torch.arange(B, device=pixels.device) * (Hp * Wp) + start[:, 1] * Wp + start[:, 0]
        return _read(pixels, _windows(first, g, g, Wp))[:, None]

    def __repr__(self) -> str:
        return f"TorchRetina({self.retina!r}, device={str(self.device)!r})"


class TorchTileSensor:
    """:class:`TileSensor` on a device: the canvas zero-padded and cut into tiles (``prepare``),
    a glimpse the whole tile under the location."""

    def __init__(self, sensor: TileSensor, device: Any = "cpu"):
        self.sensor = sensor
        self.device = torch.device(device)
        self.grid, self.tile, self.channels = sensor.grid, sensor.tile, sensor.channels
        self.size, self.scales, self.shape = sensor.size, sensor.scales, sensor.shape
        self._scale = torch.tensor(np.float32(1 / 255), device=self.device)

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """Padded float32 tiles (B, grid, grid, T, T) (colour: (..., C)) of uint8 images."""
        images = _uint8(images, self)
        B, H, W = images.shape[:3]
        if tuple(images.shape[3:]) != self.shape[3:]:
            raise ValueError(f"{self!r} got images of shape {tuple(images.shape)}")
        t, G, lo = self.tile, self.grid, self.sensor._pad[0]
        extra = tuple(images.shape[3:])
        padded = torch.zeros((B, t * G, t * G, *extra), dtype=torch.uint8, device=images.device)
        padded[:, lo : lo + H, lo : lo + W] = images
        order = (0, 1, 3, 2, 4) + ((5,) if extra else ())
        tiles = padded.view(B, G, t, G, t, *extra).permute(order)
        return tiles.to(torch.float32) * self._scale  # a new, contiguous tensor

    def __call__(
        self, images: torch.Tensor, locations, prepared: bool | None = None
    ) -> torch.Tensor:
        """Glimpses float32 (B, 1, T, T) (colour: (B, 1, T, T, C)) of uint8 images or their tiles."""
        if prepared is None:
            prepared = images.dim() == len(self.shape) + 2
        tiles = images if prepared else self.prepare(images)
        loc = torch.as_tensor(locations, device=tiles.device).to(torch.float64).reshape(-1, 2)
        ij = torch.floor((loc + 1.0) / 2.0 * self.grid).clamp(0, self.grid - 1).long()
        b = torch.arange(tiles.shape[0], device=tiles.device)
        return tiles[b, ij[:, 1], ij[:, 0]][:, None]

    sense = __call__

    def __repr__(self) -> str:
        return f"TorchTileSensor({self.sensor!r}, device={str(self.device)!r})"


def torch_sensor(sensor: Retina | TileSensor, device: Any = "cpu") -> TorchRetina | TorchTileSensor:
    """The device twin of a numpy sensor."""
    if isinstance(sensor, Retina):
        return TorchRetina(sensor, device)
    if isinstance(sensor, TileSensor):
        return TorchTileSensor(sensor, device)
    raise TypeError(f"no torch twin for the sensor {sensor!r}: use a Retina or a TileSensor")


class TorchGlimpseCore:
    """What :class:`~glimpse_envs.glimpse_env._GlimpseCore` renders and senses, on a device.

    Its methods have the signatures of the numpy calls in ``_reset_rows`` and ``_step_rows``, so
    ``core`` stands in for both the canvas and the sensor: ``canvas.render(params, split)`` ->
    :meth:`render`, ``sensor.prepare(images)`` -> :meth:`prepare`, ``sensor(prep, locations,
    prepared=True)`` -> ``core(prep, locations, prepared=True)`` (or :meth:`sense`); :meth:`blank`
    gives the zero state ``_alloc`` makes. Their results are torch tensors on ``device``.

    Args:
        canvas: the env's numpy :class:`Canvas`.
        sensor: the env's numpy :class:`Retina` or :class:`TileSensor`.
        device: a torch device (``"cpu"``, ``"cuda"``, ``"cuda:1"`` ...).
    """

    def __init__(self, canvas: Canvas, sensor: Retina | TileSensor, device: Any = "cpu"):
        self.device = torch.device(device)
        self.canvas = TorchCanvas(canvas, self.device)
        self.sensor = torch_sensor(sensor, self.device)

    @classmethod
    def from_env(cls, env, device: Any = "cpu") -> TorchGlimpseCore:
        """The device core of a visual env (single or vector; wrappers are looked through)."""
        env = getattr(env, "unwrapped", env)
        return cls(env.canvas, env.sensor, device)

    def render(self, params, split: str = "train") -> tuple[torch.Tensor, np.ndarray]:
        """uint8 canvases on the device and numpy labels (see :meth:`TorchCanvas.render`)."""
        return self.canvas.render(params, split)

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        return self.sensor.prepare(images)

    def sense(self, prepared: torch.Tensor, locations) -> torch.Tensor:
        """Glimpses float32 (B, *sensor.shape) of prepared canvases at (B, 2) locations."""
        return self.sensor(prepared, locations, prepared=True)

    def __call__(self, images: torch.Tensor, locations, prepared: bool | None = None):
        """The sensor's call, as the numpy sensor's (``core(prep, locations, prepared=True)``)."""
        return self.sensor(images, locations, prepared)

    def blank(self, B: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(images, prepared, glimpses) of B blank canvases, as ``_alloc`` starts them."""
        c = self.canvas.canvas
        shape = (B, c.size, c.size) if c.channels == 1 else (B, c.size, c.size, c.channels)
        images = torch.zeros(shape, dtype=torch.uint8, device=self.device)
        glimpses = torch.zeros((B, *self.sensor.shape), dtype=torch.float32, device=self.device)
        return images, self.prepare(images), glimpses


def _uint8(images, sensor) -> torch.Tensor:
    """``images`` as a uint8 tensor on the sensor's device (numpy arrays are copied there)."""
    images = torch.as_tensor(images, device=sensor.device)
    if images.dtype != torch.uint8:
        raise TypeError(
            f"{sensor!r} prepares uint8 images (what the canvases render), got {images.dtype}"
        )
    return images


def _planes(images: torch.Tensor, channels: int) -> torch.Tensor:
    """Colour images (B, H, W, C) as B * C grayscale planes (B * C, H, W), contiguous."""
    if images.dim() != 4 or images.shape[3] != channels:
        raise ValueError(
            f"a sensor made for {channels} channels got images of shape {tuple(images.shape)}"
        )
    B, H, W, C = images.shape
    return images.permute(0, 3, 1, 2).reshape(B * C, H, W)
