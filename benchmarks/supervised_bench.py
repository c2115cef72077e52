"""Shared pieces of the soft-attention benchmarks (reproduce_draw.py, ntm_copy.py): train a Trainer
for a budget of env steps (with an optional wall-clock cap), and record where and how it ran."""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT))


def git_rev() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, check=False,
                               capture_output=True, text=True).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except Exception:  # noqa: BLE001 - not a git checkout
        return "unknown"


def machine(device: str) -> dict[str, Any]:
    import torch

    info = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": device,
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info


def header(device: str, budget: Any) -> dict[str, Any]:
    return {
        "command": " ".join([Path(sys.executable).name] + sys.argv),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "git": git_rev(),
        "machine": machine(device),
        "budget": budget,
    }


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


def write(name: str, record: dict[str, Any], markdown: str) -> Path:
    """``benchmarks/results/NAME.{json,md}``; returns the json path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(record, indent=2, default=float) + "\n")
    lines = [f"# {name}", "", f"- command: `{record['command']}`", f"- date: {record['date']}",
             f"- git: {record['git']}", f"- machine: {json.dumps(record['machine'])}",
             f"- budget: {json.dumps(record['budget'])}", "", markdown, ""]
    (RESULTS / f"{name}.md").write_text("\n".join(lines))
    return path
