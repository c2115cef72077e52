"""The glimpse environments' base classes: :class:`GlimpseEnv` (single) and :class:`GlimpseVectorEnv`.

Both run the same batched numpy core, :class:`_GlimpseCore`: a single env is a batch of one, so a
vector env of N equals N single envs seeded ``seed + i`` by construction. The task subclasses in
:mod:`glimpse_envs.visual` only choose their :class:`GlimpseConfig` (canvas, sensor, budget); the
semantics live here and are documented on the task classes.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, fields, replace
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector.utils import batch_space

from glimpse_envs import drawing
from glimpse_envs.canvas import FIXED_SEED_TAG, Canvas
from glimpse_envs.data import SPLIT_CODE, Dataset, check_split
from glimpse_envs.retina import Retina, TileSensor
from glimpse_envs.streams import UniformStreams
from glimpse_envs.vector import check_reset_options, is_int, option, per_env_seeds

RESET_OPTIONS = ("split", "index")
"""The keys of a glimpse env's ``reset(options=...)`` (a vector env also takes ``reset_mask``)."""

#: with ``start="random"``, fixed canvas i's first glimpse is drawn from
#: ``SeedSequence([i, SPLIT_CODE[split], FIXED_SEED_TAG, START_TAG])``: the same for every agent
START_TAG = 1
#: "no truncation": every episode ends by its own glimpse budget
NO_LIMIT = np.iinfo(np.int64).max

METADATA = {"render_modes": ["human", "rgb_array"], "render_fps": 4}


@dataclass(frozen=True)
class GlimpseConfig:
    """Every parameter of a visual env, stated once (gymnax's ``EnvParams``), validated on creation.

    Each task's defaults are one instance, ``glimpse_envs.visual.TASKS[NAME].config``
    (``TASKS["MNIST"].config.glimpses == 6``); the keyword arguments of ``gym.make(id, ...)`` and of the
    vector env replace fields of it (:meth:`override`), or ``config=GlimpseConfig(...)`` gives a
    whole one. ``env.unwrapped.config`` is the built env's (``canvas_size`` the side actually
    built): agents and wrappers read the budget as ``env.unwrapped.config.glimpses``. Every field
    is also a ``train.py`` flag (``--glimpses 4``, ``--scales 3``; ``agents.cli``).
    """

    dataset: str | Dataset = option(
        "mnist",
        "'mnist', 'fashion', an image folder (one sub-folder per class) or a "
        "glimpse_envs.data.Dataset",
    )
    glimpses: int = option(6, "the glimpse budget T, >= 1")
    retina_size: int = option(8, "the retina's patch side g in pixels")
    retina_scales: int = option(
        1, "the retina's scales k: patch j is g * 2**j pixels, averaged to g x g", flag="--scales"
    )
    canvas_size: int = option(
        28, "canvas side S; by default the task's, grown to a larger (scaled) object's side"
    )
    n_clutter: int = option(0, "clutter pieces (crops of other digits) per canvas")
    clutter_size: int = option(8, "side of a clutter piece in pixels")
    n_digits: int = option(1, "digits (objects) per canvas, answered in reading order")
    grid: int | None = option(
        None,
        "location grid points per side (None: S // 4 + 1, about 4 px apart; tiles: 3)",
        type=int,
    )
    continuous: bool = option(
        False, "Box action (location, then decision scores) instead of MultiDiscrete"
    )
    start: str = option("center", "where reset takes the first glimpse: 'center' or 'random'")
    glimpse_cost: float = option(0.0, "subtracted from the last reward per glimpse taken, >= 0")
    min_glimpses: int = option(
        1,
        "glimpses to take before an answer counts (1..T; T: every glimpse, as RAM takes them): an "
        "earlier answer ends the episode as wrong, and action_masks() rules it out",
    )
    sensor: str = option("retina", "'retina', or 'tiles': the canvas cut into grid x grid tiles")
    object_scale: float = option(1.0, "resize the objects (digits) by this factor")
    data_dir: str | os.PathLike | None = option(
        None, "dataset folder (None: $GLIMPSE_ENVS_DATA, else the user cache)", type=str
    )

    def __post_init__(self):
        if not isinstance(self.continuous, (bool, np.bool_)):
            raise TypeError(f"continuous={self.continuous!r} invalid: use True or False")
        if not isinstance(self.glimpses, (int, np.integer)) or self.glimpses < 1:
            raise ValueError(
                f"glimpses={self.glimpses!r} invalid: the budget must be an integer >= 1"
            )
        if self.start not in ("center", "random"):
            raise ValueError(f"start={self.start!r} invalid: use 'center' or 'random'")
        cost = float(self.glimpse_cost)
        if not math.isfinite(cost) or cost < 0:
            raise ValueError(
                f"glimpse_cost={self.glimpse_cost!r} invalid: use a finite number >= 0"
            )
        if self.sensor not in ("retina", "tiles"):
            raise ValueError(f"sensor={self.sensor!r} invalid: use 'retina' or 'tiles'")
        m = self.min_glimpses
        if (
            not isinstance(m, (int, np.integer))
            or isinstance(m, bool)
            or not 1 <= m <= self.glimpses
        ):
            raise ValueError(
                f"min_glimpses={m!r} invalid: use an integer from 1 (answer any time) to the "
                f"glimpse budget glimpses={self.glimpses} (take every glimpse)"
            )

    def override(self, **given: Any) -> GlimpseConfig:
        """This config with the ``given`` fields replaced (a None value keeps the field, as
        ``gym.make``'s keyword arguments always did). An unknown name is a ``TypeError`` that
        lists the arguments; a retina argument with ``sensor="tiles"`` a ``ValueError``."""
        names = [f.name for f in fields(self)]
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise TypeError(
                f"unknown argument(s) {unknown}: a visual env takes {names}, "
                "config (a whole GlimpseConfig) and render_mode"
            )
        given = {k: v for k, v in given.items() if v is not None}
        cfg = replace(self, **given)
        if cfg.sensor == "tiles":
            ignored = [k for k in ("retina_size", "retina_scales") if k in given]
            if ignored:
                raise ValueError(
                    f"{ignored} given, but sensor='tiles' has no retina: the tile is "
                    "the glimpse (set grid= for the tiles per side)"
                )
        return cfg


class _GlimpseCore:
    """Configuration, spaces and the batched episode state shared by the single and vector envs.

    ``task=NAME`` takes the defaults (``CONFIG``), ``ID`` and page of the registered task NAME
    (:data:`glimpse_envs.visual.TASKS`); the constructor's keyword arguments override fields of
    ``CONFIG``. ``sensor="retina"`` uses :class:`Retina`,
    ``sensor="tiles"`` :class:`TileSensor` with ``grid`` tiles per side.
    """

    CONFIG = GlimpseConfig()
    ID = "glimpse_envs/Glimpse-v0"
    #: a glimpse_envs.torch_core.TorchGlimpseCore when made with backend="torch", else None
    _device_core = None
    #: whether a partial reset leaves its canvases unprepared, the first glimpses read straight
    #: from the pixels, each prepared when its row looks with many others (:meth:`_prepare_looking`)
    _lazy = False

    def _configure(
        self,
        render_mode: str | None = None,
        task: str | None = None,
        config: GlimpseConfig | None = None,
        **given: Any,
    ) -> None:
        if config is not None and not isinstance(config, GlimpseConfig):
            raise TypeError(f"config={config!r} invalid: give a glimpse_envs.GlimpseConfig")
        base = self.CONFIG
        if task is not None:  # a registered id: its defaults, id and page
            from glimpse_envs.visual import TASKS

            if task not in TASKS:
                raise ValueError(f"task={task!r} unknown: use one of {sorted(TASKS)}")
            entry = TASKS[task]
            base, self.ID, self.__doc__ = entry.config, entry.id, entry.page
        cfg = (base if config is None else config).override(**given)
        if render_mode is not None and render_mode not in METADATA["render_modes"]:
            raise ValueError(
                f"render_mode={render_mode!r} invalid: use None or one of {METADATA['render_modes']}"
            )
        self.render_mode = render_mode
        grow = config is None and given.get("canvas_size") is None
        self.canvas = Canvas(
            size=self._canvas_size(cfg) if grow else cfg.canvas_size,
            n_digits=cfg.n_digits,
            n_clutter=cfg.n_clutter,
            clutter_size=cfg.clutter_size,
            dataset=cfg.dataset,
            data_dir=cfg.data_dir,
            object_scale=cfg.object_scale,
        )
        S, channels = self.canvas.size, self.canvas.channels
        #: the env's configuration (:class:`GlimpseConfig`), ``canvas_size`` as built
        self.config = cfg if S == cfg.canvas_size else replace(cfg, canvas_size=S)
        if cfg.sensor == "tiles":
            self.sensor = TileSensor(
                grid=3 if cfg.grid is None else cfg.grid, canvas_size=S, channels=channels
            )
            G = self.sensor.grid
        else:
            self.sensor = Retina(size=cfg.retina_size, scales=cfg.retina_scales, channels=channels)
            self.sensor.check_canvas(S)
            G = S // 4 + 1 if cfg.grid is None else cfg.grid
        if not isinstance(G, (int, np.integer)) or G < 2:
            raise ValueError(
                f"grid={G!r} invalid: the location grid needs at least 2 points per side"
            )
        self.grid = int(G)
        self.budget = T = int(cfg.glimpses)
        self.n_targets = n = self.canvas.n_targets
        self.num_classes = C = self.canvas.num_classes
        self.continuous = bool(cfg.continuous)
        self.start = cfg.start
        self.glimpse_cost = float(cfg.glimpse_cost)
        self.min_glimpses = int(cfg.min_glimpses)
        #: the hard limit on steps: T - 1 looking steps (reset takes the first glimpse) + n answers
        self.max_steps = T - 1 + n
        self._grid_points = (-1.0 + 2.0 * np.arange(G) / (G - 1)).astype(np.float32)
        self._ppg = self.sensor.pixels_per_glimpse
        obs = {
            "glimpse": spaces.Box(0.0, 1.0, self.sensor.shape, np.float32),
            "location": spaces.Box(-1.0, 1.0, (2,), np.float32),
            "step": spaces.Discrete(T + 1),
        }
        if n > 1:
            obs["emitted"] = spaces.Discrete(n + 1)
        self._single_obs = spaces.Dict(obs)
        if self.continuous:
            self._single_act = spaces.Box(-1.0, 1.0, (2 + C + 1,), np.float32)
        else:
            self._single_act = spaces.MultiDiscrete([G, G, C + 1])
        self._nvec = np.array([G, G, C + 1], np.int64)
        self._nvec_u = self._nvec.astype(np.uint64)
        self._window = None

    @staticmethod
    def _canvas_size(cfg: GlimpseConfig) -> int:
        """The task's canvas side, or, when one of the dataset's (scaled) objects is larger than
        that, the object's larger side."""
        try:
            smallest = Canvas(
                size=None,
                clutter_size=1,
                dataset=cfg.dataset,
                data_dir=cfg.data_dir,
                object_scale=cfg.object_scale,
            ).size
        except ValueError:  # a bad argument: the real canvas below names it
            return cfg.canvas_size
        return max(cfg.canvas_size, smallest)

    # -- the batched core ------------------------------------------------------------------------

    def _alloc(self, B: int) -> None:
        n = self.n_targets
        self._B = B
        self._row_index = np.arange(B)
        S, C = self.canvas.size, self.canvas.channels
        self._images = np.zeros((B, S, S) if C == 1 else (B, S, S, C), np.uint8)
        self._prep = self.sensor.prepare(self._images)
        self._stale = np.zeros(B, bool)  # rows whose canvas is not prepared yet (lazy)
        if self._device_core is not None:  # torch tensors on the device
            self._images, self._prep, self._glimpse = self._device_core.blank(B)
        self._labels = np.zeros((B, n), np.int64)
        self._target1 = self._labels + 1
        self._t = np.ones(B, np.int64)
        self._emitted = np.zeros(B, np.int64)
        self._n_correct = np.zeros(B, np.int64)
        self._pred = np.full((B, n), -1, np.int64)
        self._loc = np.zeros((B, 2), np.float32)
        if self._device_core is None:
            self._glimpse = np.zeros((B, *self.sensor.shape), np.float32)
        #: whether ``_glimpse`` went out in an observation (then it is copied before a write)
        self._glimpse_out = True
        self._elapsed = np.zeros(B, np.int64)
        self._path = np.zeros((B, self.budget, 2), np.float32) if self.render_mode else None
        self._last_answer = np.full(B, -1, np.int64)

    def _start_from_uniform(self, u: np.ndarray) -> np.ndarray:
        """Random first locations from uniforms (n, 2): uniform in [-1, 1]^2, or a grid point."""
        if self.continuous:
            return (-1.0 + 2.0 * u).astype(np.float32)
        cells = np.minimum((u * self.grid).astype(np.int64), self.grid - 1)
        return self._grid_points[cells].astype(np.float32)

    def _reset_rows(self, rows: np.ndarray, take, options: dict | None) -> None:
        """Start new episodes in ``rows``. ``take(count)`` gives the next ``count`` uniforms of
        each row's own stream (:class:`~glimpse_envs.streams.UniformStreams`), concatenated: an
        episode is a pure function of them (the canvas's numbers, then, with ``start="random"``,
        two for the start), so N resets are a few batched operations and a vector env still
        equals N single envs seeded alike."""
        split, index = self._split_index(options)
        n = len(rows)
        u = None if index is not None else take(self._uniforms).reshape(n, self._uniforms)
        self._write_rows(rows, *self._episodes(n, split, u, index))

    def _split_index(self, options: dict | None) -> tuple[str, np.ndarray | None]:
        options = options or {}
        return check_split(options.get("split", "train")), options.get("index")

    @property
    def _uniforms(self) -> int:
        """Uniforms one episode takes from its stream: the canvas's, then two for a random start."""
        return self.canvas.n_params + (2 if self.start == "random" else 0)

    def _episodes(self, n: int, split: str, u: np.ndarray | None, index) -> tuple:
        """(images, labels, prepared images, first glimpses, starts) of ``n`` new episodes: from
        uniforms ``u`` (n, ``_uniforms``), or the fixed canvases ``index`` of ``split``."""
        canvas = self.canvas
        P = canvas.n_params
        if index is None:
            params = canvas.from_uniform(u[:, :P], split)
        else:
            index = np.broadcast_to(np.asarray(index), (n,))
            params = canvas.fixed_params(split, index)
        if self.start == "center":
            starts = np.zeros((n, 2), np.float32)
        elif index is None:
            starts = self._start_from_uniform(u[:, P:])
        else:  # a fixed canvas has a fixed start: a pure function of (split, index)
            starts = self._start_from_uniform(
                np.array(
                    [
                        np.random.default_rng(
                            np.random.SeedSequence(
                                [int(i), SPLIT_CODE[split], FIXED_SEED_TAG, START_TAG]
                            )
                        ).random(2)
                        for i in index.tolist()
                    ]
                ).reshape(n, 2)
            )
        dev = self._device_core
        images, labels = (dev or canvas).render(params, split)
        if self._lazy and n < self._B:  # a partial reset (where rows answer at different
            # steps): no prepared canvas yet, the first glimpse straight from the pixels
            return images, labels, None, self.sensor(images, starts), starts
        prep = (dev or self.sensor).prepare(images)
        glimpse = (dev or self.sensor)(prep, starts, prepared=True)
        return images, labels, prep, glimpse, starts

    def _write_rows(self, rows, images, labels, prep, glimpse, starts) -> None:
        """Rows ``rows`` start the episodes given (as :meth:`_episodes` returns them; ``prep`` None:
        the canvases are prepared on their first look)."""
        if len(rows) == self._B:  # every row (prepared: only partial resets are lazy): replace
            self._images, self._prep, self._labels = images, prep, labels
            self._stale = np.zeros(self._B, bool)
            self._target1 = labels + 1
            self._glimpse, self._loc = glimpse, starts
            self._glimpse_out = False
            self._t = np.ones(self._B, np.int64)
            self._emitted = np.zeros(self._B, np.int64)
            self._n_correct = np.zeros(self._B, np.int64)
            self._pred = np.full((self._B, self.n_targets), -1, np.int64)
            self._elapsed = np.zeros(self._B, np.int64)
            self._last_answer = np.full(self._B, -1, np.int64)
        else:  # copy the arrays handed out in observations before writing into them
            self._images[rows], self._labels[rows] = images, labels
            if prep is not None:
                self._prep[rows] = prep
            self._stale[rows] = prep is None
            self._target1[rows] = labels + 1
            if self._glimpse_out:  # (not when this step's glimpses are a new array already)
                self._glimpse = _fresh(self._glimpse)
                self._glimpse_out = False
            self._glimpse[rows] = glimpse
            self._loc = self._loc.copy()
            self._loc[rows] = starts
            self._t = self._t.copy()
            self._t[rows] = 1
            self._emitted = self._emitted.copy()
            self._emitted[rows] = 0
            self._n_correct[rows] = 0
            self._pred[rows] = -1
            self._elapsed[rows] = 0
            self._last_answer[rows] = -1
        if self._path is not None:
            self._path[rows] = 0
            self._path[rows, 0] = starts

    def _check_actions(self, actions: Any) -> tuple[np.ndarray, np.ndarray]:
        """(locations float32 (B, 2), decisions int64 (B,)), or a ValueError naming the action."""
        B = self._B
        width = 2 + self.num_classes + 1 if self.continuous else 3
        try:
            a = np.asarray(actions)
            ok = a.shape == (B, width)  # exactly: a (1, 3) action of a single env is not (3,)
            if ok and self.continuous:
                ok = a.dtype.kind == "f" and bool((np.abs(a) <= 1.0).all())
            elif ok:
                # one comparison: a negative entry wraps to a huge unsigned one
                ok = a.dtype.kind in "iu" and bool((a.astype(np.uint64) < self._nvec_u).all())
        except (ValueError, TypeError):
            ok = False
        if not ok:
            raise ValueError(
                f"{actions!r} ({type(actions)}) invalid: expected an element of {self._single_act}"
                + (f" for each of the {B} envs" if isinstance(self, gym.vector.VectorEnv) else "")
            )
        if self.continuous:
            return a[:, :2].astype(np.float32), a[:, 2:].argmax(axis=1)
        return self._grid_points[a[:, :2]], a[:, 2].astype(np.int64, copy=False)

    def _step_rows(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Advance every row by one action: (reward float64, terminated bool, truncated bool)."""
        loc, d = self._check_actions(actions)
        t = self._t
        # an answer before min_glimpses glimpses ends the episode as wrong
        early = (d > 0) & (t < self.min_glimpses) if self.min_glimpses > 1 else None
        if self.n_targets == 1:
            correct = d == self._target1[:, 0]  # d = c + 1 answers class c; 0 never matches
            if early is not None:
                correct &= ~early
            look = (d == 0) & (t < self.budget)
            terminated = ~look
            self._last_answer = d - 1
            self._n_correct = correct
        else:
            answer = d > 0 if early is None else (d > 0) & ~early
            look = (d == 0) & (t < self.budget)
            slot = np.minimum(self._emitted, self.n_targets - 1)
            correct = (d == self._target1[self._row_index, slot]) & answer
            if answer.any():
                self._pred[self._row_index[answer], slot[answer]] = d[answer] - 1
                self._emitted = self._emitted + answer
                self._n_correct = self._n_correct + correct
            terminated = (self._emitted >= self.n_targets) | ~(look | answer)
        reward = correct.astype(np.float64)
        if look.all():
            self._prepare_looking(look)
            self._glimpse = (self._device_core or self.sensor)(self._prep, loc, prepared=True)
            self._glimpse_out = False
            self._loc = loc
            self._t = t = t + 1
            if self._path is not None:
                self._path[self._row_index, t - 1] = loc
        elif look.any():
            sense = self._device_core or self.sensor
            r = np.flatnonzero(look)
            if 4 * len(r) < self._B:  # a few rows look (most answered): sense only those
                new = _fresh(self._glimpse) if self._glimpse_out else self._glimpse
                # (a lazy env reads them straight from the pixels, the same glimpses)
                new[r] = (
                    sense(self._images[r], loc[r])
                    if self._lazy
                    else sense(self._prep[r], loc[r], prepared=True)
                )
            else:  # a new array: the rows that do not look get their glimpse back
                self._prepare_looking(look)
                new = sense(self._prep, loc, prepared=True)
                stay = ~look
                new[stay] = self._glimpse[stay]
            self._glimpse = new
            self._glimpse_out = False
            self._loc = np.where(look[:, None], loc, self._loc)
            self._t = t = t + look
            if self._path is not None:
                self._path[r, t[r] - 1] = loc[r]
        if self.glimpse_cost:
            reward -= np.where(terminated, self.glimpse_cost * t, 0.0)
        if self._max_episode_steps == NO_LIMIT:  # (the elapsed steps are not kept)
            return reward, terminated, np.zeros(self._B, bool)
        self._elapsed = self._elapsed + 1
        # as Gymnasium's TimeLimit: truncated at the limit even when the step also terminates
        truncated = self._elapsed >= self._max_episode_steps
        return reward, terminated, truncated

    def _prepare_looking(self, look: np.ndarray) -> None:
        """Prepare the canvases of the looking rows that a lazy env's resets left unprepared (under
        random actions most rows answer at once, and their canvases are never read again); called
        when many rows look, all read from the prepared canvases."""
        if not self._lazy:
            return
        stale = look & self._stale
        if stale.all():
            self._prep = self.sensor.prepare(self._images)
        elif stale.any():
            r = np.flatnonzero(stale)
            self._prep[r] = self.sensor.prepare(self._images[r])
        self._stale &= ~look

    def _action_masks(self) -> np.ndarray:
        """(B, G + G + C + 1) bool, sb3-contrib's MultiDiscrete mask format (the components' masks
        concatenated): every location is legal; "keep looking" (decision 0) is not once the budget's
        last glimpse has been taken, when only an answer counts."""
        if self.continuous:
            raise TypeError(
                "action_masks() needs the MultiDiscrete action space: make the env with "
                "continuous=False (a Box action has no discrete choices to mask)"
            )
        masks = np.ones((self._B, int(self._nvec.sum())), bool)
        masks[:, 2 * self.grid] = self._t < self.budget
        if self.min_glimpses > 1:
            masks[:, 2 * self.grid + 1 :] = (self._t >= self.min_glimpses)[:, None]
        return masks

    def _obs_batch(self) -> dict[str, np.ndarray]:
        self._glimpse_out = True
        obs = {"glimpse": self._glimpse, "location": self._loc, "step": self._t - 1}
        if self.n_targets > 1:
            obs["emitted"] = self._emitted
        return obs

    def _final_values(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(label, prediction, is_success) of every row, as at the end of its episode."""
        if self.n_targets == 1:
            return self._labels[:, 0], self._last_answer, self._n_correct.astype(bool)
        return self._labels, self._pred, self._n_correct == self.n_targets

    # -- rendering ---------------------------------------------------------------------------------

    def _frame(self, i: int) -> np.ndarray:
        """The rgb_array frame of row ``i``: canvas with retina squares and path, beside the patches."""
        S = self.canvas.size
        f = max(1, 256 // S)
        img = drawing.to_rgb(drawing.upscale(_host(self._images[i]), f))
        t = int(self._t[i])
        if self._path is not None:
            pts = (self._path[i, :t] + 1.0) / 2.0 * S * f
            for a, b in zip(pts[:-1], pts[1:]):
                drawing.line(img, a[0], a[1], b[0], b[1], drawing.GRAY)
            for p in pts[:-1]:
                drawing.dot(img, p[0], p[1], 1, drawing.YELLOW)
        for j, (x0, y0, w) in enumerate(self.sensor.squares(self._loc[i], S)):
            drawing.rect(
                img, x0 * f, y0 * f, w * f, w * f, drawing.PALETTE[j % len(drawing.PALETTE)], 2
            )
        H = img.shape[0]
        k = self._glimpse.shape[1]
        g = self._glimpse.shape[2]
        pf = max(1, (H - 4 * (k - 1)) // (k * g))
        patches = []
        for j in range(k):
            p = drawing.to_rgb(drawing.upscale(_host(self._glimpse[i, j]), pf))
            drawing.rect(
                p, 0, 0, p.shape[1], p.shape[0], drawing.PALETTE[j % len(drawing.PALETTE)], 1
            )
            patches.append(p)
        right = drawing.vstack(patches, gap=4)
        frame = drawing.hstack([img, right], gap=6)
        return drawing.vstack([frame, self._caption(i, t, frame.shape[1])])

    def _caption(self, i: int, t: int, width: int) -> np.ndarray:
        """Two text lines under a frame: the id and the glimpse count; then the answer and the
        label once given (in red when wrong). The same size at every step (videos)."""
        bar = drawing.blank(20, width)
        drawing.text(
            bar, 2, 3, f"{self.ID.split('/')[-1]}  GLIMPSE {t}/{self.budget}", drawing.WHITE
        )
        if self.n_targets > 1:
            out = "".join(str(p) if p >= 0 else "_" for p in self._pred[i])
            line, right = f"OUT {out}", bool((self._pred[i] == self._labels[i]).all())
            if (self._pred[i] >= 0).all():
                line += " LABEL " + "".join(str(v) for v in self._labels[i])
            else:
                right = True
        elif self._last_answer[i] >= 0:
            label, answer = int(self._labels[i, 0]), int(self._last_answer[i])
            line, right = f"ANSWER {answer} LABEL {label}", answer == label
        else:
            line, right = "LOOKING", True
        drawing.text(bar, 2, 12, line, drawing.WHITE if right else drawing.RED)
        return bar


class GlimpseEnv(_GlimpseCore, gym.Env):
    """A visual hard-attention task: a canvas seen only through a glimpse sensor.

    Every visual id is this class with ``kwargs={"task": NAME}`` (Minigrid's way): the task's
    defaults are ``glimpse_envs.visual.TASKS[NAME].config``; ``env.unwrapped.__doc__`` is the id's
    page (its description and defaults, then this text). Below, T is the glimpse budget
    (``glimpses``), S the canvas side, n the digits per canvas (``n_digits``), C the dataset's
    classes (10 for MNIST), G the location grid's points per side.

    ## Description

    A canvas holds n objects (MNIST digits by default) and optional clutter. The agent sees it only
    through its sensor: every step it chooses where to look next and whether to answer. With n = 1
    the answer ends the episode; with n > 1 an answer emits the next digit of the sequence (reading
    order, left to right) and the glimpse stays where it was.

    ## Action Space

    ``MultiDiscrete([G, G, C + 1])``: grid column x, grid row y, and a decision (0 = keep looking,
    c + 1 = answer class c). Grid point j maps to the location ``l = -1 + 2 j / (G - 1)``: grid
    point (0, 0) is the top-left corner, location (-1, -1), and (G - 1, G - 1) the bottom-right
    one, location (1, 1). With ``continuous=True`` the action is ``Box(-1, 1, (2 + C + 1,),
    float32)``: the location (x, y) in [-1, 1] followed by C + 1 decision scores, the decision
    being their argmax (index 0 = keep looking). An action outside the space raises
    ``ValueError``. The location is ignored when the decision answers.

    ## Observation Space

    A ``Dict``:

    | key | space | dtype | meaning |
    |---|---|---|---|
    | ``glimpse`` | ``Box(0, 1, (k, g, g))`` | float32 | retina: k patches, patch j of ``g * 2**j`` pixels averaged to g x g; tiles: the tile under the location, (1, 10, 10) on MNIST |
    | ``location`` | ``Box(-1, 1, (2,))`` | float32 | (x, y) of the glimpse just taken, (-1, -1) top left |
    | ``step`` | ``Discrete(T + 1)`` | int | glimpses taken so far minus one (0 after reset) |
    | ``emitted`` | ``Discrete(n + 1)`` | int | only when n > 1: digits answered so far |

    With a colour dataset (images (N, H, W, C)) the glimpse keeps the channels, last:
    ``Box(0, 1, (k, g, g, C))``, every channel sensed as a grayscale image of it would be.

    ## Rewards

    n = 1: 1 for a correct answer, 0 for a wrong one or none (RAM's terminal reward). n > 1: 1
    for each digit emitted correctly in its position, when it is emitted. With
    ``glimpse_cost=c > 0``, the last reward of the episode also subtracts ``c`` times the glimpses
    taken (the first glimpse, taken by ``reset``, included), a ponder cost that lets an agent learn
    when to stop.

    ## Reward Threshold

    Each id registers a ``reward_threshold`` (its page gives the value and where it comes from).
    The mean return is the accuracy (per canvas; with n > 1 the digits right per canvas) when
    ``glimpse_cost=0``, the default; a ponder cost lowers the return, so compare accuracy
    (``info["is_success"]``) then.

    ## Starting State

    A new canvas from the training split, and the first glimpse already taken at the centre (0, 0),
    or at a uniformly random location with ``start="random"`` (a random grid point, or uniform in
    [-1, 1]^2 when ``continuous=True``). ``reset(options={"split": "test", "index": i})`` plays
    fixed canvas i of a split (``canvas.fixed``, the same image in every process, and with
    ``start="random"`` the same first glimpse); ``reset(options={"split": "validation"})``
    samples from that split.

    ## Episode End

    n = 1: terminated when the agent answers; at the T-th glimpse the agent must answer: keeping on
    looking there ends the episode as wrong. n > 1: terminated after n answers; once the budget is
    spent the agent must answer: keeping on looking there ends the episode, the digits not yet
    emitted counting as wrong. With ``min_glimpses=m > 1`` an answer counts only once m glimpses
    are taken: an earlier one ends the episode as wrong (``m = T`` makes every episode take all T
    glimpses, as RAM does; ``action_masks()`` rules early answers out for ``MaskablePPO``).
    Every episode therefore ends by itself within ``T - 1 + n`` steps,
    so no ``TimeLimit`` is registered; ``gym.make(..., max_episode_steps=m)`` truncates earlier if
    wanted. ``info`` always holds ``glimpses`` (taken so far) and ``pixels_sensed`` (sensor values
    read so far, ``k * g * g`` per glimpse); the last step adds ``label``, ``prediction`` (-1
    where no answer was given) and ``is_success``.

    ## Arguments

    The fields of :class:`GlimpseConfig` (each with its meaning there), as keyword arguments that
    replace the task's defaults, or ``config=GlimpseConfig(...)`` for a whole one; plus
    ``render_mode``. In short:

    * ``dataset``: ``"mnist"``, ``"fashion"`` (Fashion-MNIST), the path of an image folder (one
      sub-folder per class, read with Pillow), or a ``glimpse_envs.data.Dataset``: your own
      images, (N, H, W) grayscale or (N, H, W, C) colour, any size, any number of classes.
      ``object_scale`` resizes them (area averaging).
    * ``glimpses`` (T >= 1), ``retina_size`` and ``retina_scales`` (g and k; the largest patch,
      ``g * 2**(k - 1)`` pixels, may be at most twice the canvas side), ``sensor`` (``"retina"``
      or ``"tiles"``).
    * ``canvas_size``, ``n_clutter``, ``clutter_size``, ``n_digits``: the canvas
      (``glimpse_envs.canvas.Canvas``; clutter pieces are crops of other digits of the same split,
      drawn under the digits). When ``canvas_size`` is not given and one (scaled) object is larger
      than the task's side, the canvas side is the object's larger side.
    * ``grid`` (G; default ``S // 4 + 1``, about 4 px apart; tiles: 3), ``continuous``,
      ``start``, ``glimpse_cost``, ``data_dir`` (see ``glimpse_envs.data``).
    * ``render_mode``: ``"rgb_array"`` draws the canvas with the sensor's squares at each scale
      and the path of earlier glimpses, beside the glimpse patches; ``"human"`` shows that in a
      pygame window.

    The built env's configuration is ``env.unwrapped.config`` (``config.glimpses`` is the budget,
    ``config.canvas_size`` the side built). ``python train.py --env ID`` takes each field as a
    flag (``--glimpses``, ``--scales`` for ``retina_scales``, ``--canvas-size``, ...). Impossible
    configurations (zero glimpses, a retina too large, a canvas smaller than its digits, an
    unknown dataset) raise ``ValueError`` naming the problem and the fix.

    ## Vectorized environment

    ``gym.make_vec(ID, num_envs=N, vectorization_mode="vector_entry_point")`` builds a
    :class:`GlimpseVectorEnv` of the same task: the same numpy core on N rows at once, equal to N
    single envs reset with seeds ``seed + i``; it supports ``autoreset_mode`` ``NextStep`` and
    ``SameStep`` and returns Gymnasium's dict-of-arrays infos with ``_key`` masks.

    ## Version History

    * v0: initial version.
    """

    metadata = METADATA

    def __init__(self, render_mode: str | None = None, **kwargs: Any):
        self._configure(render_mode, **kwargs)
        self.observation_space = self._single_obs
        self.action_space = self._single_act
        self._max_episode_steps = NO_LIMIT  # the single env never truncates (TimeLimit may)
        self._alloc(1)
        self._streams = UniformStreams(1)
        self._take = self._streams.taker(self._row_index)
        self._ahead: _Ahead | None = None  # episodes built ahead (see _next_episode)
        self._done = True

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        options = check_reset_options(options, RESET_OPTIONS, type(self).__name__)
        super().reset(seed=seed)
        if self._streams.rngs[0] is not self.np_random:  # seeded (or np_random replaced)
            self._streams.set_rng(0, self.np_random)
            self._ahead = None
        split, index = self._split_index(options)
        if index is None:
            self._write_rows(self._row_index, *self._next_episode(split))
        else:  # a fixed canvas takes nothing from the stream
            self._write_rows(self._row_index, *self._episodes(1, split, None, index))
        self._done = False
        if self.render_mode == "human":
            self.render()
        return self._obs(), {"glimpses": 1, "pixels_sensed": self._ppg}

    def action_masks(self) -> np.ndarray:
        """The legal actions now, for sb3-contrib's ``MaskablePPO`` (see ``_action_masks``)."""
        return self._action_masks()[0]

    #: episodes a single env draws and builds at once (see :meth:`_next_episode`); from 16
    #: canvases on, the retina's integral images take their batched layout (3x cheaper each)
    AHEAD = 16

    def _next_episode(self, split: str) -> tuple:
        """The next episode of this env's stream, as :meth:`_episodes` returns it (one row).

        The uniforms of the next ``AHEAD`` episodes are taken at once and their canvases rendered,
        prepared and first glimpses sensed in one batched call, served one per reset: a reset
        costs a few times less, and the episodes are the very ones that one reset at a time (or
        a vector env's row seeded alike) gives, since each is a pure function of its own uniforms
        in the stream's order. A reset in another split builds the unused uniforms for that split.
        """
        ahead = self._ahead
        if ahead is None or ahead.next == len(ahead.uniforms):
            u = self._take(self._uniforms * self.AHEAD).reshape(self.AHEAD, -1)
        elif ahead.split != split:
            u = ahead.uniforms[ahead.next :]
        else:
            u = None
        if u is not None:
            ahead = self._ahead = _Ahead(split, u, self._episodes(len(u), split, u, None))
        i = ahead.next
        ahead.next = i + 1
        return tuple(x[i : i + 1] for x in ahead.episodes)

    def _obs(self) -> dict[str, Any]:
        """Row 0 of the batch's observation, copied: a step that does not look keeps the arrays."""
        obs = self._obs_batch()
        obs["glimpse"] = obs["glimpse"][0].copy()
        obs["location"] = obs["location"][0].copy()
        obs["step"] = int(obs["step"][0])
        if self.n_targets > 1:
            obs["emitted"] = int(obs["emitted"][0])
        return obs

    def step(self, action):
        if self._done:
            raise RuntimeError("step() called after the episode ended: call reset() first")
        reward, terminated, _ = self._step_rows(
            action[None] if isinstance(action, np.ndarray) else [action]
        )
        t = int(self._t[0])
        info: dict[str, Any] = {"glimpses": t, "pixels_sensed": t * self._ppg}
        done = bool(terminated[0])
        if done:
            self._done = True
            label, pred, success = self._final_values()
            if self.n_targets == 1:
                label, pred = int(label[0]), int(pred[0])
            else:
                label, pred = label[0].copy(), pred[0].copy()
            info.update(label=label, prediction=pred, is_success=bool(success[0]))
        if self.render_mode == "human":
            self.render()
        return self._obs(), float(reward[0]), done, False, info

    def render(self):
        if self.render_mode is None:
            gym.logger.warn(
                "render() called with render_mode=None: pass render_mode='rgb_array' or 'human'"
            )
            return None
        frame = self._frame(0)
        if self.render_mode == "rgb_array":
            return frame
        if self._window is None:
            from glimpse_envs.human import HumanWindow

            self._window = HumanWindow(self.ID, self.metadata["render_fps"])
        self._window.show(frame)
        return None

    def close(self):
        if self._window is not None:
            self._window.close()
            self._window = None


class GlimpseVectorEnv(_GlimpseCore, gym.vector.VectorEnv):
    """Base class of the native batched glimpse environments.

    ``num_envs`` episodes run as one batch of arrays; sub-env ``i`` has its own generator, seeded
    with ``seed + i`` by ``reset(seed=seed)`` exactly as Gymnasium's ``SyncVectorEnv`` seeds its
    copies, so the results equal N single envs. The only Python loop over envs is one small
    generator call per env that resets.

    Args:
        num_envs: the number of sub-envs.
        max_episode_steps: truncate episodes after this many steps (default: never; the glimpse
            budget already ends every episode).
        render_mode: None or ``"rgb_array"`` (``render()`` returns a tuple of frames, one per env).
        autoreset_mode: ``"NextStep"`` (default) or ``"SameStep"`` (``final_obs`` / ``final_info``).
        config, **kwargs: as the single env's: the task's :class:`GlimpseConfig`, or fields of it.
    """

    metadata = {**METADATA, "autoreset_mode": gym.vector.AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        num_envs: int = 1,
        max_episode_steps: int | None = None,
        render_mode: str | None = None,
        autoreset_mode: str | gym.vector.AutoresetMode = gym.vector.AutoresetMode.NEXT_STEP,
        backend: str = "numpy",
        device: Any = None,
        **kwargs: Any,
    ):
        if render_mode == "human":
            raise ValueError("render_mode='human' is for single envs: use None or 'rgb_array'")
        self._configure(render_mode, **kwargs)
        if backend not in ("numpy", "torch"):
            raise ValueError(f"backend={backend!r} invalid: use 'numpy' or 'torch'")
        if backend == "torch":  # canvases, prepared canvases and glimpses as torch tensors
            from glimpse_envs.torch_core import TorchGlimpseCore

            self._device_core = TorchGlimpseCore(self.canvas, self.sensor, device or "cpu")
        else:  # resets read first glimpses straight and leave canvases unprepared until looked at
            # (a colour canvas is not: reads_raw checks the sensor's channels)
            S = self.canvas.size
            self._lazy = isinstance(self.sensor, Retina) and self.sensor.reads_raw((S, S), np.uint8)
        if not is_int(num_envs) or num_envs < 1:
            raise ValueError(f"num_envs={num_envs!r} invalid: use an int >= 1")
        if max_episode_steps is not None and (
            not is_int(max_episode_steps) or max_episode_steps < 1
        ):
            raise ValueError(
                f"max_episode_steps={max_episode_steps!r} invalid: use None (the "
                "glimpse budget ends every episode) or an int >= 1"
            )
        self.num_envs = int(num_envs)
        mode = gym.vector.AutoresetMode(autoreset_mode)
        if mode == gym.vector.AutoresetMode.DISABLED:
            raise ValueError(
                "autoreset_mode=Disabled is not supported: use 'NextStep' or 'SameStep'"
            )
        self.autoreset_mode = mode
        self.metadata = {**METADATA, "autoreset_mode": mode}
        self._max_episode_steps = NO_LIMIT if max_episode_steps is None else int(max_episode_steps)
        self.single_observation_space = self._single_obs
        self.single_action_space = self._single_act
        self.observation_space = batch_space(self._single_obs, self.num_envs)
        self.action_space = batch_space(self._single_act, self.num_envs)
        self._alloc(self.num_envs)
        self._streams = UniformStreams(self.num_envs)  # each row: its env's generator, buffered
        self._autoreset = np.zeros(self.num_envs, bool)
        self._started = np.zeros(self.num_envs, bool)  # reset at least once
        self._all_started = False
        self._ones = np.ones(self.num_envs, bool)

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict | None = None):
        options = check_reset_options(options, RESET_OPTIONS, type(self).__name__, self.num_envs)
        mask = options.pop("reset_mask", None)
        seeds = per_env_seeds(seed, self.num_envs, type(self).__name__)
        rows = self._row_index if mask is None else np.flatnonzero(np.asarray(mask, bool))
        for i in rows:
            if seeds[i] is not None:
                self._streams.set_rng(int(i), seeding.np_random(seeds[i])[0])
        index = options.get("index")
        if index is not None and np.ndim(index) == 1:  # one per env (checked): those of ``rows``
            options["index"] = np.asarray(index)[rows]
        self._reset_rows(rows, self._streams.taker(rows), options)
        self._started[rows] = True
        self._all_started = bool(self._started.all())
        self._autoreset = self._autoreset.copy()
        self._autoreset[rows] = False
        info = self._base_info()
        if mask is not None:
            m = np.zeros(self.num_envs, bool)
            m[rows] = True
            info["_glimpses"] = info["_pixels_sensed"] = m
        return self._obs_batch(), info

    def _base_info(self) -> dict[str, np.ndarray]:
        return {
            "glimpses": self._t,
            "_glimpses": self._ones,
            "pixels_sensed": self._t * self._ppg,
            "_pixels_sensed": self._ones,
        }

    def _end_info(self, info: dict, done: np.ndarray) -> dict:
        label, pred, success = self._final_values()
        m = done if label.ndim == 1 else done[:, None]
        info["label"] = np.where(m, label, 0)
        info["_label"] = done
        info["prediction"] = np.where(m, pred, 0)
        info["_prediction"] = done
        info["is_success"] = success & done
        info["_is_success"] = done
        return info

    def step(self, actions):
        if not self._all_started:
            raise RuntimeError(
                f"{type(self).__name__}: step() on sub-envs "
                f"{np.flatnonzero(~self._started).tolist()} that were never reset: call reset() first"
            )
        reward, terminated, truncated = self._step_rows(actions)
        info = self._base_info()
        if self.autoreset_mode == gym.vector.AutoresetMode.NEXT_STEP:
            prev = self._autoreset
            done = terminated | truncated
            if prev.any():
                rows = np.flatnonzero(prev)
                self._reset_rows(rows, self._streams.taker(rows), None)
                info = self._base_info()
                reward[rows] = 0.0
                done[rows] = terminated[rows] = truncated[rows] = False
            if done.any():
                info = self._end_info(info, done)
            self._autoreset = done
            return self._obs_batch(), reward, terminated, truncated, info
        # SameStep: report the final observation and info, then reset at once
        done = terminated | truncated
        if done.any():
            rows = np.flatnonzero(done)
            obs = self._obs_batch()
            final_obs = np.full(self.num_envs, None, dtype=object)
            for i in rows:
                final_obs[i] = {k: (_fresh(v[i]) if v.ndim > 1 else v[i]) for k, v in obs.items()}
            final_info = self._end_info(
                {
                    "glimpses": np.where(done, self._t, 0),
                    "_glimpses": done,
                    "pixels_sensed": np.where(done, self._t * self._ppg, 0),
                    "_pixels_sensed": done,
                },
                done,
            )
            self._reset_rows(rows, self._streams.taker(rows), None)
            info = self._base_info()
            info.update(
                final_obs=final_obs, _final_obs=done, final_info=final_info, _final_info=done
            )
        return self._obs_batch(), reward, terminated, truncated, info

    def action_masks(self) -> np.ndarray:
        """(num_envs, G + G + C + 1): each sub-env's legal actions, for ``MaskablePPO``."""
        return self._action_masks()

    def canvases(self) -> np.ndarray:
        """A copy of the canvases of the episodes now running, uint8 (num_envs, S, S), or
        (num_envs, S, S, C) for a colour dataset: what a whole-image network that glances at the
        canvas before the glimpses reads (DRAM's context network takes a downsampled view of it).
        Call it after ``reset``; a row whose episode has ended shows its last canvas until the
        next step resets it (``NextStep`` autoreset)."""
        return _fresh(self._images)

    def render(self):
        if self.render_mode is None:
            gym.logger.warn("render() called with render_mode=None: pass render_mode='rgb_array'")
            return None
        return tuple(self._frame(i) for i in range(self.num_envs))

    def close_extras(self, **kwargs):
        pass


@dataclass
class _Ahead:
    """Episodes a single env built ahead: their ``split``, their ``uniforms`` (n, per episode),
    what :meth:`_GlimpseCore._episodes` made of them, and the ``next`` one to serve."""

    split: str
    uniforms: np.ndarray
    episodes: tuple
    next: int = 0


def _fresh(a):
    """A copy of a numpy array or a torch tensor (the torch backend's state is tensors)."""
    return a.clone() if hasattr(a, "clone") else a.copy()


def _host(a) -> np.ndarray:
    """A numpy array of a numpy array or a (device) torch tensor, for drawing."""
    return a.cpu().numpy() if hasattr(a, "cpu") else a
