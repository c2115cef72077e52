"""The device path against numpy: retina glimpses per second and canvases rendered per second.

For each id, N = 1024 canvases are drawn once (``canvas.draw``) and the same descriptions are
rendered by numpy (``Canvas.render``) and by ``glimpse_envs.torch_core`` on ``--device``; both
sensors then read the same prepared canvases at the same random locations (a pool of float32
numpy arrays, as actions arrive in an env step), in the same process. Before timing, the torch
outputs are compared with numpy's (``equal`` column: bit-identical, else the max abs difference).
Last, the native vector env of N sub-envs made with each backend steps with ``look`` actions
(random grid locations, keep looking) and ``random`` ones (the action space sampled: most steps
answer, so most next steps reset), host numpy actions drawn before timing.

Rows: ``numpy`` (one thread: BLAS/OpenMP pinned to 1, and these ops are single-threaded anyway),
``torch`` with ``torch.set_num_threads(1)``, and ``torch`` with 2 threads; on a GPU, one ``torch``
row on the device (timed with ``torch.cuda.synchronize``).

    python benchmarks/torch_retina.py                  # CPU, 1.0 s per measurement
    python benchmarks/torch_retina.py --device cuda    # the same script on a GPU
    python benchmarks/torch_retina.py --seconds 0.3 --ids MNIST-v0   # a quick look

Writes ``benchmarks/results/torch_retina.{md,json}`` (``torch_retina__<device>`` off the CPU) with
the command, date, machine and git revision, and prints the table.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # numpy single-threaded (before numpy is imported)

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import glimpse_envs  # noqa: E402, F401  (registers the ids)
from agents.provenance import provenance  # noqa: E402
from glimpse_envs.torch_core import TorchGlimpseCore  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

RESULTS = ROOT / "benchmarks" / "results"
IDS = ("MNIST-v0", "TranslatedMNIST-v0", "ClutteredMNIST-v0", "ClutteredMNIST100-v0")
POOL = 8  # location (and action) batches cycled through
#: the measured rates, in the table's order
KEYS = (
    "glimpses_per_s",
    "render_canvases_per_s",
    "render_prepare_canvases_per_s",
    "env_steps_per_s_look",
    "env_steps_per_s_random",
)


def rate(fn: Callable[[int], Any], items: int, seconds: float, sync: Callable[[], None]) -> float:
    """Items per second of ``fn(i)`` (i = 0, 1, ...) run for about ``seconds``, after a warm-up."""
    fn(0)
    sync()
    calls, start = 0, time.perf_counter()
    while True:
        fn(calls)
        calls += 1
        if calls % 4 == 0 or calls == 1:
            sync()
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                return calls * items / elapsed


def difference(numpy_out: np.ndarray, torch_out: torch.Tensor) -> str:
    """``bit-identical``, or the max abs difference."""
    got = torch_out.cpu().numpy()
    if got.shape == numpy_out.shape and np.array_equal(got, numpy_out):
        return "bit-identical"
    return f"max abs diff {np.abs(got.astype(np.float64) - numpy_out).max():.3g}"


def bench_id(env_id: str, n: int, seconds: float, device: str, threads: list[int]) -> list[dict]:
    env = gym.make(f"glimpse_envs/{env_id}").unwrapped
    canvas, sensor = env.canvas, env.sensor
    core = TorchGlimpseCore.from_env(env, device)
    rng = np.random.default_rng(0)
    params = canvas.draw(rng, "train", n)
    locations = [rng.uniform(-1, 1, (n, 2)).astype(np.float32) for _ in range(POOL)]
    images = canvas.render(params, "train")[0]
    prepared = sensor.prepare(images)
    images_t = core.render(params, "train")[0]
    prepared_t = core.prepare(images_t)
    equal = {
        "canvas": difference(images, images_t),
        "glimpses": difference(
            sensor(prepared, locations[0], prepared=True), core.sense(prepared_t, locations[0])
        ),
    }
    rows = []

    def measure(backend: str, n_threads: Any, sync, render, reset, sense) -> None:
        row = {"id": env_id, "n": n, "backend": backend, "device": "cpu", "threads": n_threads}
        if backend == "torch":
            row.update(device=device, equal=equal)
        row["glimpses_per_s"] = rate(sense, n, seconds, sync)
        row["render_canvases_per_s"] = rate(render, n, seconds, sync)
        row["render_prepare_canvases_per_s"] = rate(reset, n, seconds, sync)
        row.update(env_steps(env_id, n, seconds, sync, backend, row["device"]))
        rows.append(row)
        print(json.dumps(row), flush=True)

    measure(
        "numpy",
        1,
        lambda: None,
        lambda i: canvas.render(params, "train"),
        lambda i: sensor.prepare(canvas.render(params, "train")[0]),
        lambda i: sensor(prepared, locations[i % POOL], prepared=True),
    )
    cuda = torch.device(device).type == "cuda"
    for n_threads in [None] if cuda else threads:
        if n_threads is not None:
            torch.set_num_threads(n_threads)
        measure(
            "torch",
            "-" if cuda else n_threads,
            torch.cuda.synchronize if cuda else (lambda: None),
            lambda i: core.render(params, "train"),
            lambda i: core.prepare(core.render(params, "train")[0]),
            lambda i: core.sense(prepared_t, locations[i % POOL]),
        )
    torch.set_num_threads(threads[0])
    return rows


def env_steps(env_id: str, n: int, seconds: float, sync, backend: str, device: str) -> dict:
    """Steps per second of the native vector env of N sub-envs on ``backend``: ``look`` takes
    random grid locations and keeps looking (episodes run their budget), ``random`` samples the
    action space (most steps answer, so most next steps reset). Actions are host numpy arrays,
    drawn before timing; on the torch backend the glimpses stay on ``device``."""
    kwargs = {"backend": "torch", "device": device} if backend == "torch" else {}
    envs = gym.make_vec(
        f"glimpse_envs/{env_id}", num_envs=n, vectorization_mode="vector_entry_point", **kwargs
    )
    envs.reset(seed=0)
    envs.action_space.seed(0)
    out = {}
    for policy in ("look", "random"):
        pool = [envs.action_space.sample() for _ in range(POOL)]
        if policy == "look":
            for a in pool:
                a[:, 2] = 0
        out[f"env_steps_per_s_{policy}"] = rate(
            lambda i, pool=pool: envs.step(pool[i % POOL]), n, seconds, sync
        )
    envs.close()
    return out


def _fmt(x: float) -> str:
    return f"{x / 1e6:.2f}M" if x >= 1e6 else f"{x / 1e3:.1f}k"


def table(rows: list[dict]) -> str:
    head = ["id", "backend", "device", "threads", "retina glimpses/s", "vs numpy"]
    head += ["render canvases/s", "vs numpy", "render + prepare canvases/s", "vs numpy"]
    head += ["env steps/s, look", "vs numpy", "env steps/s, random", "vs numpy", "equal"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    base: dict = {}
    for r in rows:
        if r["backend"] == "numpy":
            base = r
        cells = [r["id"], r["backend"], r["device"], str(r["threads"])]
        for key in KEYS:
            cells += [_fmt(r[key]), f"{r[key] / base[key]:.2f}x"]
        eq = r.get("equal")
        cells.append("-" if eq is None else f"canvas {eq['canvas']}, glimpses {eq['glimpses']}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:1 ...")
    parser.add_argument("--ids", nargs="+", default=list(IDS), help="ids without glimpse_envs/")
    parser.add_argument("--n", type=int, default=1024, help="canvases (envs) per batch")
    parser.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="torch CPU threads")
    parser.add_argument("--out", default=None, help="results path without suffix")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads[0])
    rows = []
    for env_id in args.ids:
        rows += bench_id(env_id, args.n, args.seconds, args.device, args.threads)
    meta = {
        **provenance(args.device),
        "n": args.n,
        "seconds_per_measurement": args.seconds,
        "numpy": np.__version__,
        "load_average_1_5_15_min": [
            round(x, 2) for x in os.getloadavg()
        ],  # at the end (shared CPU)
        "unit": "retina glimpses per second; canvases per second (render; render + prepare); "
        "native vector env steps per second (look; random actions)",
    }
    text = table(rows)
    print("\n" + text)
    name = (
        "torch_retina" if args.device == "cpu" else f"torch_retina__{args.device.replace(':', '')}"
    )
    out = Path(args.out) if args.out else RESULTS / name
    out.parent.mkdir(parents=True, exist_ok=True)
    md = ["# The device path against numpy (glimpse_envs.torch_core)", ""]
    md += [f"- {k}: {v}" for k, v in meta.items() if k != "machine"]
    md += [f"- machine: {json.dumps(meta['machine'])}", "", text, ""]
    md += [
        "Same canvases (one `canvas.draw` of N per id), same locations (8 batches of uniform "
        "float32 locations in [-1, 1], numpy arrays), same process. Env steps: the native vector "
        "env of N sub-envs on the row's backend, 8 batches of look or random actions (numpy) "
        "cycled. `vs numpy` is the row's rate over the numpy row's. `equal` compares the torch "
        "output with numpy's before timing.",
        "",
    ]
    out.with_suffix(".md").write_text("\n".join(md))
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    return {"meta": meta, "rows": rows}


if __name__ == "__main__":
    main()
