"""The visual hard-attention tasks (RAM's settings as defaults) and their registration.

Each task is a small :class:`~glimpse_envs.glimpse_env.GlimpseEnv` subclass whose ``CONFIG`` (a
:class:`~glimpse_envs.glimpse_env.GlimpseConfig`) is its parameters, plus its
:class:`~glimpse_envs.glimpse_env.GlimpseVectorEnv` twin sharing that ``CONFIG``. The
class docstrings are the documentation pages; their shared sections are filled in from one
template (:func:`_doc_page`) so that every page states the same semantics with its own numbers.
"""

from __future__ import annotations

import gymnasium as gym

from glimpse_envs.glimpse_env import GlimpseConfig, GlimpseEnv, GlimpseVectorEnv

_PAGE = """{title}

## Description

{description}

The agent sees the canvas only through its glimpse sensor. Every step it chooses where to look
next and whether to answer; the answer{answer_note}.

## Action Space

`MultiDiscrete([G, G, C + 1])` with G = {G} and C = 10 (the dataset's classes: your own dataset
sets C): grid column x, grid row y, and a decision (0 = keep looking, c + 1 = answer class c). Grid point j maps to the location
`l = -1 + 2 j / (G - 1)`: grid point (0, 0) is the top-left corner, location (-1, -1), and
(G - 1, G - 1) the bottom-right one, location (1, 1).
With `continuous=True` the action is `Box(-1, 1, (2 + C + 1,), float32)` ((13,) for 10 classes): the
location (x, y) in [-1, 1] followed by C + 1 decision scores, the decision being their argmax (index 0 = keep looking). An
action outside the space raises `ValueError`. The location is ignored when the decision answers.

## Observation Space

A `Dict`:

| key | space | dtype | meaning |
|---|---|---|---|
| `glimpse` | `Box(0, 1, {shape})` | float32 | {sensor_text} |
| `location` | `Box(-1, 1, (2,))` | float32 | (x, y) of the glimpse just taken, (-1, -1) top left |
| `step` | `Discrete({T1})` | int | glimpses taken so far minus one (0 after reset) |
{emitted_row}
With a colour dataset (images (N, H, W, C)) the glimpse keeps the channels, last:
`Box(0, 1, {shape} + (C,))`, every channel sensed as a grayscale image of it would be.

## Rewards

{rewards} With `glimpse_cost=c > 0`, the last reward of the episode also subtracts `c` times the
glimpses taken (the first glimpse, taken by `reset`, included), a ponder cost that lets an agent
learn when to stop.

## Reward Threshold

`reward_threshold = {threshold}` is registered: {threshold_note} The mean return is the accuracy
(per canvas{per_digit}) when `glimpse_cost=0`, the default; a ponder cost lowers the return, so
compare accuracy (`info["is_success"]`) then.

## Starting State

A new canvas from the training split (see the Arguments), and the first glimpse already taken at
the centre (0, 0), or at a uniformly random location with `start="random"` (a random grid point, or
uniform in [-1, 1]^2 when `continuous=True`). `reset(options={{"split": "test", "index": i}})`
plays fixed canvas i of a split (`canvas.fixed`, the same image in every process, and with
`start="random"` the same first glimpse);
`reset(options={{"split": "validation"}})` samples from that split.

## Episode End

The budget is {T} glimpses. {episode_end} Every episode therefore ends by itself within
{max_steps} steps (the budget follows `glimpses` and `n_digits`), so no `TimeLimit` is registered;
`gym.make(..., max_episode_steps=n)` truncates earlier if wanted. `info` always holds `glimpses` (taken so far)
and `pixels_sensed` (sensor values read so far, {ppg} per glimpse); the last step adds `label`,
`prediction` (-1 where no answer was given) and `is_success`.

## Arguments

```python
gym.make("{id}", dataset="mnist", glimpses={T}, {sensor_args}canvas_size={S},
         n_clutter={K}, clutter_size=8, {digits_arg}grid={G}, continuous=False, start="center",
         glimpse_cost=0.0, object_scale=1.0, data_dir=None, render_mode=None)
```

* `dataset`: `"mnist"` or `"fashion"` (Fashion-MNIST), the path of an image folder (one
  sub-folder per class, read with Pillow), or a `glimpse_envs.data.Dataset`: your own images,
  (N, H, W) grayscale or (N, H, W, C) colour, any size, any number of classes. The objects replace
  the digits everywhere below; colour canvases give colour glimpses and renders.
* `object_scale`: resize the objects (digits) by this factor before placing them (area
  averaging; 1: as stored, 28x28 for MNIST).
* `glimpses`: the glimpse budget T, >= 1.
* `retina_size`, `retina_scales`: the retina's g and k. The largest patch, `g * 2**(k - 1)` pixels,
  may be at most twice the canvas side; a larger retina raises `ValueError`.
* `canvas_size`, `n_clutter`, `clutter_size`, `n_digits`: the canvas (`glimpse_envs.canvas.Canvas`;
  clutter pieces are 8x8 crops of other digits of the same split, drawn under the digits). When
  `canvas_size` is not given and one (scaled) object is larger than the default {S}, the canvas
  side is the object's larger side.
* `grid`: G, points per side of the location grid (default `S // 4 + 1`, about 4 px apart).
* `continuous`, `start`, `glimpse_cost`: see above. `data_dir`: see `glimpse_envs.data`.
* `render_mode`: `"rgb_array"` draws the canvas with the sensor's squares at each scale and the path
  of earlier glimpses, beside the glimpse patches; `"human"` shows that in a pygame window.

These are the fields of `glimpse_envs.GlimpseConfig`: this id's defaults are `{cls}.CONFIG`, the
keyword arguments replace fields of it, and `config=GlimpseConfig(...)` gives a whole one. The
built env's is `env.unwrapped.config` (`config.glimpses` is the budget, `config.canvas_size` the
side built). `python train.py --env {id}` takes each field as a flag (`--glimpses`, `--scales`
for `retina_scales`, `--canvas-size`, ...).

Impossible configurations (zero glimpses, a retina too large, a canvas smaller than its digits, an
unknown dataset) raise `ValueError` naming the problem and the fix.

## Vectorized environment

`gym.make_vec("{id}", num_envs=N, vectorization_mode="vector_entry_point")` builds
`{vector}`, the native batched twin: the same numpy core on N rows at once, equal to N single
envs reset with seeds `seed + i`; it supports `autoreset_mode` `NextStep` and `SameStep` and
returns Gymnasium's dict-of-arrays infos with `_key` masks.

## Version History

* v0: initial version.
"""


def _doc_page(
    title,
    description,
    *,
    id,
    cls,
    vector,
    T,
    S,
    K,
    G,
    shape,
    sensor,
    n=1,
    ppg,
    threshold,
    threshold_note,
):
    if sensor == "tiles":
        sensor_text = "the tile under the location (10x10 of the 28x28 digit padded to 30x30)"
        sensor_args = ""
    else:
        sensor_text = f"{shape[0]} retina patch(es), patch j of `{shape[1]} * 2**j` pixels averaged to {shape[1]}x{shape[1]}"
        sensor_args = f"retina_size={shape[1]}, retina_scales={shape[0]}, "
    if n == 1:
        answer_note = " ends the episode"
        rewards = "1 for a correct answer, 0 for a wrong one or none (RAM's terminal reward)."
        episode_end = (
            "Terminated when the agent answers. At the last glimpse the agent must answer: keeping "
            "on looking there ends the episode as wrong."
        )
        emitted_row, digits_arg = "", ""
    else:
        answer_note = " emits the next digit of the sequence (the glimpse stays where it was)"
        rewards = (
            f"1 for each of the {n} digits emitted correctly in its position, when it is emitted."
        )
        episode_end = (
            f"Terminated after {n} answers. Once the budget is spent the agent must answer: keeping "
            "on looking there ends the episode, the digits not yet emitted counting as wrong."
        )
        emitted_row = f"| `emitted` | `Discrete({n + 1})` | int | digits answered so far |\n"
        digits_arg = f"n_digits={n}, "
    return _PAGE.format(
        title=title,
        description=description,
        answer_note=answer_note,
        G=G,
        shape=shape,
        sensor_text=sensor_text,
        T1=T + 1,
        emitted_row=emitted_row,
        rewards=rewards,
        T=T,
        episode_end=episode_end,
        max_steps=T - 1 + n,
        ppg=ppg,
        id=id,
        sensor_args=sensor_args,
        S=S,
        K=K,
        digits_arg=digits_arg,
        cls=cls,
        vector=vector,
        threshold=threshold,
        threshold_note=threshold_note,
        per_digit="" if n == 1 else f", out of {n}: one point per digit right",
    )


class TiledMNIST(GlimpseEnv):
    ID = "glimpse_envs/TiledMNIST-v0"
    #: registered reward_threshold (see the page's Reward Threshold)
    REWARD_THRESHOLD = 0.95
    THRESHOLD_NOTE = "95 % accuracy, a chosen bar (no paper figure: the soft-tiles baseline reaches 91.5 % with 3 tiles)."
    CONFIG = GlimpseConfig(sensor="tiles", grid=3, canvas_size=28, glimpses=3)


class MNIST(GlimpseEnv):
    ID = "glimpse_envs/MNIST-v0"
    #: registered reward_threshold (see the page's Reward Threshold)
    REWARD_THRESHOLD = 0.98
    THRESHOLD_NOTE = (
        "98 % accuracy, the RAM paper's 1.12 % error with 6 glimpses (Table 1a) rounded to 2 %."
    )
    CONFIG = GlimpseConfig(canvas_size=28, retina_size=8, retina_scales=1, glimpses=6)


class TranslatedMNIST(GlimpseEnv):
    ID = "glimpse_envs/TranslatedMNIST-v0"
    #: registered reward_threshold (see the page's Reward Threshold)
    REWARD_THRESHOLD = 0.98
    THRESHOLD_NOTE = "98 % accuracy, the RAM paper's 1.20 % error (Table 1b) rounded to 2 %."
    CONFIG = GlimpseConfig(canvas_size=60, retina_size=12, retina_scales=3, glimpses=8)


class ClutteredMNIST(GlimpseEnv):
    ID = "glimpse_envs/ClutteredMNIST-v0"
    #: registered reward_threshold (see the page's Reward Threshold)
    REWARD_THRESHOLD = 0.95
    THRESHOLD_NOTE = (
        "95 % accuracy, the RAM paper's 4.04 % error with 8 glimpses (Table 2a) rounded to 5 %."
    )
    CONFIG = GlimpseConfig(
        canvas_size=60, n_clutter=4, clutter_size=8, retina_size=12, retina_scales=3, glimpses=8
    )


class ClutteredMNIST100(GlimpseEnv):
    ID = "glimpse_envs/ClutteredMNIST100-v0"
    #: registered reward_threshold (see the page's Reward Threshold)
    REWARD_THRESHOLD = 0.9
    THRESHOLD_NOTE = (
        "90 % accuracy, the RAM paper's 8.11 % error with 8 glimpses (Table 2b) rounded to 10 %."
    )
    CONFIG = GlimpseConfig(
        canvas_size=100, n_clutter=8, clutter_size=8, retina_size=12, retina_scales=4, glimpses=8
    )


class MultiMNIST(GlimpseEnv):
    ID = "glimpse_envs/MultiMNIST-v0"
    #: registered reward_threshold (see the page's Reward Threshold)
    REWARD_THRESHOLD = 1.9
    THRESHOLD_NOTE = "1.9 of 2 digits right on average (95 % of the digits), a chosen bar (Ba et al. (2015) report a few per cent error on multi-digit MNIST)."
    CONFIG = GlimpseConfig(canvas_size=60, n_digits=2, retina_size=12, retina_scales=3, glimpses=6)


_DESCRIPTIONS = {
    TiledMNIST: (
        "# TiledMNIST: read a digit one tile at a time",
        "The simplest hard-attention task: a centred 28x28 MNIST digit, zero-padded to 30x30 and cut "
        "into 3x3 tiles of 10x10 pixels. A glimpse is one whole tile; the location grid has one "
        "point per tile (G = 3). Three glimpses, a third of the image, usually suffice.",
    ),
    MNIST: (
        "# MNIST: RAM on centred 28x28 digits",
        "RAM's first setting (Mnih et al. 2014, Table 1a): the centred 28x28 digit read through an "
        "8x8 one-scale retina, 6 glimpses.",
    ),
    TranslatedMNIST: (
        "# TranslatedMNIST: a digit somewhere on a 60x60 canvas",
        "RAM's translated MNIST (Table 1b): the 28x28 digit at a uniformly random position wholly "
        "inside a blank 60x60 canvas, read by a 12x12 retina with 3 scales (12, 24, 48 px), 8 glimpses.",
    ),
    ClutteredMNIST: (
        "# ClutteredMNIST: a digit among 4 pieces of clutter on 60x60",
        "RAM's cluttered translated MNIST (Table 2a): translated MNIST on 60x60 plus 4 clutter "
        "pieces, each an 8x8 crop (at a uniformly random offset) of another digit of the same split "
        "pasted at a uniformly random position, under the digit (pixel-wise maximum). Retina 12x12 "
        "with 3 scales, 8 glimpses.",
    ),
    ClutteredMNIST100: (
        "# ClutteredMNIST100: a digit among 8 pieces of clutter on 100x100",
        "RAM's 100x100 cluttered translated MNIST (Table 2b; DRAW's Table 1): 8 clutter pieces of "
        "8x8, as ClutteredMNIST, on a 100x100 canvas; retina 12x12 with 4 scales (up to 96 px), "
        "8 glimpses.",
    ),
    MultiMNIST: (
        "# MultiMNIST: read a sequence of digits",
        "Ba et al. (2015)'s MNIST pairs: 2 digits on a 60x60 canvas, one in each half (the canvas "
        "width is cut into n equal slots, each digit wholly inside its slot at a uniformly random "
        "position, so the reading order is left to right; `n_digits` up to 5 needs "
        "`canvas_size >= 28 * n_digits`). The target is the digit sequence in reading order. "
        "Retina 12x12 with 3 scales, 3 glimpses per digit (6).",
    ),
}


def _vector_class(env_cls: type) -> type:
    vec = type(
        env_cls.__name__ + "Vector",
        (GlimpseVectorEnv,),
        {
            "ID": env_cls.ID,
            "CONFIG": env_cls.CONFIG,
            "__module__": __name__,
            "__doc__": f"The native batched twin of :class:`{env_cls.__name__}` (see its page).",
        },
    )
    return vec


TASKS = [TiledMNIST, MNIST, TranslatedMNIST, ClutteredMNIST, ClutteredMNIST100, MultiMNIST]
TiledMNISTVector = _vector_class(TiledMNIST)
MNISTVector = _vector_class(MNIST)
TranslatedMNISTVector = _vector_class(TranslatedMNIST)
ClutteredMNISTVector = _vector_class(ClutteredMNIST)
ClutteredMNIST100Vector = _vector_class(ClutteredMNIST100)
MultiMNISTVector = _vector_class(MultiMNIST)
VECTOR_TASKS = [
    TiledMNISTVector,
    MNISTVector,
    TranslatedMNISTVector,
    ClutteredMNISTVector,
    ClutteredMNIST100Vector,
    MultiMNISTVector,
]


def _fill_docs() -> None:
    for cls in TASKS:
        c = cls.CONFIG
        S = c.canvas_size
        tiles = c.sensor == "tiles"
        g, k = (10, 1) if tiles else (c.retina_size, c.retina_scales)
        title, description = _DESCRIPTIONS[cls]
        cls.__doc__ = _doc_page(
            title,
            description,
            id=cls.ID,
            cls=cls.__name__,
            vector=cls.__name__ + "Vector",
            T=c.glimpses,
            S=S,
            K=c.n_clutter,
            G=3 if tiles else S // 4 + 1,
            shape=(k, g, g),
            sensor=c.sensor,
            n=c.n_digits,
            ppg=k * g * g,
            threshold=cls.REWARD_THRESHOLD,
            threshold_note=cls.THRESHOLD_NOTE,
        )


_fill_docs()


def register_visual_envs() -> None:
    """Register every visual id (``glimpse_envs/<Task>-v0``) with its vector entry point."""
    for cls, vec in zip(TASKS, VECTOR_TASKS):
        if cls.ID in gym.registry:
            continue
        gym.register(
            id=cls.ID,
            entry_point=f"{__name__}:{cls.__name__}",
            vector_entry_point=f"{__name__}:{vec.__name__}",
            reward_threshold=cls.REWARD_THRESHOLD,
        )
