"""The visual hard-attention tasks (RAM's settings as defaults) and their registration.

Every visual id is :class:`~glimpse_envs.glimpse_env.GlimpseEnv` (vector:
:class:`~glimpse_envs.glimpse_env.GlimpseVectorEnv`) registered with ``kwargs={"task": NAME}``;
:data:`TASKS` holds each task's defaults (a :class:`~glimpse_envs.glimpse_env.GlimpseConfig`), its
description and its reward threshold. A new visual id is one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym

from glimpse_envs.glimpse_env import GlimpseConfig, GlimpseEnv


@dataclass(frozen=True)
class VisualTask:
    """One registered visual id, ``glimpse_envs/{name}-v0``."""

    name: str
    title: str
    description: str
    config: GlimpseConfig
    #: the registered ``reward_threshold``, and where it comes from
    reward_threshold: float
    threshold_note: str

    @property
    def id(self) -> str:
        return f"glimpse_envs/{self.name}-v0"

    @property
    def page(self) -> str:
        """The id's documentation: its title, description and defaults, then the family's page
        (:class:`~glimpse_envs.glimpse_env.GlimpseEnv`)."""
        c = self.config
        if c.sensor == "tiles":
            sensor = f"tiles ({c.grid or 3} x {c.grid or 3})"
        else:
            sensor = f"retina g = {c.retina_size}, k = {c.retina_scales}"
        defaults = (
            f"Defaults (``glimpse_envs.visual.TASKS[{self.name!r}].config``): T = {c.glimpses} "
            f"glimpses, canvas S = {c.canvas_size}, {sensor}, n = {c.n_digits} digit(s), "
            f"{c.n_clutter} clutter piece(s) of {c.clutter_size} px."
        )
        threshold = (
            f"Reward threshold: ``reward_threshold = {self.reward_threshold}`` is registered: "
            f"{self.threshold_note}"
        )
        return "\n\n".join([f"# {self.title}", self.description, defaults, threshold]) + (
            "\n\n" + (GlimpseEnv.__doc__ or "")
        )


TASKS: dict[str, VisualTask] = {
    t.name: t
    for t in (
        VisualTask(
            "TiledMNIST",
            "TiledMNIST: read a digit one tile at a time",
            "The simplest hard-attention task: a centred 28x28 MNIST digit, zero-padded to 30x30 "
            "and cut into 3x3 tiles of 10x10 pixels. A glimpse is one whole tile; the location grid "
            "has one point per tile (G = 3). Three glimpses, a third of the image, usually suffice.",
            GlimpseConfig(sensor="tiles", grid=3, canvas_size=28, glimpses=3),
            0.95,
            "95 % accuracy, a chosen bar (no paper figure: the soft-tiles baseline reaches 91.5 % "
            "with 3 tiles).",
        ),
        VisualTask(
            "MNIST",
            "MNIST: RAM on centred 28x28 digits",
            "RAM's first setting (Mnih et al. 2014, Table 1a): the centred 28x28 digit read "
            "through an 8x8 one-scale retina, 6 glimpses.",
            GlimpseConfig(canvas_size=28, retina_size=8, retina_scales=1, glimpses=6),
            0.98,
            "98 % accuracy, the RAM paper's 1.12 % error with 6 glimpses (Table 1a) rounded to 2 %.",
        ),
        VisualTask(
            "TranslatedMNIST",
            "TranslatedMNIST: a digit somewhere on a 60x60 canvas",
            "RAM's translated MNIST (Table 1b): the 28x28 digit at a uniformly random position "
            "wholly inside a blank 60x60 canvas, read by a 12x12 retina with 3 scales (12, 24, 48 "
            "px), 8 glimpses.",
            GlimpseConfig(canvas_size=60, retina_size=12, retina_scales=3, glimpses=8),
            0.98,
            "98 % accuracy, the RAM paper's 1.20 % error (Table 1b) rounded to 2 %.",
        ),
        VisualTask(
            "ClutteredMNIST",
            "ClutteredMNIST: a digit among 4 pieces of clutter on 60x60",
            "RAM's cluttered translated MNIST (Table 2a): translated MNIST on 60x60 plus 4 clutter "
            "pieces, each an 8x8 crop (at a uniformly random offset) of another digit of the same "
            "split pasted at a uniformly random position, under the digit (pixel-wise maximum). "
            "Retina 12x12 with 3 scales, 8 glimpses.",
            GlimpseConfig(
                canvas_size=60,
                n_clutter=4,
                clutter_size=8,
                retina_size=12,
                retina_scales=3,
                glimpses=8,
            ),
            0.95,
            "95 % accuracy, the RAM paper's 4.04 % error with 8 glimpses (Table 2a) rounded to 5 %.",
        ),
        VisualTask(
            "ClutteredMNIST100",
            "ClutteredMNIST100: a digit among 8 pieces of clutter on 100x100",
            "RAM's 100x100 cluttered translated MNIST (Table 2b; DRAW's Table 1): 8 clutter pieces "
            "of 8x8, as ClutteredMNIST, on a 100x100 canvas; retina 12x12 with 4 scales (up to 96 "
            "px), 8 glimpses.",
            GlimpseConfig(
                canvas_size=100,
                n_clutter=8,
                clutter_size=8,
                retina_size=12,
                retina_scales=4,
                glimpses=8,
            ),
            0.9,
            "90 % accuracy, the RAM paper's 8.11 % error with 8 glimpses (Table 2b) rounded to 10 %.",
        ),
        VisualTask(
            "MultiMNIST",
            "MultiMNIST: read a sequence of digits",
            "Ba et al. (2015)'s MNIST pairs: 2 digits on a 60x60 canvas, one in each half (the "
            "canvas width is cut into n equal slots, each digit wholly inside its slot at a "
            "uniformly random position, so the reading order is left to right; `n_digits` up to 5 "
            "needs `canvas_size >= 28 * n_digits`). The target is the digit sequence in reading "
            "order. Retina 12x12 with 3 scales, 3 glimpses per digit (6).",
            GlimpseConfig(canvas_size=60, n_digits=2, retina_size=12, retina_scales=3, glimpses=6),
            1.9,
            "1.9 of 2 digits right on average (95 % of the digits), a chosen bar (Ba et al. (2015) "
            "report a few per cent error on multi-digit MNIST).",
        ),
    )
}
"""Every visual task by name, in registration order."""


def register_visual_envs() -> None:
    """Register every visual id (``glimpse_envs/<Task>-v0``) with its vector entry point."""
    for name, task in TASKS.items():
        if task.id in gym.registry:
            continue
        gym.register(
            id=task.id,
            entry_point="glimpse_envs.glimpse_env:GlimpseEnv",
            vector_entry_point="glimpse_envs.glimpse_env:GlimpseVectorEnv",
            kwargs={"task": name},
            reward_threshold=task.reward_threshold,
        )
