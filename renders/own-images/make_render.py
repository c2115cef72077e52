"""Draw renders/own-images/: RAM on your own colour images.

Run from the repository root: ``PYTHONPATH=. python renders/own-images/make_render.py``.
A synthetic RGB dataset (3 classes, 20x24 objects: class c is a block of colour c, red, green or
blue, shaded at random) on ClutteredMNIST-v0's canvas (60x60, 4 clutter pieces: 8x8 crops of other
objects, so of other colours too), passed as ``dataset=`` through ``RunConfig.env_kwargs``; RAM
trained for 40 iterations of 16 episodes (CPU, seconds), then one test episode drawn with
``agents.render`` (the same drawing as ``train.py render``).
"""

from pathlib import Path

import numpy as np
import torch

from agents.base import RunConfig
from agents.ram import Config, RAMTrainer
from agents.render import VisualEpisode, env_context, save_png
from glimpse_envs.data import Dataset

OUT = Path(__file__).resolve().parent


def colour_is_class(shape=(20, 24), n=(600, 60, 200), seed=0) -> Dataset:
    rng = np.random.default_rng(seed)
    palette = np.array([[230, 30, 30], [30, 230, 30], [30, 30, 230]])

    def split(m):
        y = rng.integers(0, 3, m)
        return (palette[y][:, None, None, :] * rng.uniform(0.6, 1.0, (m, *shape, 1))).astype(
            np.uint8
        ), y

    return Dataset(
        "colours",
        {sp: split(k) for sp, k in zip(("train", "validation", "test"), n)},
        classes=["red", "green", "blue"],
    )


if __name__ == "__main__":
    torch.set_num_threads(1)
    run = RunConfig(
        env="glimpse_envs/ClutteredMNIST-v0",
        agent="ram",
        seed=0,
        num_envs=16,
        env_kwargs={"dataset": colour_is_class()},
    )
    trainer = RAMTrainer(run, Config())
    for _ in range(40):
        trainer.train_iteration()
    print("test error %:", trainer.evaluate("test", 200)["error"])
    trace = trainer.trace("test", 0)
    sensor, _ = env_context(run.env, trainer.env_kwargs)
    save_png(
        VisualEpisode(trace, sensor, "RAM  OWN RGB IMAGES  CLUTTEREDMNIST-V0").frame(),
        OUT / "test_0000.png",
    )
