"""The figures of ``python train.py render``, drawn with matplotlib: PNG at any ``--scale`` and SVG
or PDF with real text (a font, not pixels), for a slide or a paper.

* :func:`visual_slide`: the canvas with every step's attention on it (hard: the retina's squares,
  keyed by scale, and the numbered path; DRAW: the N x N filter grid, its border width the
  filters' standard deviation to scale; soft tiles: the tiles with at least half the top weight;
  no attention: the saliency), then one column per step (time runs to the right): the retina's
  views at each scale, or the step's weights over the canvas as a heat map and what they let
  through. Every heat map of an episode is on one colour scale, stated by one colour bar.
* :func:`tape_slide`: inputs, targets and outputs (bits against time), the write and read
  weightings (memory cell against time, the same cell window for both, one colour bar), with the
  input / delimiter / output phases marked.

Both carry a title (agent, env, split and index) and a caption (the checkpoint, the answer: a
wrong answer or a failed sequence says WRONG / FAILED in red). Text is at least 12 px at scale 1
(9 pt at 100 dpi).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agents.compare import SCALE_COLORS, _label_positions
from agents.render import DIGIT_COLORS, VisualEpisode, label_text, tape_data

DPI = 100
#: font sizes in points at scale 1 (at DPI 100: 1 pt = 1.39 px; the smallest, 9 pt, is 12.5 px)
TITLE_PT, TEXT_PT, SMALL_PT = 12.0, 10.0, 9.0
RIGHT_HEX, WRONG_HEX = "#1a9850", "#d73027"
HEAT_CMAP = "inferno"
#: inches per step column of the visual figure
CELL_IN = 1.1


def _rc(scale: float) -> dict[str, Any]:
    return {
        "font.size": TEXT_PT * scale,
        "axes.titlesize": SMALL_PT * scale,
        "axes.labelsize": SMALL_PT * scale,
        "xtick.labelsize": SMALL_PT * scale,
        "ytick.labelsize": SMALL_PT * scale,
        "legend.fontsize": SMALL_PT * scale,
        "legend.title_fontsize": SMALL_PT * scale,
        "svg.fonttype": "none",  # SVG text stays <text> in a font, not glyph outlines
        "svg.hashsalt": "glimpse-envs",  # deterministic ids
        "pdf.fonttype": 42,  # PDF: an embedded TrueType font, text selectable
    }


def save(fig: Any, stem: str | Path, formats: Sequence[str], tight: bool = False) -> list[Path]:
    """Write ``fig`` as ``stem.FORMAT`` per format (png, svg, pdf), deterministic, with real text
    in SVG and PDF, then close it; ``tight`` crops to the drawn content."""
    import matplotlib.pyplot as plt

    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    meta = {
        "png": {"Software": None},
        "svg": {"Date": None},
        "pdf": {"CreationDate": None, "ModDate": None},
    }
    with plt.rc_context({k: v for k, v in _rc(1.0).items() if k.startswith(("svg", "pdf"))}):
        for fmt in formats:
            path = stem.with_name(f"{stem.name}.{fmt}")
            fig.savefig(
                path,
                format=fmt,
                dpi=DPI,
                metadata=meta.get(fmt),
                facecolor="white",
                bbox_inches="tight" if tight else None,
            )
            written.append(path)
    plt.close(fig)
    return written


def _verdict(ok: bool, right_word: str, wrong_word: str) -> tuple[str, str]:
    return (right_word, RIGHT_HEX) if ok else (wrong_word, WRONG_HEX)


def _heading(
    fig: Any, title: str, caption: Sequence[tuple[str, str]], scale: float, height_in: float
) -> None:
    """The title at the top and the caption lines (text, colour) at the bottom of the figure
    (``height_in`` inches high, scale included)."""
    fig.text(
        0.01,
        1 - 0.25 * scale / height_in,
        title,
        fontsize=TITLE_PT * scale,
        weight="bold",
        va="center",
        gid="title",
    )
    for j, (line, color) in enumerate(caption):
        y = (0.15 + 0.24 * (len(caption) - 1 - j)) * scale / height_in
        fig.text(
            0.01, y, line, fontsize=TEXT_PT * scale, va="center", color=color, gid=f"caption-{j}"
        )


def _show(
    ax: Any,
    img: np.ndarray,
    cmap: str = "gray",
    vmin: float | None = None,
    vmax: float | None = None,
    extent: Any = None,
) -> Any:
    """An image in an axes without ticks: grayscale on ``cmap`` (uint8: 0-255, float: 0-1 unless
    ``vmin`` / ``vmax`` say otherwise), colour as it is."""
    img = np.asarray(img)
    top = 255.0 if img.dtype == np.uint8 else 1.0
    if img.ndim == 3:
        img = np.clip(img.astype(np.float64) / top, 0, 1)
    artist = ax.imshow(
        img,
        cmap=cmap,
        vmin=0.0 if vmin is None else vmin,
        vmax=top if vmax is None else vmax,
        interpolation="none",
        extent=extent,
    )
    ax.set_xticks([])
    ax.set_yticks([])
    return artist


def visual_slide(ep: VisualEpisode, title: str, caption: str, scale: float = 1.0) -> Any:
    """The figure of one visual episode (see the module docstring); returns the open figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import patches

    with plt.rc_context(_rc(scale)):
        return _visual(ep, title, caption, scale, plt, patches)


def _visual(
    ep: VisualEpisode, title: str, caption: str, scale: float, plt: Any, patches: Any
) -> Any:
    S, T, kind = ep.S, ep.steps, ep.kind
    rows = ep.columns if kind == "hard" else 2 if kind == "soft" else 1
    cols = T if kind != "none" else 1
    cell = CELL_IN if kind != "none" else 3.2
    canvas_in = max(3.2, rows * cell) if kind != "none" else 3.2
    heat = kind != "hard"
    ratios = [canvas_in / cell * 1.25, *([1.0] * cols)] + ([0.08, 0.35] if heat else [])
    body_w = (canvas_in * 1.25 + cols * cell + (0.43 * cell if heat else 0)) * 1.12
    body_h = max(canvas_in, rows * cell * 1.18)
    top_in, bottom_in = 0.55, 1.35 + 0.24 * (1 + caption.count("\n"))
    W, H = (body_w + 0.9) * scale, (body_h + top_in + bottom_in) * scale
    fig = plt.figure(figsize=(W, H), dpi=DPI)
    grid = fig.add_gridspec(
        rows,
        len(ratios),
        width_ratios=ratios,
        left=0.6 * scale / W,
        right=0.99,
        top=1 - top_in * scale / H,
        bottom=bottom_in * scale / H,
        wspace=0.12,
        hspace=0.25,
    )
    ax = fig.add_subplot(grid[:, 0])
    _show(ax, ep.image, extent=(0, S, S, 0))
    ax.set_xlim(0, S)
    ax.set_ylim(S, 0)
    ticks = [0, S // 2, S]
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.set_xlabel("x (canvas pixels)")
    ax.set_ylabel("y (canvas pixels)")
    px_pt = ax.get_position().width * W * 72 / S  # points per canvas pixel
    vmax = 1.0
    legend: list[Any] = []
    if kind == "hard":
        _hard_canvas(ax, ep, scale, patches, legend)
    elif kind == "soft":
        vmax = ep.vmax
        _soft_canvas(ax, ep, scale, px_pt, patches, legend)
    else:
        ax.imshow(
            ep.saliency,
            cmap=HEAT_CMAP,
            vmin=0,
            vmax=1,
            alpha=0.6,
            extent=(0, S, S, 0),
            interpolation="none",
            gid="heat-canvas",
        )
    if legend:
        ax.legend(
            handles=legend,
            loc="upper left",
            bbox_to_anchor=(-0.1, -0.5 / canvas_in),
            ncol=min(len(legend), 3),
            frameon=False,
            borderaxespad=0,
            handlelength=1.2,
            columnspacing=0.8,
        )
    artist = None
    for t in range(cols):
        for r in range(rows):
            a = fig.add_subplot(grid[r, 1 + t])
            if kind == "hard":
                _show(a, ep.views[t, r])
                for side in a.spines.values():
                    side.set_edgecolor(SCALE_COLORS[r % len(SCALE_COLORS)])
                    side.set_linewidth(2 * scale)
                if t == 0:
                    a.set_ylabel(
                        f"{ep.sensor.size * 2**r} px"
                        if hasattr(ep.sensor, "scales") and ep.sensor.scales > 1
                        else "tile"
                    )
            elif kind == "soft" and r == 0:
                artist = _show(a, ep.maps[t], cmap=HEAT_CMAP, vmin=0, vmax=vmax)
                artist.set_gid(f"heat-{t}")
                if t == 0:
                    a.set_ylabel("weights")
            elif kind == "soft":
                if ep.views is not None:
                    _show(a, ep.views[t], vmin=0, vmax=1)
                    label = f"{ep.views.shape[-1]} x {ep.views.shape[-1]} glimpse"
                else:
                    w = ep.maps[t] / (ep.maps[t].max() or 1.0)
                    seen = ep.image / 255.0 * (w if ep.image.ndim == 2 else w[..., None])
                    _show(a, seen, vmin=0, vmax=1)
                    label = "let through"
                if t == 0:
                    a.set_ylabel(label)
            else:
                artist = _show(a, ep.saliency, cmap=HEAT_CMAP, vmin=0, vmax=1)
                artist.set_gid("heat-0")
                a.set_title("saliency alone")
            if r == 0 and kind != "none":
                head = f"{'glimpse' if kind == 'hard' else 'step'} {t + 1}"
                if kind == "soft" and ep.grid is not None:
                    sigma = float(np.sqrt(ep.grid[t][3]))
                    head += f"\nσ {sigma:.1f} px"
                a.set_title(head)
    if artist is not None:
        cax = fig.add_subplot(grid[0, len(ratios) - 2], label="colorbar")
        bar = fig.colorbar(artist, cax=cax)
        if kind == "none":
            bar.set_label("|d logit / d pixel|\n(÷ its 99.5th percentile)")
        elif ep.grid is not None:
            bar.set_label("pixel weight in the glimpse\n(one scale, all steps)")
        else:
            bar.set_label("tile weight\n(one scale, all steps)")
    ok = label_text(ep.label) == label_text(ep.prediction)
    word, color = _verdict(ok, "right", "WRONG")
    lines = [
        (f"label {label_text(ep.label)}, prediction {label_text(ep.prediction)}: {word}", color)
    ]
    lines += [(c, "#333333") for c in caption.split("\n") if c]
    _heading(fig, title, lines, scale, H)
    return fig


def _hard_canvas(ax: Any, ep: VisualEpisode, scale: float, patches: Any, legend: list) -> None:
    S, T = ep.S, ep.steps
    for t, boxes in enumerate(ep.boxes):
        for j, (x0, y0, w) in enumerate(boxes):
            ax.add_patch(
                patches.Rectangle(
                    (x0, y0),
                    w,
                    w,
                    fill=False,
                    lw=1.2 * scale,
                    ec=SCALE_COLORS[j % len(SCALE_COLORS)],
                    alpha=0.95 if t == T - 1 else 0.5,
                    gid=f"square-{t}-{j}",
                )
            )
    centres = np.array(ep.centres) / ep.f
    digits = ep.digits if ep.digits.any() else None
    for t in range(1, T):
        c = "#ffd92f" if digits is None else _hex(DIGIT_COLORS[digits[t] % len(DIGIT_COLORS)])
        ax.plot(centres[t - 1 : t + 1, 0], centres[t - 1 : t + 1, 1], "-", color=c, lw=1.5 * scale)
    for t, (x, y) in enumerate(_label_positions(centres, S, S / 9)):
        c = "#ffd92f" if digits is None else _hex(DIGIT_COLORS[digits[t] % len(DIGIT_COLORS)])
        ax.text(
            x,
            y,
            str(t + 1),
            ha="center",
            va="center",
            fontsize=SMALL_PT * scale,
            color="black",
            gid=f"glimpse-label-{t}",
            bbox={"boxstyle": "round,pad=0.15", "fc": c, "ec": "none"},
        )
    sensor = ep.sensor
    for j in range(ep.columns):
        name = (
            f"{sensor.size * 2**j} px square"
            if hasattr(sensor, "scales") and not hasattr(sensor, "tile_index")
            else "tile"
        )
        legend.append(
            patches.Patch(fill=False, ec=SCALE_COLORS[j % len(SCALE_COLORS)], lw=2, label=name)
        )
    if digits is not None:
        legend += [
            patches.Patch(color=_hex(DIGIT_COLORS[d % len(DIGIT_COLORS)]), label=f"digit {d + 1}")
            for d in range(int(digits.max()) + 1)
        ]
    else:
        legend.append(patches.Patch(color="#ffd92f", label="path, in order"))


def _soft_canvas(
    ax: Any, ep: VisualEpisode, scale: float, px_pt: float, patches: Any, legend: list
) -> None:
    S, T = ep.S, ep.steps
    centres = []
    for t in range(T):
        x0, y0, x1, y1 = (v / ep.f for v in ep.boxes[t])
        alpha = 0.95 if t == T - 1 else 0.5
        if ep.grid is not None:  # the border width is the filters' sigma, to scale
            lw = float(np.sqrt(ep.grid[t][3])) * px_pt
        else:
            lw = 1.5 * scale
        ax.add_patch(
            patches.Rectangle(
                (x0, y0),
                x1 - x0,
                y1 - y0,
                fill=False,
                lw=lw,
                ec="#4daf4a",
                alpha=alpha,
                gid=f"box-{t}",
            )
        )
        centres.append(((x0 + x1) / 2, (y0 + y1) / 2))
    centres = np.array(centres)
    ax.plot(centres[:, 0], centres[:, 1], "-", color="#ffd92f", lw=1.5 * scale)
    for t, (x, y) in enumerate(_label_positions(centres, S, S / 9)):
        ax.text(
            x,
            y,
            str(t + 1),
            ha="center",
            va="center",
            fontsize=SMALL_PT * scale,
            color="black",
            gid=f"glimpse-label-{t}",
            bbox={"boxstyle": "round,pad=0.15", "fc": "#ffd92f", "ec": "none"},
        )
    if ep.grid is not None:
        n = int(ep.trace.get("read_n") or 12)
        legend.append(
            patches.Patch(
                fill=False,
                ec="#4daf4a",
                lw=2,
                label=f"{n} x {n} filter grid;\nborder width = σ, to scale",
            )
        )
    else:
        legend.append(
            patches.Patch(fill=False, ec="#4daf4a", lw=2, label="tiles with ≥ half the top weight")
        )
    legend.append(patches.Patch(color="#ffd92f", label="centre path, in order"))


def _hex(color: Sequence[int]) -> str:
    return "#" + "".join(f"{int(c):02x}" for c in color)


def tape_slide(
    trace: dict[str, Any], task: Any, title: str, caption: str, scale: float = 1.0
) -> Any:
    """The figure of one tape episode (see the module docstring); returns the open figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import patches

    d = tape_data(trace, task)
    with plt.rc_context(_rc(scale)):
        return _tape(d, title, caption, scale, plt, patches)


def _tape(d: dict[str, Any], title: str, caption: str, scale: float, plt: Any, patches: Any) -> Any:
    T = d["T"]
    panels: list[tuple[str, np.ndarray, str]] = [
        ("input", d["inputs"].T, "bit"),
        ("target", d["targets"].T, "bit"),
        ("output", d["output_colors"], "bit"),
    ]
    if d["saliency"] is not None:
        s = d["saliency"]
        panels.append(("input saliency", s.T / max(float(np.percentile(s, 99.5)), 1e-12), "bit"))
    for name in ("write", "read"):
        if d[name] is not None:
            panels.append((name, d[name].T, "memory cell"))
    row_in = 0.11
    # bits at 0.11 in a row; a memory window at most 2.2 in high (128 cells: 1.7 px a cell)
    heights = [
        max(0.55, min(m.shape[0] * row_in, 2.2 if y == "memory cell" else 99)) for _, m, y in panels
    ]
    width_in = min(16.0, max(6.0, 0.16 * T + 2.5))
    top_in, bottom_in = 1.2, 1.35 + 0.24 * (1 + caption.count("\n"))
    W = (width_in + 2.2) * scale
    H = (sum(heights) + 0.3 * len(panels) + top_in + bottom_in) * scale
    fig = plt.figure(figsize=(W, H), dpi=DPI)
    grid = fig.add_gridspec(
        len(panels),
        2,
        height_ratios=heights,
        width_ratios=[1, 0.02],
        left=1.45 * scale / W,
        right=1 - 0.75 * scale / W,
        top=1 - top_in * scale / H,
        bottom=bottom_in * scale / H,
        hspace=0.35 * len(panels) / max(sum(heights), 1),
        wspace=0.02,
    )
    extent = (-0.5, T - 0.5, None, None)
    axes, heat = [], None
    for i, (name, m, ylabel) in enumerate(panels):
        ax = fig.add_subplot(grid[i, 0], sharex=axes[0] if axes else None)
        n = m.shape[0]
        ext = (extent[0], extent[1], n - 0.5, -0.5)
        if m.ndim == 3:
            ax.imshow(m, aspect="auto", interpolation="none", extent=ext, gid=f"tape-{name}")
        elif ylabel == "memory cell":
            heat = ax.imshow(
                m,
                aspect="auto",
                cmap="viridis",
                vmin=0,
                vmax=1,
                interpolation="none",
                extent=ext,
                gid=f"tape-{name}",
            )
        else:
            ax.imshow(
                m,
                aspect="auto",
                cmap="gray",
                vmin=0,
                vmax=1,
                interpolation="none",
                extent=ext,
                gid=f"tape-{name}",
            )
        ax.set_ylabel(f"{name}\n({ylabel})", rotation=0, ha="right", va="center")
        if ylabel == "memory cell":
            cells = d["cells"]
            idx = np.unique(np.linspace(0, n - 1, min(n, 5)).round().astype(int))
            ax.set_yticks(idx, [str(int(cells[k])) for k in idx])
        else:
            ax.set_yticks([0, n - 1], ["1", str(n)] if n > 1 else ["1", "1"])
        ax.tick_params(labelbottom=i == len(panels) - 1)
        _phases(ax, d, scale)
        axes.append(ax)
    axes[-1].set_xlabel("time step")
    _phase_labels(axes[0], d, scale)
    if heat is not None:
        mem = [i for i, p in enumerate(panels) if p[2] == "memory cell"]
        cax = fig.add_subplot(grid[mem[0] : mem[-1] + 1, 1], label="colorbar")
        bar = fig.colorbar(heat, cax=cax)
        bar.set_label("weight (one 0-1 scale\nfor writes and reads)")
    legend = [
        patches.Patch(fc="white", ec="#888888", label="1"),
        patches.Patch(fc="black", label="0 (or no output)"),
        patches.Patch(fc="#303030", label="0 output"),
        patches.Patch(fc=_hex((230, 40, 40)), label="wrong 1"),
        patches.Patch(fc=_hex((110, 30, 30)), label="missing 1"),
    ]
    n_lines = 1 + caption.count("\n")
    fig.legend(
        handles=legend,
        loc="lower left",
        ncol=5,
        frameon=False,
        title="bits:",
        alignment="left",
        bbox_to_anchor=(0.01, (0.15 + 0.24 * n_lines) * scale / H),
    )
    word, color = _verdict(d["success"], "SOLVED", "FAILED")
    lines = [(f"{word}: {d['right']} of {d['n_targets']} output symbols right", color)]
    lines += [(c, "#333333") for c in caption.split("\n") if c]
    _heading(fig, title, lines, scale, H)
    return fig


def _phases(ax: Any, d: dict[str, Any], scale: float) -> None:
    """Dashed lines at the phase boundaries: the delimiter step (or the input's end) and the
    first step an output is due."""
    marks = {d["input_end"] + 0.5}
    if d["delimiter"] is not None:
        marks.add(d["delimiter"] - 0.5)
    if d["output_start"] is not None:
        marks.add(d["output_start"] - 0.5)
    for x in sorted(marks):
        ax.axvline(x, color="#41b6c4", ls="--", lw=1.0 * scale)


def _phase_labels(ax: Any, d: dict[str, Any], scale: float) -> None:
    """``input``, ``delimiter`` and ``output`` above the top panel, over their steps."""
    from matplotlib.transforms import blended_transform_factory

    tr = blended_transform_factory(ax.transData, ax.transAxes)
    end = d["delimiter"] - 1 if d["delimiter"] is not None else d["input_end"]
    spans = [("input", -0.5, end + 0.5, 1.08)]
    if d["delimiter"] is not None:
        spans.append(("delimiter", d["delimiter"] - 0.5, d["delimiter"] + 0.5, 1.55))
    if d["output_start"] is not None:
        spans.append(("output", d["output_start"] - 0.5, d["T"] - 0.5, 1.08))
    for name, x0, x1, y in spans:
        ax.annotate(
            "",
            xy=(x0, y - 0.06),
            xytext=(x1, y - 0.06),
            xycoords=tr,
            textcoords=tr,
            arrowprops={
                "arrowstyle": "|-|",
                "lw": 0.8 * scale,
                "color": "#41b6c4",
                "mutation_scale": 3 * scale,
            },
        )
        ax.text(
            (x0 + x1) / 2,
            y,
            name,
            transform=tr,
            ha="center",
            va="bottom",
            fontsize=SMALL_PT * scale,
            color="#225ea8",
            gid=f"phase-{name}",
        )
