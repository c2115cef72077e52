"""Pictures of what an agent attended to, drawn from :meth:`agents.base.Trainer.trace`.

``python train.py render`` writes, per episode, a figure for a slide or a paper
(:mod:`agents.slides`, matplotlib: ``NAME.png`` and ``NAME.svg`` or ``NAME.pdf`` with real text,
``--scale`` times the size, text at least 12 px at scale 1, a title naming agent, env, split and
index, a caption naming the checkpoint and marking a wrong answer WRONG or a failed sequence
FAILED) and, for visual agents, the pixel-art animation ``NAME.gif`` drawn here with
:mod:`glimpse_envs.drawing` (one frame per step; the last frame shows every step):

* hard attention (``locations``): each glimpse's retina squares at every scale (one colour per
  scale, keyed) or its tile, the path between the glimpses, numbered in order (a sequence agent's
  trace with ``digits``, DRAM's, colours the path and numbers by the digit each glimpse was spent
  on); beside it, the retina's views at each step, recomputed with the env's own sensor;
* soft attention (``filters``): the attended region of each step (DRAW: the extent of the N x N
  filter grid, its border as wide as the filters' standard deviation; soft tiles: the tiles with
  at least half the top weight) with its centre, path and number; beside it, each step's weights
  over the canvas as a heat map, on one colour scale for the whole episode (area-averaged where
  the pixel art shrinks them, so no row or column is dropped), and what they let through (DRAW:
  its N x N glimpse, computed with the model's own :func:`agents.draw.filterbank`; tiles: the
  canvas times the weights);
* no attention (``saliency``): the canvas with the saliency |d logit / d pixel| laid over it, the
  saliency alone beside it.

Tape agents and the NTM get the NTM paper's figure: input, target and output bit vectors against
time, then the write and read weightings (memory cell against time, the same cell window for
both, one colour bar; one-hot for hard heads), the input / delimiter / output phases marked
(:func:`tape_data` holds what it draws). :func:`render_checkpoint` renders the first N episodes of
a fixed split (a stated rule: none picked) and writes ``index.md``; :func:`main` is
``python train.py render``. The GIF's palette is built from all its frames. The same trace gives
the same bytes.
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from glimpse_envs import drawing as dr

#: the canvas is upscaled by an integer factor to about this many pixels
CANVAS_PX = 240
#: colours: glimpse path and numbers, soft attention boxes, heat overlays
PATH_COLOR: dr.Color = (60, 220, 220)
#: path and numbers of the glimpses spent on each digit of a sequence (a trace with ``digits``)
DIGIT_COLORS: tuple[dr.Color, ...] = (
    PATH_COLOR,
    (240, 100, 220),
    (250, 150, 40),
    (150, 230, 80),
    (235, 235, 235),
)
NUMBER_COLOR: dr.Color = dr.YELLOW
SOFT_COLOR: dr.Color = (40, 200, 60)
RIGHT: dr.Color = (40, 200, 60)
WRONG: dr.Color = (230, 40, 40)
MISSING: dr.Color = (110, 30, 30)
PANEL_GAP = 6
#: milliseconds per GIF frame, and for the last one
FRAME_MS, LAST_FRAME_MS = 600, 2000


# ---------------------------------------------------------------------------------------------
# small image helpers
# ---------------------------------------------------------------------------------------------
def heat(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1] (any shape) as a black-red-yellow-white colour map, uint8 (..., 3)."""
    v = np.clip(np.asarray(values, np.float64), 0.0, 1.0)
    rgb = np.stack([np.clip(3 * v, 0, 1), np.clip(3 * v - 1, 0, 1), np.clip(3 * v - 2, 0, 1)], -1)
    return (rgb * 255 + 0.5).astype(np.uint8)


def normalise(values: np.ndarray, percentile: float = 100.0) -> np.ndarray:
    """``|values|`` divided by their ``percentile`` (default the maximum), clipped to [0, 1].

    All zeros stay zeros. A percentile below 100 keeps a few extreme values (saliency maps are
    spiky) from turning the rest black.
    """
    v = np.abs(np.asarray(values, np.float64))
    top = float(np.percentile(v, percentile)) if v.size else 0.0
    if top <= 0:
        top = float(v.max()) if v.size else 0.0
    return np.clip(v / top, 0.0, 1.0) if top > 0 else v


def _area_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of an area (box-filter) resize: output cell i averages the input cells
    it covers, each weighted by the fraction of it that lies inside (rows sum to 1)."""
    edges = np.arange(n_out + 1) * (n_in / n_out)  # output cell i covers [edges[i], edges[i+1])
    lo, hi = edges[:-1, None], edges[1:, None]
    a = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(hi, a + 1) - np.maximum(lo, a), 0, None)
    return overlap / overlap.sum(1, keepdims=True)


def resize_area(values: np.ndarray, height: int, width: int) -> np.ndarray:
    """Area-average resize of a (H, W) or (H, W, C) array to (height, width), float64.

    Each output cell is the mean of the input it covers (fractional cells pro rata), so shrinking
    keeps every row and column, the last ones included, and enlarging by an integer factor
    repeats each cell.
    """
    v = np.asarray(values, np.float64)
    rows, cols = _area_weights(v.shape[0], height), _area_weights(v.shape[1], width)
    return np.einsum("ih,hw...,jw->ij...", rows, v, cols)


def overlay(rgb: np.ndarray, weights: np.ndarray, strength: float = 0.85) -> np.ndarray:
    """``rgb`` blended with the heat colour of ``weights`` (H, W, in [0, 1]) where they are high."""
    a = (np.clip(weights, 0, 1) * strength)[..., None]
    hot = heat(0.35 + 0.65 * np.clip(weights, 0, 1)).astype(np.float64)
    return (rgb * (1 - a) + hot * a + 0.5).astype(np.uint8)


def _shade(color: dr.Color, factor: float) -> dr.Color:
    return tuple(int(c * factor) for c in color)


def label_text(value: Any) -> str:
    """An int label, or a digit sequence (MultiMNIST) as one string; -1 (no answer) as ``-``."""
    a = np.asarray(value).reshape(-1)
    return "".join("-" if int(v) < 0 else str(int(v)) for v in a)


def number(img: np.ndarray, x: float, y: float, s: str, color: dr.Color = NUMBER_COLOR) -> None:
    """``s`` in the 3x5 font at scale 2 on a black box, its top-left corner near (x, y)."""
    w, h = dr.text_size(s, 2)
    x, y = round(x), round(y)
    x = min(max(x, 0), img.shape[1] - w - 2)
    y = min(max(y, 0), img.shape[0] - h - 2)
    dr.fill_rect(img, x - 1, y - 1, w + 2, h + 2, dr.BLACK)
    dr.text(img, x, y, s, color, scale=2)


def text_bar(width: int, lines: Sequence[tuple[str, dr.Color, int]]) -> np.ndarray:
    """A black bar ``width`` wide holding one text line per ``(text, colour, scale)``."""
    height = sum(5 * s + 4 for _, _, s in lines) + 4
    bar = dr.blank(height, width)
    y = 4
    for s, color, scale in lines:
        dr.text(bar, 4, y, s, color, scale=scale)
        y += 5 * scale + 4
    return bar


def save_png(img: np.ndarray, path: str | Path) -> Path:
    """Write an (H, W, 3) uint8 image as PNG (deterministic bytes)."""
    from PIL import Image

    path = Path(path)
    Image.fromarray(np.ascontiguousarray(img, np.uint8)).save(path, format="PNG", optimize=True)
    return path


def gif_palette(frames: Sequence[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """One GIF palette for all ``frames`` and each frame's indices into it.

    The palette is the frames' exact colours when they use at most 256, else a median-cut palette
    of every frame together (so no frame, the first included, is drawn in colours taken from
    another one); each pixel gets its nearest palette colour. Returns ``(palette (256, 3) uint8,
    [indices (H, W) uint8 per frame])``.
    """
    from PIL import Image

    flat = [np.asarray(f, np.uint8).reshape(-1, 3).astype(np.int32) for f in frames]
    packed = np.concatenate([(f[:, 0] << 16) | (f[:, 1] << 8) | f[:, 2] for f in flat])
    colours, inverse = np.unique(packed, return_inverse=True)
    rgb = np.stack([colours >> 16, (colours >> 8) & 255, colours & 255], 1)
    if len(colours) <= 256:
        palette, nearest = rgb, np.arange(len(colours))
    else:
        tall = Image.fromarray(np.ascontiguousarray(np.concatenate(list(frames), 0), np.uint8))
        quant = tall.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        palette = np.asarray(quant.getpalette()[: 3 * 256], np.int32).reshape(-1, 3)
        nearest = np.concatenate(
            [  # each colour's nearest palette entry, in chunks
                ((rgb[i : i + 4096, None, :] - palette[None]) ** 2).sum(-1).argmin(1)
                for i in range(0, len(rgb), 4096)
            ]
        )
    full = np.zeros((256, 3), np.uint8)
    full[: len(palette)] = palette
    index = nearest[inverse].astype(np.uint8)
    sizes = np.cumsum([0] + [len(f) for f in flat])
    shapes = [np.asarray(f).shape[:2] for f in frames]
    return full, [index[a:b].reshape(shape) for a, b, shape in zip(sizes, sizes[1:], shapes)]


def save_gif(
    frames: Sequence[np.ndarray],
    path: str | Path,
    frame_ms: int = FRAME_MS,
    last_ms: int = LAST_FRAME_MS,
) -> Path:
    """Equal-sized RGB frames as a looping GIF: one palette built from all of them
    (:func:`gif_palette`), no dithering."""
    from PIL import Image

    path = Path(path)
    palette, indices = gif_palette(frames)
    images = []
    for idx in indices:
        im = Image.new("P", (idx.shape[1], idx.shape[0]))
        im.frombytes(np.ascontiguousarray(idx).tobytes())
        im.putpalette(palette.reshape(-1).tolist())
        images.append(im)
    durations = [frame_ms] * (len(images) - 1) + [last_ms]
    images[0].save(
        path,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=durations,
        loop=0,
        optimize=False,
        disposal=1,
    )
    return path


# ---------------------------------------------------------------------------------------------
# visual agents
# ---------------------------------------------------------------------------------------------
def attention_kind(trace: dict[str, Any]) -> str:
    """``"hard"``, ``"soft"``, ``"none"`` (visual traces) or ``"tape"``, from the trace's keys."""
    if "locations" in trace:
        return "hard"
    if "filters" in trace:
        return "soft"
    if "image" in trace and "saliency" in trace:
        return "none"
    if "inputs" in trace:
        return "tape"
    raise ValueError(
        f"a trace with keys {sorted(trace)} is none of: visual hard (image, locations), soft "
        "(image, filters), none (image, saliency), tape (inputs, targets, outputs, read/write)"
    )


def draw_glimpses(image: np.ndarray, filters: np.ndarray, grid: np.ndarray, n: int) -> np.ndarray:
    """DRAW's N x N glimpses (T, N, N) in [0, 1] from its attention parameters (T, 5).

    ``grid`` rows are (g_x, g_y, delta, sigma^2, gamma) in pixel units, pixel centres at 0..S-1, as
    ``agents.draw.DRAWClassifier`` traces them. The glimpse is computed by the model's own
    :func:`agents.draw.filterbank` and :func:`agents.draw.read` (float64), so the picture is the
    glimpse the LSTM read (clipped to [0, 1] for display).
    """
    import torch

    from agents.draw import filterbank, read

    g = torch.as_tensor(np.asarray(grid, np.float64).reshape(-1, 5))
    if len(g) == 0:
        return np.zeros((0, n, n))
    img = torch.as_tensor(np.asarray(image, np.float64) / 255.0)
    H, W = img.shape
    gx, gy, delta, sigma2, gamma = g.unbind(-1)
    fx, fy = filterbank(gx, gy, sigma2, delta, int(n), W, H)
    glimpses = read(img.expand(len(g), H, W), fx, fy, gamma)
    return np.clip(glimpses.numpy(), 0, 1)


def draw_border(grid_row: Sequence[float], f: int) -> int:
    """Display pixels of the border of a DRAW box: the filters' standard deviation sigma to scale
    (sigma canvas pixels, at ``f`` display pixels each), at least 1 (the paper's figures draw the
    filter width as the box's border width)."""
    return max(1, round(math.sqrt(float(grid_row[3])) * f))


class VisualEpisode:
    """The drawing of one visual trace: :meth:`frame` ``(upto)`` shows the first ``upto`` steps.

    Args:
        trace: a visual :meth:`~agents.base.Trainer.trace` dict.
        sensor: the env's sensor (``env.unwrapped.sensor``), for the retina squares and views of a
            hard trace (ignored otherwise).
        title: the first line of the bar below (agent, env, episode).
    """

    def __init__(self, trace: dict[str, Any], sensor: Any = None, title: str = ""):
        self.kind = attention_kind(trace)
        if self.kind == "tape":
            raise ValueError("a tape trace: draw it with agents.slides.tape_slide()")
        self.trace = trace
        self.image = np.asarray(trace["image"])
        self.S = S = self.image.shape[0]
        self.f = max(1, CANVAS_PX // S)
        self.H = S * self.f
        self.title = title
        self.label, self.prediction = trace.get("label"), trace.get("prediction")
        if self.kind == "hard":
            if sensor is None:
                raise ValueError("a hard trace needs the env's sensor (env.unwrapped.sensor)")
            self.sensor = sensor
            self.locations = np.asarray(trace["locations"], np.float64).reshape(-1, 2)
            self.steps = len(self.locations)
            imgs = np.broadcast_to(self.image, (self.steps, *self.image.shape))
            self.views = np.asarray(
                sensor(np.ascontiguousarray(imgs), self.locations.astype(np.float32))
            )
            self.boxes = [sensor.squares(loc, S) for loc in self.locations]
            # the digit each glimpse was spent on (DRAM): path and numbers coloured by it
            self.digits = np.asarray(trace.get("digits", np.zeros(self.steps)), np.int64)
            self.centres = []
            for boxes in self.boxes:
                x0, y0, w = boxes[0]
                self.centres.append(((x0 + w / 2) * self.f, (y0 + w / 2) * self.f))
            self.view_cells = self.views.shape[2]  # g of (steps, k, g, g) or (steps, k, g, g, C)
            self.columns = self.views.shape[1]
        elif self.kind == "soft":
            self.maps = np.asarray(trace["filters"], np.float64)
            self.steps = len(self.maps)
            # one colour scale for every step of the episode
            self.vmax = float(self.maps.max()) if self.maps.size and self.maps.max() > 0 else 1.0
            self.grid = trace.get("grid")
            self.boxes, self.centres = [], []
            for t, m in enumerate(self.maps):
                self.boxes.append(self._soft_box(t, m))
                x0, y0, x1, y1 = self.boxes[-1]
                self.centres.append(((x0 + x1) / 2, (y0 + y1) / 2))
            if self.grid is not None:
                n = int(trace.get("read_n") or 12)
                self.views = draw_glimpses(self.image, self.maps, self.grid, n)
            else:
                self.views = None
            self.view_cells = 12 if self.views is None else self.views.shape[-1]
            self.columns = 2
        else:
            self.saliency = normalise(trace["saliency"], 99.5)
            self.steps = 1
            self.view_cells = S
            self.columns = 1
        rows = self.steps
        self.row_h = max(1, (self.H - 4 * (rows - 1)) // rows) if self.kind != "none" else self.H
        self.pf = max(1, min(8, self.row_h // self.view_cells))
        self.cell = self.view_cells * self.pf if self.kind != "none" else self.H

    def _soft_box(self, t: int, m: np.ndarray) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) in display pixels of step ``t``'s attended region."""
        f = self.f
        if self.grid is not None:
            gx, gy, delta, _, _ = np.asarray(self.grid[t], np.float64)
            n = int(self.trace.get("read_n") or 12)
            half = (n - 1) / 2 * abs(delta)
            return (
                (gx - half + 0.5) * f,
                (gy - half + 0.5) * f,
                (gx + half + 0.5) * f,
                (gy + half + 0.5) * f,
            )
        w = normalise(m)
        ys, xs = np.nonzero(w >= 0.5) if w.max() > 0 else (np.array([0]), np.array([0]))
        return xs.min() * f, ys.min() * f, (xs.max() + 1) * f, (ys.max() + 1) * f

    # -- panels --------------------------------------------------------------------------------
    def _canvas(self, upto: int) -> np.ndarray:
        img = dr.to_rgb(dr.upscale(self.image, self.f))
        if self.kind == "none":
            if upto > 0:
                img = overlay(img, dr.upscale(self.saliency, self.f))
            return img
        f = self.f
        current = upto - 1
        for t in range(upto):
            # the current (last) step bright and thick, the earlier ones dimmed
            thick = 2 if t == current else 1
            shade = 1.0 if t == current else 0.55
            if self.kind == "hard":
                for j, (x0, y0, w) in enumerate(self.boxes[t]):
                    color = _shade(dr.PALETTE[j % len(dr.PALETTE)], shade)
                    dr.rect(img, x0 * f, y0 * f, w * f, w * f, color, thick)
            else:
                x0, y0, x1, y1 = (round(v) for v in self.boxes[t])
                color = _shade(SOFT_COLOR, shade)
                if self.grid is not None:  # DRAW: the border is the filter width, to scale
                    thick = draw_border(self.grid[t], f)
                    x0, y0, x1, y1 = (
                        x0 - thick // 2,
                        y0 - thick // 2,
                        x1 + thick // 2,
                        y1 + thick // 2,
                    )
                dr.rect(img, x0, y0, max(x1 - x0, 2), max(y1 - y0, 2), color, thick)
        for t in range(1, upto):
            (ax, ay), (bx, by) = self.centres[t - 1], self.centres[t]
            dr.line(img, ax, ay, bx, by, self._path_color(t), thickness=2)
        for t in range(upto):
            x, y = self.centres[t]
            dr.dot(img, x, y, 2, self._path_color(t))
            number(img, x + 4, y + 4, str(t + 1), self._number_color(t))
        return img

    def _path_color(self, t: int) -> dr.Color:
        if self.kind != "hard":
            return PATH_COLOR
        return DIGIT_COLORS[self.digits[t] % len(DIGIT_COLORS)]

    def _number_color(self, t: int) -> dr.Color:
        return self._path_color(t) if self.kind == "hard" and self.digits.any() else NUMBER_COLOR

    def _views(self, upto: int) -> np.ndarray:
        c = self.cell
        if self.kind == "none":
            panel = (
                heat(dr.upscale(self.saliency, self.f))
                if upto > 0
                else dr.blank(c, c, (24, 24, 24))
            )
            return panel
        label_w = dr.text_size(str(self.steps), 2)[0] + 6
        rows = []
        for t in range(self.steps):
            row = dr.blank(c + 2, label_w)
            if t < upto:
                dr.text(row, 2, max(0, c // 2 - 4), str(t + 1), self._number_color(t), scale=2)
            cells = [row]
            for j in range(self.columns):
                if t >= upto:
                    cells.append(dr.blank(c + 2, c + 2, (24, 24, 24)))
                    continue
                if self.kind == "hard":
                    v = dr.to_rgb(dr.upscale(self.views[t, j], self.pf))
                    color = dr.PALETTE[j % len(dr.PALETTE)]
                elif j == 0:  # the weights over the canvas, on the episode's one scale
                    v = heat(resize_area(self.maps[t] / self.vmax, c, c))
                    color = SOFT_COLOR
                elif self.views is not None:  # DRAW: its N x N glimpse
                    v = dr.gray_to_rgb(dr.upscale(self.views[t], self.pf))
                    color = SOFT_COLOR
                else:  # the canvas as the weights let it through
                    seen = self.image / 255.0 * normalise(self.maps[t])
                    v = dr.to_rgb(np.clip(resize_area(seen, c, c), 0, 1))
                    color = SOFT_COLOR
                # the frame goes round the cell, never over its outer rows and columns
                framed = dr.blank(c + 2, c + 2, color)
                framed[1:-1, 1:-1] = dr.pad(v, c, c)
                cells.append(framed)
            rows.append(dr.hstack(cells, gap=4))
        return dr.vstack(rows, gap=4)

    def _bar(self, width: int, upto: int) -> np.ndarray:
        done = upto >= self.steps
        if self.kind == "none":
            what = "SALIENCY: ABS D LOGIT / D PIXEL"
        else:
            what = f"{'GLIMPSE' if self.kind == 'hard' else 'STEP'} {upto}/{self.steps}"
        lines = [(self.title, dr.WHITE, 1)] if self.title else []
        if done and self.label is not None:
            ok = label_text(self.label) == label_text(self.prediction)
            lines.append(
                (
                    f"LABEL {label_text(self.label)}  PRED {label_text(self.prediction)}",
                    RIGHT if ok else WRONG,
                    2,
                )
            )
        else:
            lines.append(("LABEL ?  PRED ?", dr.GRAY, 2))
        lines.append((what, dr.GRAY, 1))
        if self.kind == "hard" and self.digits.any():
            for d in range(int(self.digits.max()) + 1):
                spent = np.flatnonzero(self.digits == d) + 1
                lines.append(
                    (
                        f"DIGIT {d + 1}: GLIMPSES {spent[0]}-{spent[-1]}",
                        DIGIT_COLORS[d % len(DIGIT_COLORS)],
                        1,
                    )
                )
        return text_bar(width, lines)

    def frame(self, upto: int | None = None) -> np.ndarray:
        """The figure after ``upto`` steps (default: all); every frame has the same shape."""
        upto = self.steps if upto is None else int(upto)
        top = dr.hstack([self._canvas(upto), self._views(upto)], gap=PANEL_GAP)
        return dr.vstack([top, self._bar(top.shape[1], upto)], gap=2)

    def frames(self) -> list[np.ndarray]:
        """The GIF frames: step 1 .. T (no attention: the bare canvas, then the saliency)."""
        if self.kind == "none":
            return [self.frame(0), self.frame(1)]
        return [self.frame(t) for t in range(1, self.steps + 1)]


# ---------------------------------------------------------------------------------------------
# tape agents and the NTM
# ---------------------------------------------------------------------------------------------
def _bits(symbols: np.ndarray, task: Any, code: str) -> np.ndarray:
    """Symbols (L,) as bit vectors (L, C): the task's own coding, else plain binary (-1: zeros)."""
    s = np.asarray(symbols, np.int64).reshape(-1)
    if task is not None:
        return np.asarray(
            task.input_bits(s) if code == "input" else task.target_bits(s), np.float64
        )
    width = max(1, math.ceil(math.log2(max(int(s.max(initial=0)) + 1, 2))))
    shifts = np.arange(width - 1, -1, -1)
    return (((np.maximum(s, 0)[:, None] >> shifts) & 1) * (s >= 0)[:, None]).astype(np.float64)


def _memory_rows(weights: np.ndarray, threshold: float = 0.02) -> np.ndarray:
    """The memory cells to show: those whose weight passes ``threshold`` at some step, as one
    circular run, skipping the longest gap."""
    cells = weights.shape[1]
    used = weights.max(0) > threshold
    if not used.any():
        return np.arange(min(cells, 8))
    idx = np.flatnonzero(used)
    gaps = np.diff(np.concatenate([idx, idx[:1] + cells]))  # gap after each used cell, circularly
    k = int(np.argmax(gaps))
    start, end = int(idx[(k + 1) % len(idx)]), int(idx[k])
    span = (end - start) % cells + 1
    n = min(cells, max(span + 2, 8))
    lo = start - 1 if n > span else start
    return (lo + np.arange(n)) % cells


def tape_data(trace: dict[str, Any], task: Any = None) -> dict[str, Any]:
    """What the tape figure draws, time running along the first axis of every matrix.

    Inputs are the bit vectors presented at each step (a hard agent: the symbol under its input
    head); outputs sit where they are emitted; targets where their output is due (a hard agent: at
    its k-th emission). Returns ``inputs`` (T, bits), ``targets`` and ``outputs`` (T, bits),
    ``output_colors`` (bits, T, 3: a right 1 white, a wrong 1 red, a missing 1 dark red, an
    emitted 0 dark gray), ``cells`` (the memory window: the cells either head used, as one
    circular run), ``write`` / ``read`` (T, len(cells)) or None, ``saliency`` (T, bits) or None,
    ``success``, ``right`` (symbols right), ``n_targets``, ``T`` and the phases: ``input_end``
    (the last step of the input), ``delimiter`` (the step the delimiter was presented, None for an
    undelimited task) and ``output_start`` (the first step an output is due).
    """
    inputs = np.asarray(trace["inputs"], np.int64).reshape(-1)
    targets = np.asarray(trace["targets"], np.int64).reshape(-1)
    targets = targets[targets >= 0]
    outputs = np.asarray(trace["outputs"], np.int64).reshape(-1)
    read, write = trace.get("read"), trace.get("write")
    saliency = trace.get("saliency")
    for m in (read, write, saliency):
        if m is not None:
            T = int(np.asarray(m).shape[0])
            break
    else:
        T = max(len(outputs), len(inputs) + len(targets))
    T = max(T, len(outputs), 1)
    in_bits = _bits(inputs, task, "input")
    X = np.zeros((T, in_bits.shape[1]))
    pos = trace.get("input_positions")
    if pos is not None:
        pos = np.asarray(pos, np.int64)[:T]
        ok = pos < len(inputs)
        X[np.flatnonzero(ok)] = in_bits[pos[ok]]
        reached = np.flatnonzero(pos >= len(inputs) - 1)
        input_end = int(reached[0]) if len(reached) else T - 1
    else:
        X[: min(T, len(inputs))] = in_bits[:T]
        input_end = min(T, len(inputs)) - 1
    # where each output and target sits on the time axis
    per_step = len(outputs) == T and "output_bits" not in trace
    out_t = np.arange(T) if len(outputs) == T else T - len(outputs) + np.arange(len(outputs))
    out_sym = np.full(T, -1, np.int64)
    out_sym[out_t] = outputs
    tgt_sym = np.full(T, -1, np.int64)
    if len(targets) == T:
        tgt_sym[:] = targets
    elif per_step:  # a hard agent emits when it chooses: target k is due at its k-th emission
        emitted = list(np.flatnonzero(out_sym >= 0))
        t = emitted[-1] if emitted else -1
        for k, sym in enumerate(targets):
            t = emitted[k] if k < len(emitted) else t + 1
            if t < T:
                tgt_sym[t] = sym
    else:
        tgt_sym[T - len(targets) + np.arange(len(targets))[:T]] = targets[:T]
    Y = _bits(tgt_sym, task, "output")
    Out = _bits(out_sym, task, "output")
    if "output_bits" in trace and len(outputs) != T:
        ob = np.asarray(trace["output_bits"], np.float64)
        Out[:] = 0
        Out[out_t, : ob.shape[1]] = ob[:, : Out.shape[1]]
    emitted = (out_sym >= 0)[None, :]
    on, due = Out.T > 0.5, Y.T > 0.5
    colors = np.zeros((Out.shape[1], T, 3), np.uint8)
    colors[emitted & ~on] = (48, 48, 48)
    colors[on] = dr.WHITE
    colors[on & ~due] = WRONG
    colors[emitted & ~on & due] = MISSING
    success = trace.get("success")
    if success is None:
        success = len(targets) > 0 and np.array_equal(
            outputs[outputs >= 0][: len(targets)], targets
        )
    heads = [np.asarray(m, np.float64).reshape(T, -1) for m in (write, read) if m is not None]
    cells = _memory_rows(np.maximum.reduce(heads)) if heads else np.zeros(0, np.int64)
    due_steps = np.flatnonzero(tgt_sym >= 0)
    delimited = bool(getattr(task, "delimited", False)) if task is not None else False
    return {
        "inputs": X,
        "targets": Y,
        "outputs": Out,
        "output_colors": colors,
        "T": T,
        "cells": cells,
        "write": None if write is None else heads[0][:, cells],
        "read": None if read is None else heads[-1][:, cells],
        "saliency": None if saliency is None else np.asarray(saliency, np.float64).reshape(T, -1),
        "success": bool(success),
        "right": int(((out_sym == tgt_sym) & (out_sym >= 0)).sum()),
        "n_targets": len(targets),
        "input_end": input_end,
        "delimiter": input_end if delimited else None,
        "output_start": int(due_steps[0]) if len(due_steps) else None,
        "length": trace.get("length", len(inputs)),
    }


# ---------------------------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------------------------
def render_trace(
    trace: dict[str, Any],
    out_dir: str | Path,
    stem: str,
    *,
    sensor: Any = None,
    task: Any = None,
    title: str = "",
    caption: str = "",
    scale: float = 1.0,
    vector: str = "svg",
) -> list[Path]:
    """Write one trace's pictures under ``out_dir``: the figure (:mod:`agents.slides`, matplotlib)
    as ``stem.png`` and ``stem.svg`` (or ``.pdf``: ``vector``), and for a visual trace the
    pixel-art animation ``stem.gif`` (one frame per step, enlarged ``round(scale)`` times)."""
    from agents import slides

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    formats = ["png", vector]
    if attention_kind(trace) == "tape":
        return slides.save(
            slides.tape_slide(trace, task, title, caption, scale), out / stem, formats
        )
    episode = VisualEpisode(trace, sensor, title.upper())
    files = slides.save(slides.visual_slide(episode, title, caption, scale), out / stem, formats)
    k = max(1, round(scale))
    frames = [dr.upscale(f, k) if k > 1 else f for f in episode.frames()]
    return [*files, save_gif(frames, out / f"{stem}.gif")]


def env_context(env_id: str, env_kwargs: dict | None = None) -> tuple[Any, Any]:
    """``(sensor, task)`` of an env id: what the drawings need from the env (one is None)."""
    import gymnasium as gym

    import glimpse_envs  # noqa: F401

    env = gym.make(env_id, **(env_kwargs or {}))
    try:
        u = env.unwrapped
        return getattr(u, "sensor", None), getattr(u, "task", None)
    finally:
        env.close()


def solved(trace: dict[str, Any], task: Any = None) -> bool:
    """Whether a trace's answer is right: a visual label, or a whole tape sequence."""
    if attention_kind(trace) == "tape":
        return tape_data(trace, task)["success"]
    return label_text(trace.get("label")) == label_text(trace.get("prediction"))


def _row(index: int, trace: dict[str, Any], files: list[Path], ok: bool) -> str:
    links = " ".join(f"[{p.suffix[1:]}]({p.name})" for p in files)
    image = f"![episode {index}]({files[0].name})"
    if attention_kind(trace) == "tape":
        return (
            f"| {index} | {trace.get('length', '')} | {'solved' if ok else '**FAILED**'} "
            f"| {links} | {image} |"
        )
    return (
        f"| {index} | {label_text(trace.get('label'))} | {label_text(trace.get('prediction'))} "
        f"| {'right' if ok else '**WRONG**'} | {links} | {image} |"
    )


def render_checkpoint(
    trainer: Any,
    episodes: int,
    split: str = "test",
    out_dir: str | Path = "renders/out",
    *,
    source: str = "",
    checkpoint: str = "",
    scale: float = 1.0,
    vector: str = "svg",
) -> list[Path]:
    """Render a trained agent on the first ``episodes`` items of the fixed ``split``.

    The rule is stated and nothing is picked: ``trainer.trace(split, i)`` for i = 0 .. episodes - 1,
    each written under ``out_dir`` as ``SPLIT_NNNN.png`` and ``.svg`` / ``.pdf`` (and ``.gif`` for
    visual agents), and ``index.md`` listing them with wrong answers and failed sequences marked.
    Each figure's title names the agent, env, split and index; its caption the ``checkpoint``.
    ``source`` (the checkpoint, its steps, the command) goes into the index. Returns the paths
    written, the index last.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    env_id = trainer.run.env
    env_kwargs = getattr(trainer, "env_kwargs", None) or getattr(trainer.run, "env_kwargs", {})
    sensor, task = env_context(env_id, env_kwargs)
    agent = getattr(trainer, "name", type(trainer).__name__)
    attention = getattr(trainer, "attention", "")
    env_name = env_id.split("/")[-1]
    written: list[Path] = []
    rows: list[str] = []
    kind = None
    failures = 0
    for i in range(int(episodes)):
        trace = trainer.trace(split, i)
        kind = attention_kind(trace)
        what = (
            f"sequence {i} (length {trace.get('length', '?')})"
            if kind == "tape"
            else (f"canvas {i}")
        )
        title = f"{agent} ({attention} attention) on {env_name}, {split} {what}".replace(
            " ( attention)", ""
        )
        caption = f"checkpoint: {checkpoint}" if checkpoint else ""
        files = render_trace(
            trace,
            out,
            f"{split}_{i:04d}",
            sensor=sensor,
            task=task,
            title=title,
            caption=caption,
            scale=scale,
            vector=vector,
        )
        written += files
        ok = solved(trace, task)
        failures += not ok
        rows.append(_row(i, trace, files, ok))
    head = (
        "| episode | length | result | files | figure |\n|---|---|---|---|---|"
        if kind == "tape"
        else "| episode | label | prediction | result | files | figure |\n|---|---|---|---|---|---|"
    )
    what = {
        "hard": "glimpse squares at every retina scale (keyed), numbered path, the retina's views "
        "per step",
        "soft": "attended region per step, its weights (heat, one colour scale for the episode) "
        "and what they let through",
        "none": "saliency |d logit / d pixel| over the canvas",
        "tape": "inputs, targets, outputs (red: wrong) and write/read weightings, memory cell "
        "against time, input / delimiter / output phases marked",
        None: "",
    }[kind]
    n = int(episodes)
    word = "sequences" if kind == "tape" else "canvases"
    lines = [
        f"# {agent} on {env_id}",
        "",
        f"{attention} attention; {what}.",
        f"Episodes: the first {n} {word} of the fixed {split} split "
        + (f"(0-{n - 1}), " if n > 1 else "(0), ")
        + f"none picked or left out; {failures} of {n} "
        + ("failed, marked **FAILED**." if kind == "tape" else "answered wrong, marked **WRONG**.")
        + (f" {source}" if source else ""),
        "",
        head,
        *rows,
        "",
    ]
    index = out / "index.md"
    index.write_text("\n".join(lines))
    written.append(index)
    return written


def main(
    argv: Sequence[str] | None = None, load_trainer: Callable[..., tuple[Any, dict]] | None = None
) -> int:
    """``python train.py render`` (or ``python -m agents.render``): draw a checkpoint's attention.

    ``load_trainer(path, device) -> (trainer, checkpoint dict)`` is ``train.load_trainer``;
    ``train.py`` passes its own, and without one it is :func:`agents.cli.load_trainer`.
    """
    parser = argparse.ArgumentParser(
        prog="python train.py render",
        description="Draw what a trained agent attended to on the first N fixed episodes: a "
        "figure per episode as PNG and SVG or PDF (+ a GIF for visual agents) and index.md.",
    )
    parser.add_argument("--checkpoint", required=True, help="checkpoint file or run folder")
    parser.add_argument("--episodes", type=int, default=4, help="first N episodes (default 4)")
    parser.add_argument(
        "--split",
        default="test",
        choices=["test", "validation"],
        help="fixed split (default: test)",
    )
    parser.add_argument("--out", default=None, help="output folder (default: renders/ENV__AGENT)")
    parser.add_argument("--device", default=None, help="torch device (default: the run's)")
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="size factor of the figures (text at least 12 px at 1) and, rounded, "
        "of the GIF's pixels (default 1)",
    )
    parser.add_argument(
        "--format",
        default="svg",
        choices=["svg", "pdf"],
        help="vector format written beside each PNG (default: svg)",
    )
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.episodes < 1:
        parser.error("--episodes must be >= 1")
    if not 0 < args.scale <= 10:
        parser.error(f"--scale {args.scale}: must be in (0, 10]")
    program = "python train.py render"
    if load_trainer is None:  # run as `python -m agents.render`
        from agents.cli import load_trainer

        program = "python -m agents.render"
    trainer, ckpt = load_trainer(args.checkpoint, args.device)
    try:
        out = args.out or f"renders/{ckpt['env'].split('/')[-1]}__{ckpt['agent']}"
        command = shlex.join(list(sys.argv[1:] if argv is None else argv))
        source = (
            f"Checkpoint `{ckpt.get('_path', args.checkpoint)}` after "
            f"{int(ckpt.get('env_steps', 0)):,} env steps; command "
            f"`{program} {command}`."
        )
        where = str(ckpt.get("_path", args.checkpoint))
        label = f"{where} ({int(ckpt.get('env_steps', 0)):,} env steps)"
        paths = render_checkpoint(
            trainer,
            args.episodes,
            args.split,
            out,
            source=source,
            checkpoint=label,
            scale=args.scale,
            vector=args.format,
        )
    finally:
        trainer.close()
    print(f"wrote {len(paths)} files to {out}/ (index: {paths[-1]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
