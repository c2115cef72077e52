"""Where a RAM checkpoint's errors come from: did a glimpse land on the digit?

For the first N fixed canvases of a split, the checkpoint plays each episode as evaluation does
(mean locations) and this script compares its glimpse path with the digit's box, read from the
canvas's own description (``canvas.fixed_params``): a glimpse *finds* the digit when at least half
of its finest patch lies on the digit's box. It prints the share of canvases where some glimpse
found the digit, the error on those and on the others, and the error by the glimpse that first
found it. An error mostly on canvases where no glimpse found the digit is the policy's; an error
where the digit was found is the classifier's.

    python benchmarks/ram_diagnose.py RUN_DIR [--split test] [--n 1000]

Writes ``benchmarks/results/ram_diagnose__RUN.{md,json}`` with the command, date, machine and
revision (``--out`` to change).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import gymnasium as gym
import numpy as np

from agents.cli import load_trainer
from agents.provenance import provenance

RESULTS = Path(__file__).resolve().parent / "results"


def overlap(square: tuple[int, int, int], box: tuple[int, int, int, int]) -> float:
    """The share of the square (x0, y0, w) that lies in the box (x0, y0, w, h)."""
    x0, y0, w = square
    bx, by, bw, bh = box
    ix = max(0, min(x0 + w, bx + bw) - max(x0, bx))
    iy = max(0, min(y0 + w, by + bh) - max(y0, by))
    return ix * iy / (w * w)


def diagnose(run_dir: str, split: str, n: int) -> dict:
    trainer, _ = load_trainer(run_dir)
    core = gym.make(trainer.run.env, **trainer.run.env_kwargs).unwrapped
    canvas, sensor, S = core.canvas, core.sensor, core.canvas.size
    oh, ow = canvas.object_shape
    rows = []
    for i in range(n):
        t = trainer.trace(split, i)
        _, x, y = canvas.fixed_params(split, [i])[0][:3].tolist()
        box = (x, y, ow, oh)
        found = [overlap(sensor.squares(loc, S)[0], box) >= 0.5 for loc in t["locations"]]
        first = next((k for k, f in enumerate(found) if f), -1)
        rows.append((t["prediction"] == t["label"], first))
    right = np.array([r for r, _ in rows])
    first = np.array([f for _, f in rows])
    hit = first >= 0
    by_first = {
        int(k): {
            "canvases": int((first == k).sum()),
            "error": float(100 * (1 - right[first == k].mean())),
        }
        for k in sorted(set(first.tolist()))
    }
    return {
        "run": Path(run_dir).name,
        "split": split,
        "canvases": n,
        "error": float(100 * (1 - right.mean())),
        "found_share": float(100 * hit.mean()),
        "error_found": float(100 * (1 - right[hit].mean())) if hit.any() else None,
        "error_not_found": float(100 * (1 - right[~hit].mean())) if (~hit).any() else None,
        "errors_from_not_found": float(100 * ((~right) & ~hit).sum() / max(1, (~right).sum())),
        "by_first_glimpse_on_digit": by_first,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir")
    p.add_argument("--split", default="test")
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--out", default="")
    args = p.parse_args()
    result = diagnose(args.run_dir, args.split, args.n)
    meta = provenance()
    out = Path(args.out) if args.out else RESULTS / f"ram_diagnose__{result['run']}"
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, **result}, indent=1) + "\n")
    lines = [
        f"# Where RAM's errors come from: {result['run']}",
        "",
        *[f"- {k}: {v}" for k, v in meta.items()],
        "",
        f"First {result['canvases']} fixed {result['split']} canvases, mean locations; a glimpse finds "
        "the digit when at least half of its finest patch lies on the digit's box.",
        "",
        "| error % | digit found by some glimpse % | error % when found | error % when not found "
        "| share of the errors on canvases where no glimpse found the digit % |",
        "|---|---|---|---|---|",
        "| {error:.1f} | {found_share:.1f} | {ef} | {enf} | {efnf:.1f} |".format(
            error=result["error"],
            found_share=result["found_share"],
            ef="-" if result["error_found"] is None else f"{result['error_found']:.1f}",
            enf="-" if result["error_not_found"] is None else f"{result['error_not_found']:.1f}",
            efnf=result["errors_from_not_found"],
        ),
        "",
        "| first glimpse on the digit (0 = the first glimpse; -1 = none) | canvases | error % |",
        "|---|---|---|",
        *[
            f"| {k} | {v['canvases']} | {v['error']:.1f} |"
            for k, v in result["by_first_glimpse_on_digit"].items()
        ],
    ]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[-12:]))


if __name__ == "__main__":
    main()
