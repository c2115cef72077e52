"""Shared pieces of the soft-attention benchmarks (reproduce_draw.py, ntm_copy.py): train a Trainer
for a budget of env steps (with an optional wall-clock cap). Where and how it ran is recorded by
``hard_bench`` (``header``, ``write``), shared by every reproduction script."""

from __future__ import annotations

import time
from typing import Any

from hard_bench import RESULTS, ROOT, git_rev, header, write  # noqa: F401  (re-exported)

from agents.run import Progress, train_updates


def train_for(
    trainer, steps: int, time_limit: float = 0.0, log_every: float = 30.0, label: str = ""
) -> dict[str, Any]:
    """Train to ``steps`` env steps (or ``time_limit`` seconds) through the one training loop
    (agents/run.py), printing the last update's metrics every ``log_every`` seconds."""
    last = [time.perf_counter()]

    def show(p: Progress, before: int) -> None:
        if log_every and time.perf_counter() - last[0] > log_every:
            last[0] = time.perf_counter()
            shown = {
                k.split("/")[-1]: round(float(v), 3)
                for k, v in p.metrics.items()
                if k.startswith(("charts/", "losses/"))
            }
            print(f"  [{label}] {p.env_steps:>10,d} steps {p.train_s:7.0f} s {shown}", flush=True)

    p, stopped_by = train_updates(trainer, steps, after_update=show, time_limit=time_limit)
    return {
        "env_steps": p.env_steps,
        "updates": p.updates,
        "train_wall_s": round(p.train_s, 1),
        "stopped_by": stopped_by,
        "last_train_metrics": {k: float(v) for k, v in p.metrics.items()},
    }
