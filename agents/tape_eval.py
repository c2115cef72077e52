"""Playing and scoring the tape envs: one batch of whole episodes, and the fixed evaluation protocol.

Both the REINFORCE tape agent and the SB3 agents use these, so every tape agent is scored the same:

* :func:`play_episodes` plays exactly one episode in every sub-env of a native tape vector env
  (made with ``autoreset_mode="Disabled"``). A sub-env whose episode has ended is restarted at once
  on a *forced* short length (``reset(options={"reset_mask", "length"})``), which the env's
  curriculum does not count, and its steps are ignored until the batch is over; so the curriculum
  only ever sees the episodes that were trained on.
* :func:`evaluate_tape_policy` scores a policy on fixed episodes: ``episodes`` at each evaluation
  length ``L`` (the training maximum, twice and six times it, where the memory allows; as the soft
  baselines of ``agents/supervised.py``, ``episodes`` counts per length), episode ``i`` being the
  env's episode for seed ``fixed_seed(split, L, i)`` and ``options={"length": L}``, which is
  ``task.fixed(split, L, [i])``: the same sequences the soft baselines are scored on. It reports ``success`` (all lengths), ``success@L`` and
  ``reward@L``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from glimpse_envs.tape_tasks import fixed_seed

#: fixed episodes per evaluation length when train.py asks for "all" of a split
DEFAULT_EPISODES = {"test": 1000, "validation": 500}

#: ``act(obs, starts) -> actions``: ``starts[i]`` is True where sub-env i's episode starts at obs; a
#: policy with ``act.needs_masks = True`` is called ``act(obs, starts, masks)`` with the vector
#: env's ``action_masks()`` (MaskablePPO)
Policy = Callable[..., np.ndarray]


def _act(act: Policy, vec, obs: dict[str, np.ndarray], starts: np.ndarray) -> np.ndarray:
    """``act``'s actions, given the env's action masks when it asks for them."""
    if getattr(act, "needs_masks", False):
        return act(obs, starts, vec.unwrapped.action_masks())
    return act(obs, starts)


def make_tape_vec(env_id: str, num_envs: int, env_kwargs: dict | None = None):
    """The native tape vector env of ``env_id`` with ``autoreset_mode="Disabled"``."""
    import glimpse_envs  # noqa: F401

    return gym.make_vec(
        env_id,
        num_envs=num_envs,
        vectorization_mode="vector_entry_point",
        autoreset_mode="Disabled",
        **(env_kwargs or {}),
    )


def curricula_state(vec) -> list[tuple[int, list[bool]]]:
    """The per-sub-env curriculum state of a native tape vector env (for checkpoints)."""
    return [c.state() for c in vec.unwrapped.curricula]


def load_curricula_state(vec, state: list) -> None:
    """Restore :func:`curricula_state` into a vector env with as many sub-envs."""
    curricula = vec.unwrapped.curricula
    if len(state) != len(curricula):
        raise ValueError(
            f"checkpoint has {len(state)} env curricula, the run has {len(curricula)} "
            "envs (num_envs must match)"
        )
    for c, s in zip(curricula, state):
        c.load_state(s)


def play_episodes(
    vec,
    act: Policy,
    seed: int | list[int] | None = None,
    length: int | None = None,
    max_steps: int = 100_000,
) -> dict[str, Any]:
    """Play one episode in every sub-env of ``vec`` (autoreset ``Disabled``).

    Returns ``rewards`` (T, N) and ``active`` (T, N) (True while the episode counted is running,
    the step included), ``returns`` (N,), ``success`` (N,), ``correct`` (N,), ``length`` (N,),
    ``steps`` (total steps of the counted episodes).
    """
    n = vec.num_envs
    obs, info = vec.reset(seed=seed, options=None if length is None else {"length": length})
    lengths = np.asarray(info["length"]).copy()
    dummy = np.full(n, vec.unwrapped.config.min_length, np.int64)
    active = np.ones(n, bool)
    starts = np.ones(n, bool)
    rewards, actives = [], []
    success = np.zeros(n, bool)
    correct = np.zeros(n, np.int64)
    for _ in range(max_steps):
        actions = _act(act, vec, obs, starts)
        obs, reward, terminated, truncated, info = vec.step(actions)
        ended = np.asarray(terminated) | np.asarray(truncated)
        rewards.append(np.where(active, reward, 0.0).astype(np.float32))
        actives.append(active.copy())
        finished = ended & active
        success[finished] = np.asarray(info["is_success"])[finished]
        correct[finished] = np.asarray(info["correct"])[finished]
        active &= ~ended
        if not active.any():
            break
        starts = ended
        if ended.any():
            obs, _ = vec.reset(options={"reset_mask": ended, "length": dummy})
    else:
        raise RuntimeError(f"episodes did not end within {max_steps} steps")
    rewards_arr, actives_arr = np.stack(rewards), np.stack(actives)
    return {
        "rewards": rewards_arr,
        "active": actives_arr,
        "returns": rewards_arr.sum(0),
        "success": success,
        "correct": correct,
        "length": lengths,
        "steps": int(actives_arr.sum()),
    }


def eval_lengths(env_id: str, env_kwargs: dict | None = None) -> list[int]:
    """The task's generalisation lengths (``task.eval_lengths``: the training maximum, 2x and 6x),
    keeping those the env's memory allows."""
    import glimpse_envs  # noqa: F401

    env = gym.make(env_id, **(env_kwargs or {}))
    config = env.unwrapped.config
    env.close()
    out = []
    for length in config.task.eval_lengths(config.max_length):
        try:
            config.check_length(length)
        except ValueError:
            continue
        if length not in out:
            out.append(length)
    return out


def evaluate_tape_policy(
    env_id: str,
    env_kwargs: dict | None,
    make_policy: Callable[[], Policy],
    split: str,
    episodes: int,
    seed: int = 0,
    lengths: list[int] | None = None,
    batch: int = 100,
) -> dict[str, float]:
    """Success of a deterministic policy on ``episodes`` fixed episodes at each length."""
    lengths = lengths or eval_lengths(env_id, env_kwargs)
    per = max(1, episodes)
    out: dict[str, float] = {}
    solved = total = 0
    for length in lengths:
        ok, reward = 0, 0.0
        for start in range(0, per, batch):
            idx = list(range(start, min(per, start + batch)))
            vec = make_tape_vec(env_id, len(idx), env_kwargs)
            try:
                ep = play_episodes(
                    vec,
                    make_policy(),
                    seed=[fixed_seed(split, length, i) for i in idx],
                    length=length,
                )
            finally:
                vec.close()
            ok += int(ep["success"].sum())
            reward += float(ep["returns"].sum())
        out[f"success@{length}"] = ok / per
        out[f"reward@{length}"] = reward / per
        solved += ok
        total += per
    out["success"] = solved / total
    out["episodes"] = float(total)
    return dict(sorted(out.items(), key=lambda kv: (kv[0].split("@")[0], _num(kv[0]))))


def _num(key: str) -> int:
    return int(key.split("@")[1]) if "@" in key else -1


def trace_tape_policy(
    env_id: str,
    env_kwargs: dict | None,
    act: Policy,
    split: str,
    index: int,
    length: int | None = None,
) -> dict[str, Any]:
    """One fixed episode with the env's recorded history: inputs, targets, outputs, head positions.

    ``read`` is the one-hot (T, memory cells) weighting of the memory head (a hard head reads the
    cell under it at every step); ``write`` is one-hot only at the steps where the agent wrote
    (the env records each write), and zero where it did not.
    """
    length = length or eval_lengths(env_id, env_kwargs)[0]
    vec = gym.make_vec(
        env_id,
        num_envs=1,
        vectorization_mode="vector_entry_point",
        autoreset_mode="Disabled",
        render_mode="ansi",
        **(env_kwargs or {}),
    )
    try:
        obs, _ = vec.reset(seed=[fixed_seed(split, length, index)], options={"length": length})
        starts = np.ones(1, bool)
        info: dict = {}
        while True:
            obs, _, term, trunc, info = vec.step(_act(act, vec, obs, starts))
            starts = np.zeros(1, bool)
            if term[0] or trunc[0]:
                break
        inputs, targets, history = vec.unwrapped.episode_record(0)
        cells = vec.unwrapped.memory_size
    finally:
        vec.close()
    # history holds the head positions after each step's move; the read/write of step t happened
    # at the position before it
    mem_pos = np.array([0] + [h[1] for h in history[:-1]], np.int64)
    heads = np.zeros((len(history), cells), np.float32)
    heads[np.arange(len(history)), mem_pos] = 1.0
    wrote = np.array([h[4] for h in history], np.int64)
    writes = np.zeros_like(heads)
    writes[np.flatnonzero(wrote >= 0), wrote[wrote >= 0]] = 1.0
    return {
        "inputs": np.asarray(inputs),
        "targets": np.asarray(targets),
        "outputs": np.array([h[2] for h in history], np.int64),
        "input_positions": np.array([0] + [h[0] for h in history[:-1]], np.int64),
        "read": heads,
        "write": writes,
        "success": bool(info["is_success"][0]),
        "length": length,
    }
