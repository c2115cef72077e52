"""The one training loop: ``train.py`` (:mod:`agents.cli`) and the benchmarks drive a
:class:`~agents.base.Trainer` through :func:`train_updates`.

The loop runs ``trainer.train_iteration()`` until a budget of env steps, keeps the count and the
training clock (:class:`Progress`: seconds spent in updates, validation excluded), and calls back
at fixed points: after each update (``on_update``, inside ``guard``: an update and what is logged
of it are all or nothing), when a validation is due (every ``eval_every`` env steps), when a
checkpoint is due (every ``checkpoint_every``), and stops early at a wall-clock ``time_limit``.
What is logged, shown or saved is the caller's.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Progress:
    """Where a run is: env steps, updates and seconds spent in updates (over every piece of a
    resumed run), and the last update's metrics."""

    env_steps: int = 0
    train_s: float = 0.0
    updates: int = 0
    metrics: dict[str, float] = field(default_factory=dict)


def crossed(before: int, after: int, every: int) -> bool:
    """Whether a multiple of ``every`` lies in ``(before, after]`` (``every`` 0: never)."""
    return bool(every) and before // every != after // every


def train_updates(
    trainer: Any,
    steps: int,
    progress: Progress | None = None,
    *,
    eval_every: int = 0,
    validate: Callable[[Progress], Any] | None = None,
    validate_at_end: bool = False,
    checkpoint_every: int = 0,
    checkpoint: Callable[[Progress], Any] | None = None,
    on_update: Callable[[Progress, int], Any] | None = None,
    after_update: Callable[[Progress, int], Any] | None = None,
    guard: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
    time_limit: float = 0.0,
) -> tuple[Progress, str]:
    """Update ``trainer`` until ``progress.env_steps`` reaches ``steps``; returns the progress and
    why it stopped (``"budget"`` or ``"time_limit"``).

    Each update's metrics get ``charts/SPS``; ``on_update(progress, steps_before)`` runs inside
    ``guard()`` with the update, ``after_update`` outside it; then ``validate(progress)`` when a
    multiple of ``eval_every`` was crossed (and at the end with ``validate_at_end``), then
    ``checkpoint(progress)`` inside ``guard()`` when a multiple of ``checkpoint_every`` was.
    """
    p = progress if progress is not None else Progress()
    start = time.perf_counter()
    while p.env_steps < steps:
        before = p.env_steps
        with guard():
            t0 = time.perf_counter()
            metrics = trainer.train_iteration()
            took = time.perf_counter() - t0
            n = int(metrics.pop("env_steps"))
            p.env_steps += n
            p.train_s += took
            p.updates += 1
            metrics["charts/SPS"] = n / max(took, 1e-9)
            p.metrics = metrics
            if on_update is not None:
                on_update(p, before)
        if after_update is not None:
            after_update(p, before)
        if validate is not None and (
            crossed(before, p.env_steps, eval_every) or (validate_at_end and p.env_steps >= steps)
        ):
            validate(p)
        if checkpoint is not None and crossed(before, p.env_steps, checkpoint_every):
            with guard():
                checkpoint(p)
        if time_limit and time.perf_counter() - start > time_limit:
            return p, "time_limit"
    return p, "budget"
