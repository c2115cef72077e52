"""Every tape id is a task a memoryless or degenerate policy cannot solve.

Beside the scripted oracles (``tests/oracles.py``, which must solve every id), this table plays
policies that use no memory and no reasoning on every tape id at several lengths, and asserts that
each fails: ``is_success`` on at most 2 % of episodes, and a mean return far below the oracle's
(at most a quarter of it; DynamicNGrams: at most half of the Bayes predictor's margin over a fair
coin). A task added to ``glimpse_envs.tape.TASKS`` is guarded by the same table.

The policies see only the observations:

* ``echo``: emit the symbol under the input head now (the input advancing every step);
* ``echo-delay-d``: emit the data symbol read ``d`` steps ago (a delay line of d symbols);
* ``constant``: emit output symbol 0 at every step;
* ``never``: never emit;
* ``late-constant``: wait until the input is exhausted, then emit output symbol 0 at every step;
* ``late-echo``: wait until the input is exhausted, then emit the last data symbol read, every step;
* ``random``: uniformly random actions.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from glimpse_envs.tape import TAPE_IDS, TASKS, register_tape_envs

ENVS = list(TASKS.values())
from tests.oracles import run_vector

register_tape_envs()

EPISODES = 50


def _lengths(env_cls) -> list[int]:
    """The training maximum and twice it, where the default memory holds them (DynamicNGrams: its
    one length, 200). Shorter lengths of the binary Gym tasks are solved by chance too often to
    mean anything (an echo reverses a palindrome: 1 in 32 at length 10)."""
    task, probe = env_cls.task_class(), gym.make(f"glimpse_envs/{env_cls.env_name}").unwrapped
    top = probe.config.max_length
    cap = task.max_length(probe.config.memory_size, probe.config.access)
    if task.aligned:
        return [top]
    return sorted({min(cap, L) for L in (top, 2 * top)})


class Policy:
    """A batched memoryless (or delay-line) policy over the observation dicts of a vector env."""

    def __init__(self, kind: str, venv, rng: np.random.Generator):
        self.kind, self.rng = kind, rng
        self.n = venv.num_envs
        self.nvec = venv.single_action_space.nvec
        self.v = venv.unwrapped.task.num_symbols
        self.adv = 0 if self.nvec[0] == 1 else 1  # input move: the stream advances by itself
        self.delay = int(kind.rsplit("-", 1)[1]) if kind.startswith("echo-delay") else 0
        self.seen = np.full((self.n, max(self.delay, 1)), -1, np.int64)  # the last data symbols
        self.last = np.full(self.n, -1, np.int64)

    def __call__(self, obs) -> np.ndarray:
        inp, done = np.asarray(obs["input"]), np.asarray(obs["input_done"]).astype(bool)
        data = (inp >= 1) & (inp <= self.v)
        a = np.zeros((self.n, 4), np.int64)
        a[:, 0] = self.adv
        if self.kind == "random":
            return self.rng.integers(0, self.nvec, (self.n, 4))
        if self.kind == "echo":
            a[:, 3] = np.where(data, inp, 0)  # input code s + 1 is output action s + 1: emit s
        elif self.kind.startswith("echo-delay"):
            a[:, 3] = np.where(self.seen[:, 0] >= 0, self.seen[:, 0] + 1, 0)
            self.seen = np.concatenate([self.seen[:, 1:], np.where(data, inp - 1, -1)[:, None]], 1)
        elif self.kind == "constant":
            a[:, 3] = 1
        elif self.kind == "late-constant":
            a[:, 3] = done
        elif self.kind == "late-echo":
            self.last = np.where(data, inp - 1, self.last)
            a[:, 3] = np.where(done & (self.last >= 0), self.last + 1, 0)
        elif self.kind != "never":
            raise ValueError(self.kind)
        return a


POLICIES = [
    "echo",
    "echo-delay-1",
    "echo-delay-2",
    "echo-delay-3",
    "constant",
    "never",
    "late-constant",
    "late-echo",
    "random",
]


def _play(venv, kind: str, length: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One episode per sub-env: (returns, successes); steps after a sub-env's end are ignored."""
    obs, _ = venv.reset(seed=seed, options={"length": length})
    policy = Policy(kind, venv, np.random.default_rng(seed))
    n = venv.num_envs
    returns, success, active = np.zeros(n), np.zeros(n, bool), np.ones(n, bool)
    while active.any():
        obs, r, term, trunc, info = venv.step(policy(obs))
        returns += r * active
        ended = active & (term | trunc)
        success[ended] = np.asarray(info["is_success"])[ended]
        active &= ~ended
    return returns, success


CASES = [(cls, L) for cls in ENVS for L in _lengths(cls)]


@pytest.mark.parametrize("env_cls,length", CASES, ids=[f"{c.env_name}-L{L}" for c, L in CASES])
def test_degenerate_policies_fail(env_cls, length):
    env_id = f"glimpse_envs/{env_cls.env_name}"
    venv = gym.make_vec(env_id, num_envs=EPISODES, vectorization_mode="vector_entry_point")
    oracle, _, oracle_success, _ = run_vector(
        gym.make_vec(env_id, num_envs=EPISODES, vectorization_mode="vector_entry_point").unwrapped,
        env_id,
        [length] * EPISODES,
        seed=5,
    )
    if env_cls.task_class.aligned:  # the Bayes predictor is optimal, not perfect  # a prediction task: chance is a fair coin per prediction
        chance = (length - 1) / 2
        ceiling = chance + 0.5 * (oracle.mean() - chance)
    else:
        assert oracle_success.all()
        ceiling = 0.25 * oracle.mean()
    report = {}
    for kind in POLICIES:
        returns, success = _play(venv, kind, length, seed=5)
        report[kind] = (round(float(returns.mean()), 2), float(success.mean()))
    solved = {k: v for k, v in report.items() if v[1] > 0.02 or v[0] > ceiling}
    assert not solved, (
        f"{env_id} at length {length}: degenerate policies reach (mean return, success rate) "
        f"{solved}; the oracle's mean return is {oracle.mean():.1f}, the ceiling {ceiling:.1f}"
    )


@pytest.mark.parametrize("length", [1, 2, 3, 5, 10, 20, 40, 120])
def test_echo_policy_fails_copy_at_every_length(length):
    """The issue's exact reproduction: emitting the symbol being read solves nothing."""
    env = gym.make("glimpse_envs/Copy-v0")
    for seed in range(5):
        obs, _ = env.reset(seed=seed, options={"length": length})
        steps = 0
        while True:
            obs, r, term, trunc, info = env.step(np.array([0, 0, 0, obs["input"]]))
            steps += 1
            if term or trunc:
                break
        assert not info["is_success"] and info["correct"] == 0 and r == -0.5 and steps == 1


def test_output_counts_only_after_the_delimiter():
    """Copy under every access: the right symbol one step early is wrong; at the delimiter it counts."""
    for access in ("stream", "forward", "tape"):
        env = gym.make("glimpse_envs/Copy-v0", input_access=access)
        obs, _ = env.reset(seed=0, options={"length": 3})
        x = env.unwrapped._core.inputs[0, :3] - 1
        move = 0 if access == "stream" else 1
        for j in range(3):  # store x on the memory tape; emitting now would be early
            obs, r, term, _, _ = env.step(np.array([move, 1, x[j] + 1, 0]))
            assert r == 0 and not term
        assert obs["input"] == env.unwrapped.task.num_symbols + 1  # the delimiter is in view
        obs, r, term, _, info = env.step(np.array([0, 0, 0, x[0] + 1]))
        assert r == 1 and info["correct"] == 1  # emitting at the delimiter counts
        env.reset(seed=0, options={"length": 3})
        obs, r, term, _, info = env.step(np.array([move, 0, 0, x[0] + 1]))
        assert r == -0.5 and term and info["correct"] == 0  # the right symbol, too early


def test_revisiting_the_input_after_the_delimiter_is_allowed_on_a_tape():
    """With ``input_access="tape"`` the gate is sticky: once the delimiter has been read, the agent
    may walk back and copy from the input tape (the documented easier variant)."""
    env = gym.make("glimpse_envs/Copy-v0", input_access="tape")
    obs, _ = env.reset(seed=1, options={"length": 4})
    for _ in range(4):
        obs, *_ = env.step(np.array([1, 0, 0, 0]))
    for _ in range(4):
        obs, *_ = env.step(np.array([2, 0, 0, 0]))
    total = 0.0
    while True:
        obs, r, term, _, info = env.step(np.array([1, 0, 0, obs["input"]]))
        total += r
        if term:
            break
    assert info["is_success"] and total == 4


@pytest.mark.parametrize("env_id", TAPE_IDS)
def test_reset_info_reveals_no_target(env_id):
    """``target_length`` (RepeatCopy: the repeat count) is only reported once the episode ends."""
    env = gym.make(env_id)
    _, info = env.reset(seed=0)
    assert set(info) == {"length", "correct", "is_success"}
    while True:
        _, _, term, trunc, info = env.step(np.zeros(4, np.int64) + np.array([0, 0, 0, 1]))
        if term or trunc:
            break
        assert "target_length" not in info
    assert info["target_length"] >= 1
