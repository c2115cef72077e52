"""Soft tiles: the same tiling as the env's TileSensor, and a tiny run that beats chance."""

import numpy as np
import torch
from _supervised_helpers import check_state_roundtrip, make_trainer, train

from agents.soft_tiles import SoftTilesClassifier, SoftTilesTrainer, tile_images, tile_maps
from glimpse_envs.retina import TileSensor


def test_tiles_match_tile_sensor_including_padding():
    rng = np.random.default_rng(0)
    for size, grid in [(28, 3), (30, 3), (29, 4), (60, 5)]:
        images = rng.integers(0, 256, (3, size, size), dtype=np.uint8)
        sensor = TileSensor(grid=grid, canvas_size=size)
        expected = sensor.prepare(images).reshape(3, grid * grid, sensor.tile, sensor.tile)
        got = tile_images(torch.from_numpy(images).float() / 255, grid).numpy()
        np.testing.assert_allclose(got, expected, atol=1e-6)
        # the tile the env shows for a location is the tile row * grid + col of ours
        loc = np.array([[-1.0, 1.0], [0.0, 0.0], [1.0, -1.0]])
        col, row = sensor.tile_index(loc)
        glimpses = sensor(images, loc)[:, 0]
        np.testing.assert_allclose(got[np.arange(3), row * grid + col], glimpses, atol=1e-6)


def test_tile_maps_put_each_weight_on_its_tile():
    w = torch.zeros(1, 9)
    w[0, 5] = 1.0  # row 1, column 2
    m = tile_maps(w, 28, 3)[0]
    assert m.shape == (28, 28)
    assert m[9:19, 19:].eq(1).all() and m.sum() == 10 * 9  # 10x10 tile minus the padded column


def test_expected_tile_is_the_softmax_average():
    torch.manual_seed(0)
    model = SoftTilesClassifier(28, grid=3, steps=2, hidden=16)
    x = torch.rand(2, 28, 28)
    logits, weights = model(x, return_trace=True)
    assert logits.shape == (2, 1, 10) and weights.shape == (2, 2, 9)
    assert torch.allclose(weights.sum(-1), torch.ones(2, 2))


def test_soft_tiles_beats_chance_on_tiled_mnist():
    tr = make_trainer(SoftTilesTrainer, "glimpse_envs/TiledMNIST-v0", hidden=64)
    assert tr.grid == 3 and tr.steps == 3  # the env's TileSensor grid and glimpse budget
    metrics = train(tr, 300)
    assert metrics["env_steps"] == 64 * 3  # one step per soft glimpse
    result = tr.evaluate("test", 500)
    # chance is 90 % error; 300 updates of 64 canvases reach about 15-25 %
    assert result["error"] < 45.0, result
    assert result["pixels"] == 3 * 28 * 28 and result["glimpses"] == 3
    trace = tr.trace("test", 0)
    assert trace["filters"].shape == (3, 28, 28) and trace["image"].shape == (28, 28)
    assert isinstance(trace["prediction"], int) and isinstance(trace["label"], int)
    check_state_roundtrip(tr)
