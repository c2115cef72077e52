"""Helpers shared by the soft-attention and baseline tests (not a test module)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agents.base import RunConfig


def make_trainer(cls, env: str, seed: int = 0, **cfg):
    """``cls(RunConfig(env=env, seed=seed), cls.Config(**cfg))``; skips when MNIST is missing."""
    torch.set_num_threads(1)
    run = RunConfig(env=env, agent=cls.name, seed=seed)
    try:
        return cls(run, cls.Config(**cfg))
    except Exception as e:
        if type(e).__name__ == "DataError":
            pytest.skip(f"MNIST not available ({e}); set GLIMPSE_ENVS_DATA")
        raise


def train(trainer, updates: int) -> dict:
    metrics = {}
    for _ in range(updates):
        metrics = trainer.train_iteration()
    return metrics


def check_state_roundtrip(trainer) -> None:
    """Restoring a state continues exactly: the same next update from the same state."""
    state = {k: (v.copy() if isinstance(v, dict) else v) for k, v in trainer.state_dict().items()}
    import copy

    state = copy.deepcopy(state)
    a = trainer.train_iteration()
    trainer.load_state_dict(state)
    b = trainer.train_iteration()
    for key in a:
        assert np.isclose(a[key], b[key], rtol=1e-5, atol=1e-6), (key, a[key], b[key])
