"""The REINFORCE tape agent learns Copy-v0 at a short length, far above a random policy."""

from __future__ import annotations

import numpy as np
import torch

from agents.base import RunConfig
from agents.tape_eval import evaluate_tape_policy, make_tape_vec, play_episodes
from agents.tape_reinforce import Config, TapeReinforceTrainer

COPY = "glimpse_envs/Copy-v0"
SHORT = {"min_length": 2, "max_length": 3}  # 8-bit symbols (256 of them), as the NTM's copy


def _trainer(**cfg) -> TapeReinforceTrainer:
    torch.set_num_threads(1)
    run = RunConfig(env=COPY, agent="tape-reinforce", seed=0, num_envs=64, env_kwargs=dict(SHORT))
    return TapeReinforceTrainer(run, Config(**cfg))


def _random_policy(seed: int = 0):
    rng = np.random.default_rng(seed)
    vec = make_tape_vec(COPY, 1, SHORT)
    nvec = vec.single_action_space.nvec
    vec.close()
    return lambda obs, starts: rng.integers(0, nvec, size=(len(starts), len(nvec)))


def test_tiny_run_beats_random():
    """150 updates of 64 episodes (~19k env steps, a few seconds): success >= 0.6 at length 3 (the
    training maximum) and >= 0.4 over lengths 3, 6 and 18, 150 fixed episodes each (measured:
    0.94 and 0.70), where a uniformly random policy succeeds in < 2% (it must emit the right one
    of 256 symbols 3+ times in a row; measured: 0 of 450)."""
    tr = _trainer()
    for _ in range(150):
        metrics = tr.train_iteration()
    assert metrics["env_steps"] > 0
    ours = tr.evaluate("test", 150)
    rand = evaluate_tape_policy(COPY, SHORT, _random_policy, "test", 150)
    assert rand["success"] < 0.02, rand
    assert ours["success@3"] >= 0.6 and ours["success"] >= 0.4, ours
    assert set(ours) >= {"success", "success@3", "success@6", "success@18"}


def test_play_episodes_counts_one_episode_per_env():
    vec = make_tape_vec(COPY, 8, SHORT)
    ep = play_episodes(vec, _random_policy(1), seed=0)
    vec.close()
    assert ep["active"][0].all() and ep["steps"] == ep["active"].sum()
    # each env's counted episode is one contiguous run of steps from the start
    for i in range(8):
        col = ep["active"][:, i]
        assert col[: col.sum()].all() and not col[col.sum():].any()


def test_checkpoint_round_trip_restores_weights_and_curriculum():
    a = _trainer()
    for _ in range(3):
        a.train_iteration()
    a.vec.unwrapped.curricula[0].current = 3
    b = _trainer()
    b.load_state_dict(a.state_dict())
    assert b.vec.unwrapped.curricula[0].current == 3
    assert a.train_iteration() == b.train_iteration()


def test_pure_rl_and_trace():
    tr = _trainer(pure_rl=True)
    metrics = tr.train_iteration()
    assert metrics["losses/supervised"] == 0.0
    trace = tr.trace("test", 0)
    assert trace["read"].shape[1] == 128 and trace["read"].shape[0] == len(trace["outputs"])
    assert (trace["read"].sum(1) == 1).all()
