"""Time to accuracy (DAWNBench-style): RAM trained to fixed test errors, ours beside the peer.

Our RAM (``agents/ram.py``) and kevinzakka/recurrent-visual-attention's RAM (the public PyTorch
re-implementation most people use) train at the same time, one thread each, on the same data, with
the same retina and glimpse count (the env's own config: MNIST-v0 6 glimpses of one 8x8 patch,
ClutteredMNIST-v0 8 glimpses of three scales of 12x12). After every epoch each is scored on the
whole fixed test split (10,000 canvases, the ones ``train.py evaluate`` scores), one greedy pass
with mean locations, and the harness reports the training seconds and images seen until each
target error is first reached (``--task mnist``: 3 % and 2 %; ``--task cluttered``: 10 % and 6 %),
with the curves (error against training seconds and against images).

The peer is never vendored: fetch it at the pinned commit into a folder of your choice and pass
``--peer``. It runs unmodified except for the glue in this file: its data loaders are built from
the same ``*-ubyte.gz`` files through ``glimpse_envs`` (its ``data_loader.py`` needs torchvision and
a download), and ``tensorboard_logger``, which it imports but does not use with its defaults, is
stubbed if missing. MNIST: the same 60,000 training images, its own 10 % validation split with its
own seed, its own normalisation. Cluttered: every epoch 54,000 canvases freshly drawn from our
canvas generator's training split (as ours draws a fresh canvas per episode; drawing them counts
in its training seconds), validation on 5,000 fixed validation-split canvases, normalised with the
mean and standard deviation of its first epoch's canvases; its retina is set to ours (patch size,
number of patches, scale 2, glimpses), every other setting is its default. Its schedule is its
own: Adam 3e-4 with ReduceLROnPlateau on its validation accuracy, as its ``train()`` does every
epoch; its training seconds include that validation pass (its schedule needs it), not the test
scoring. Scored with mean locations, as ours is: the location policy's standard deviation is set
to 1e-9 while the test split is scored (its first glimpse stays where its own code puts it, a
random location; ours starts at a random location too, ``start="random"``).

    PEER=$(mktemp -d)    # a temporary folder, outside the repository
    git clone https://github.com/kevinzakka/recurrent-visual-attention "$PEER"
    git -C "$PEER" checkout a38ac89
    python benchmarks/time_to_accuracy.py --peer "$PEER" --epochs 150
    python benchmarks/time_to_accuracy.py --peer "$PEER" --epochs 60 --our-epochs 12 20
    python benchmarks/time_to_accuracy.py --peer "$PEER" --task cluttered --epochs 60
    python benchmarks/time_to_accuracy.py --peer "$PEER" --epochs 1 --limit 2000   # smoke

Our learning rate decays linearly over the budget, so a budget sized to a target reaches it
sooner than a long one (as DAWNBench entries size their schedules to the target): ``--our-epochs``
takes several budgets, trained one after the other on our core while the peer trains on the
other; the table gives each run's time to each target.

Writes ``benchmarks/results/time_to_accuracy__TASK.{json,md,png}`` (command, machine, date,
revision, both curves) after every scored epoch (a run cut short leaves its partial results) and
prints the table at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from hard_bench import RESULTS, ROOT, header, table, write

PEER_COMMIT = "a38ac89"
TRAIN_IMAGES = 55_000  # ours per epoch: the size of glimpse_envs' MNIST training split
#: --task: the env both train on and the target test errors (%)
TASKS = {
    "mnist": ("glimpse_envs/MNIST-v0", (3.0, 2.0)),
    "cluttered": ("glimpse_envs/ClutteredMNIST-v0", (10.0, 6.0)),
}


def env_config(task: str):
    """The task's env config (glimpses, retina), read from the registry."""
    import gymnasium as gym

    import glimpse_envs  # noqa: F401  (registers the ids)

    env = gym.make(TASKS[task][0])
    cfg = env.unwrapped.config
    env.close()
    return cfg


# ----------------------------------------------------------------------------------------------
# the peer, in its own process (``python time_to_accuracy.py --peer-worker``)
# ----------------------------------------------------------------------------------------------


def _mnist_arrays(limit: int):
    """All 60,000 training images (our train + validation splits) and the 10,000 test images."""
    import numpy as np

    from glimpse_envs.data import load_dataset

    ds = load_dataset("mnist")
    x = np.concatenate([ds.images("train"), ds.images("validation")])
    y = np.concatenate([ds.labels("train"), ds.labels("validation")])
    xt, yt = ds.images("test"), ds.labels("test")
    if limit:
        x, y, xt, yt = x[:limit], y[:limit], xt[: limit // 5], yt[: limit // 5]
    return x, y, xt, yt


def _canvases(canvas, split: str, n: int, rng=None):
    """``n`` canvases of ``split`` (uint8 (n, S, S), int64 labels): fresh ones drawn with ``rng``,
    else the fixed ones 0 .. n - 1 (the ones every scorer uses)."""
    import numpy as np

    if rng is None:
        images, labels = canvas.fixed(split, np.arange(n))
    else:
        images, labels = canvas.sample(rng, n, split)
    return images, labels[:, 0]


def peer_worker(peer: Path, task: str, epochs: int, seed: int, limit: int) -> None:
    """Train the peer epoch by epoch as its ``train()`` does; print one JSON line per epoch."""
    import types

    import numpy as np
    import torch
    from torch.utils.data import DataLoader, TensorDataset
    from torch.utils.data.sampler import SubsetRandomSampler

    torch.set_num_threads(1)  # the peer's folder is on PYTHONPATH (see main)
    if "tensorboard_logger" not in sys.modules:
        try:
            import tensorboard_logger  # noqa: F401
        except ImportError:  # imported by the peer's trainer, unused with its defaults
            stub = types.ModuleType("tensorboard_logger")
            stub.configure = stub.log_value = lambda *a, **k: None
            sys.modules["tensorboard_logger"] = stub
    sys.argv = ["main.py"]
    import config as peer_config  # the peer's own defaults
    from trainer import Trainer

    cfg, _ = peer_config.get_config()
    cfg.use_gpu, cfg.is_train, cfg.random_seed = False, True, seed
    ours = env_config(task)  # the same retina and glimpse count as ours
    cfg.num_glimpses, cfg.patch_size = ours.glimpses, ours.retina_size
    cfg.num_patches = ours.retina_scales
    cfg.glimpse_scale = 2 if ours.retina_scales > 1 else cfg.glimpse_scale
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    if task == "mnist":
        x, y, xt, yt = _mnist_arrays(limit)
        mean, std = 0.1307, 0.3081  # its data_loader's MNIST normalisation
    else:  # fresh training canvases every epoch (drawn in train_epoch), fixed ones to score
        import gymnasium as gym

        canvas = gym.make(TASKS[task][0]).unwrapped.canvas  # the id's canvas generator
        n_train, n_valid = (limit, limit // 5) if limit else (54_000, 5_000)
        xv, yv = _canvases(canvas, "validation", n_valid)
        xt, yt = _canvases(canvas, "test", limit // 5 if limit else 10_000)
        x, y = _canvases(canvas, "train", n_train, rng)
        mean, std = float(x.mean() / 255.0), float(x.std() / 255.0)
    norm = lambda a: (torch.from_numpy(a).float().div(255.0)[:, None] - mean) / std  # noqa: E731

    def loader(images, labels, indices):
        data = TensorDataset(norm(images), torch.from_numpy(labels.astype(np.int64)))
        return DataLoader(data, batch_size=cfg.batch_size, sampler=SubsetRandomSampler(indices))

    if task == "mnist":
        idx = list(range(len(x)))  # its get_train_valid_loader: a seeded shuffle, 10 % held out
        np.random.seed(seed)
        np.random.shuffle(idx)
        split = int(np.floor(cfg.valid_size * len(idx)))
        train, valid = loader(x, y, idx[split:]), loader(x, y, idx[:split])
    else:
        train, valid = loader(x, y, list(range(len(x)))), loader(xv, yv, list(range(len(xv))))
    trainer = Trainer(cfg, (train, valid))
    n_images = trainer.num_train
    test_x, test_y = norm(xt), torch.from_numpy(yt.astype(np.int64))
    train_s = 0.0
    for epoch in range(epochs):
        t0 = time.perf_counter()
        if task != "mnist" and epoch:  # new canvases (the first epoch's were drawn above)
            x, y = _canvases(canvas, "train", n_images, rng)
            trainer.train_loader = loader(x, y, list(range(n_images)))
        trainer.train_one_epoch(epoch)
        _, valid_acc = trainer.validate(epoch)
        trainer.scheduler.step(-valid_acc)  # as its train() does
        train_s += time.perf_counter() - t0
        err = _peer_test_error(trainer, test_x, test_y)
        print(
            json.dumps(
                {
                    "epoch": epoch + 1,
                    "images": (epoch + 1) * n_images,
                    "train_s": round(train_s, 2),
                    "test_error": err,
                    "lr": trainer.optimizer.param_groups[0]["lr"],
                }
            ),
            flush=True,
        )


def _peer_test_error(trainer, x, y, batch: int = 1000) -> float:
    """The peer's test error, one greedy pass with mean locations (its sampling std set to ~0)."""
    import torch

    model, wrong = trainer.model, 0
    model.eval()
    std = model.locator.std
    model.locator.std = 1e-9
    try:
        with torch.no_grad():
            for s in range(0, len(x), batch):
                xb = x[s : s + batch]
                trainer.batch_size = len(xb)
                h_t, l_t = trainer.reset()
                for _ in range(trainer.num_glimpses - 1):
                    h_t, l_t, _, _ = model(xb, l_t, h_t)
                _, _, _, log_probas, _ = model(xb, l_t, h_t, last=True)
                wrong += int((log_probas.argmax(1) != y[s : s + batch]).sum())
    finally:
        model.locator.std = std
    return 100.0 * wrong / len(x)


# ----------------------------------------------------------------------------------------------
# ours, in this process
# ----------------------------------------------------------------------------------------------


def ours(
    task: str,
    epochs: int,
    seed: int,
    limit: int,
    start: str,
    curve: list,
    log,
    batch: int = 64,
    lr: float | None = None,
    config: dict | None = None,
) -> None:
    """Our RAM through the one training loop, scored on the test split after every epoch
    (``batch`` episodes per update, learning rate ``lr``, ``config``'s RAM options: RAM's
    defaults unless given)."""
    import torch

    from agents.base import RunConfig
    from agents.ram import Config, RAMTrainer
    from agents.run import train_updates

    torch.set_num_threads(1)
    images = limit or TRAIN_IMAGES
    glimpses = env_config(task).glimpses
    epoch_steps = images * glimpses
    run = RunConfig(
        env=TASKS[task][0],
        agent="ram",
        seed=seed,
        num_envs=batch,
        steps=epochs * epoch_steps,
        env_kwargs={"start": start},
    )
    options = dict(config or {}) | ({} if lr is None else {"lr": lr})
    trainer = RAMTrainer(run, Config(**options))
    test_episodes = 10_000 if not limit else limit // 5

    def score(p) -> None:
        err = trainer.evaluate("test", test_episodes)["error"]
        curve.append(
            {
                "epoch": round(p.env_steps / epoch_steps, 2),
                "images": p.env_steps // glimpses,
                "train_s": round(p.train_s, 2),
                "test_error": err,
                "lr": trainer.optimizer.param_groups[0]["lr"],
            }
        )
        log(f"  [ours] {curve[-1]}")

    train_updates(trainer, run.steps, eval_every=epoch_steps, validate=score, validate_at_end=False)
    trainer.close()


# ----------------------------------------------------------------------------------------------
# the report
# ----------------------------------------------------------------------------------------------


def time_to(curve: list[dict], target: float) -> dict[str, Any] | None:
    """The first point of ``curve`` at or below ``target`` % (None if never)."""
    return next((p for p in curve if p["test_error"] <= target), None)


def plot(curves: dict[str, list[dict]], path: Path, meta: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, curve in curves.items():
        for ax, key in zip(axes, ("train_s", "images")):
            ax.plot(
                [p[key] for p in curve], [p["test_error"] for p in curve], "o-", ms=3, label=name
            )
    for ax, xlabel in zip(axes, ("training seconds (one thread)", "training images seen")):
        for t in meta["targets"]:
            ax.axhline(t, color="0.6", ls=":", lw=1)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("test error % (10,000 images)")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(
        f"RAM on {meta['env']}, {meta['glimpses']} glimpses: time to accuracy "
        f"({meta['date']}, git {meta['git']})",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def our_runs(curves: dict[str, list[dict]]) -> list[str]:
    """The names of our runs in ``curves`` (one per budget)."""
    return [k for k in curves if k != "peer"]


def write_report(name: str, epochs: int, meta: dict, curves: dict[str, list[dict]], final: bool):
    """The table, JSON record and plot of the curves so far (``final``: every run ended): the
    time of each of our runs (one per budget) and of the peer's to each target."""
    rows = []
    ours = our_runs(curves)
    running = "" if final else " (still running)"
    for target in meta["targets"]:
        theirs = time_to(curves["peer"], target)
        for run in ours:
            mine = time_to(curves[run], target)
            ratio = theirs["train_s"] / mine["train_s"] if mine and theirs else None
            rows.append(
                [f"{target:g} %" + (f" ({run})" if len(ours) > 1 else "")]
                + [
                    f"{h['train_s']:.0f} s, {h['images']:,} images (epoch {h['epoch']})"
                    if h
                    else f"not reached in {c[-1]['epoch'] if c else 0:g} epochs"
                    for h, c in ((mine, curves[run]), (theirs, curves["peer"]))
                ]
                + [f"{ratio:.2f}x" if ratio else "-"]
            )
    for run in ours + ["peer"]:
        c = curves[run]
        at_end = f"{c[-1]['test_error']:.2f} (epoch {c[-1]['epoch']:g})" if c else "-"
        cells = ["", at_end] if run == "peer" else [at_end, ""]
        rows.append([f"test error % at the last epoch scored, {run}" + running, *cells, ""])
    md = table(
        ["target", "ours: training s, images", "peer: training s, images", "peer s / ours s"], rows
    )
    out = RESULTS / name
    if any(curves.values()):
        plot(curves, out.with_suffix(".png"), meta)
    wall = f"- wall-clock of the side-by-side run: {meta['wall_s']} s" + (
        "" if final else f" so far (of {epochs} epochs planned; partial results)"
    )
    body = f"- peer: {json.dumps(meta['peer'])}\n{wall}\n\n{md}\n\n![curves]({name}.png)"
    write(name, {**meta, "curves": curves}, body, folder=RESULTS)
    if final:
        print("\n" + md + f"\n\nwritten: {out.with_suffix('.md')}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--peer",
        type=Path,
        required=True,
        help=f"kevinzakka/recurrent-visual-attention checked out at {PEER_COMMIT}",
    )
    p.add_argument("--epochs", type=int, default=30, help="the peer's epochs (and ours by default)")
    p.add_argument(
        "--our-epochs",
        type=int,
        nargs="+",
        help="our budget in epochs (its learning rate decays over it), default --epochs: "
        "a budget sized to the target reaches it sooner than a long one; several (e.g. 12 30) "
        "train one run of ours per budget, one after the other, beside the peer",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--our-batch", type=int, default=64, help="our episodes per update (RAM's default: 64)"
    )
    p.add_argument("--our-lr", type=float, help="our initial learning rate (default: RAM's, 1e-3)")
    p.add_argument(
        "--our-config",
        type=json.loads,
        default={},
        help="other RAM options of ours, as JSON (e.g. '{\"step_ce\": 0.5}'; default: none)",
    )
    p.add_argument(
        "--start",
        default="random",
        choices=["random", "center"],
        help="our first glimpse (the peer's is random)",
    )
    p.add_argument(
        "--limit",
        type=int,
        default=0,
        help="use only this many training images "
        "(and a fifth as many test images): a smoke test, not a result",
    )
    p.add_argument("--task", choices=sorted(TASKS), default="mnist")
    p.add_argument("--name", help="results file name (default: time_to_accuracy__TASK)")
    p.add_argument("--peer-worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.peer_worker:
        peer_worker(args.peer.resolve(), args.task, args.epochs, args.seed, args.limit)
        return 0
    if not (args.peer / "trainer.py").exists():
        p.error(f"--peer {args.peer}: no trainer.py there; clone the peer at {PEER_COMMIT}")
    args.name = args.name or f"time_to_accuracy__{args.task}"
    args.our_epochs = args.our_epochs or [args.epochs]
    meta = header(
        "cpu",
        {
            "epochs": args.epochs,
            "our_epochs": args.our_epochs,
            "our_batch": args.our_batch,
            "our_lr": args.our_lr,
            "our_config": args.our_config,
            "seed": args.seed,
            "our_start": args.start,
            "limit": args.limit,
            "threads_each": 1,
        },
    )
    meta["env"], meta["targets"] = TASKS[args.task]
    meta["glimpses"] = env_config(args.task).glimpses
    meta["command"] = meta["command"].replace(str(args.peer), "PEER")  # the folder is a machine's
    meta["peer"] = {
        "repository": "kevinzakka/recurrent-visual-attention",
        "commit": subprocess.run(
            ["git", "-C", str(args.peer), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        or "unknown",
    }
    runs = ["ours"] if len(args.our_epochs) == 1 else [f"ours, {e} epochs" for e in args.our_epochs]
    curves: dict[str, list[dict]] = {**{r: [] for r in runs}, "peer": []}
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        # the peer's modules import each other by top-level name: its folder goes on the path
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(args.peer.resolve()), str(ROOT), os.environ.get("PYTHONPATH")])
        ),
    }
    import tempfile

    work = tempfile.mkdtemp(prefix="peer_")  # the peer writes ./plots and ./ckpt where it runs
    proc = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--peer-worker",
            "--peer",
            str(args.peer.resolve()),
            "--task",
            args.task,
            "--epochs",
            str(args.epochs),
            "--seed",
            str(args.seed),
            "--limit",
            str(args.limit),
        ],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )

    t0 = time.time()
    lock = threading.Lock()

    def report(final: bool = False) -> None:
        """Write the table and curves so far: a run cut short still leaves its partial results."""
        with lock:
            meta["wall_s"] = round(time.time() - t0, 1)
            meta["finished"] = final
            write_report(args.name, args.epochs, meta, curves, final)

    def read_peer() -> None:
        for line in proc.stdout:
            if line.startswith("{"):
                curves["peer"].append(json.loads(line))
                print(f"  [peer] {curves['peer'][-1]}", flush=True)
                report()

    reader = threading.Thread(target=read_peer, daemon=True)
    reader.start()

    def log(msg: str) -> None:
        print(msg, flush=True)
        report()

    for run, epochs in zip(runs, args.our_epochs):
        ours(
            args.task,
            epochs,
            args.seed,
            args.limit,
            args.start,
            curves[run],
            lambda msg, run=run: log(msg.replace("[ours]", f"[{run}]")),
            batch=args.our_batch,
            lr=args.our_lr,
            config=args.our_config,
        )
    proc.wait()
    reader.join(timeout=10)
    shutil.rmtree(work, ignore_errors=True)
    if proc.returncode != 0:
        print(f"the peer's worker exited with {proc.returncode}", file=sys.stderr)
    report(final=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
