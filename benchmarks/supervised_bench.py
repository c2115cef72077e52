"""Shared pieces of the soft-attention benchmarks (reproduce_draw.py, ntm_copy.py): train a Trainer
for a budget of env steps (with an optional wall-clock cap). Where and how it ran is recorded by
``hard_bench`` (``header``, ``write``), shared by every reproduction script."""

from __future__ import annotations

import time
from typing import Any

from hard_bench import RESULTS, ROOT, git_rev, header, write  # noqa: F401  (re-exported)


def train_for(trainer, steps: int, time_limit: float = 0.0, log_every: float = 30.0,
              label: str = "") -> dict[str, Any]:
    """Run ``train_iteration`` until ``steps`` env steps (or ``time_limit`` seconds) are used."""
    done = updates = 0
    start = last = time.perf_counter()
    metrics: dict[str, float] = {}
    stopped_by = "budget"
    while done < steps:
        metrics = trainer.train_iteration()
        done += int(metrics["env_steps"])
        updates += 1
        now = time.perf_counter()
        if log_every and now - last > log_every:
            last = now
            shown = {k.split("/")[-1]: round(float(v), 3) for k, v in metrics.items()
                     if k.startswith(("charts/", "losses/"))}
            print(f"  [{label}] {done:>10,d} steps {now - start:7.0f} s {shown}", flush=True)
        if time_limit and now - start > time_limit:
            stopped_by = "time_limit"
            break
    wall = time.perf_counter() - start
    return {"env_steps": done, "updates": updates, "train_wall_s": round(wall, 1),
            "stopped_by": stopped_by, "last_train_metrics": {k: float(v) for k, v in metrics.items()}}
