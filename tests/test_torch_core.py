"""The device path (``glimpse_envs.torch_core``) equals the numpy core, bit for bit, on the CPU:
canvases of every visual id and of other canvas parameters, retina glimpses at every scale count
(random, grid, border and outside locations), tiles, colour datasets, and the integral images of
canvases too large for exact float32 sums. ``import glimpse_envs`` does not import torch."""

from __future__ import annotations

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

from glimpse_envs.canvas import Canvas
from glimpse_envs.retina import Retina, TileSensor
from tests.conftest import VISUAL_IDS, needs_mnist
from tests.test_own_images import random_rgb

torch = pytest.importorskip("torch")
from glimpse_envs.torch_core import (  # noqa: E402  (after the skip)
    TorchCanvas,
    TorchGlimpseCore,
    TorchRetina,
    torch_sensor,
)

SPLITS = ("train", "validation", "test")


def test_importing_the_package_does_not_import_torch():
    code = "import sys, glimpse_envs; print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"


def _locations(rng: np.random.Generator, n: int, grid: int) -> np.ndarray:
    """float32 (n, 2): uniform in [-1, 1], grid points, the borders and corners, and outside."""
    points = (-1.0 + 2.0 * np.arange(grid) / (grid - 1)).astype(np.float32)
    edges = np.array([-1.0, -0.999, 0.0, 0.999, 1.0, -1.5, 1.5, -3.0, 3.0], np.float32)
    parts = [
        rng.uniform(-1, 1, (n, 2)),
        points[rng.integers(0, grid, (n, 2))],
        np.stack(np.meshgrid(edges, edges), -1).reshape(-1, 2),
    ]
    return np.concatenate(parts).astype(np.float32)


def assert_same(numpy_out: np.ndarray, torch_out) -> None:
    """Bit-identical: the same dtype, shape and bytes (no tolerance is needed anywhere)."""
    got = torch_out.cpu().numpy()
    assert got.dtype == numpy_out.dtype and got.shape == numpy_out.shape
    np.testing.assert_array_equal(got, numpy_out)


def check_sensor(sensor, images: np.ndarray, rng: np.random.Generator, grid: int) -> None:
    """prepare and glimpses of the torch twin equal the numpy sensor's, batched and one at a time."""
    twin = torch_sensor(sensor)
    prep, prep_t = sensor.prepare(images), twin.prepare(torch.as_tensor(images))
    assert_same(prep, prep_t)
    loc = _locations(rng, len(images), grid)
    rows = rng.integers(0, len(images), len(loc))
    assert_same(sensor(prep[rows], loc, prepared=True), twin(prep_t[rows], loc, prepared=True))
    # torch locations, and from the images in one call
    assert_same(sensor(images[rows[:5]], loc[:5]), twin(torch.as_tensor(images[rows[:5]]), loc[:5]))
    assert_same(
        sensor(prep[:1], loc[-1:], prepared=True), twin.sense(prep_t[:1], torch.tensor(loc[-1:]))
    )


@pytest.fixture(scope="module", params=["tiny", pytest.param("mnist", marks=needs_mnist)])
def dataset(request, tiny):
    return tiny if request.param == "tiny" else "mnist"


@pytest.mark.parametrize("env_id", VISUAL_IDS)
def test_every_visual_id_renders_and_senses_as_numpy(env_id, dataset):
    env = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point", dataset=dataset)
    u = env.unwrapped
    core = TorchGlimpseCore.from_env(env)
    for seed, split in enumerate(SPLITS):
        rng = np.random.default_rng(seed)
        for n in (1, 3, 64):
            params = u.canvas.draw(rng, split, n)
            images, labels = u.canvas.render(params, split)
            images_t, labels_t = core.render(params, split)
            assert_same(images, images_t)
            np.testing.assert_array_equal(labels_t, labels)
            prep, prep_t = u.sensor.prepare(images), core.prepare(images_t)
            loc = _locations(rng, n, u.grid)[: max(n, 40)]
            rows = np.arange(len(loc)) % n
            assert_same(u.sensor(prep[rows], loc, prepared=True), core.sense(prep_t[rows], loc))
    fixed = u.canvas.fixed_params("test", np.arange(20))
    assert_same(u.canvas.render(fixed, "test")[0], core.render(fixed, "test")[0])


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(size=90, n_digits=3, n_clutter=6, clutter_size=5),
        dict(size=61, n_digits=2, n_clutter=3, clutter_size=28),
        dict(size=40, n_clutter=9, clutter_size=1),
        dict(size=50, n_clutter=2, object_scale=1.5),
        dict(size=33, n_digits=1, n_clutter=4, clutter_size=3, object_scale=0.6),
    ],
)
def test_other_canvas_parameters_render_as_numpy(kwargs, tiny):
    canvas = Canvas(dataset=tiny, **kwargs)
    twin = TorchCanvas(canvas)
    for seed in range(4):
        rng = np.random.default_rng(seed)
        for split in SPLITS:
            params = canvas.draw(rng, split, 32)
            images, labels = canvas.render(params, split)
            images_t, labels_t = twin.render(params, split)
            assert_same(images, images_t)
            np.testing.assert_array_equal(labels_t, labels)


@pytest.mark.parametrize("scales", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("size", [3, 8, 12])
def test_retina_every_scale_count_senses_as_numpy(scales, size, tiny):
    canvas = Canvas(size=60, n_clutter=4, dataset=tiny)
    rng = np.random.default_rng(scales * 10 + size)
    images = canvas.sample(rng, 24, "train")[0]
    check_sensor(Retina(size=size, scales=scales), images, rng, grid=16)


@pytest.mark.parametrize("batch", [3, 20])  # the numpy integral's two layouts (below / from 16)
@pytest.mark.parametrize("scales", [1, 2])
def test_large_canvases_sum_as_numpy(batch, scales):
    """300 x 300: the sums pass 2**24, so the rows are summed in float32, in numpy's order."""
    rng = np.random.default_rng(batch)
    images = rng.integers(200, 256, (batch, 300, 300), np.uint8)  # sums up to 2.3e7 > 2**24
    exact = torch.as_tensor(images).long().cumsum(1).cumsum(2).float().numpy()
    assert (exact != Retina(6, 2).integral(images)[:, 1:, 1:]).any(), "float32 sums must round"
    check_sensor(Retina(size=6, scales=scales), images, rng, grid=76)


@pytest.mark.parametrize("grid", [2, 3, 5, 7])
def test_tiles_sense_as_numpy(grid, tiny):
    canvas = Canvas(size=28, dataset=tiny)
    rng = np.random.default_rng(grid)
    images = canvas.sample(rng, 16, "test")[0]
    check_sensor(TileSensor(grid=grid, canvas_size=28), images, rng, grid=grid)


def test_colour_canvases_and_sensors_match_numpy():
    rgb = random_rgb()
    for kwargs in (dict(size=24), dict(size=50, n_digits=2, n_clutter=5, clutter_size=6)):
        canvas = Canvas(dataset=rgb, **kwargs)
        twin = TorchCanvas(canvas)
        rng = np.random.default_rng(len(kwargs))
        for split in SPLITS:
            params = canvas.draw(rng, split, 12)
            assert_same(canvas.render(params, split)[0], twin.render(params, split)[0])
        images = canvas.render(params, split)[0]
        for sensor in (Retina(8, 1, channels=3), Retina(6, 3, channels=3)):
            check_sensor(sensor, images, rng, grid=kwargs["size"] // 4 + 1)
    tiles = Canvas(size=24, dataset=rgb).sample(rng, 8, "train")[0]
    check_sensor(TileSensor(grid=3, canvas_size=24, channels=3), tiles, rng, grid=3)


def test_blank_state_and_bad_input(tiny):
    env = gym.make_vec(
        VISUAL_IDS[0], num_envs=3, vectorization_mode="vector_entry_point", dataset=tiny
    )
    core = TorchGlimpseCore.from_env(env)
    images, prep, glimpses = core.blank(3)
    assert images.dtype == torch.uint8 and not images.any()
    assert glimpses.dtype == torch.float32 and tuple(glimpses.shape) == (3, *core.sensor.shape)
    assert_same(env.unwrapped.sensor.prepare(np.zeros((3, 28, 28), np.uint8)), prep)
    retina = TorchRetina(Retina(4, 2))
    with pytest.raises(TypeError, match="uint8"):
        retina.prepare(torch.zeros((2, 28, 28)))
    with pytest.raises(TypeError, match="no torch twin"):
        torch_sensor(object())
