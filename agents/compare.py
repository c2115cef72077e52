"""One comparison figure: several agents' attention on the same fixed test canvas, one row each.

``python train.py compare --checkpoint RUN_A RUN_B ... [--index 0] [--out DIR] [--scale 1]``
loads each checkpoint, takes its agent's ``trace()`` of the same fixed test canvas and draws, with
matplotlib, one row per agent in the same layout, scale and caption strip:

* hard glimpses (RAM, PPO): the retina's squares of every glimpse (a legend keys each scale), the
  path in order, numbered labels that never overlap;
* soft attention (DRAW, soft tiles, a vision transformer): the attention weights summed over the
  steps, as a heat map over the canvas;
* no attention (CNN, MLP, LSTM): the saliency |d logit / d pixel|;

every heat map of the figure on one colour scale with its colour bar (each map is normalised to
sum 1 over the canvas, so shares are comparable), and a caption naming the env, agent, attention
kind, checkpoint, test index, label and prediction (a wrong one marked WRONG). The figure is
written as PNG and SVG (vector, real fonts); ``--scale`` multiplies its size (text stays at least
12 px at scale 1).

Tape checkpoints (the same tape env; ``--length`` picks the fixed sequence, the same for every
agent) give one row per agent: the write and read weightings over memory cells (y) against time
steps (x, left to right), both on the same cell window and the same pixels per cell, on one
0-1 colour scale, with the step at which the input ended marked; a hard head's write panel shows
only the steps where it wrote. Agents without an external memory show what they have instead:
the LSTM its input saliency, a transformer its self-attention over the steps.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROW_INCHES = 2.6
DPI = 100
SCALE_COLORS = ("#e41a1c", "#4daf4a", "#377eb8", "#984ea3")  # retina scales, finest first
FONT_PT = 12  # at DPI 100: 16.7 px
KIND_TEXT = {
    "hard": "hard attention: the glimpses, in order",
    "soft": "soft attention: weights summed over the steps",
    "none": "no attention: saliency |d logit / d pixel|",
}


def attention_map(trace: dict[str, Any]) -> tuple[str, np.ndarray | None]:
    """``(kind, map)``: ``hard`` (no map), or ``soft`` / ``none`` with an (S, S) map summing to 1."""
    if "locations" in trace:
        return "hard", None
    if "filters" in trace:
        m = np.asarray(trace["filters"], np.float64).sum(0)
        kind = "soft"
    elif "saliency" in trace:
        m = np.asarray(trace["saliency"], np.float64)
        kind = "none"
    else:
        raise ValueError(f"a visual trace has locations, filters or saliency; got {sorted(trace)}")
    total = m.sum()
    return kind, m / total if total > 0 else m


def _label_positions(points: np.ndarray, size: float, min_gap: float) -> np.ndarray:
    """Positions of the glimpse numbers: at each point, pushed off earlier labels until no two
    are closer than ``min_gap`` (kept on the canvas)."""
    placed: list[np.ndarray] = []
    offsets = [
        np.array(o, float)
        for o in (
            (0, 0),
            (1, -1),
            (-1, -1),
            (1, 1),
            (-1, 1),
            (0, -1.5),
            (1.5, 0),
            (0, 1.5),
            (-1.5, 0),
            (2, -2),
            (-2, 2),
            (2, 2),
            (-2, -2),
        )
    ]
    for p in points:
        for k in range(40):
            q = np.clip(
                p + offsets[k % len(offsets)] * min_gap * (1 + k // len(offsets)),
                min_gap / 2,
                size - min_gap / 2,
            )
            if all(np.abs(q - r).max() >= min_gap for r in placed):
                break
        placed.append(q)
    return np.array(placed)


def _save(fig, path_stem: str | Path, formats: Sequence[str]) -> list[Path]:
    """Write ``fig`` as ``path_stem.FORMAT`` for each format (the slides' one rule: real text in
    SVG and PDF, deterministic bytes), cropped to what is drawn, then close it."""
    from agents.slides import save

    return save(fig, path_stem, formats, tight=True)


def _finish(fig, bar_cell, artist, label: str, rows, font: float, path_stem, formats):
    """Both figures' end: the one colour bar (when a heat map was drawn), the title, the files."""
    if artist is not None:
        bar = fig.colorbar(artist, cax=fig.add_subplot(bar_cell))
        bar.set_label(label, fontsize=font * 0.75)
        bar.ax.tick_params(labelsize=font * 0.75)
    fig.suptitle(rows[0]["title"], fontsize=font * 1.1, y=0.995)
    return _save(fig, path_stem, formats), fig


def visual_figure(
    rows: Sequence[dict[str, Any]],
    path_stem: str | Path,
    scale: float = 1.0,
    formats: Sequence[str] = ("png", "svg"),
) -> tuple[list[Path], Any]:
    """Draw ``rows`` (each: ``trace``, ``sensor``, ``agent``, ``caption``) on the same canvas.

    Returns the files written and the matplotlib figure (closed; for tests to inspect)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import patches

    maps = [attention_map(r["trace"]) for r in rows]
    vmax = max([m.max() for _, m in maps if m is not None] or [1.0])
    n = len(rows)
    fig = plt.figure(figsize=(9.5 * scale, ROW_INCHES * n * scale), dpi=DPI)
    grid = fig.add_gridspec(n, 3, width_ratios=[1.0, 2.3, 0.06], wspace=0.12, hspace=0.3)
    font = FONT_PT * scale
    image_artist = None
    for i, (row, (kind, m)) in enumerate(zip(rows, maps)):
        trace = row["trace"]
        image = np.asarray(trace["image"])
        S = image.shape[0]
        ax = fig.add_subplot(grid[i, 0])
        ax.imshow(image, cmap="gray", vmin=0, vmax=255, extent=(0, S, S, 0))
        if kind == "hard":
            locs = np.asarray(trace["locations"], np.float64)
            centres = []
            for t, loc in enumerate(locs):
                squares = row["sensor"].squares(loc, S)
                for j, (x0, y0, w) in enumerate(squares):
                    ax.add_patch(
                        patches.Rectangle(
                            (x0, y0),
                            w,
                            w,
                            fill=False,
                            lw=1.2 * scale,
                            ec=SCALE_COLORS[j % len(SCALE_COLORS)],
                            alpha=0.9 if t == len(locs) - 1 else 0.45,
                        )
                    )
                x0, y0, w = squares[0]
                centres.append((x0 + w / 2, y0 + w / 2))
            centres = np.array(centres)
            ax.plot(centres[:, 0], centres[:, 1], "-", color="#ffd92f", lw=1.5 * scale)
            labels = _label_positions(centres, S, S / 9)
            for t, (x, y) in enumerate(labels):
                ax.text(
                    x,
                    y,
                    str(t + 1),
                    ha="center",
                    va="center",
                    fontsize=font * 0.8,
                    color="black",
                    gid=f"glimpse-label-{i}-{t}",
                    bbox={"boxstyle": "round,pad=0.15", "fc": "#ffd92f", "ec": "none"},
                )
            legend = None
            if hasattr(row["sensor"], "scales"):
                legend = [
                    patches.Patch(fill=False, ec=c, label=f"{row['sensor'].size * 2**j} px")
                    for j, c in enumerate(SCALE_COLORS[: row["sensor"].scales])
                ]
        else:
            image_artist = ax.imshow(
                m,
                cmap="inferno",
                vmin=0,
                vmax=vmax,
                alpha=0.65,
                extent=(0, S, S, 0),
                interpolation="nearest",
                gid=f"heat-{i}",
            )
        ax.set_xlim(0, S)
        ax.set_ylim(S, 0)
        ax.set_xticks([0, S // 2, S])
        ax.set_yticks([0, S // 2, S])
        ax.tick_params(labelsize=font * 0.75)
        text = fig.add_subplot(grid[i, 1])
        text.axis("off")
        if kind == "hard" and legend:
            text.legend(
                handles=legend,
                loc="lower left",
                bbox_to_anchor=(0.0, -0.12),
                ncol=len(legend),
                fontsize=font * 0.75,
                frameon=False,
                title="retina squares",
                title_fontsize=font * 0.75,
                alignment="left",
            )
        right = trace["prediction"] == trace["label"]
        verdict = "right" if right else "WRONG"
        text.text(
            0.0,
            0.95,
            row["agent"],
            fontsize=font * 1.1,
            weight="bold",
            va="top",
            transform=text.transAxes,
        )
        text.text(0.0, 0.72, KIND_TEXT[kind], fontsize=font, va="top", transform=text.transAxes)
        text.text(
            0.0,
            0.5,
            f"label {trace['label']}, prediction {trace['prediction']}: {verdict}",
            fontsize=font,
            va="top",
            color="#1a9850" if right else "#d73027",
            transform=text.transAxes,
        )
        text.text(
            0.0,
            0.28,
            row["caption"],
            fontsize=font * 0.75,
            va="top",
            wrap=True,
            transform=text.transAxes,
            color="#444444",
        )
    label = "share of the attention (one scale for every map)"
    return _finish(fig, grid[:, 2], image_artist, label, rows, font, path_stem, formats)


def main(argv: Sequence[str] | None = None, load_trainer=None) -> int:
    """``python train.py compare``: one figure of several checkpoints on the same test canvas."""
    parser = argparse.ArgumentParser(
        prog="python train.py compare",
        description="Draw several agents' attention on the same fixed test canvas, a row each.",
    )
    parser.add_argument(
        "--checkpoint",
        nargs="+",
        required=True,
        help="checkpoint files or run folders (the same visual env)",
    )
    parser.add_argument("--index", type=int, default=0, help="fixed test canvas (default 0)")
    parser.add_argument("--split", default="test", choices=["test", "validation"])
    parser.add_argument("--out", default="renders/compare", help="folder of the figure")
    parser.add_argument("--scale", type=float, default=1.0, help="figure size factor (default 1)")
    parser.add_argument(
        "--length",
        type=int,
        default=0,
        help="tapes: the fixed sequence's length (0: the first agent's default)",
    )
    parser.add_argument("--device", default=None)
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.scale <= 0:
        parser.error(f"--scale {args.scale}: must be > 0")
    if args.index < 0:
        parser.error(f"--index {args.index}: must be >= 0")
    if load_trainer is None:
        from agents.cli import load_trainer
    from agents.render import env_context

    rows, envs = [], set()
    length = args.length or None
    for ckpt_path in args.checkpoint:
        trainer, ckpt = load_trainer(ckpt_path, args.device)
        try:
            sensor, task = env_context(ckpt["env"], trainer.run.env_kwargs)
            if task is not None:
                trace = trainer.trace(args.split, args.index, length=length)
                length = length or int(trace["length"])  # the same sequence for every agent
            else:
                trace = trainer.trace(args.split, args.index)
        finally:
            trainer.close()
        envs.add(ckpt["env"])
        rows.append(
            {
                "trace": trace,
                "sensor": sensor,
                "agent": ckpt["agent"],
                "caption": f"{ckpt['env_steps']:,} env steps",
                "run": Path(ckpt["_path"]).parent.name,
            }
        )
    if len(envs) != 1:
        parser.error(f"the checkpoints are on different envs {sorted(envs)}: compare one env")
    env = envs.pop()
    tape = "image" not in rows[0]["trace"]
    if any(("image" not in r["trace"]) != tape for r in rows):
        parser.error("mix of visual and tape checkpoints: compare one env")
    what = f"sequence {args.index} of length {length}" if tape else f"canvas {args.index}"
    for r in rows:
        r["title"] = f"{env}, {args.split} {what}: " + (
            "memory reads and writes" if tape else "where each agent looked"
        )
    stem = Path(args.out) / f"{env.split('/')[-1]}__{args.split}_{args.index:04d}"
    draw = tape_figure if tape else visual_figure
    files, _ = draw(rows, stem, args.scale)
    command = "python train.py compare " + shlex.join(list(sys.argv[1:] if argv is None else argv))
    index = Path(args.out) / f"{stem.name}.md"
    index.write_text(
        f"# {rows[0]['title']}\n\n"
        f"![comparison]({files[0].name}) ([svg]({files[-1].name}))\n\nCommand: `{command}`\n\n"
        + "".join(f"- {r['agent']}: `{r['run']}`, {r['caption']}\n" for r in rows)
    )
    print("wrote " + ", ".join(str(f) for f in [*files, index]))
    return 0


def _tape_panels(trace: dict[str, Any]) -> list[tuple[str, np.ndarray, str]]:
    """(title, (T, N) matrix, y label) panels of one tape trace."""
    if "write" in trace and "read" in trace:
        return [
            ("writes", np.asarray(trace["write"]), "memory cell"),
            ("reads", np.asarray(trace["read"]), "memory cell"),
        ]
    if "read" in trace:  # a transformer: attention from each step to the steps
        return [("self-attention (rows: reading step)", np.asarray(trace["read"]), "step read")]
    s = np.asarray(trace["saliency"], np.float64)
    return [("input saliency", s / max(s.max(), 1e-12), "input bit")]


def tape_figure(
    rows: Sequence[dict[str, Any]],
    path_stem: str | Path,
    scale: float = 1.0,
    formats: Sequence[str] = ("png", "svg"),
) -> tuple[list[Path], Any]:
    """One row per agent of the same tape sequence (see the module docstring)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [_tape_panels(r["trace"]) for r in rows]
    # one memory window for every agent: the cells any of them touched, and a margin
    touched = [
        np.flatnonzero(m.max(0) > 0.01) for ps in panels for t, m, y in ps if y == "memory cell"
    ]
    cells = max([int(t.max()) + 3 for t in touched if len(t)] or [8])
    n = len(rows)
    fig = plt.figure(figsize=(11 * scale, 2.4 * n * scale), dpi=DPI)
    grid = fig.add_gridspec(n, 4, width_ratios=[1, 1, 0.9, 0.04], wspace=0.3, hspace=0.55)
    font = FONT_PT * scale
    artist = None
    for i, (row, ps) in enumerate(zip(rows, panels)):
        trace = row["trace"]
        inputs = np.asarray(trace["inputs"]).reshape(-1)
        for j, (title, m, ylabel) in enumerate(ps):
            ax = fig.add_subplot(grid[i, j])
            shown = m[:, :cells] if ylabel == "memory cell" else m
            artist = ax.imshow(
                shown.T,
                aspect="auto",
                origin="lower",
                cmap="viridis",
                vmin=0,
                vmax=1,
                interpolation="nearest",
                gid=f"tape-{i}-{j}",
                extent=(-0.5, shown.shape[0] - 0.5, -0.5, shown.shape[1] - 0.5),
            )
            ax.axvline(len(inputs) - 0.5, color="white", ls="--", lw=1.0 * scale)
            ax.set_title(title, fontsize=font * 0.85)
            ax.set_xlabel("time step (dashed: the input has been read)", fontsize=font * 0.75)
            ax.set_ylabel(ylabel, fontsize=font * 0.75)
            ax.tick_params(labelsize=font * 0.75)
        text = fig.add_subplot(grid[i, 2])
        text.axis("off")
        targets = np.asarray(trace["targets"]).reshape(-1)
        targets = targets[targets >= 0]
        outputs = np.asarray(trace["outputs"]).reshape(-1)
        outputs = outputs[outputs >= 0][: len(targets)]
        right = int((outputs == targets[: len(outputs)]).sum()) if len(outputs) else 0
        solved = bool(trace.get("success", right == len(targets) and len(outputs) == len(targets)))
        text.text(
            0.0,
            0.95,
            row["agent"],
            fontsize=font * 1.1,
            weight="bold",
            va="top",
            transform=text.transAxes,
        )
        text.text(
            0.0,
            0.7,
            f"{right} of {len(targets)} output symbols right",
            fontsize=font,
            va="top",
            transform=text.transAxes,
            color="#1a9850" if solved else "#d73027",
        )
        text.text(
            0.0,
            0.48,
            "solved" if solved else "FAILED",
            fontsize=font,
            va="top",
            transform=text.transAxes,
            color="#1a9850" if solved else "#d73027",
        )
        text.text(
            0.0,
            0.26,
            row["caption"],
            fontsize=font * 0.75,
            va="top",
            color="#444444",
            transform=text.transAxes,
            wrap=True,
        )
    label = "weight (one 0-1 scale for every panel)"
    return _finish(fig, grid[:, 3], artist, label, rows, font, path_stem, formats)
