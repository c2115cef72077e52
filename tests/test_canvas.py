"""Canvas generators: shapes, placement, clutter, reading order, fixed sets, bad configs."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from glimpse_envs.canvas import (
    Canvas,
    CenteredCanvas,
    ClutteredCanvas,
    MultiDigitCanvas,
    TranslatedCanvas,
)
from tests.conftest import needs_mnist


def reference_render(canvas: Canvas, params: np.ndarray, split: str) -> np.ndarray:
    """Paste layer by layer with Python loops: clutter first, digits on top, pixel-wise maximum."""
    images = canvas.data.images(split)
    out = np.zeros((len(params), canvas.size, canvas.size), np.uint8)
    c = canvas.clutter_size
    for b, p in enumerate(params):
        for k in range(canvas.n_clutter):
            src, cx, cy, px, py = p[3 * canvas.n_digits + 5 * k : 3 * canvas.n_digits + 5 * k + 5]
            src = src + (src >= p[0])
            crop = images[src, cy : cy + c, cx : cx + c]
            out[b, py : py + c, px : px + c] = np.maximum(out[b, py : py + c, px : px + c], crop)
        for j in range(canvas.n_digits):
            idx, x, y = p[3 * j], p[3 * j + 1] + j * (canvas.size // canvas.n_digits), p[3 * j + 2]
            out[b, y : y + 28, x : x + 28] = np.maximum(out[b, y : y + 28, x : x + 28], images[idx])
    return out


@pytest.mark.parametrize(
    "make",
    [
        lambda ds: CenteredCanvas(dataset=ds),
        lambda ds: TranslatedCanvas(60, dataset=ds),
        lambda ds: ClutteredCanvas(60, 4, 8, dataset=ds),
        lambda ds: ClutteredCanvas(100, 8, 8, dataset=ds),
        lambda ds: MultiDigitCanvas(60, 2, dataset=ds),
        lambda ds: MultiDigitCanvas(140, 5, n_clutter=3, dataset=ds),
    ],
)
def test_render_matches_reference_and_invariants(tiny, make):
    canvas = make(tiny)
    rng = np.random.default_rng(1)
    params = canvas.draw(rng, "train", 32)
    assert params.shape == (32, canvas.n_params) and params.dtype == np.int64
    images, labels = canvas.render(params, "train")
    assert images.shape == (32, canvas.size, canvas.size) and images.dtype == np.uint8
    assert labels.shape == (32, canvas.n_targets) and labels.dtype == np.int64
    np.testing.assert_array_equal(images, reference_render(canvas, params, "train"))
    slot = canvas.size // canvas.n_digits
    for b, p in enumerate(params):
        for j in range(canvas.n_digits):
            x, y = p[3 * j + 1] + j * slot, p[3 * j + 2]
            # the digit lies wholly inside the canvas and inside its own slot (reading order)
            assert j * slot <= x and x + 28 <= (j + 1) * slot and 0 <= y and y + 28 <= canvas.size
            assert labels[b, j] == tiny.labels("train")[p[3 * j]]
        # clutter: exactly n_clutter pieces, each from another image than the target
        clutter = p[3 * canvas.n_digits :].reshape(canvas.n_clutter, 5)
        assert len(clutter) == canvas.n_clutter
        assert np.all(clutter[:, 0] + (clutter[:, 0] >= p[0]) != p[0])
        assert np.all(clutter[:, 3:] + canvas.clutter_size <= canvas.size)


def test_translated_digit_never_cut(tiny):
    canvas = TranslatedCanvas(60, dataset=tiny)  # stand-in digits have no zero pixel
    images, _ = canvas.sample(np.random.default_rng(0), 64)
    assert np.all((images > 0).sum(axis=(1, 2)) == 28 * 28)


def test_clutter_count_visible(tiny):
    canvas = ClutteredCanvas(200, 4, 8, dataset=tiny)  # large, so pieces rarely overlap
    p = canvas.draw(np.random.default_rng(3), "train", 1)
    images, _ = canvas.render(p, "train")
    pieces = p[0, 3:].reshape(4, 5)
    x, y = p[0, 1], p[0, 2]
    mask = np.zeros((200, 200), bool)
    for _, _, _, px, py in pieces:
        mask[py : py + 8, px : px + 8] = True
    mask[y : y + 28, x : x + 28] = True
    assert np.array_equal(images[0] > 0, mask)


def test_sample_is_seeded(tiny):
    canvas = ClutteredCanvas(60, dataset=tiny)
    a = canvas.sample(np.random.default_rng(5), 8, "validation")
    b = canvas.sample(np.random.default_rng(5), 8, "validation")
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert canvas.split_size("validation") == 10


def test_fixed_is_pure_and_uses_digit_i(tiny):
    canvas = ClutteredCanvas(60, dataset=tiny)
    a, la = canvas.fixed("test", [3, 0, 7])
    b, lb = canvas.fixed("test", [7])
    assert np.array_equal(a[2], b[0]) and np.array_equal(la[2], lb[0])
    assert np.array_equal(la[:, 0], tiny.labels("test")[[3, 0, 7]])
    c, _ = canvas.fixed("validation", [7])
    assert not np.array_equal(c[0], b[0])
    with pytest.raises(ValueError, match="index out of range"):
        canvas.fixed("test", [20])
    with pytest.raises(ValueError, match="unknown split"):
        canvas.fixed("dev", [0])


_HASH_SNIPPET = (
    "import hashlib, numpy as np; from glimpse_envs.canvas import ClutteredCanvas, MultiDigitCanvas;"
    "h = hashlib.sha256();"
    "[h.update(np.ascontiguousarray(a).tobytes()) for c in (ClutteredCanvas(100, 8), MultiDigitCanvas(60, 2))"
    " for a in c.fixed('test', [0, 1, 9999])];"
    "print(h.hexdigest())"
)


@needs_mnist
def test_fixed_test_canvases_identical_across_processes():
    local = {}
    exec(_HASH_SNIPPET.replace("print(h.hexdigest())", "out = h.hexdigest()"), local)
    other = subprocess.run(
        [sys.executable, "-c", _HASH_SNIPPET], capture_output=True, text=True, check=True
    )
    assert other.stdout.strip() == local["out"]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(size=20), "size=20 cannot hold 1 digit"),
        (dict(size=60, n_digits=3), "size >= 84"),
        (dict(n_digits=0), "n_digits=0 invalid"),
        (dict(n_digits=6, size=200), "n_digits=6 invalid"),
        (dict(n_clutter=-1), "n_clutter=-1 invalid"),
        (dict(clutter_size=0), "clutter_size=0 invalid"),
        (dict(clutter_size=29), "clutter_size=29 invalid"),
        (dict(dataset="emnist"), "unknown dataset 'emnist'"),
    ],
)
def test_bad_configs(tiny, kwargs, match):
    kwargs = {"dataset": tiny, **kwargs}
    with pytest.raises(ValueError, match=match):
        Canvas(**kwargs)


def test_env_reset_draws_what_canvas_draw_draws(tiny):
    """The env's reset loop takes exactly the numbers ``canvas.draw(rng)`` takes."""
    import gymnasium as gym

    env = gym.make("glimpse_envs/ClutteredMNIST-v0", dataset=tiny).unwrapped
    env.reset(seed=42)
    rng = np.random.default_rng(np.random.SeedSequence(42))
    images, labels = env.canvas.render(env.canvas.draw(rng, "train"), "train")
    assert np.array_equal(env._images, images) and np.array_equal(env._labels, labels)
