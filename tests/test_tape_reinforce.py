"""The REINFORCE tape agent learns Copy-v0 at a short length, far above a random policy."""

from __future__ import annotations

import numpy as np
import torch

from agents.base import RunConfig
from agents.tape_eval import evaluate_tape_policy, make_tape_vec, play_episodes
from agents.tape_reinforce import Config, TapeReinforceTrainer

COPY = "glimpse_envs/Copy-v0"
# one 8-bit symbol (256 of them, as the NTM's copy): it must be stored on the memory tape while the
# stream shows it and read back once the delimiter has arrived (output before it counts as wrong)
SHORT = {"min_length": 1, "max_length": 1}


def _trainer(env_kwargs=SHORT, **cfg) -> TapeReinforceTrainer:
    torch.set_num_threads(1)
    run = RunConfig(
        env=COPY, agent="tape-reinforce", seed=0, num_envs=64, env_kwargs=dict(env_kwargs)
    )
    return TapeReinforceTrainer(run, Config(**cfg))


def _random_policy(seed: int = 0):
    rng = np.random.default_rng(seed)
    vec = make_tape_vec(COPY, 1, SHORT)
    nvec = vec.single_action_space.nvec
    vec.close()
    return lambda obs, starts: rng.integers(0, nvec, size=(len(starts), len(nvec)))


def test_tiny_run_beats_random():
    """200 updates of 64 episodes (~25k env steps, a few seconds) on copy of length 1, which needs
    the memory (store the symbol, emit it from memory after the delimiter): success >= 0.6 at
    length 1 on 150 fixed episodes (measured: 0.93), where a uniformly random policy succeeds in
    < 2% (measured: 0 of 150) and so does an echo of the input (tests/test_tape_degenerate.py)."""
    tr = _trainer()
    for _ in range(200):
        metrics = tr.train_iteration()
    assert metrics["env_steps"] > 0
    ours = tr.evaluate("test", 150)
    rand = evaluate_tape_policy(COPY, SHORT, _random_policy, "test", 150)
    assert rand["success"] < 0.02, rand
    assert ours["success@1"] >= 0.6, ours
    assert set(ours) >= {"success", "success@1", "success@2", "success@6"}


def test_play_episodes_counts_one_episode_per_env():
    vec = make_tape_vec(COPY, 8, SHORT)
    ep = play_episodes(vec, _random_policy(1), seed=0)
    vec.close()
    assert ep["active"][0].all() and ep["steps"] == ep["active"].sum()
    # each env's counted episode is one contiguous run of steps from the start
    for i in range(8):
        col = ep["active"][:, i]
        assert col[: col.sum()].all() and not col[col.sum() :].any()


def test_checkpoint_round_trip_restores_weights_and_curriculum():
    lengths = {"min_length": 1, "max_length": 3}
    a = _trainer(lengths)
    for _ in range(3):
        a.train_iteration()
    a.vec.unwrapped.curricula[0].current = 3
    b = _trainer(lengths)
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


def test_checkpoint_of_the_old_write_head_migrates():
    """A checkpoint whose write head is the env's whole write action (before the ``write`` option)
    loads as ``write="symbol"`` and plays the same actions."""
    old = _trainer(write="symbol")
    old.train_iteration()
    new = _trainer()
    assert new.model.nvec[2] == 3
    new.load_state_dict(old.state_dict())
    assert new.cfg.write == "symbol" and new.model.nvec[2] == old.model.nvec[2]
    assert old.evaluate("test", 20) == new.evaluate("test", 20)


def test_trace_records_writes_apart_from_head_positions():
    """``write`` is one-hot only where the policy wrote; ``read`` marks the head at every step."""
    from agents.tape_eval import trace_tape_policy

    t = {"step": 0}

    def store_then_read(obs, starts):  # step 0: store and stay; then move right, emitting nothing
        a = (
            np.array([[0, 0, int(obs["input"][0]) + 1, 0]])
            if t["step"] == 0
            else np.array([[0, 1, 0, 0]])
        )
        t["step"] += 1
        return a

    trace = trace_tape_policy(COPY, {"min_length": 1, "max_length": 3}, store_then_read, "test", 0)
    writes, reads = trace["write"], trace["read"]
    assert (reads.sum(1) == 1).all() and len(reads) > 3
    assert writes[0, 0] == 1 and writes.sum() == 1  # the one write, at cell 0, step 0
    assert reads[1:, 0].sum() == 1 and reads[2, 1] == 1  # the head then moves on without writing


def test_output_read_emits_the_symbol_under_the_memory_head():
    """``output="read"``: emit choice 2 outputs the data symbol the memory head reads (nothing on
    a blank or a marker), choice 1 the symbol head's symbol."""
    tr = _trainer(output="read")
    v = tr.task.num_symbols
    obs = {"input": np.array([5, 5, 5, 5]), "memory": np.array([7, 0, v + 1, 7])}
    z = torch.zeros(4, dtype=torch.long)
    parts = [z, z, z, torch.tensor([2, 2, 2, 1]), torch.tensor([9, 9, 9, 9])]
    a = tr._env_action(obs, parts)
    assert a[:, 3].tolist() == [7, 0, 0, 10]  # emits data symbol 6; blank, marker: nothing; head
    for _ in range(3):
        tr.train_iteration()  # the three-way emit head trains
