"""The contract between ``train.py`` and every agent, hard or soft.

``train.py`` builds a :class:`RunConfig` (the options every agent shares) and the agent's own
``Config`` dataclass from the command line, makes the agent's :class:`Trainer`, and then only calls
the methods below: it owns the loop, the progress bar, logging, checkpoints and the final report.
"""

from __future__ import annotations

import abc
import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from glimpse_envs.vector import option  # a field with help text: a train.py flag (re-exported)


@dataclass
class RunConfig:
    """Options every agent shares; each field is a ``train.py`` flag."""

    env: str = option("glimpse_envs/MNIST-v0", "registered env id to train on")
    agent: str = option("ram", "agent name (see --list)")
    seed: int = option(0, "seed of the env streams, the weights and the sampling")
    steps: int = option(
        200_000,
        "training budget in environment steps (one glimpse or one tape step each); supervised "
        "soft baselines count one step per glimpse (or sequence step) of each training example",
    )
    num_envs: int = option(64, "environments stepped in parallel (the batch size of RL agents)")
    device: str = option("cpu", "torch device: cpu, cuda, cuda:1, ...")
    out: str = option("runs", "folder under which the run folder env__agent__seed__time is made")
    lr: float = option(0.0, "learning rate; 0 keeps the agent's own default")
    eval_every: int = option(50_000, "validate every this many environment steps (0: never)")
    eval_episodes: int = option(1000, "episodes of the fixed split used for each validation")
    test_episodes: int = option(0, "test episodes at the end (0: the whole fixed test split)")
    checkpoint_every: int = option(100_000, "write a checkpoint every this many env steps")
    env_kwargs: dict = option({}, "extra keyword arguments for gym.make, as JSON")  # noqa: RUF009
    threads: int = option(
        1,
        "torch CPU threads (0: torch's default, one per core); 1 is fastest for these small "
        "networks and avoids oversubscription when runs share a machine",
    )


def iteration_seed(seed: int, iteration: int, *stream: int) -> int:
    """A 63-bit seed that is a pure function of ``(seed, iteration, *stream)``.

    Trainers draw each iteration's randomness (env resets, torch sampling) from generators seeded
    with this, so a run resumed at iteration ``i`` continues exactly as the uninterrupted run.
    """
    words = np.random.SeedSequence([int(seed), int(iteration), *map(int, stream), 2014])
    return int(words.generate_state(1, np.uint64)[0] >> np.uint64(1))


def set_decayed_lr(optimizer, lr: float, lr_final: float, done: int, budget: int) -> None:
    """The linear learning-rate schedule: ``lr`` at the start, ``lr_final`` once ``done`` of the
    ``budget`` env steps (``--steps``) are spent (and after); ``lr_final <= 0`` keeps ``lr``."""
    if lr_final <= 0:
        return
    frac = min(1.0, done / max(1, budget))
    for group in optimizer.param_groups:
        group["lr"] = lr + frac * (lr_final - lr)


def env_family(env_id: str) -> str:
    """``"visual"`` for glimpse ids, ``"tape"`` for memory ids (from the observation keys)."""
    import gymnasium as gym

    import glimpse_envs  # noqa: F401  (registers the ids)

    env = gym.make(env_id)
    try:
        keys = set(env.observation_space.spaces)
    finally:
        env.close()
    if "glimpse" in keys:
        return "visual"
    if "memory" in keys:
        return "tape"
    raise ValueError(f"{env_id!r} is neither a glimpse nor a tape env (observation keys {keys})")


def config_fields(cls: type) -> list[dataclasses.Field]:
    """The dataclass fields of a config class, in declaration order."""
    return list(dataclasses.fields(cls))


class Trainer(abc.ABC):
    """One agent learning on one env id.

    Subclasses set the class attributes and implement the abstract methods. Every random draw
    goes through generators seeded from ``run.seed`` (``train.py`` also seeds torch), so the same
    seed gives the same training curve on a CPU.
    """

    #: the name used by ``train.py --agent``
    name: ClassVar[str]
    #: one line for ``train.py --list``
    description: ClassVar[str]
    #: the env families it works on: "visual" (glimpse ids) and/or "tape" (memory ids)
    families: ClassVar[tuple[str, ...]]
    #: "hard" (sampled attention, RL), "soft" (differentiable attention) or "none"
    attention: ClassVar[str]
    #: the agent's own hyperparameters: a dataclass whose fields are made with :func:`option`
    Config: ClassVar[type]

    def __init__(self, run: RunConfig, cfg: Any):
        self.run = run
        self.cfg = cfg

    @abc.abstractmethod
    def train_iteration(self) -> dict[str, float]:
        """Do one update. Returns scalar metrics; ``"env_steps"`` is the steps it consumed.

        Keys are namespaced for TensorBoard: ``charts/...`` (reward, accuracy, ...) and
        ``losses/...``.
        """

    @abc.abstractmethod
    def evaluate(self, split: str, episodes: int) -> dict[str, float]:
        """Score on the fixed ``split`` ("validation" or "test"), the first ``episodes`` items.

        Visual: ``error`` (%), ``glimpses`` (mean per decision), ``pixels`` (sensed per
        decision). Tape: ``success`` (fraction of episodes solved), ``success@L`` per length,
        ``bit_errors@L`` where the agent predicts bits, and ``memory_cells`` touched per step.
        """

    @abc.abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue training exactly: weights, optimiser, generators."""

    @abc.abstractmethod
    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""

    def num_parameters(self) -> int:
        """Trainable parameters (for the benchmark tables)."""
        return 0

    def default_episodes(self, split: str) -> int:
        """How many fixed episodes ``train.py`` scores when asked for "all" (0) of ``split``.

        Visual agents: the whole split (10,000 test, 5,000 validation canvases). Tape agents
        override it with their own evaluation protocol's size.
        """
        return {"test": 10_000, "validation": 5_000}.get(split, 1_000)

    def export(self, folder) -> list:
        """Write the trained agent in its library's own format beside the checkpoint (``train.py``
        calls it at the end of a run); returns the paths written. Default: nothing (the
        checkpoint is the format); SB3 agents write ``model.zip`` for ``PPO.load``."""
        return []

    def close(self) -> None:  # noqa: B027  (an optional hook, not abstract)
        """Release envs and other resources (``train.py`` calls it at the end; default: nothing)."""

    @abc.abstractmethod
    def trace(self, split: str, index: int) -> dict[str, Any]:
        """What the agent attended to on one fixed episode, for the renders (tape agents also take
        ``length=`` to trace the fixed sequence of that length, the same for every agent).

        Visual agents return ``image`` (S, S) uint8, ``label``, ``prediction`` and either
        ``locations`` (T, 2) in [-1, 1] (hard), ``filters`` (soft: per step, the attention
        weights over the canvas, (T, S, S) float) or ``saliency`` (no attention, (S, S)).
        Tape agents return ``inputs``, ``targets``, ``outputs`` and ``read`` / ``write``
        weightings (T, memory cells) (one-hot for hard heads).
        """
