"""The vision transformer's attention map for the renders and ``train.py compare``: the class
token's last-layer weights or the attention rollout, over the canvas's pixels, summing to 1, drawn
as soft attention, and moving with the digit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agents.base import RunConfig
from agents.compare import attention_map, visual_figure
from agents.transformer import ViTTrainer, class_token_attention

MAPS = ("last", "rollout")


def vit(dataset, how: str, env: str = "glimpse_envs/TranslatedMNIST-v0") -> ViTTrainer:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    run = RunConfig(env=env, agent="vit", seed=0, env_kwargs={"dataset": dataset})
    cfg = ViTTrainer.Config(d_model=16, heads=2, layers=3, ff=16, attention_map=how)
    return ViTTrainer(run, cfg)


@pytest.mark.parametrize("how", MAPS)
def test_map_has_the_canvas_shape_and_sums_to_one(tiny, how):
    tr = vit(tiny, how)  # 60x60 canvas, 7-pixel patches: 9 x 9, the last row and column padded
    trace = tr.trace("test", 0)
    m = trace["filters"]
    assert m.shape == (1, 60, 60) and (m >= 0).all()
    assert np.isclose(m.sum(), 1.0, atol=1e-5)
    kind, drawn = attention_map(trace)
    assert kind == "soft" and drawn.shape == (60, 60) and np.allclose(drawn, m[0])
    # constant within a patch, cropped patches included
    assert np.allclose(m[0, 56:, 56:], m[0, 59, 59]) and np.allclose(m[0, :7, :7], m[0, 0, 0])


def test_rollout_of_one_layer_is_its_class_row():
    class L:
        pass

    a = torch.rand(1, 2, 5, 5).softmax(-1)
    layer = L()
    layer.attention = a
    last = class_token_attention([layer], "last")
    rolled = class_token_attention([layer], "rollout")
    assert torch.allclose(last, rolled, atol=1e-6) and torch.isclose(last.sum(), torch.tensor(1.0))


def test_unknown_map_is_refused(tiny):
    with pytest.raises(ValueError, match="attention_map"):
        vit(tiny, "gradcam")


@pytest.mark.parametrize("how", MAPS)
def test_map_moves_when_the_digit_moves(tiny, how):
    """Without position embeddings a ViT is equivariant to moving the digit by whole patches, so
    its map must move by exactly as many pixels (this checks the patch order and the spreading)."""
    tr = vit(tiny, how)
    with torch.no_grad():
        tr.model.pos.zero_()
    rng = np.random.default_rng(0)
    digit = torch.from_numpy(rng.random((14, 14), np.float32))
    a, b = torch.zeros(1, 60, 60), torch.zeros(1, 60, 60)
    a[0, 7:21, 14:28] = digit  # patches (1-2, 2-3)
    b[0, 28:42, 35:49] = digit  # 21 px down, 21 px right: patches (4-5, 5-6)
    ma = tr.attention_trace(a)["filters"][0]
    mb = tr.attention_trace(b)["filters"][0]
    assert np.isclose(ma.sum(), 1.0, atol=1e-5) and np.isclose(mb.sum(), 1.0, atol=1e-5)
    # on the whole patches (0-55), the map of b is the map of a moved by (21, 21)
    assert np.allclose(mb[21:56, 21:56], ma[0:35, 0:35], atol=1e-6)
    # and the digit's patches do not get a blank patch's weight (the test is not trivial)
    assert not np.isclose(ma[10, 20], ma[40, 40], rtol=1e-3)
    # where the map differs most from a blank patch's weight (whole patches): the digit, moved
    peak = lambda m: np.array(np.unravel_index(np.argmax(np.abs(m - m[45, 5])[:56, :56]), (56, 56)))
    assert (peak(mb) - peak(ma)).tolist() == [21, 21]


def test_compare_draws_the_vit_beside_a_saliency_map(tiny, tmp_path):
    tr = vit(tiny, "rollout")
    trace = tr.trace("test", 1)
    saliency = {**trace, "saliency": np.ones((60, 60))}
    del saliency["filters"]
    rows = [
        {"trace": trace, "sensor": None, "agent": "vit", "caption": "c", "title": "t"},
        {"trace": saliency, "sensor": None, "agent": "cnn", "caption": "c", "title": "t"},
    ]
    files, fig = visual_figure(rows, tmp_path / "cmp", formats=("png",))
    assert files[0].is_file() and files[0].stat().st_size > 0
    gids = {a.get_gid() for ax in fig.axes for a in ax.images}
    assert {"heat-0", "heat-1"} <= gids
