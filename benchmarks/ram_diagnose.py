"""Where a RAM checkpoint's errors come from: did a glimpse land on the digit?

For the first N fixed canvases of a split, the checkpoint plays each episode as evaluation does
(mean locations) and this script compares its glimpse path with the digit's box, read from the
canvas's own description (``canvas.fixed_params``) and the digit's inked pixels: a glimpse
*finds* the digit when at least half of its finest patch lies on the box of the digit's ink. It
prints the share of canvases where some glimpse found the digit, the error on those and on the
others, the error by the glimpse that first found it, and the error by the distance from the
digit's ink centre to the nearest glimpse. An error mostly on canvases where no glimpse found the
digit is the policy's; an error where the digit was found is the classifier's.

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


def ink_box(image: np.ndarray, x: int, y: int) -> tuple[int, int, int, int]:
    """The box (x0, y0, w, h) of an object's nonzero pixels, placed at (x, y) on the canvas."""
    ink = np.asarray(image).reshape(image.shape[0], image.shape[1], -1).max(-1) > 0
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    if not len(rows):
        return (x, y, 0, 0)
    return (
        x + int(cols[0]),
        y + int(rows[0]),
        int(cols[-1] - cols[0] + 1),
        int(rows[-1] - rows[0] + 1),
    )


def diagnose(run_dir: str, split: str, n: int) -> dict:
    trainer, _ = load_trainer(run_dir)
    core = gym.make(trainer.run.env, **trainer.run.env_kwargs).unwrapped
    canvas, sensor, S = core.canvas, core.sensor, core.canvas.size
    images, _ = canvas.objects(split)
    rows = []
    for i in range(n):
        t = trainer.trace(split, i)
        k, x, y = canvas.fixed_params(split, [i])[0][:3].tolist()
        box = ink_box(images[k], x, y)
        squares = [sensor.squares(loc, S)[0] for loc in t["locations"]]
        found = [overlap(sq, box) >= 0.5 for sq in squares]
        first = next((k for k, f in enumerate(found) if f), -1)
        cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
        nearest = min(np.hypot(x0 + w / 2 - cx, y0 + w / 2 - cy) for x0, y0, w in squares)
        rows.append((t["prediction"] == t["label"], first, nearest))
    right = np.array([r for r, _, _ in rows])
    first = np.array([f for _, f, _ in rows])
    nearest = np.array([d for _, _, d in rows])
    g = sensor.squares((0.0, 0.0), S)[0][2]  # the finest patch's side
    bins = [(0, g / 2), (g / 2, g), (g, 2 * g), (2 * g, np.inf)]
    by_distance = {
        f"{lo:g}-{hi:g} px": {
            "canvases": int(m.sum()),
            "error": float(100 * (1 - right[m].mean())) if m.any() else None,
        }
        for lo, hi in bins
        for m in [(nearest >= lo) & (nearest < hi)]
    }
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
        "nearest_glimpse_px_median": float(np.median(nearest)),
        "by_nearest_glimpse_distance": by_distance,
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
        "the digit when at least half of its finest patch lies on the box of the digit's ink.",
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
    lines += [
        "",
        "Distance from the digit's ink centre to the nearest glimpse's centre (median "
        f"{result['nearest_glimpse_px_median']:.1f} px):",
        "",
        "| nearest glimpse | canvases | error % |",
        "|---|---|---|",
        *[
            f"| {k} | {v['canvases']} | {'-' if v['error'] is None else format(v['error'], '.1f')} |"
            for k, v in result["by_nearest_glimpse_distance"].items()
        ],
    ]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[8:]))


if __name__ == "__main__":
    main()
