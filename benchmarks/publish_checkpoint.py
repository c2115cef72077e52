"""Copy a train.py run folder into ``benchmarks/checkpoints/NAME/`` as a release-style asset.

    python benchmarks/publish_checkpoint.py runs/RUN_FOLDER NAME [--log runs/RUN.log] [--every 100]

What is copied: ``checkpoint.pt`` (weights, optimiser state and generators: ``--resume`` and
``train.py evaluate`` / ``render`` / ``compare`` work on the published folder), ``config.json``,
``eval.csv`` and ``results.json`` when the run wrote them, ``train.csv`` cut to every ``--every``-th
update (and the last one) to keep the folder small, and the run's printed log (``--log``) as
``train.log``. TensorBoard events are left out. ``--weights-only`` writes a checkpoint without the
optimiser's state and generators instead (``agents.cli.weights_only``: RAM's 2.5 MB become about
0.85 MB), for ``evaluate`` / ``render`` / ``compare``; ``--resume`` refuses it. Absolute paths of the machine the run was made on
are replaced by paths relative to the repository (or dropped) in every text file copied, so no
committed file names a machine's folders. An existing NAME is replaced only with ``--force``.
"""

from __future__ import annotations

import argparse
import csv
import io
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKPOINTS = ROOT / "benchmarks" / "checkpoints"
FILES = ("checkpoint.pt", "config.json", "eval.csv", "results.json")


def relative_paths(text: str, root: Path = ROOT) -> str:
    """``text`` with the repository's absolute path (and the interpreter's) made relative."""
    text = text.replace(str(root) + "/", "").replace(str(root), ".")
    return text.replace(sys.executable, Path(sys.executable).name)


def thin_csv(text: str, every: int) -> str:
    """The header, every ``every``-th row and the last row of a CSV text."""
    rows = list(csv.reader(io.StringIO(text)))
    if len(rows) <= 2:
        return text
    head, body = rows[0], rows[1:]
    kept = [r for i, r in enumerate(body) if i % every == every - 1 or i == len(body) - 1]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([head, *kept])
    return out.getvalue()


def publish(
    run: Path,
    name: str,
    log: Path | None = None,
    every: int = 100,
    force: bool = False,
    dest_root: Path = CHECKPOINTS,
    weights: bool = False,
) -> Path:
    """Copy run folder ``run`` to ``dest_root / name``; returns the new folder."""
    run = Path(run)
    if not (run / "checkpoint.pt").exists():
        raise SystemExit(f"{run}: no checkpoint.pt; give the run folder train.py wrote")
    dest = dest_root / name
    if dest.exists():
        if not force:
            raise SystemExit(f"{dest} exists; pass --force to replace it")
        shutil.rmtree(dest)
    tmp = dest.with_name(dest.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for f in FILES:
        src = run / f
        if not src.exists():
            continue
        if f.endswith(".pt") and weights:
            from agents.cli import load_checkpoint, save_checkpoint, weights_only

            save_checkpoint(tmp / f, weights_only(load_checkpoint(src)))
        elif f.endswith(".pt"):
            shutil.copy2(src, tmp / f)
        else:
            (tmp / f).write_text(relative_paths(src.read_text()))
    if (run / "train.csv").exists():
        (tmp / "train.csv").write_text(thin_csv((run / "train.csv").read_text(), every))
    if log is not None:
        (tmp / "train.log").write_text(relative_paths(Path(log).read_text()))
    tmp.rename(dest)  # all or nothing
    return dest


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run", type=Path, help="the run folder (holds checkpoint.pt)")
    p.add_argument("name", help="folder name under benchmarks/checkpoints/")
    p.add_argument("--log", type=Path, default=None, help="the run's printed output")
    p.add_argument("--every", type=int, default=100, help="keep every N-th train.csv row")
    p.add_argument("--force", action="store_true", help="replace an existing folder")
    p.add_argument(
        "--weights-only",
        action="store_true",
        help="a checkpoint without the optimiser's state (evaluate / render, not --resume)",
    )
    args = p.parse_args(argv)
    dest = publish(args.run, args.name, args.log, args.every, args.force, weights=args.weights_only)
    print(f"published {dest.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
