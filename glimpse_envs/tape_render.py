"""Drawing of the tape envs: ``ansi`` text and ``rgb_array`` frames (numpy only).

``ansi``: the input tape and the memory tape with their heads in brackets, the target, and the output
so far (correct symbols plain, a wrong one marked ``!``). ``rgb_array``: like the NTM paper's figures,
the input, the memory and the target/output as rows of grey cells (symbol value as brightness), and
below them the heads' positions over time (time down, cells across; input head in red, memory head in
blue), with the emitted symbols green when right and red when wrong.
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
        out = [("_" if s < 0 else str(s)) + ("" if ok else "!") for _, _, s, ok, _ in core.history[i]]
    elif core.wrong[i] and core.record and core.history[i]:
        out.append(f"{core.history[i][-1][2]}!")
    lines.append("output: " + " ".join(out) + ("  (timeout)" if core.timeout[i] else ""))
    return "\n".join(lines) + "\n"


def _gray(symbols, top: int) -> np.ndarray:
    v = np.asarray(symbols, np.float64)
    g = np.where(v < 0, 0, 40 + 215 * np.clip(v, 0, None) / max(top, 1)).astype(np.uint8)
    return g


def _cells(values: np.ndarray, cell: int = CELL) -> np.ndarray:
    img = dr.gray_to_rgb(np.repeat(np.repeat(values[None, :], cell, 0), cell, 1))
    img[:, ::cell] = 20  # cell borders
    return img


TRACE_STEPS = 96  # the heads-over-time panel shows the most recent steps
TRACE_SCALE = 2


def rgb_array(core, i: int) -> np.ndarray:
    """RGB frame (H, W, 3) uint8 of env ``i`` of a ``TapeCore``.

    The frame's size depends only on the env's configuration (one cell per memory cell across,
    the last ``TRACE_STEPS`` steps down), never on the episode, so video recorders get frames of
    one shape.
    """
    task = core.task
    width = core.m
    n_in = int(core.in_len[i])
    tgt = core.targets[i, : int(core.tgt_len[i])]
    hist = core.history[i] if core.record else []

    def pad(a):
        return np.concatenate([a[:width], np.full(max(0, width - len(a)), -1)])

    rows = [
        _cells(_gray(pad(core.inputs[i, : n_in + 1]), task.input_size)),
        _cells(_gray(pad(core.mem[i, :width]), task.input_size)),
        _cells(_gray(pad(tgt + 1), task.output_size)),
    ]
    out_row = dr.blank(CELL, width * CELL)
    emitted = [ok for _, _, s, ok, _ in hist if s >= 0]
    for j, ok in enumerate(emitted[-width:]):
        dr.fill_rect(out_row, j * CELL + 1, 1, CELL - 2, CELL - 2, dr.GREEN if ok else dr.RED)
    rows.append(out_row)
    frame = dr.vstack(rows, gap=2, color=dr.GRAY)
    # heads over time, NTM-figure style: one row per step, the most recent at the bottom
    trace = dr.blank(TRACE_STEPS * TRACE_SCALE, width * CELL, (16, 16, 16))
    recent = hist[-TRACE_STEPS:]
    top = TRACE_STEPS - len(recent)
    for k, (ip, mp, _, _, _) in enumerate(recent):
        y = (top + k) * TRACE_SCALE
        dr.fill_rect(trace, mp * CELL, y, CELL, TRACE_SCALE, dr.BLUE)
        if ip < width:
            dr.fill_rect(trace, ip * CELL + CELL // 4, y, CELL // 2, TRACE_SCALE, dr.RED)
    # current heads marked over the tapes
    ip = int(core.in_pos[i])
    if ip < width:
        dr.rect(frame, ip * CELL, 0, CELL, CELL, dr.RED)
    dr.rect(frame, int(core.mem_pos[i]) * CELL, CELL + 2, CELL, CELL, dr.BLUE)
    image = dr.vstack([frame, trace], gap=4, color=dr.BLACK)
    extra = -image.shape[0] % 16  # video codecs want sizes in blocks of 16
    return dr.vstack([image, dr.blank(extra, image.shape[1])], gap=0) if extra else image
