"""Data lookup, download, checksums, IDX parsing and splits (offline: file:// mirrors)."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from glimpse_envs import data
from glimpse_envs.data import DataError
from tests.conftest import needs_mnist

try:  # found through the documented lookup before any test changes it
    _REAL = data.find_files("mnist", allow_download=False)
except DataError:
    _REAL = None


def _real_mnist_dir() -> Path:
    return _REAL


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No env var, an empty home cache, and no network mirrors."""
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: tmp_path / "home"))
    monkeypatch.setitem(data.DATASETS["mnist"], "mirrors", [(tmp_path / "nowhere").as_uri() + "/"])
    return tmp_path


def test_unknown_dataset_name():
    with pytest.raises(ValueError, match="unknown dataset 'digits'.*mnist"):
        data.load_dataset("digits")


@needs_mnist
def test_splits_and_shared_cache():
    ds = data.load_dataset("mnist")
    assert ds.size("train") == 55000 and ds.size("validation") == 5000 and ds.size("test") == 10000
    assert ds.images("train").shape == (55000, 28, 28) and ds.images("train").dtype == np.uint8
    assert ds.labels("test").dtype == np.int64 and set(np.unique(ds.labels("test"))) == set(
        range(10)
    )
    assert data.load_dataset("mnist") is ds  # once per process, shared
    with pytest.raises(ValueError, match="unknown split"):
        ds.images("dev")


@needs_mnist
def test_lookup_order_data_dir_then_env(tmp_path, monkeypatch):
    src = _real_mnist_dir()
    mine = tmp_path / "mine" / "mnist"
    shutil.copytree(src, mine)
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "empty"))
    assert data.find_files("mnist", tmp_path / "mine") == mine  # a root holding mnist/
    assert data.find_files("mnist", mine) == mine  # or the folder itself
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "mine"))
    assert data.find_files("mnist") == mine


def test_missing_everywhere_says_where_and_how(isolated):
    with pytest.raises(DataError) as e:
        data.find_files("mnist", isolated / "dd")
    msg = str(e.value)
    assert (
        str(isolated / "dd" / "mnist") in msg
        and str(isolated / "home" / ".cache" / "glimpse_envs" / "mnist") in msg
    )
    assert data.ENV_VAR in msg and "data_dir" in msg and "download failed" in msg
    # nothing half-written is left behind
    assert not any(p.name.endswith(".part") for p in (isolated / "dd").rglob("*"))


@needs_mnist
def test_download_from_mirrors_next_on_failure(isolated, monkeypatch):
    src = _real_mnist_dir()
    good = isolated / "mirror"
    shutil.copytree(src, good)
    bad = isolated / "badmirror"
    bad.mkdir()
    for f in data.FILES.values():  # a mirror serving corrupt files
        (bad / f).write_bytes(b"not the file")
    mirrors = [(isolated / "nowhere").as_uri() + "/", bad.as_uri() + "/", good.as_uri() + "/"]
    dest = isolated / "dl"
    data.download("mnist", dest, mirrors=mirrors, progress=True)
    for name, md5 in data.DATASETS["mnist"]["md5"].items():
        assert data.md5sum(dest / name) == md5
    assert sorted(p.name for p in dest.iterdir()) == sorted(data.FILES.values())


def test_download_opener_and_all_mirrors_bad(isolated):
    class Response:
        headers = {"Content-Length": "4"}

        def __init__(self):
            self.chunks = [b"junk", b""]

        def read(self, n):
            return self.chunks.pop(0)

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

    urls = []

    def opener(url, timeout):
        urls.append(url)
        return Response()

    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz.*every mirror failed") as e:
        data.download("mnist", isolated / "dl", mirrors=["http://a/", "http://b/"], opener=opener)
    assert urls == ["http://a/train-images-idx3-ubyte.gz", "http://b/train-images-idx3-ubyte.gz"]
    assert "checksum mismatch" in str(e.value)
    assert list((isolated / "dl").iterdir()) == []  # the temporary files are gone, nothing renamed


@needs_mnist
def test_checksum_mismatch_names_file_and_is_never_used(tmp_path, monkeypatch):
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: tmp_path / "home"))
    d = tmp_path / "d" / "mnist"
    shutil.copytree(_real_mnist_dir(), d)
    bad = d / "t10k-labels-idx1-ubyte.gz"
    bad.chmod(0o644)
    raw = bytearray(gzip.decompress(bad.read_bytes()))
    raw[100] = (raw[100] + 1) % 10
    bad.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DataError, match="checksum mismatch for .*t10k-labels-idx1-ubyte.gz"):
        data.load_dataset("mnist", tmp_path / "d")


def _write_gz(path: Path, payload: bytes) -> Path:
    path.write_bytes(gzip.compress(payload))
    return path


def test_idx_parsing_and_malformed_files(tmp_path):
    header = (
        bytes([0, 0, 8, 3])
        + (2).to_bytes(4, "big")
        + (3).to_bytes(4, "big")
        + (4).to_bytes(4, "big")
    )
    ok = _write_gz(tmp_path / "ok.gz", header + bytes(range(24)))
    assert data.read_idx(ok).shape == (2, 3, 4)
    assert data.read_idx(ok)[1, 2, 3] == 23
    with pytest.raises(DataError, match="truncated or malformed IDX.*delete it"):
        data.read_idx(_write_gz(tmp_path / "short.gz", header + bytes(10)))
    with pytest.raises(DataError, match="bad magic"):
        data.read_idx(_write_gz(tmp_path / "magic.gz", b"\x12\x34\x56\x78" + bytes(8)))
    with pytest.raises(DataError, match="header cut short"):
        data.read_idx(_write_gz(tmp_path / "hdr.gz", bytes([0, 0, 8, 3, 0, 0])))
    cut = tmp_path / "cut.gz"
    cut.write_bytes(ok.read_bytes()[:-10])
    with pytest.raises(DataError, match="malformed or truncated gzip"):
        data.read_idx(cut)


def _silent_server():
    """A local socket that accepts connections and never answers (a stalled mirror)."""
    import socket

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    return srv, f"http://127.0.0.1:{srv.getsockname()[1]}/"


def test_stalled_mirror_times_out_and_the_next_is_tried(isolated):
    import time

    srv, url = _silent_server()
    try:
        good = isolated / "good"
        good.mkdir()
        t0 = time.perf_counter()
        with pytest.raises(DataError, match="every mirror failed") as e:
            data.download(
                "mnist",
                isolated / "dl",
                mirrors=[url, good.as_uri() + "/"],
                progress=False,
                timeout=0.5,
            )
        assert time.perf_counter() - t0 < 10
        assert "timed out" in str(e.value)  # the stalled mirror, then the empty one
        assert list((isolated / "dl").iterdir()) == []
    finally:
        srv.close()


def test_stale_part_files_of_dead_processes_are_removed(tmp_path):
    import subprocess
    import sys

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    stale = tmp_path / f"t10k-labels-idx1-ubyte.gz.{dead}.part"
    live = tmp_path / f"t10k-labels-idx1-ubyte.gz.{os.getpid()}.part"
    stale.write_bytes(b"half")
    live.write_bytes(b"in progress")
    assert data.remove_stale_parts(tmp_path) == [stale]
    assert not stale.exists() and live.exists()


def test_sigterm_mid_download_leaves_no_part_file(tmp_path):
    """A child downloads from a local server that trickles bytes; SIGTERM ends it cleanly."""
    import signal
    import socket
    import subprocess
    import sys
    import threading
    import time

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    port = srv.getsockname()[1]
    stop = threading.Event()

    def serve():
        conn, _ = srv.accept()
        conn.recv(4096)
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 1000000\r\n\r\n")
        while not stop.is_set():
            try:
                conn.sendall(b"x" * 100)
            except OSError:
                break
            time.sleep(0.05)
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    dest = tmp_path / "dl"
    code = (
        f"from glimpse_envs import data; data.download('mnist', {str(dest)!r}, "
        f"mirrors=['http://127.0.0.1:{port}/'], progress=False, timeout=5)"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE)
    try:
        for _ in range(200):  # wait until the download has started writing
            if dest.exists() and any(dest.glob("*.part")):
                break
            time.sleep(0.05)
        assert any(dest.glob("*.part"))
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=10) == 143
    finally:
        stop.set()
        child.kill()
        srv.close()
    assert list(dest.iterdir()) == []


@needs_mnist
def test_one_missing_file_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: tmp_path / "home"))
    monkeypatch.setitem(data.DATASETS["mnist"], "mirrors", [(tmp_path / "nowhere").as_uri() + "/"])
    d = tmp_path / "d" / "mnist"
    shutil.copytree(_real_mnist_dir(), d)
    (d / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError) as e:
        data.find_files("mnist", d)
    assert f"{d} has 3 of the 4 files but lacks t10k-labels-idx1-ubyte.gz" in str(e.value)
