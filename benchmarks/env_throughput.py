"""Steps per second of every registered ``glimpse_envs/`` id: single, SyncVectorEnv, native vector.

For each id (visual and tape alike, found in the registry, so new ids are measured with no edit):

* ``single``: one env from ``gym.make`` (with its default wrappers), reset when an episode ends;
* ``sync N``: Gymnasium's ``SyncVectorEnv`` of N single envs (``vectorization_mode="sync"``);
* ``native N``: the id's own batched env (``vectorization_mode="vector_entry_point"``);
* ``sensor``: for visual ids, the glimpse sensor alone on 1024 prepared canvases (glimpses/s).

Actions are drawn in advance from a seeded generator. Visual ids use a "look" policy: random grid
locations with decision 0 (keep looking), so every episode runs its whole glimpse budget and ends
there, as a RAM agent's would. Tape ids are measured under two policies, one row each:

* ``random``: the action space sampled uniformly. A random output symbol is almost always wrong
  and ends the episode, so nearly every step is followed by a reset: this measures resets.
* ``no-emit``: random head moves and writes, output 0 (emit nothing), the tape analogue of the
  visual "keep looking" policy: episodes run to the task's time limit, so this measures steps.

    python benchmarks/env_throughput.py            # everything, ~2 s per measurement
    python benchmarks/env_throughput.py --quick    # ~0.4 s per measurement, fewer sizes
    python benchmarks/env_throughput.py --ids ClutteredMNIST-v0 Copy
    python benchmarks/env_throughput.py --tape-policy no-emit   # one tape policy only
    python benchmarks/env_throughput.py --reset-costs 256   # where a visual reset's time goes

``--reset-costs N`` times the three batched parts of N visual resets (canvas rendering, preparing
the canvases for the sensor, the first glimpse) and the native env's look step, per canvas, and
derives the cost of a step where every row resets: where the ``random`` rows' time goes.

Writes ``benchmarks/results/env_throughput.{md,json}`` with the date, machine, git revision and
command, and prints the table. The baseline (SyncVectorEnv) runs in the same process.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

import glimpse_envs
from agents.provenance import git_rev, provenance

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
NATIVE_SIZES = (1, 64, 256, 1024)
SYNC_SIZES = (64, 256)


def _is_glimpse(env) -> bool:
    return hasattr(env.unwrapped, "sensor") and hasattr(env.unwrapped, "budget")


TAPE_POLICIES = ("random", "no-emit")


def _action_pool(space: gym.Space, policy: str, n: int, seed: int = 0) -> list:
    """``n`` actions: ``look`` (visual: decision 0), ``random`` or ``no-emit`` (tape: output 0)."""
    space.seed(seed)
    pool = [space.sample() for _ in range(n)]
    for a in pool:
        if policy == "look":
            a[..., 2:] = 0  # decision 0 (keep looking); the continuous variant is not benchmarked
        elif policy == "no-emit":
            a[..., 3] = 0  # output 0: emit nothing (heads move and write at random)
    return pool


VISUAL_POLICIES = ("look", "random")


def _policies(env_id: str, tape_policy: str = "both") -> tuple[str, ...]:
    env = gym.make(env_id)
    glimpse = _is_glimpse(env)
    env.close()
    if glimpse:
        return VISUAL_POLICIES
    return TAPE_POLICIES if tape_policy == "both" else (tape_policy,)


def bench_single(env_id: str, seconds: float, policy: str = "look") -> float:
    env = gym.make(env_id)
    pool = _action_pool(env.action_space, policy, 256)
    env.reset(seed=0)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for a in pool:
            _, _, term, trunc, _ = env.step(a)
            if term or trunc:
                env.reset()
        steps += len(pool)
    rate = steps / (time.perf_counter() - start)
    env.close()
    return rate


@contextlib.contextmanager
def checkout(rev: str):
    """A temporary ``git worktree`` of revision ``rev`` (removed afterwards): its folder."""
    folder = tempfile.mkdtemp(prefix="glimpse_envs_at_")
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", folder, rev], check=True
    )
    try:
        yield folder
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", folder])


def bench_at(folder: str, what: str, env_id: str, seconds: float, policy: str) -> float:
    """``what`` (``single``: :func:`bench_single`; ``native``: the native vector env of 256
    sub-envs, :func:`bench_vector`) of the package in ``folder`` (another revision), in a
    subprocess."""
    out = subprocess.run(
        [sys.executable, __file__, "--one", what, env_id, policy, str(seconds)],
        env={**os.environ, "PYTHONPATH": folder},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.split()[-1])


def _native_256(env_id: str, seconds: float, policy: str) -> float:
    return bench_vector(env_id, 256, "vector_entry_point", seconds, policy)


def bench_vector(env_id: str, n: int, mode: str, seconds: float, policy: str = "look") -> float:
    envs = gym.make_vec(env_id, num_envs=n, vectorization_mode=mode)
    pool = _action_pool(envs.action_space, policy, 16)
    envs.reset(seed=0)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for a in pool:
            envs.step(a)
        steps += len(pool) * n
    rate = steps / (time.perf_counter() - start)
    envs.close()
    return rate


def bench_sensor(env_id: str, seconds: float, batch: int = 1024) -> float | None:
    env = gym.make(env_id)
    if not _is_glimpse(env):
        return None
    core = env.unwrapped
    images, _ = core.canvas.sample(np.random.default_rng(0), batch)
    prepared = core.sensor.prepare(images)
    locations = np.random.default_rng(1).uniform(-1, 1, (batch, 2)).astype(np.float32)
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        core.sensor(prepared, locations, prepared=True)
        calls += 1
    return calls * batch / (time.perf_counter() - start)


def reset_costs(env_id: str, n: int, seconds: float) -> dict | None:
    """Microseconds per canvas of N resets' parts, as the native vector env does them, and of a
    look step's glimpse (best of 3)."""
    env = gym.make(env_id)
    if not _is_glimpse(env):
        return None
    core = env.unwrapped
    vec = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point").unwrapped
    rng = np.random.default_rng(0)
    params = core.canvas.draw(rng, "train", n)
    images, _ = core.canvas.render(params, "train")
    prepared = core.sensor.prepare(images)
    locations = rng.uniform(-1, 1, (n, 2)).astype(np.float32)
    starts = np.zeros((n, 2), np.float32)
    if core.start != "center":
        starts = core._start_from_uniform(rng.random((n, 2)))
    parts = {
        "render": lambda: core.canvas.render(params, "train"),
        # the sensor on unprepared pixels: read straight (a lazy env's reset), else prepared first
        "first_glimpse": lambda: core.sensor(images, starts),
        "prepare": lambda: core.sensor.prepare(images),
        "glimpse": lambda: core.sensor(prepared, locations, prepared=True),
    }
    row: dict = {"id": env_id, "n": n, "lazy": bool(vec._lazy)}
    vec.close()
    for name, call in parts.items():
        best = float("inf")
        for _ in range(3):
            calls, start = 0, time.perf_counter()
            while time.perf_counter() - start < seconds / 4:
                call()
                calls += 1
            best = min(best, (time.perf_counter() - start) / calls)
        row[f"{name}_us"] = best / n * 1e6
    reset = row["render_us"] + row["first_glimpse_us"]
    row["reset_us"] = reset
    # a look step of the native env, per row: its glimpse plus the bookkeeping every step has
    row["look_step_us"] = 1e6 / bench_vector(env_id, n, "vector_entry_point", seconds, "look")
    # a step where every row resets: the look step's bookkeeping, and a reset instead of a glimpse
    row["reset_step_us"] = row["look_step_us"] - row["glimpse_us"] + reset
    row["look_over_reset_step"] = row["look_step_us"] / row["reset_step_us"]
    return row


def _reset_cost_table(args) -> dict:
    seconds = args.seconds or 1.0
    rows = [r for r in (reset_costs(i, args.reset_costs, seconds) for i in _ids(args)) if r]
    header = (
        "| id | render | first glimpse from the pixels | reset (render + first glimpse) "
        "| prepare (integral image) | glimpse, prepared | look step | reset step "
        "| look step / reset step |"
    )
    lines = [header, "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['id']} | {r['render_us']:.2f} | {r['first_glimpse_us']:.2f}"
            f"{'' if r['lazy'] else ' (prepared first)'} | {r['reset_us']:.2f} "
            f"| {r['prepare_us']:.2f} | {r['glimpse_us']:.2f} | {r['look_step_us']:.2f} "
            f"| {r['reset_step_us']:.2f} | {r['look_over_reset_step']:.2f}x |"
        )
    table = "\n".join(lines)
    print(table)
    meta = {
        **provenance(),
        "numpy": np.__version__,
        "unit": f"microseconds per canvas, batches of {args.reset_costs}",
    }
    out = Path(args.out)
    md = ["# Where a visual reset's time goes", ""] + [f"- {k}: {v}" for k, v in meta.items()]
    md += ["", table, ""]
    md.append(
        "A native env's reset renders the canvas and takes the first glimpse at the start"
        " location. With a multi-scale retina it reads that glimpse straight from the pixels and"
        " leaves the canvas unprepared: its integral image (`prepare`) is built only when the row"
        " looks again with many others (a few lookers are read straight too). With the other"
        " sensors the first glimpse prepares the canvas (`(prepared first)`). `glimpse, prepared`"
        " reads prepared canvases at random locations. `look step` is the native env's measured"
        " time per row of a step where every row looks (its glimpse and the bookkeeping every step"
        " has); `reset step` is that less the glimpse plus a reset: a step where every row resets."
        " Under uniformly random actions most rows answer and reset on their next step"
        " (Gymnasium's next-step autoreset), so about half the rows of a step reset: the `random`"
        " rate lies between the two."
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text("\n".join(md) + "\n")
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    return {"meta": meta, "rows": rows}


def _ids(args) -> list[str]:
    """The registered ids, or those containing one of ``--ids``."""
    return [
        i for i in glimpse_envs.registered_ids() if not args.ids or any(s in i for s in args.ids)
    ]


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x / 1e6:.2f}M" if x >= 1e6 else f"{x / 1e3:.1f}k"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short measurements, N = 1, 256 only")
    parser.add_argument(
        "--ids", nargs="*", default=None, help="only ids containing one of these strings"
    )
    parser.add_argument("--seconds", type=float, default=None, help="seconds per measurement")
    parser.add_argument(
        "--tape-policy",
        choices=("both",) + TAPE_POLICIES,
        default="both",
        help="tape ids: uniformly random actions, non-emitting actions, or both (one row each)",
    )
    parser.add_argument(
        "--out", default=str(RESULTS / "env_throughput"), help="output path without suffix"
    )
    parser.add_argument(
        "--against",
        metavar="REV",
        help="also measure the single env and the native env of 256 sub-envs of git revision "
        "REV (a temporary worktree, in a subprocess), alternating with this tree's, best of two "
        "each: columns 'single @REV', 'single new/old', 'native 256 @REV', 'native new/old'",
    )
    parser.add_argument(
        "--reset-costs",
        type=int,
        metavar="N",
        help="only time the parts of N visual resets against a look step's glimpse, per canvas",
    )
    parser.add_argument(
        "--one", nargs=4, metavar=("WHAT", "ID", "POLICY", "SECONDS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.one:  # the subprocess of --against: print one figure
        what, env_id, policy, secs = args.one
        if what == "single":
            print(bench_single(env_id, float(secs), policy))
        else:
            print(bench_vector(env_id, 256, "vector_entry_point", float(secs), policy))
        return {}
    if args.reset_costs:
        if args.out == str(RESULTS / "env_throughput"):
            args.out = str(RESULTS / "env_throughput__reset_costs")
        return _reset_cost_table(args)
    with checkout(args.against) if args.against else contextlib.nullcontext() as old:
        return _measure(args, old)


def _measure(args, old: str | None) -> dict:
    seconds = args.seconds or (0.4 if args.quick else 2.0)
    native_sizes = (1, 256) if args.quick else NATIVE_SIZES
    sync_sizes = (256,) if args.quick else SYNC_SIZES
    rows = []
    for env_id in _ids(args):
        for policy in _policies(env_id, args.tape_policy):
            row = {"id": env_id, "policy": policy}
            if old:  # alternate old and new, best of two each: the single and the native env
                runs = {"single": bench_single, "native": _native_256}
                for what, here in runs.items():
                    new_s, old_s = [], []
                    for _ in range(2):
                        old_s.append(bench_at(old, what, env_id, seconds, policy))
                        new_s.append(here(env_id, seconds, policy))
                    key = "single" if what == "single" else "native_256_ab"
                    row[key], row[f"{what}_old"] = max(new_s), max(old_s)
                    row[f"{what}_new_over_old"] = row[key] / row[f"{what}_old"]
            else:
                row["single"] = bench_single(env_id, seconds, policy)
            for n in sync_sizes:
                row[f"sync_{n}"] = bench_vector(env_id, n, "sync", seconds, policy)
            for n in native_sizes:
                row[f"native_{n}"] = bench_vector(env_id, n, "vector_entry_point", seconds, policy)
            row["native_over_sync_256"] = row["native_256"] / row["sync_256"]
            row["sensor_glimpses_per_s"] = bench_sensor(env_id, seconds)
            rows.append(row)
            print(
                f"{env_id} [{policy}]: "
                + ", ".join(
                    f"{k}={_fmt(v) if 'over' not in k else f'{v:.2f}x'}"
                    for k, v in row.items()
                    if k not in ("id", "policy")
                ),
                flush=True,
            )

    header = ["id", "policy", "single"]
    if old:
        header += [f"single @{args.against}", "single new/old"]
        header += ["native 256 (alternated)", f"native 256 @{args.against}", "native new/old"]
    header += [f"sync {n}" for n in sync_sizes] + [f"native {n}" for n in native_sizes]
    header += ["native/sync @256", "sensor glimpses/s"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = [r["id"], r["policy"], _fmt(r["single"])]
        if old:
            cells += [_fmt(r["single_old"]), f"{r['single_new_over_old']:.2f}x"]
            cells += [_fmt(r["native_256_ab"]), _fmt(r["native_old"])]
            cells.append(f"{r['native_new_over_old']:.2f}x")
        cells += [_fmt(r[f"sync_{n}"]) for n in sync_sizes]
        cells += [_fmt(r[f"native_{n}"]) for n in native_sizes]
        cells += [f"{r['native_over_sync_256']:.1f}x", _fmt(r["sensor_glimpses_per_s"])]
        lines.append("| " + " | ".join(cells) + " |")
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.platform()}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "gymnasium": gym.__version__,
        "git_revision": git_rev(),
        "command": " ".join([Path(sys.executable).name] + sys.argv),
        "seconds_per_measurement": seconds,
        "against": args.against,
        "unit": "env steps per second (sensor: glimpses per second)",
    }
    table = "\n".join(lines)
    print("\n" + table)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    md = (
        ["# Environment throughput", ""]
        + [f"- {k}: {v}" for k, v in meta.items()]
        + ["", table, ""]
    )
    md.append(
        "Visual ids: `look` takes random grid locations with decision 0, so episodes run their whole"
        " budget (it measures glimpses); `random` samples the action space uniformly, so most steps"
        " answer and the next step resets (it measures resets)."
    )
    md.append(
        "Tape ids: `random` samples the action space uniformly; a random output symbol is almost"
        " always wrong and ends the episode, so nearly every step resets (it measures resets)."
        " `no-emit` moves the heads and writes at random but emits nothing (output 0), so episodes"
        " run to the task's time limit (it measures steps)."
    )
    out.with_suffix(".md").write_text("\n".join(md) + "\n")
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    return {"meta": meta, "rows": rows}


if __name__ == "__main__":
    main()
