"""The retina against its slow reference, pixel for pixel; the tile sensor."""

from __future__ import annotations

import pickle

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


@pytest.mark.parametrize(
    "S, g, k", [(28, 8, 1), (60, 12, 3), (100, 12, 4), (30, 5, 3), (17, 3, 2), (28, 1, 4)]
)
def test_batched_retina_equals_one_image_calls(S, g, k):
    """The batched paths (the corner table, clipped corners, one-scale crops, the (H, B, W) layout
    of large batches) give exactly, bit for bit, the glimpses of one-image calls."""
    rng = np.random.default_rng(S * 100 + g * 10 + k)
    B = 40  # a large batch: the (H, B, W) integral layout
    images = rng.integers(0, 256, (B, S, S), dtype=np.uint8)
    G = S // 4 + 1
    grid = (-1.0 + 2.0 * np.arange(G) / (G - 1)).astype(np.float32)
    on_grid = grid[rng.integers(0, G, (B, 2))]
    beyond = on_grid.copy()
    beyond[:3] = [[-1.3, 0.2], [0.5, 1.5], [-2.0, 2.0]]  # any location beyond [-1, 1]: clipped path
    retina = Retina(g, k)
    prepared = retina.prepare(images)
    for locations in (on_grid, beyond, rng.uniform(-1, 1, (B, 2)), on_grid):
        one = np.concatenate([retina(images[i : i + 1], locations[i : i + 1]) for i in range(B)])
        assert np.array_equal(retina(prepared, locations, prepared=True), one)
        # a C-ordered copy of the prepared images reads the same
        copy = np.ascontiguousarray(prepared)
        assert np.array_equal(retina(copy, locations, prepared=True), one)


def test_corner_table_starts_over_when_full():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (32, 60, 60), dtype=np.uint8)
    retina = Retina(12, 3)
    retina.TABLE_CODES = 50  # fewer than one call's pixel corners: it starts over every call
    prepared = retina.prepare(images)
    for _ in range(3):
        locations = rng.uniform(-1, 1, (32, 2))
        one = np.concatenate([retina(images[i : i + 1], locations[i : i + 1]) for i in range(32)])
        assert np.array_equal(retina(prepared, locations, prepared=True), one)


def test_integral_images_exact_in_both_layouts():
    rng = np.random.default_rng(1)
    retina = Retina(5, 3)
    for B in (3, 40):  # small batches in C order, large ones in the (H, B, W) layout
        images = rng.integers(0, 256, (B, 30, 20), dtype=np.uint8)
        expected = np.zeros((B, 31, 21))
        expected[:, 1:, 1:] = images.astype(np.int64).cumsum(axis=1).cumsum(axis=2)
        integral = retina.integral(images)
        assert integral.dtype == np.float32 and np.array_equal(integral, expected)


def test_one_scale_crops_are_scaled_pixels():
    """A one-scale glimpse is the zero-padded pixels times float32(1 / 255), exactly; images of
    another dtype with the same integer values give the same glimpses."""
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (20, 28, 28), dtype=np.uint8)
    locations = np.concatenate([rng.uniform(-1, 1, (17, 2)), [[-1.4, 0], [1, 1], [3, -3]]])
    retina = Retina(8, 1)
    out = retina(images, locations)
    cx, cy = pixel_corner(locations, 28, 28)
    padded = np.zeros((20, 28 + 200, 28 + 200), np.float32)
    padded[:, 100:128, 100:128] = images
    for b in range(20):
        y0, x0 = cy[b] - 4 + 100, cx[b] - 4 + 100
        patch = padded[b, y0 : y0 + 8, x0 : x0 + 8] * np.float32(1 / 255)
        assert np.array_equal(out[b, 0], patch)
    assert np.array_equal(retina(images.astype(np.float64), locations, prepared=False), out)


def test_tile_sensor_uint8_and_float_prepare_agree():
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    sensor = TileSensor(3, 28)
    assert np.array_equal(sensor.prepare(images), sensor.prepare(images.astype(np.float64)))


@pytest.mark.parametrize("g, k", [(8, 1), (12, 3)])
def test_pickled_retina_is_small_and_equal(g, k):
    """The retina's caches (work arrays, strided views) stay out of its pickle."""
    rng = np.random.default_rng(4)
    images = rng.integers(0, 256, (64, 60, 60), dtype=np.uint8)
    retina = Retina(g, k)
    prepared = retina.prepare(images)
    locations = rng.uniform(-1, 1, (64, 2))
    retina(prepared, locations, prepared=True)
    data = pickle.dumps(retina)
    assert len(data) < 10_000
    clone = pickle.loads(data)
    for loc in (locations, -locations):
        assert np.array_equal(clone(prepared, loc, prepared=True), retina(prepared, loc, True))


@pytest.mark.parametrize(("size", "grid"), [(28, 3), (60, 4), (30, 3), (29, 2)])
def test_tile_squares_are_the_pixels_a_tile_glimpse_reads(size, grid):
    sensor = TileSensor(grid, size)
    assert TileSensor.padding(size, grid) == sensor._pad
    before, after = TileSensor.padding(size, grid)
    assert (size + before + after) % grid == 0 and 0 <= after - before <= 1
    for loc in [(-1.0, -1.0), (0.0, 0.3), (1.0, 1.0), (0.9, -0.95)]:
        ((x0, y0, w),) = sensor.squares(loc, size)
        image = np.zeros((1, size, size), np.uint8)
        image[0, max(y0, 0) : y0 + w, max(x0, 0) : x0 + w] = 255
        glimpse = sensor(image, np.array([loc], np.float32))[0, 0]
        inside = np.zeros((w, w), bool)  # the tile's pixels that lie on the canvas
        inside[max(-y0, 0) : size - y0, max(-x0, 0) : size - x0] = True
        assert (glimpse[inside] == 1.0).all() and (glimpse[~inside] == 0.0).all()
        image[0, max(y0, 0) : y0 + w, max(x0, 0) : x0 + w] = 0
        assert sensor(image, np.array([loc], np.float32)).max() == 0.0  # nothing outside it read


def test_retina_squares_are_centred_on_the_pixel_corner():
    sensor = Retina(8, 2)
    for loc in [(0.0, 0.0), (-0.7, 0.4)]:
        squares = sensor.squares(loc, 28)
        cx, cy = pixel_corner(np.array([loc]), 28, 28)
        assert squares == [(int(cx[0]) - w // 2, int(cy[0]) - w // 2, w) for w in (8, 16)]


@pytest.mark.parametrize(
    "S, g, k", [(60, 12, 3), (100, 12, 4), (30, 5, 3), (17, 3, 2), (28, 1, 4), (64, 2, 6)]
)
def test_unprepared_images_read_straight_equal_the_integral_path(S, g, k, monkeypatch):
    """Unprepared uint8 images at locations in [-1, 1] are read straight (no integral image):
    one shared corner (slices), corners inside, corners at the edges (zero padding), one image;
    the glimpses are bit for bit those of the prepared path, and the reference's."""
    rng = np.random.default_rng(S + g + k)
    B = 24
    images = rng.integers(0, 256, (B, S, S), dtype=np.uint8)
    retina = Retina(g, k)
    G = S // 4 + 1
    grid = (-1.0 + 2.0 * np.arange(G) / (G - 1)).astype(np.float32)
    cases = {
        "centre": np.zeros((B, 2), np.float32),
        "near the centre": rng.uniform(-0.05, 0.05, (B, 2)),
        "grid": grid[rng.integers(0, G, (B, 2))],
        "edges": np.array([[-1, -1], [1, 1], [-1, 1], [1, -1]] * (B // 4), np.float32),
        "uniform": rng.uniform(-1, 1, (B, 2)),
    }
    prepared = {
        name: retina(retina.prepare(images), loc, prepared=True) for name, loc in cases.items()
    }

    def no_integral(*a, **kw):
        raise AssertionError("read straight: no integral image")

    monkeypatch.setattr(retina, "prepare", no_integral)
    assert retina.reads_raw((S, S), np.uint8)
    for name, loc in cases.items():
        out = retina(images, loc)
        assert np.array_equal(out, prepared[name]), name
        assert np.array_equal(retina(images[:1], loc[:1]), prepared[name][:1]), name
    assert np.allclose(out, reference_retina(images, cases["uniform"], g, k), atol=1e-6)


def test_only_exact_grayscale_images_in_range_are_read_straight():
    retina = Retina(12, 3)
    assert retina.reads_raw((60, 60), np.uint8)
    assert not retina.reads_raw((60, 60), np.float32)  # not exact block sums
    assert not retina.reads_raw((60, 60, 3), np.uint8)  # colour: prepared per plane
    assert not retina.reads_raw((1100, 1100), np.uint8)  # pixel sums beyond 2**24
    assert not Retina(8, 1).reads_raw((28, 28), np.uint8)  # one scale: crops of the pixels
    assert not Retina(12, 3, channels=3).reads_raw((60, 60), np.uint8)
    images = np.full((2, 60, 60), 255, np.uint8)
    assert retina._direct(images, np.array([[0.0, 0.0], [1.2, 0.0]])) is None  # beyond [-1, 1]
