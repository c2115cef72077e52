"""Drawing of the tape envs: ``ansi`` text and ``rgb_array`` frames (numpy only).

``ansi``: the input tape and the memory tape with their heads in brackets, the target, and the output
so far (correct symbols plain, a wrong one marked ``!``). ``rgb_array``: like the NTM paper's figures,
cells run down and time runs left to right (as ``train.py render`` draws tapes): the input, the
memory, the target and the output as columns of grey cells (symbol value as brightness; emitted
symbols green when right, red when wrong), beside the heads' positions over the last steps (input
head red, memory head blue), and a caption (the id, the step, the output so far and, once the
episode has ended, whether it was copied right).
"""

from __future__ import annotations

import numpy as np

from glimpse_envs import drawing as dr

CELL = 8


def _row(symbols, head: int | None, width: int = 3) -> str:
    out = []
    for j, s in enumerate(symbols):
        tok = "_" if s == 0 else str(int(s))
        out.append(f"[{tok:>{width}}]" if j == head else f" {tok:>{width}} ")
    return "".join(out)


def ansi(core, i: int) -> str:
    """Text frame of env ``i`` of a ``TapeCore``."""
    n_in = int(core.in_len[i])
    inputs = core.inputs[i, : n_in + 1]
    targets = core.targets[i, : int(core.tgt_len[i])]
    m = core.m
    mem_head = int(core.mem_pos[i])
    shown = min(m, max(n_in + 2, mem_head + 2, 16))
    lines = [
        (
            f"step {int(core.t[i])}/{int(core.limit[i])}  length {int(core.length[i])}  "
            f"correct {int(core.correct[i])}/{int(core.tgt_len[i])}"
        ),
        "input : " + _row(inputs, int(core.in_pos[i])),
        "memory: "
        + _row(core.mem[i, :shown], mem_head if mem_head < shown else None)
        + (f" ... head at {mem_head}" if mem_head >= shown else ""),
        "target: " + " ".join(str(int(s)) for s in targets),
    ]
    out = [str(int(s)) for s in targets[: int(core.correct[i])]] if not core.task.aligned else []
    if core.task.aligned and core.record:
        out = [
            ("_" if s < 0 else str(s)) + ("" if ok else "!") for _, _, s, ok, _ in core.history[i]
        ]
    elif core.wrong[i] and core.record and core.history[i]:
        out.append(f"{core.history[i][-1][2]}!")
    lines.append("output: " + " ".join(out) + ("  (timeout)" if core.timeout[i] else ""))
    return "\n".join(lines) + "\n"


def _gray(symbols, top: int) -> np.ndarray:
    v = np.asarray(symbols, np.float64)
    g = np.where(v < 0, 0, 40 + 215 * np.clip(v, 0, None) / max(top, 1)).astype(np.uint8)
    return g


def _column(values: np.ndarray) -> np.ndarray:
    """A column of grey cells, one per value (cells down), CELL_W wide and CELL_H tall each."""
    img = dr.gray_to_rgb(np.repeat(np.repeat(values[:, None], CELL_H, 0), CELL_W, 1))
    img[::CELL_H] = 20  # cell borders
    return img


CELL_W, CELL_H = 12, 4  # a tape column's cell: width and height (px)
TRACE_STEPS = 96  # the heads-over-time panel shows the most recent steps
STEP_W = 4  # px per step in that panel
CAPTION_H = 20


def rgb_array(core, i: int, name: str = "") -> np.ndarray:
    """RGB frame (H, W, 3) uint8 of env ``i`` of a ``TapeCore``; ``name`` heads the caption.

    Cells run down (one row of ``CELL_H`` px per memory cell) and time runs left to right. The
    frame's size depends only on the env's configuration, never on the episode, so video recorders
    get frames of one shape.
    """
    task = core.task
    m = core.m
    n_in = int(core.in_len[i])
    tgt = core.targets[i, : int(core.tgt_len[i])]
    hist = core.history[i] if core.record else []

    def pad(a):
        return np.concatenate([a[:m], np.full(max(0, m - len(a)), -1)])

    out_col = dr.blank(m * CELL_H, CELL_W)
    emitted = [ok for _, _, s, ok, _ in hist if s >= 0]
    for j, ok in enumerate(emitted[:m]):
        dr.fill_rect(out_col, 1, j * CELL_H + 1, CELL_W - 2, CELL_H - 1, dr.GREEN if ok else dr.RED)
    columns = [
        _column(_gray(pad(core.inputs[i, : n_in + 1]), task.input_size)),
        _column(_gray(pad(core.mem[i, :m]), task.input_size)),
        _column(_gray(pad(tgt + 1), task.output_size)),
        out_col,
    ]
    ip, mp = int(core.in_pos[i]), int(core.mem_pos[i])  # the heads now, outlined on the tapes
    if ip < m:
        dr.rect(columns[0], 0, ip * CELL_H, CELL_W, CELL_H, dr.RED)
    dr.rect(columns[1], 0, mp * CELL_H, CELL_W, CELL_H, dr.BLUE)
    tapes = dr.hstack(columns, gap=2, color=dr.GRAY)
    # heads over time, NTM-figure style: one column per step, the most recent at the right
    trace = dr.blank(m * CELL_H, TRACE_STEPS * STEP_W, (16, 16, 16))
    recent = hist[-TRACE_STEPS:]
    left = TRACE_STEPS - len(recent)
    for k, (hip, hmp, _, _, _) in enumerate(recent):
        x = (left + k) * STEP_W
        dr.fill_rect(trace, x, hmp * CELL_H, STEP_W, CELL_H, dr.BLUE)
        if hip < m:
            dr.fill_rect(trace, x, hip * CELL_H + 1, STEP_W, CELL_H - 2, dr.RED)
    image = dr.hstack([tapes, trace], gap=6, color=dr.BLACK)
    head = dr.blank(9, image.shape[1])  # the columns' names, and which way time runs
    for j, letter in enumerate("IMTO"):  # input, memory, target, output
        dr.text(head, j * (CELL_W + 2) + CELL_W // 2 - 1, 2, letter, dr.WHITE)
    dr.text(head, tapes.shape[1] + 6, 2, "HEADS: INPUT RED  MEMORY BLUE  TIME ->", dr.WHITE)
    image = dr.vstack([head, image])
    image = dr.vstack([image, _caption(core, i, name, len(emitted), image.shape[1])])
    extra_h, extra_w = -image.shape[0] % 16, -image.shape[1] % 16  # codecs want blocks of 16
    return dr.pad(image, image.shape[0] + extra_h, image.shape[1] + extra_w)


def _caption(core, i: int, name: str, emitted: int, width: int) -> np.ndarray:
    """The id and the step; the output count; once ended, RIGHT or WRONG (and why)."""
    bar = dr.blank(CAPTION_H, width)
    dr.text(bar, 2, 3, f"{name}  STEP {int(core.t[i])}".strip(), dr.WHITE)
    line = f"OUT {emitted}/{int(core.tgt_len[i])}"
    color = dr.WHITE
    if core.success[i]:
        line, color = line + " RIGHT", dr.GREEN
    elif core.wrong[i] or core.timeout[i]:
        line, color = line + (" WRONG" if core.wrong[i] else " TIME OUT"), dr.RED
    dr.text(bar, 2, 12, line, color)
    return bar
