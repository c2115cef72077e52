"""MNIST and Fashion-MNIST: lookup, download, checksums, splits, and a per-process cache.

The datasets come as the four standard gzipped IDX files each. They are looked for, in order:

1. the ``data_dir`` argument (the folder that holds the files, or a root that holds
   ``mnist/`` and ``fashion-mnist/``);
2. the environment variable ``GLIMPSE_ENVS_DATA`` (a root that holds ``mnist/`` and
   ``fashion-mnist/``);
3. ``~/.cache/glimpse_envs/<folder>/`` (``<folder>`` is ``mnist`` or ``fashion-mnist``);
4. a download from the usual public mirrors into ``data_dir/<folder>`` when ``data_dir`` is given,
   else into the cache folder of 3. Each file goes to a temporary name, is checked against its MD5,
   and is renamed into place only when complete and correct; on any failure the next mirror is
   tried. A mirror that does not answer within ``DOWNLOAD_TIMEOUT`` seconds counts as failed. A
   temporary file is removed on any error and on SIGTERM; one left by a killed process
   (``NAME.PID.part``, its process gone) is removed by the next download into that folder.

Every file, found or downloaded, is checked against its published MD5 (once per file per process),
and a file that does not match is never used. Splits: ``train`` is the first 55,000 images of the
training file, ``validation`` its last 5,000, ``test`` the 10,000-image test file. A dataset is
loaded once per process and shared by every canvas and env that asks for it.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import signal
import sys
import threading
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from glimpse_envs.vector import is_int

SPLITS = ("train", "validation", "test")
#: the code each split contributes to the seed of a fixed evaluation canvas (see ``canvas.fixed``)
SPLIT_CODE = {"train": 0, "validation": 1, "test": 2}
N_VALIDATION = 5000

FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}

DATASETS: dict[str, dict] = {
    "mnist": {
        "folder": "mnist",
        "mirrors": [
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ],
        "md5": {
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        },
        "classes": [str(i) for i in range(10)],
    },
    "fashion": {
        "folder": "fashion-mnist",
        "mirrors": [
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
        ],
        "md5": {
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
        },
        "classes": [
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ],
    },
}

ENV_VAR = "GLIMPSE_ENVS_DATA"


class DataError(RuntimeError):
    """The dataset files are missing, corrupt or malformed; the message says how to fix it."""


@dataclass
class Dataset:
    """Images and labels of one dataset, split into ``train``, ``validation`` and ``test``.

    Any image size, grayscale or colour, and any number of classes: this is how your own images
    reach the canvases, the sensors, the renders and the agents::

        ds = Dataset("shapes", {"train": (x_train, y_train), "validation": (x_val, y_val),
                                "test": (x_test, y_test)})
        env = gym.make("glimpse_envs/TranslatedMNIST-v0", dataset=ds)

    Images are (N, H, W) (grayscale) or (N, H, W, C) (C channels, e.g. RGB), the same H, W and C
    in every split, uint8 in 0..255 or float in [0, 1] (stored as uint8: ``round(255 x)``); a
    channel axis of 1 is dropped (grayscale). Labels are N integers in [0, num_classes).
    :meth:`from_folder` reads an image folder with one sub-folder per class.

    Attributes:
        name: the dataset name (``"mnist"``, ``"fashion"``, or anything for your own).
        splits: split name -> (uint8 images (N, H, W) or (N, H, W, C), int64 labels (N,)).
        num_classes: the number of classes: given, or ``len(classes)`` when the names are given,
            else the largest label of any split plus one. At least 2.
        classes: the class names (default ``"0"``, ``"1"``, ...).
    """

    name: str
    splits: dict[str, tuple[np.ndarray, np.ndarray]]
    num_classes: int | None = None
    classes: list[str] | None = None

    def __post_init__(self):
        missing = [sp for sp in SPLITS if sp not in self.splits]
        if missing:
            raise ValueError(
                f"Dataset {self.name!r}: splits {missing} missing: give all of {SPLITS}"
            )
        self.splits = {sp: self._checked_split(sp) for sp in SPLITS}
        shapes = {sp: self.splits[sp][0].shape[1:] for sp in SPLITS}
        if len(set(shapes.values())) > 1:
            raise ValueError(
                f"Dataset {self.name!r}: the splits' images differ in shape ({shapes}): resize "
                "them to one (H, W) and give them the same channels"
            )
        if self.num_classes is None:
            top = max(
                (int(self.splits[sp][1].max()) for sp in SPLITS if self.splits[sp][1].size),
                default=-1,
            )
            self.num_classes = len(self.classes) if self.classes is not None else top + 1
        if not is_int(self.num_classes) or self.num_classes < 2:
            raise ValueError(
                f"Dataset {self.name!r}: num_classes={self.num_classes!r} invalid: a task needs "
                "at least 2 classes (labels 0 and 1 at least)"
            )
        self.num_classes = int(self.num_classes)
        if self.classes is None:
            self.classes = [str(i) for i in range(self.num_classes)]
        elif len(self.classes) != self.num_classes:
            raise ValueError(
                f"Dataset {self.name!r}: {len(self.classes)} class names for num_classes="
                f"{self.num_classes}: give one name per class"
            )
        for sp in SPLITS:
            y = self.splits[sp][1]
            if y.size and (y.min() < 0 or y.max() >= self.num_classes):
                raise ValueError(
                    f"Dataset {self.name!r}: {sp} labels must be integers in [0, {self.num_classes}) "
                    f"(one per image, num_classes={self.num_classes}), got values from {y.min()} to "
                    f"{y.max()}: number the classes 0 .. {self.num_classes - 1} or pass num_classes"
                )

    def _checked_split(self, sp: str) -> tuple[np.ndarray, np.ndarray]:
        """``sp``'s (images, labels) as uint8 (N, H, W[, C]) and int64 (N,), or a ValueError."""
        x, y = (np.asarray(a) for a in self.splits[sp])
        if x.ndim == 4 and x.shape[3] == 1:
            x = x[..., 0]
        if x.ndim not in (3, 4) or 0 in x.shape[1:]:
            raise ValueError(
                f"Dataset {self.name!r}: {sp} images have shape {x.shape}; give (N, H, W) grayscale "
                "or (N, H, W, C) images with C channels (e.g. RGB), one image per row"
            )
        if x.dtype.kind == "f":
            if x.size and not (np.isfinite(x).all() and x.min() >= 0.0 and x.max() <= 1.0):
                raise ValueError(
                    f"Dataset {self.name!r}: {sp} images are {x.dtype} with values outside [0, 1]: "
                    "give float images in [0, 1] (divide 0..255 values by 255) or uint8 images"
                )
            x = np.rint(x * 255.0).astype(np.uint8)
        elif x.dtype != np.uint8:
            raise ValueError(
                f"Dataset {self.name!r}: {sp} images are {x.dtype}: give uint8 (0..255) or float "
                "images in [0, 1]"
            )
        if y.shape != (x.shape[0],) or y.dtype.kind not in "iu":
            raise ValueError(
                f"Dataset {self.name!r}: {sp} labels must be {x.shape[0]} integers (one per "
                f"image), got {y.dtype} of shape {y.shape}"
            )
        return x, y.astype(np.int64, copy=False)

    @property
    def image_shape(self) -> tuple[int, int]:
        """(H, W) of every image."""
        return tuple(self.splits["train"][0].shape[1:3])

    @property
    def channels(self) -> int:
        """Channels per pixel: 1 for grayscale (N, H, W) images, else C of (N, H, W, C)."""
        x = self.splits["train"][0]
        return 1 if x.ndim == 3 else int(x.shape[3])

    def images(self, split: str) -> np.ndarray:
        return self.splits[check_split(split)][0]

    def labels(self, split: str) -> np.ndarray:
        return self.splits[check_split(split)][1]

    def size(self, split: str) -> int:
        return len(self.splits[check_split(split)][1])

    def resized(self, split: str, height: int, width: int) -> np.ndarray:
        """``split``'s images resized to (height, width) (:func:`resize`), kept for the next call."""
        cache = self.__dict__.setdefault("_resized", {})
        key = (check_split(split), int(height), int(width))
        if key not in cache:
            cache[key] = resize(self.images(split), height, width)
        return cache[key]

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop("_resized", None)  # rebuilt on demand: not worth its bytes in a pickle
        return state

    @classmethod
    def from_folder(
        cls,
        path: str | os.PathLike,
        *,
        name: str | None = None,
        size: int | tuple[int, int] | None = None,
        mode: str = "RGB",
        validation: float = 0.1,
        test: float = 0.1,
        seed: int = 0,
    ) -> Dataset:
        """A dataset read from an image folder with Pillow (``pip install pillow``).

        ``path`` holds one sub-folder per class (``path/cat/001.png``, ``path/dog/...``), the class
        names being the sub-folder names in sorted order (label i: the i-th name). When ``path``
        holds ``train/`` and ``test/`` (and optionally ``validation/``) folders, each laid out that
        way, they are the splits; otherwise the images of each class are shuffled (seeded by
        ``seed``) and its last ``validation`` and ``test`` fractions become those splits (at
        least one image each). Every file Pillow can open is read, converted to ``mode`` (``"RGB"``
        or ``"L"``, grayscale); all must have one size, or give ``size`` (an int or (H, W)) to
        resize them all (area averaging).
        """
        try:
            from PIL import Image
        except ImportError as e:
            raise ImportError(
                "Dataset.from_folder reads images with Pillow, which is not installed: "
                "pip install pillow (or build a Dataset from numpy arrays)"
            ) from e
        root = Path(path)
        if not root.is_dir():
            raise ValueError(
                f"Dataset.from_folder: {root} is not a folder: give a folder holding "
                "one sub-folder of images per class"
            )
        if mode not in ("RGB", "L"):
            raise ValueError(f"mode={mode!r} invalid: use 'RGB' (colour) or 'L' (grayscale)")
        hw = None if size is None else ((size, size) if is_int(size) else tuple(size))
        split_dirs = {sp: root / sp for sp in SPLITS if (root / sp).is_dir()}
        if "validation" not in split_dirs and (root / "val").is_dir():
            split_dirs["validation"] = root / "val"
        presplit = "train" in split_dirs and "test" in split_dirs
        tops = [split_dirs["train"]] if presplit else [root]
        classes = sorted(d.name for d in tops[0].iterdir() if d.is_dir())
        if len(classes) < 2:
            raise ValueError(
                f"Dataset.from_folder: {tops[0]} has {len(classes)} class sub-folder(s): give one "
                "sub-folder of images per class, at least 2"
            )

        def read(folder: Path) -> tuple[np.ndarray, np.ndarray]:
            images, labels = [], []
            for label, c in enumerate(classes):
                sub = folder / c
                for f in sorted(sub.iterdir()) if sub.is_dir() else []:
                    try:
                        with Image.open(f) as im:
                            images.append(np.asarray(im.convert(mode)))
                    except (OSError, ValueError):  # not an image (a README, a .DS_Store)
                        continue
                    labels.append(label)
            if not images:
                raise ValueError(f"Dataset.from_folder: no images found under {folder}/<class>/")
            shapes = {a.shape for a in images}
            if hw is not None:
                images = [resize(a[None], *hw)[0] if a.shape[:2] != hw else a for a in images]
            elif len(shapes) > 1:
                raise ValueError(
                    f"Dataset.from_folder: images under {folder} differ in size "
                    f"({sorted(shapes)[:3]}...): pass size=(H, W) to resize them all"
                )
            return np.stack(images), np.array(labels, np.int64)

        if presplit:
            splits = {sp: read(d) for sp, d in split_dirs.items()}
            if "validation" not in splits:
                splits["validation"] = _take_last(*splits["train"], validation, seed)
                splits["train"] = _take_last(*splits["train"], validation, seed, rest=True)
        else:
            x, y = read(root)
            splits = _split_per_class(x, y, validation, test, seed)
        return cls(name or root.name, splits, classes=classes)


def _split_per_class(x, y, validation: float, test: float, seed: int) -> dict:
    """Each class's images shuffled; its last fractions to test and validation, the rest to train."""
    for what, f in (("validation", validation), ("test", test)):
        if not 0.0 < f < 1.0:
            raise ValueError(f"{what}={f!r} invalid: give the fraction of each class, in (0, 1)")
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {sp: [] for sp in SPLITS}
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_test = max(1, round(test * len(idx)))
        n_val = max(1, round(validation * len(idx)))
        if n_test + n_val >= len(idx):
            raise ValueError(
                f"class {c} has {len(idx)} images: too few to keep some for train, validation and "
                "test; add images or give train/ and test/ folders"
            )
        parts["test"].append(idx[len(idx) - n_test :])
        parts["validation"].append(idx[len(idx) - n_test - n_val : len(idx) - n_test])
        parts["train"].append(idx[: len(idx) - n_test - n_val])
    return {
        sp: (x[np.sort(np.concatenate(p))], y[np.sort(np.concatenate(p))])
        for sp, p in parts.items()
    }


def _take_last(x, y, fraction: float, seed: int, rest: bool = False):
    """A seeded ``fraction`` of (x, y) (at least one row), or with ``rest`` the other rows."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"validation={fraction!r} invalid: give a fraction in (0, 1)")
    idx = np.random.default_rng(seed).permutation(len(y))
    n = max(1, round(fraction * len(y)))
    keep = np.sort(idx[: len(y) - n] if rest else idx[len(y) - n :])
    return x[keep], y[keep]


def resize(images: np.ndarray, height: int, width: int) -> np.ndarray:
    """A batch of images (N, H, W) or (N, H, W, C) resized to (height, width) by area averaging.

    Output pixel (r, q) is the mean of the input over the rectangle it covers (rows
    ``[r H / height, (r + 1) H / height)``, likewise the columns), pixels cut by its edge weighted
    by the part covered: a separable product of two weight matrices, batched over the images.
    uint8 in, uint8 out (rounded to nearest).
    """
    x = np.asarray(images)
    if x.ndim not in (3, 4):
        raise ValueError(f"resize takes (N, H, W) or (N, H, W, C) images, got shape {x.shape}")
    ry, rx = _area_weights(x.shape[1], int(height)), _area_weights(x.shape[2], int(width))
    out = np.einsum("rh,nhw...,qw->nrq...", ry, x.astype(np.float64), rx, optimize=True)
    if x.dtype == np.uint8:
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return out.astype(x.dtype)


def _area_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in): row r averages the input interval [r n_in / n_out, (r + 1) n_in / n_out)."""
    if n_out < 1:
        raise ValueError(f"cannot resize to {n_out} pixels: give a size >= 1")
    edges = np.arange(n_out + 1) * (n_in / n_out)
    lo, hi = edges[:-1, None], edges[1:, None]
    pix = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(hi, pix + 1) - np.maximum(lo, pix), 0.0, None)
    return overlap / overlap.sum(1, keepdims=True)


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: use one of {SPLITS}")
    return split


def check_dataset_name(dataset: str, folders: bool = False) -> str:
    """``dataset`` if it names a known dataset (or, with ``folders``, an image folder)."""
    if dataset in DATASETS or (folders and is_image_folder(dataset)):
        return dataset
    raise ValueError(
        f"unknown dataset {dataset!r}: use one of {sorted(DATASETS)}, the path of an image folder "
        "(one sub-folder per class), or a glimpse_envs.data.Dataset instance"
    )


def is_image_folder(dataset) -> bool:
    """Whether ``dataset`` is the path of an existing folder (read by :meth:`Dataset.from_folder`)."""
    return (
        isinstance(dataset, (str, os.PathLike))
        and str(dataset) not in DATASETS
        and Path(dataset).is_dir()
    )


# ---------------------------------------------------------------------------------------------
# IDX files and checksums

_VERIFIED: dict[tuple[str, int, int], bool] = {}


def md5sum(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify(path: Path, expected: str) -> None:
    """Raise :class:`DataError` unless ``path``'s MD5 is ``expected`` (cached per process)."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if _VERIFIED.get(key):
        return
    actual = md5sum(path)
    if actual != expected:
        raise DataError(
            f"checksum mismatch for {path}: MD5 {actual}, expected {expected}. The file is corrupt "
            "or not the published one; delete it (it will not be used) and download it again."
        )
    _VERIFIED[key] = True


def read_idx(path: Path) -> np.ndarray:
    """Read a gzipped IDX file of unsigned bytes (labels: 1 dim, images: 3 dims)."""
    try:
        raw = gzip.decompress(Path(path).read_bytes())
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(
            f"malformed or truncated gzip file {path}: {e}; delete it and fetch it again"
        ) from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or raw[3] not in (1, 3):
        raise DataError(
            f"malformed IDX file {path}: bad magic number {raw[:4].hex()} (expected 00000801 for "
            "labels or 00000803 for images); delete it and fetch it again"
        )
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise DataError(
            f"truncated IDX file {path}: header cut short; delete it and fetch it again"
        )
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, 4))
    n = int(np.prod(shape))
    if len(raw) != 4 + 4 * ndim + n:
        raise DataError(
            f"truncated or malformed IDX file {path}: header says shape {shape} ({n} bytes) but "
            f"{len(raw) - 4 - 4 * ndim} bytes follow; delete it and fetch it again"
        )
    return np.frombuffer(raw, np.uint8, n, 4 + 4 * ndim).reshape(shape)


# ---------------------------------------------------------------------------------------------
# Lookup and download


def candidate_dirs(dataset: str, data_dir: str | os.PathLike | None = None) -> list[Path]:
    """The folders searched for ``dataset``'s files, in order."""
    folder = DATASETS[check_dataset_name(dataset)]["folder"]
    dirs = []
    if data_dir is not None:
        dirs += [Path(data_dir) / folder, Path(data_dir)]
    if os.environ.get(ENV_VAR):
        dirs.append(Path(os.environ[ENV_VAR]) / folder)
    dirs.append(cache_dir(dataset))
    return dirs


def cache_dir(dataset: str) -> Path:
    return Path.home() / ".cache" / "glimpse_envs" / DATASETS[dataset]["folder"]


def _progress(name: str, done: int, total: int | None) -> None:
    if total:
        sys.stderr.write(f"\rdownloading {name}: {done / total:6.1%} of {total / 1e6:.1f} MB")
    else:
        sys.stderr.write(f"\rdownloading {name}: {done / 1e6:.1f} MB")
    sys.stderr.flush()


DOWNLOAD_TIMEOUT = 30.0
"""Seconds a mirror may take to answer (to connect, or between two reads) before the next is tried."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but is not ours
        return True
    return True


def remove_stale_parts(dest: Path, pattern: str = "*.part") -> list[Path]:
    """Remove the temporary files ``NAME.PID.EXT`` matching ``pattern`` in ``dest`` whose process
    is gone (a killed download: ``*.part``; train.py's killed checkpoint writes: ``.*.tmp``)."""
    removed = []
    for part in Path(dest).glob(pattern):
        pid = part.suffixes[-2][1:] if len(part.suffixes) >= 2 else ""
        if pid.isdigit() and not _pid_alive(int(pid)):
            part.unlink(missing_ok=True)
            removed.append(part)
    return removed


class _SigtermExits:
    """While active (in the main thread only), SIGTERM raises ``SystemExit(143)``, so ``finally``
    blocks run and a download leaves no temporary file; the previous handler is restored after."""

    def __enter__(self):
        self.old = None
        if threading.current_thread() is threading.main_thread():

            def stop(signum, frame):
                raise SystemExit(128 + signum)

            self.old = signal.signal(signal.SIGTERM, stop)
        return self

    def __exit__(self, *exc):
        if self.old is not None:
            signal.signal(signal.SIGTERM, self.old)
        return False


def download(
    dataset: str,
    dest: Path,
    mirrors: list[str] | None = None,
    opener: Callable = urllib.request.urlopen,
    progress: bool = True,
    timeout: float | None = None,
) -> None:
    """Download every missing file of ``dataset`` into ``dest``, trying each mirror in turn.

    Each file is written to a temporary file in ``dest``, checked against its MD5 and renamed into
    place only then. ``opener(url, timeout=...)`` opens a URL (``urllib.request.urlopen``); a mirror
    silent for ``timeout`` seconds (default ``DOWNLOAD_TIMEOUT``) fails and the next is tried.
    Raises :class:`DataError` listing every mirror's failure if no mirror works.
    """
    spec = DATASETS[check_dataset_name(dataset)]
    mirrors = spec["mirrors"] if mirrors is None else mirrors
    timeout = DOWNLOAD_TIMEOUT if timeout is None else float(timeout)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(dest)
    with _SigtermExits():
        _download_files(spec, dataset, dest, mirrors, opener, progress, timeout)


def _download_files(spec, dataset, dest, mirrors, opener, progress, timeout) -> None:
    for name, md5 in spec["md5"].items():
        target = dest / name
        if target.exists():
            verify(target, md5)
            continue
        errors = []
        for mirror in mirrors:
            url = mirror + name
            tmp = str(dest / f"{name}.{os.getpid()}.part")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                with os.fdopen(fd, "wb") as out, opener(url, timeout=timeout) as response:
                    total = (
                        response.headers.get("Content-Length")
                        if hasattr(response, "headers")
                        else None
                    )
                    total = int(total) if total else None
                    done = 0
                    for chunk in iter(lambda: response.read(1 << 16), b""):
                        out.write(chunk)
                        done += len(chunk)
                        if progress:
                            _progress(name, done, total)
                if progress:
                    sys.stderr.write("\n")
                actual = md5sum(Path(tmp))
                if actual != md5:
                    raise DataError(
                        f"checksum mismatch for {name} from {url}: MD5 {actual}, expected {md5}"
                    )
                os.replace(tmp, target)
                break
            except Exception as e:  # noqa: BLE001 - any failure means: try the next mirror
                errors.append(f"{url}: {e}")
            finally:
                if os.path.exists(tmp):
                    os.remove(tmp)
        else:
            raise DataError(
                f"could not download {name} of {dataset!r}; every mirror failed:\n  "
                + "\n  ".join(errors)
                + f"\nCopy the four *-ubyte.gz files into {dest} by hand, or set {ENV_VAR} to a folder "
                f"holding {spec['folder']}/."
            )


def find_files(
    dataset: str, data_dir: str | os.PathLike | None = None, allow_download: bool = True
) -> Path:
    """The folder holding all four verified files of ``dataset`` (downloading them if needed)."""
    spec = DATASETS[check_dataset_name(dataset)]
    looked = candidate_dirs(dataset, data_dir)
    for d in looked:
        if all((d / name).is_file() for name in spec["md5"]):
            for name, md5 in spec["md5"].items():
                verify(d / name, md5)
            return d
    dest = (Path(data_dir) / spec["folder"]) if data_dir is not None else cache_dir(dataset)
    if not allow_download:
        raise DataError(_missing_message(dataset, looked, None))
    try:
        download(dataset, dest)
    except (DataError, OSError) as e:
        raise DataError(_missing_message(dataset, looked, e)) from e
    return dest


def _missing_message(dataset: str, looked: list[Path], error: Exception | None) -> str:
    spec = DATASETS[dataset]
    msg = f"{dataset!r} not found: looked for {', '.join(spec['md5'])} in " + ", ".join(
        str(d) for d in looked
    )
    for d in looked:  # a folder with some of the files: name exactly the ones it lacks
        have = [n for n in spec["md5"] if (d / n).is_file()]
        if have:
            missing = [n for n in spec["md5"] if n not in have]
            msg += f"; {d} has {len(have)} of the 4 files but lacks {', '.join(missing)}"
    if error is not None:
        msg += f"; the download failed too ({error})"
    return msg + (
        f". Fix: set {ENV_VAR} to a folder holding {spec['folder']}/ with the four files, pass "
        f"data_dir=..., or connect to the network so they download into {cache_dir(dataset)}."
    )


_CACHE: dict[tuple[str, str | None, str | None], Dataset] = {}


def load_dataset(
    dataset: str | os.PathLike | Dataset = "mnist", data_dir: str | os.PathLike | None = None
) -> Dataset:
    """Load ``dataset`` once per process (per folder) and return the shared :class:`Dataset`.

    A :class:`Dataset` instance (your own arrays, a test stand-in) is returned as it is; the path
    of an image folder is read by :meth:`Dataset.from_folder` with its defaults, once per process
    (so ``train.py --env-kwargs '{"dataset": "/path/to/folder"}'`` trains on your images).
    """
    if isinstance(dataset, Dataset):
        return dataset
    check_dataset_name(dataset, folders=True)
    if is_image_folder(dataset):
        key = ("folder", str(Path(dataset).resolve()), None)
        if key not in _CACHE:
            _CACHE[key] = Dataset.from_folder(dataset)
        return _CACHE[key]
    key = (dataset, None if data_dir is None else str(data_dir), os.environ.get(ENV_VAR))
    if key in _CACHE:
        return _CACHE[key]
    folder = find_files(dataset, data_dir)
    train_x = read_idx(folder / FILES["train_images"])
    train_y = read_idx(folder / FILES["train_labels"]).astype(np.int64)
    test_x = read_idx(folder / FILES["test_images"])
    test_y = read_idx(folder / FILES["test_labels"]).astype(np.int64)
    if train_x.shape[1:] != (28, 28) or test_x.shape[1:] != (28, 28):
        raise DataError(f"images in {folder} are not 28x28: {train_x.shape}, {test_x.shape}")
    if len(train_x) != len(train_y) or len(test_x) != len(test_y):
        raise DataError(f"image and label counts differ in {folder}")
    n = len(train_x) - N_VALIDATION
    ds = Dataset(
        name=dataset,
        splits={
            "train": (train_x[:n], train_y[:n]),
            "validation": (train_x[n:], train_y[n:]),
            "test": (test_x, test_y),
        },
        classes=list(DATASETS[dataset]["classes"]),
    )
    _CACHE[key] = ds
    return ds
