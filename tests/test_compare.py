"""The comparison figure: one row per agent on the same canvas, one colour scale, no label overlap."""

from __future__ import annotations

import numpy as np

from agents.compare import attention_map, visual_figure
from glimpse_envs.retina import Retina


def _rows():
    rng = np.random.default_rng(0)
    image = (rng.random((60, 60)) * 255).astype(np.uint8)
    hard = {
        "image": image,
        "label": 3,
        "prediction": 3,
        # glimpses 2-4 at the same place: their numbers must still not overlap
        "locations": np.array([[0, 0], [0.5, 0.5], [0.5, 0.5], [0.52, 0.5], [-0.9, 0.9]]),
    }
    filters = np.zeros((4, 60, 60))
    filters[:, 20:30, 20:30] = 1.0
    soft = {"image": image, "label": 3, "prediction": 5, "filters": filters}
    sal = np.zeros((60, 60))
    sal[0:6, 0:6] = 5.0
    none = {"image": image, "label": 3, "prediction": 3, "saliency": sal}
    retina = Retina(size=12, scales=3)
    return [
        {
            "trace": t,
            "sensor": retina,
            "agent": a,
            "caption": "a run, 1,000 env steps",
            "title": "ClutteredMNIST-v0, test canvas 0",
        }
        for t, a in ((hard, "ram"), (soft, "draw"), (none, "cnn"))
    ]


def test_maps_are_normalised_and_kinds_named():
    rows = _rows()
    kinds = [attention_map(r["trace"]) for r in rows]
    assert [k for k, _ in kinds] == ["hard", "soft", "none"]
    assert all(np.isclose(m.sum(), 1.0) for _, m in kinds[1:])


def test_figure_rows_shared_scale_no_overlapping_labels(tmp_path):
    files, fig = visual_figure(_rows(), tmp_path / "cmp", scale=1.0)
    assert sorted(f.suffix for f in files) == [".png", ".svg"]
    assert all(f.stat().st_size > 1000 for f in files)
    svg = files[1].read_text()
    assert "<svg" in svg[:500] and "ram" in svg
    assert svg.count("<text") >= 5  # real text (a font), not glyph outlines
    canvases = [ax for ax in fig.axes if ax.images]
    assert len(canvases) == 3  # one canvas panel per agent (the colour bar has no image)
    heat = [im for ax in canvases for im in ax.images if (im.get_gid() or "").startswith("heat")]
    assert len(heat) == 2 and len({im.get_clim() for im in heat}) == 1  # one colour scale
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    labels = [
        t for ax in fig.axes for t in ax.texts if (t.get_gid() or "").startswith("glimpse-label")
    ]
    assert len(labels) == 5
    boxes = [t.get_window_extent(renderer) for t in labels]
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not boxes[i].overlaps(boxes[j]), (i, j)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any("WRONG" in t for t in texts) and any("right" in t for t in texts)
    sizes = [t.get_fontsize() * 100 / 72 for ax in fig.axes for t in ax.texts]
    assert min(sizes) >= 12  # px at scale 1


def test_tape_figure_same_cell_window_and_scale(tmp_path):
    from agents.compare import tape_figure

    L = 4
    inputs = np.array([3, 5, 2, 9, 257])  # four symbols and the delimiter
    targets = np.array([2, 4, 1, 8])
    T = 14
    hard_read = np.zeros((T, 128))
    hard_read[np.arange(T), np.r_[0:5, 4:-1:-1, 0:4][:T]] = 1
    hard_write = np.zeros((T, 128))
    hard_write[np.arange(L), np.arange(L)] = 1  # it wrote only while the input arrived
    ntm_w = np.full((L + 1 + L, 128), 1 / 128)
    hard = {
        "inputs": inputs,
        "targets": targets,
        "outputs": np.r_[[-1] * 10, targets],
        "read": hard_read,
        "write": hard_write,
        "success": True,
        "length": L,
    }
    ntm = {
        "inputs": inputs,
        "targets": targets,
        "outputs": np.array([2, 4, 1, 7]),
        "read": ntm_w,
        "write": ntm_w,
        "length": L,
    }
    lstm = {
        "inputs": inputs,
        "targets": targets,
        "outputs": np.array([2, 4, 1, 8]),
        "saliency": np.random.default_rng(0).random((L + 1 + L, 9)),
        "length": L,
    }
    rows = [
        {"trace": t, "agent": a, "caption": "c", "title": "Copy-v0, test sequence 0"}
        for t, a in ((hard, "tape-reinforce"), (ntm, "ntm"), (lstm, "lstm"))
    ]
    files, fig = tape_figure(rows, tmp_path / "tape", 1.0)
    assert sorted(f.suffix for f in files) == [".png", ".svg"]
    assert _min_text_px(fig) >= 12  # every text, tick labels included
    images = {im.get_gid(): im for ax in fig.axes for im in ax.images}
    assert set(images) == {"tape-0-0", "tape-0-1", "tape-1-0", "tape-1-1", "tape-2-0"}
    assert len({im.get_clim() for im in images.values()}) == 1  # one 0-1 scale
    windows = {g: im.get_array().shape[0] for g, im in images.items() if g != "tape-2-0"}
    assert len(set(windows.values())) == 1  # the same cell window for writes and reads
    hard_w, hard_r = images["tape-0-0"].get_array(), images["tape-0-1"].get_array()
    assert not np.array_equal(hard_w, hard_r)  # writes drawn apart from the head positions
    texts = " ".join(t.get_text() for ax in fig.axes for t in ax.texts)
    assert "4 of 4 output symbols right" in texts and "3 of 4" in texts and "FAILED" in texts


def _min_text_px(fig) -> float:
    """The smallest visible text of a figure, in pixels at its DPI (tick labels included)."""
    from matplotlib.text import Text

    sizes = [
        t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()
    ]
    return min(sizes) * fig.dpi / 72


def test_every_text_of_both_figures_is_at_least_12_px(tmp_path):
    _, fig = visual_figure(_rows(), tmp_path / "cmp", scale=1.0)
    assert _min_text_px(fig) >= 12
