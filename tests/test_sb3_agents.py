"""PPO and RecurrentPPO train on every registered id through the project's DictFeatures."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from conftest import needs_mnist

import glimpse_envs
from agents.base import RunConfig, env_family
from agents.sb3_agents import (
    Config,
    DictFeatures,
    MaskablePPOTrainer,
    PPOTrainer,
    RecurrentPPOTrainer,
)
from glimpse_envs.wrappers import GlimpseStack

ALL_IDS = glimpse_envs.registered_ids()
TINY = Config(n_steps=8, batch_size=16, n_epochs=1, eval_batch=8)


def _run(env_id: str, agent: str, **kw) -> RunConfig:
    torch.set_num_threads(1)
    return RunConfig(env=env_id, agent=agent, seed=0, num_envs=2, **kw)


@needs_mnist
@pytest.mark.parametrize("env_id", ALL_IDS)
def test_dict_features_encode_every_id(env_id):
    env = gym.make(env_id)
    if env_family(env_id) == "visual":
        env = GlimpseStack(env)
    from stable_baselines3.common.preprocessing import preprocess_obs

    space = env.observation_space
    obs, _ = env.reset(seed=0)
    batch = {k: torch.as_tensor(np.asarray(v)[None]) for k, v in obs.items()}
    features = DictFeatures(space, features_dim=32)(preprocess_obs(batch, space))
    assert features.shape == (1, 32) and torch.isfinite(features).all()
    env.close()


@needs_mnist
@pytest.mark.parametrize("cls", [PPOTrainer, RecurrentPPOTrainer], ids=["ppo", "recurrent-ppo"])
@pytest.mark.parametrize("env_id", ALL_IDS)
def test_every_id_trains_out_of_the_box(env_id, cls):
    tr = cls(_run(env_id, cls.name), TINY)
    metrics = tr.train_iteration()
    assert metrics["env_steps"] == 16
    assert any(k.startswith("losses/") for k in metrics)
    tr.close()


@needs_mnist
@pytest.mark.parametrize("cls", [PPOTrainer, RecurrentPPOTrainer], ids=["ppo", "recurrent-ppo"])
def test_visual_evaluate_trace_and_round_trip(cls):
    tr = cls(_run("glimpse_envs/MNIST-v0", cls.name), TINY)
    tr.train_iteration()
    m = tr.evaluate("test", 10)
    assert set(m) >= {"error", "glimpses", "pixels"} and 1 <= m["glimpses"] <= 6
    other = cls(
        _run(
            "glimpse_envs/MNIST-v0",
            cls.name,
        ),
        TINY,
    )
    other.load_state_dict(tr.state_dict())
    assert other.evaluate("test", 10) == m
    trace = tr.trace("test", 0)
    assert trace["image"].shape == (28, 28) and trace["locations"].shape[1] == 2


@pytest.mark.parametrize("cls", [PPOTrainer, RecurrentPPOTrainer], ids=["ppo", "recurrent-ppo"])
def test_tape_evaluate(cls):
    run = _run("glimpse_envs/Copy-v0", cls.name, env_kwargs={"min_length": 1, "max_length": 2})
    tr = cls(run, TINY)
    tr.train_iteration()
    m = tr.evaluate("test", 6)
    assert {"success", "success@2", "success@4", "success@12"} <= set(m)


@pytest.mark.parametrize(
    "env_id",
    [pytest.param("glimpse_envs/MNIST-v0", marks=needs_mnist), "glimpse_envs/ForwardReverse-v0"],
)
def test_maskable_ppo_trains_and_is_given_the_masks(env_id):
    kw = {
        "env_kwargs": {"glimpses": 1} if "MNIST" in env_id else {"min_length": 1, "max_length": 2}
    }
    tr = MaskablePPOTrainer(_run(env_id, "maskable-ppo", **kw), TINY)
    assert "losses/value_loss" in tr.train_iteration()
    seen = []
    predict = tr.model.predict

    def spy(obs, **kwargs):
        seen.append(kwargs["action_masks"])
        return predict(obs, **kwargs)

    tr.model.predict = spy
    m = tr.evaluate("test", 4)
    assert seen and all(x is not None and x.dtype == bool for x in seen)
    if "MNIST" in env_id:  # (envs, 8 + 8 + 11); with one glimpse, every step is the last one:
        assert all(x.shape[1] == 27 and not x[:, 16].any() for x in seen)  # keep looking masked
        assert m["glimpses"] == 1 and m["episodes"] == 4
    else:  # tape masks allow every action of the space (its moves are the legal ones)
        assert all(x.shape == (4, 2 + 3 + 4 + 3) and x.all() for x in seen) and "success" in m


def test_training_leaves_no_sb3_log_folders(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where SB3's configure() writes
    run = _run("glimpse_envs/Copy-v0", "ppo", env_kwargs={"min_length": 1, "max_length": 2})
    tr = PPOTrainer(run, TINY)
    metrics = tr.train_iteration()
    assert "losses/value_loss" in metrics  # SB3's logged values still reach the metrics
    assert not list(tmp_path.glob("SB3-*"))


@needs_mnist
def test_resume_same_iteration():
    a = PPOTrainer(_run("glimpse_envs/TiledMNIST-v0", "ppo"), TINY)
    a.train_iteration()
    b = PPOTrainer(_run("glimpse_envs/TiledMNIST-v0", "ppo"), TINY)
    b.load_state_dict(a.state_dict())
    assert a.train_iteration() == b.train_iteration()


def test_tape_checkpoint_keeps_the_curriculum():
    run = _run("glimpse_envs/Copy-v0", "ppo", env_kwargs={"min_length": 1, "max_length": 4})
    a = PPOTrainer(run, TINY)
    a.train_iteration()
    a._native_vec().unwrapped.curricula[1].current = 3
    b = PPOTrainer(run, TINY)
    b.load_state_dict(a.state_dict())
    assert b._native_vec().unwrapped.curricula[1].current == 3
    assert a.train_iteration() == b.train_iteration()


@pytest.mark.parametrize("cls", [PPOTrainer, RecurrentPPOTrainer], ids=["ppo", "recurrent-ppo"])
def test_export_writes_a_plain_sb3_zip(cls, tmp_path):
    """``model.zip`` beside the checkpoint loads with SB3's own ``load`` and acts on the env."""
    import sb3_contrib
    import stable_baselines3

    tr = cls(_run("glimpse_envs/Copy-v0", cls.name, env_kwargs={"max_length": 2}), TINY)
    tr.train_iteration()
    (path,) = tr.export(tmp_path)
    assert path.name == "model.zip"
    algo = stable_baselines3.PPO if cls is PPOTrainer else sb3_contrib.RecurrentPPO
    model = algo.load(path)
    env = gym.make("glimpse_envs/Copy-v0", max_length=2)
    obs, _ = env.reset(seed=0)
    action, _ = model.predict(obs, deterministic=True)
    env.step(action)
    assert model.num_timesteps == tr.model.num_timesteps
    tr.close()
