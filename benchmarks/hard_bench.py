"""Shared pieces of the hard-attention reproduction benchmarks (reproduce_ram.py, reproduce_ppo.py,
reproduce_tape.py): train a Trainer for a budget of env steps with a validation curve, and record
the command, budget, machine, date and git revision beside the results."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from agents.provenance import git_rev, provenance  # noqa: F401  (git_rev re-exported)
from agents.run import Progress, train_updates

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def add_common_args(p, presets: dict, unit: str) -> None:
    """The flags every reproduction script shares (preset, budget, device, seed, threads, cap)."""
    p.add_argument("--preset", choices=sorted(presets), default="cpu")
    p.add_argument("--full", action="store_true", help="the large preset (use with --device cuda)")
    p.add_argument("--budget", type=int, default=0, help=f"env steps per {unit} (0: the preset's)")
    p.add_argument("--device", default="cpu", help="torch device: cpu, cuda, ...")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: torch default)")
    p.add_argument("--time-limit", type=float, default=0.0, help=f"wall-clock cap per {unit} (s)")


def resolve_preset(args, presets: dict) -> tuple[str, dict, int]:
    """``(preset name, preset, budget)`` from the common flags; sets torch's CPU threads."""
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    name = "full" if args.full else args.preset
    preset = dict(presets[name])
    return name, preset, args.budget or preset["budget"]


def header(device: str, budget: Any) -> dict[str, Any]:
    """The provenance every result file records (agents/provenance.py), with the budget."""
    return {**provenance(device), "budget": budget}


def train_with_curve(
    trainer,
    steps: int,
    eval_every: int,
    eval_episodes: int,
    time_limit: float = 0.0,
    label: str = "",
) -> dict[str, Any]:
    """Train to ``steps`` env steps (or ``time_limit`` s) through the one training loop
    (agents/run.py), validating every ``eval_every`` steps and at the end. Returns the curve and
    the seconds spent in updates (validation time excluded)."""
    curve: list[dict[str, float]] = []

    def validate(p: Progress) -> None:
        val = trainer.evaluate("validation", eval_episodes)
        point = {
            "env_steps": p.env_steps,
            "train_wall_s": round(p.train_s, 1),
            **{
                f"train/{k.split('/')[-1]}": float(v)
                for k, v in p.metrics.items()
                if k.startswith("charts/")
            },
            **{f"val/{k}": float(v) for k, v in val.items()},
        }
        curve.append(point)
        shown = {k: round(v, 3) for k, v in point.items() if k.startswith(("val/", "train/"))}
        print(f"  [{label}] {p.env_steps:>11,d} steps {p.train_s:7.0f} s {shown}", flush=True)

    p, stopped_by = train_updates(
        trainer,
        steps,
        eval_every=eval_every,
        validate=validate if eval_every else None,
        validate_at_end=True,
        time_limit=time_limit,
    )
    return {
        "env_steps": p.env_steps,
        "train_wall_s": round(p.train_s, 1),
        "stopped_by": stopped_by,
        "curve": curve,
        "last_train_metrics": {k: float(v) for k, v in p.metrics.items()},
    }


def _write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file: never half-written."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write(name: str, record: dict[str, Any], markdown: str, folder: Path | None = None) -> Path:
    """``benchmarks/results/NAME.{json,md}`` (or in ``folder``), each written whole (a run that
    rewrites them as it goes leaves no half file); returns the json path."""
    folder = RESULTS if folder is None else folder
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    _write_text(path, json.dumps(record, indent=2, default=float) + "\n")
    lines = [
        f"# {name}",
        "",
        f"- command: `{record['command']}`",
        f"- date: {record['date']}",
        f"- git: {record['git']}",
        f"- machine: {json.dumps(record['machine'])}",
        f"- budget: {json.dumps(record['budget'])}",
        "",
        markdown,
        "",
    ]
    _write_text(folder / f"{name}.md", "\n".join(lines))
    return path


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table (also readable printed)."""

    def fmt(v: Any) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(out)
