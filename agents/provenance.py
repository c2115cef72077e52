"""Where a result came from: the git revision, the machine, the command and the date, recorded the
same way by ``train.py`` and every benchmark."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def git_rev(root: Path = ROOT) -> str:
    """Short revision of the checkout, ``+dirty`` when tracked files differ from it; ``unknown``
    outside a git checkout."""
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            check=False,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def available_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def machine(device: str = "cpu") -> dict[str, Any]:
    """Platform, Python and torch versions, cores, torch's threads when torch is loaded, the device
    and, for cuda, the GPU's name."""
    out: dict[str, Any] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": available_cores(),
        "device": device,
    }
    try:
        out["torch"] = metadata.version("torch")
    except metadata.PackageNotFoundError:
        pass
    if "torch" in sys.modules:
        out["torch_threads"] = sys.modules["torch"].get_num_threads()
    if device.startswith("cuda"):
        try:
            out["gpu"] = (
                subprocess.run(
                    ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                    capture_output=True,
                    text=True,
                    timeout=20,
                    check=True,
                )
                .stdout.strip()
                .replace("\n", "; ")
            )
        except (OSError, subprocess.SubprocessError):
            out["gpu"] = "unknown"
    return out


def command_line(argv: list[str] | None = None) -> str:
    """The command as run, quoted for a shell (JSON options stay one argument), the interpreter by
    name only (no machine's paths in results)."""
    return shlex.join([Path(sys.executable).name, *(sys.argv if argv is None else argv)])


def now() -> str:
    """The UTC date and time, ISO 8601 to the second."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def provenance(device: str = "cpu", command: str | None = None) -> dict[str, Any]:
    """What every result records: ``command``, ``date``, ``git`` and ``machine``."""
    return {
        "command": command or command_line(),
        "date": now(),
        "git": git_rev(),
        "machine": machine(device),
    }
