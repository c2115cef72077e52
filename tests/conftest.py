"""Shared fixtures: a tiny in-memory stand-in dataset, the registered visual ids, headless SDL."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import gymnasium as gym

import glimpse_envs  # noqa: F401
from glimpse_envs.data import Dataset

#: every registered visual id (those whose entry point is the visual family's class)
VISUAL_IDS = [
    env_id
    for env_id, spec in gym.registry.items()
    if env_id.startswith("glimpse_envs/")
    and spec.entry_point == "glimpse_envs.glimpse_env:GlimpseEnv"
]


def make_tiny_dataset(
    n_train: int = 40, n_val: int = 10, n_test: int = 20, seed: int = 0
) -> Dataset:
    """Random 28x28 'digits' whose every pixel is nonzero (so cropping is visible), labels i % 10."""
    rng = np.random.default_rng(seed)

    def split(n, offset):
        images = rng.integers(1, 256, (n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n, dtype=np.int64) + offset) % 10
        return images, labels

    return Dataset(
        name="tiny",
        splits={
            "train": split(n_train, 0),
            "validation": split(n_val, 3),
            "test": split(n_test, 7),
        },
    )


@pytest.fixture(scope="session")
def tiny() -> Dataset:
    return make_tiny_dataset()


def real_data_available() -> bool:
    from glimpse_envs.data import DataError, find_files

    try:
        find_files("mnist", allow_download=False)
        return True
    except DataError:
        return False


if os.environ.get("CI") and not real_data_available():
    # locally, tests on real digits are skipped without the data; in CI that would hide them
    raise RuntimeError(
        "CI: MNIST not found through the documented lookup; point GLIMPSE_ENVS_DATA at a folder "
        "holding mnist/ (.ci/run sets it to ../shared/data)"
    )

needs_mnist = pytest.mark.skipif(
    not real_data_available(),
    reason="MNIST not found: set GLIMPSE_ENVS_DATA to a folder holding mnist/",
)


@pytest.fixture(params=VISUAL_IDS)
def env_id(request) -> str:
    return request.param
