"""Packaging metadata: an SPDX license with its file, classifiers, a bounded build backend."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

tomllib = pytest.importorskip("tomllib") if sys.version_info >= (3, 11) else pytest.importorskip(
    "tomli")


def test_pyproject_metadata():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = meta["project"]
    assert project["license"] == "MIT"  # an SPDX expression, not the deprecated table form
    for name in project["license-files"]:
        assert "Permission is hereby granted" in (ROOT / name).read_text()
    assert any(c.startswith("Topic ::") for c in project["classifiers"])
    (backend,) = [r for r in meta["build-system"]["requires"] if r.startswith("setuptools")]
    assert re.search(r">=\s*77", backend) and re.search(r"<\s*\d+", backend)
