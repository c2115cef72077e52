"""What the render figures draw (issue 18): --scale sizes them, SVG / PDF carry real text of at
least 12 px, one colour scale per episode, DRAW's heat maps area-averaged and its glimpses the
model's own, GIF palettes built from every frame, tape axes and phases, failures marked."""

from __future__ import annotations

import numpy as np
import pytest

PIL = pytest.importorskip("PIL")
pytest.importorskip("matplotlib")
from matplotlib.text import Text
from PIL import Image
from test_render import CASES, _draw, _StubTrainer, _tape

from agents import render, slides
from glimpse_envs.retina import Retina


def _texts(fig) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


@pytest.mark.parametrize("case", ["hard-retina", "draw", "saliency"])
def test_text_at_least_12_px_and_title_caption(case):
    make_trace, make_sensor, _ = CASES[case]
    ep = render.VisualEpisode(make_trace(), make_sensor())
    fig = slides.visual_slide(
        ep, "ram on Env-v0, test canvas 3", "checkpoint: runs/a (10 env steps)"
    )
    texts = _texts(fig)
    assert min(t.get_fontsize() for t in texts) * slides.DPI / 72 >= 12
    words = " ".join(t.get_text() for t in texts)
    assert "test canvas 3" in words and "checkpoint: runs/a" in words
    fig.clf()


def test_scale_changes_size(tmp_path):
    make_trace, make_sensor, _ = CASES["hard-retina"]
    sizes = {}
    for scale in (1.0, 2.0):
        png, _, gif = render.render_trace(
            make_trace(), tmp_path / str(scale), "ep", sensor=make_sensor(), scale=scale
        )
        with Image.open(png) as a, Image.open(gif) as b:
            sizes[scale] = (a.size, b.size)
    (p1, g1), (p2, g2) = sizes[1.0], sizes[2.0]
    assert abs(p2[0] / p1[0] - 2) < 0.05 and abs(p2[1] / p1[1] - 2) < 0.05
    assert g2 == (2 * g1[0], 2 * g1[1])  # the pixel art enlarged by whole pixels


@pytest.mark.parametrize("vector", ["svg", "pdf"])
def test_vector_output_has_text(vector, tmp_path):
    trace, task = _tape(False)
    _, path = render.render_trace(
        trace,
        tmp_path,
        "t",
        task=task,
        title="ntm on Copy-v0",
        caption="checkpoint: x",
        vector=vector,
    )
    data = path.read_bytes()
    if vector == "svg":
        text = data.decode()
        assert text.count("<text") >= 10 and "ntm on Copy-v0" in text and "time step" in text
    else:
        assert data.startswith(b"%PDF") and b"/FontFile2" in data  # an embedded TrueType font


def test_heat_maps_share_one_scale_and_one_colour_bar():
    trace = _draw(steps=4)
    trace["filters"] = trace["filters"] * np.arange(1, 5)[:, None, None]  # step 4 hottest
    ep = render.VisualEpisode(trace)
    fig = slides.visual_slide(ep, "t", "")
    heat = [im for ax in fig.axes for im in ax.images if (im.get_gid() or "").startswith("heat-")]
    assert len(heat) == 4 and {im.get_clim() for im in heat} == {(0.0, trace["filters"].max())}
    bars = [ax for ax in fig.axes if ax.get_label() == "colorbar"]
    assert len(bars) == 1
    # the pixel art uses the same scale: step 1's cell is darker than step 4's
    assert ep.vmax == trace["filters"].max()
    fig.clf()


def _area_reference(v: np.ndarray, n: int) -> np.ndarray:
    """Area average by brute force: each pixel split into n x n parts, then S x S blocks."""
    S = v.shape[0]
    fine = np.kron(v, np.ones((n, n)))  # (S n, S n)
    return fine.reshape(n, S, n, S).mean((1, 3))


@pytest.mark.parametrize("n", [7, 12, 25, 60, 120])
def test_resize_area_equals_reference(n):
    v = np.random.default_rng(0).random((60, 60))
    assert np.allclose(render.resize_area(v, n, n), _area_reference(v, n))


def test_draw_heat_samples_the_last_row_and_column():
    trace = _draw(steps=1)
    m = np.zeros((60, 60))
    m[-1, :] = m[:, -1] = 1.0  # weight only on the last row and column
    trace["filters"] = m[None]
    ep = render.VisualEpisode(trace)
    frame = ep.frame()
    c = ep.cell
    # the weights cell is the second column of the right-hand panel; its last row is not black
    heat_cell = render.heat(render.resize_area(m / ep.vmax, c, c))
    assert heat_cell[-1].max() > 0 and heat_cell[:, -1].max() > 0
    assert np.array_equal(heat_cell, render.heat(_area_reference(m, c)))
    assert (frame == heat_cell[-1, 0]).all(-1).any()  # drawn, not covered by the cell's frame


def test_draw_glimpses_are_the_models_own():
    torch = pytest.importorskip("torch")
    from agents.draw import DRAWClassifier

    torch.manual_seed(0)
    model = DRAWClassifier(28, glimpses=3, n=5, hidden=8)
    with torch.no_grad():
        model.attention.weight.normal_(0, 0.5)  # steps that move, shrink and sharpen
    image = np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8)
    seen = []
    hook = model.lstm.register_forward_hook(lambda m, inp, out: seen.append(inp[0].detach()))
    with torch.no_grad():
        _, _, params = model(
            torch.as_tensor(image[None] / 255.0, dtype=torch.float32), return_trace=True
        )
    hook.remove()
    glimpses = render.draw_glimpses(image, None, params[0].numpy(), 5)
    model_glimpses = torch.stack(seen).reshape(3, 5, 5).numpy()
    assert np.allclose(glimpses, np.clip(model_glimpses, 0, 1), atol=1e-4)
    # a filter far off the canvas with a tiny sigma still reads the nearest pixels (the model's
    # softmax normaliser), where the old 1e-8 normaliser returned black
    far = np.array([[200.0, 200.0, 1.0, 0.01, 1.0]])
    assert render.draw_glimpses(image, None, far, 2)[0, 0, 0] == pytest.approx(image[-1, -1] / 255)


def test_gif_palette_covers_the_first_frame(tmp_path):
    # few colours: the first frame's (grays) and the last frame's (reds) all kept exactly
    first = np.repeat(np.arange(0, 250, 2, dtype=np.uint8)[None, :, None], 3, 2).repeat(8, 0)
    last = first.copy()
    last[..., 1:] = 0
    path = render.save_gif([first, last], tmp_path / "a.gif")
    with Image.open(path) as im:
        im.seek(0)
        assert np.array_equal(np.asarray(im.convert("RGB")), first)
    # many colours (the CNN: the bare canvas, then its saliency overlay): frame 0 keeps its gray
    make_trace, _, _ = CASES["saliency"]
    frames = render.VisualEpisode(make_trace()).frames()
    path = render.save_gif(frames, tmp_path / "b.gif")
    with Image.open(path) as im:
        im.seek(0)
        got = np.asarray(im.convert("RGB")).astype(int)
    gray = (frames[0][..., 0] == frames[0][..., 1]) & (frames[0][..., 1] == frames[0][..., 2])
    tint = np.abs(got[..., 0] - got[..., 2])[gray]
    assert tint.mean() < 2 and np.abs(got - frames[0]).mean() < 3


def test_draw_box_border_is_the_filter_width():
    trace = _draw(steps=2)
    trace["grid"][:, 3] = [1.0, 9.0]  # sigma 1 and 3 canvas pixels
    ep = render.VisualEpisode(trace)
    assert [render.draw_border(g, ep.f) for g in trace["grid"]] == [ep.f, 3 * ep.f]
    fig = slides.visual_slide(ep, "t", "")
    boxes = {
        p.get_gid(): p.get_linewidth()
        for ax in fig.axes
        for p in ax.patches
        if (p.get_gid() or "").startswith("box-")
    }
    assert boxes["box-1"] == pytest.approx(3 * boxes["box-0"])
    fig.clf()


def test_tape_figure_axes_phases_and_failure(tmp_path):
    trace, task = _tape(True)  # one wrong symbol: a failed sequence
    fig = slides.tape_slide(trace, task, "tape-reinforce on Copy-v0, test sequence 0", "")
    texts = {t.get_gid(): t.get_text() for t in _texts(fig) if t.get_gid()}
    assert {"phase-input", "phase-delimiter", "phase-output"} <= set(texts)
    assert texts["caption-0"].startswith("FAILED: 4 of 5")
    labels = [ax.get_xlabel() for ax in fig.axes] + [ax.get_ylabel() for ax in fig.axes]
    assert "time step" in labels and any("memory cell" in s for s in labels)
    images = {im.get_gid(): im for ax in fig.axes for im in ax.images}
    w, r = images["tape-write"], images["tape-read"]
    assert w.get_array().shape == r.get_array().shape and w.get_clim() == r.get_clim() == (0, 1)
    # the cell axis names the real cells of the circular run (127, then 0 ...)
    d = render.tape_data(trace, task)
    ticks = [
        t.get_text()
        for ax in fig.axes
        if ax.images and ax.images[0] is w
        for t in ax.get_yticklabels()
    ]
    assert ticks[0] == str(int(d["cells"][0]))
    assert len([ax for ax in fig.axes if ax.get_label() == "colorbar"]) == 1
    fig.clf()


def test_failures_marked_in_index_and_figure(tiny, tmp_path):
    trainer = _StubTrainer("glimpse_envs/ClutteredMNIST-v0", {"dataset": tiny})
    paths = render.render_checkpoint(
        trainer, 2, "test", tmp_path, checkpoint="runs/x (5 env steps)"
    )
    index = paths[-1].read_text()
    labels = [trainer.trace("test", i)["label"] for i in range(2)]  # the stub always says 0
    wrong = sum(label != 0 for label in labels)
    assert index.count("| **WRONG** |") == wrong and f"{wrong} of 2 answered wrong" in index
    svg = paths[1].read_text()
    assert ("WRONG" in svg) == (labels[0] != 0) and "runs/x (5 env steps)" in svg


def test_same_bytes_twice_vector(tmp_path):
    out = []
    for name in ("a", "b"):
        files = render.render_trace(
            CASES["hard-retina"][0](), tmp_path / name, "v", sensor=Retina(12, 3), vector="pdf"
        )
        out.append([f.read_bytes() for f in files])
    assert out[0] == out[1]
