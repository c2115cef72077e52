"""The retina against its slow reference, pixel for pixel; the tile sensor."""

from __future__ import annotations

import numpy as np
import pytest

from glimpse_envs.retina import Retina, TileSensor, pixel_corner, reference_retina


@pytest.mark.parametrize(
    "S, g, k", [(28, 8, 1), (60, 12, 3), (100, 12, 4), (30, 5, 3), (17, 3, 2), (28, 1, 4)]
)
def test_retina_matches_reference(S, g, k):
    rng = np.random.default_rng(S * 100 + g * 10 + k)
    edges = np.array(
        [[-1, -1], [1, 1], [-1, 1], [1, -1], [0, 0], [-1.3, 0.2], [0.999, -0.999], [0.5, 1.5]]
    )
    locations = np.concatenate([edges, rng.uniform(-1, 1, (12, 2))])
    images = rng.integers(0, 256, (len(locations), S, S), dtype=np.uint8)
    retina = Retina(g, k)
    out = retina(images, locations)
    assert out.shape == (len(locations), k, g, g) and out.dtype == np.float32
    assert np.allclose(out, reference_retina(images, locations, g, k), atol=1e-6)
    assert np.array_equal(out, retina(retina.prepare(images), locations, prepared=True))
    assert out.min() >= 0 and out.max() <= 1


def test_retina_zero_outside_and_full_inside():
    images = np.full((1, 28, 28), 255, np.uint8)
    out = Retina(8, 1)(images, np.array([[-1.0, -1.0]]))[0, 0]
    # centred on the top-left corner: the top-left quarter is outside, the rest inside
    assert np.all(out[:4, :4] == 0) and np.all(out[4:, 4:] == 1) and np.all(out[:4, 4:] == 0)
    assert np.all(Retina(8, 1)(images, np.zeros((1, 2)))[0, 0] == 1)


def test_location_convention():
    cx, cy = pixel_corner(np.array([[-1, -1], [0, 0], [1, 1], [0.5, -0.5]]), 60, 60)
    assert cx.tolist() == [0, 30, 60, 45] and cy.tolist() == [0, 30, 60, 15]


def test_retina_size_rule():
    Retina(12, 4).check_canvas(60)  # 96 <= 120
    with pytest.raises(ValueError, match="retina too large.*192 pixels.*twice the 60-pixel canvas"):
        Retina(12, 5).check_canvas(60)
    with pytest.raises(ValueError, match="must be >= 1"):
        Retina(0, 1)


def test_tile_sensor():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (4, 28, 28), dtype=np.uint8)
    sensor = TileSensor(3, 28)
    assert sensor.shape == (1, 10, 10) and sensor.pixels_per_glimpse == 100
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1))) / 255.0
    grid = -1 + 2 * np.arange(3) / 2
    for r in range(3):
        for c in range(3):
            loc = np.tile([grid[c], grid[r]], (4, 1))
            out = sensor(images, loc)
            assert np.allclose(
                out[:, 0], padded[:, 10 * r : 10 * r + 10, 10 * c : 10 * c + 10], atol=1e-6
            )
    with pytest.raises(ValueError, match=r"grid=0\) invalid"):
        TileSensor(0, 28)
