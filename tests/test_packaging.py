"""Packaging metadata: an SPDX license with its file, classifiers, a bounded build backend."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

tomllib = (
    pytest.importorskip("tomllib") if sys.version_info >= (3, 11) else pytest.importorskip("tomli")
)


def test_pyproject_metadata():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = meta["project"]
    assert project["license"] == "MIT"  # an SPDX expression, not the deprecated table form
    for name in project["license-files"]:
        assert "Permission is hereby granted" in (ROOT / name).read_text()
    assert any(c.startswith("Topic ::") for c in project["classifiers"])
    (backend,) = [r for r in meta["build-system"]["requires"] if r.startswith("setuptools")]
    assert re.search(r">=\s*77", backend) and re.search(r"<\s*\d+", backend)


@pytest.mark.slow
def test_console_script_from_a_wheel_install(tmp_path):
    """A non-editable install into a fresh venv gives ``glimpse-train``, running the installed
    copy of the code (agents.cli), not this checkout's."""
    import subprocess

    venv = tmp_path / "venv"
    # the venv sees this interpreter's packages (torch, gymnasium, ...) for the dependencies only
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    bindir = venv / ("Scripts" if sys.platform == "win32" else "bin")
    # (the build backend comes from the package registry, as for any user's install)
    subprocess.run(
        [str(bindir / "python"), "-m", "pip", "install", "--no-deps", "--quiet", str(ROOT)],
        check=True,
        cwd=tmp_path,
        capture_output=True,
    )
    res = subprocess.run(
        [str(bindir / "glimpse-train"), "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert "evaluate" in res.stdout and "--steps" in res.stdout
    where = subprocess.run(
        [
            str(bindir / "python"),
            "-c",
            "import agents.cli, glimpse_envs; "
            "print(agents.cli.__file__); print(glimpse_envs.__file__)",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    ).stdout.split()
    assert all(str(venv) in w for w in where), where  # the wheel's copy, not the checkout
