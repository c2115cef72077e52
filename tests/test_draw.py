"""DRAW read attention: the Gaussian filterbank (finite differences, geometry) and the classifier."""

import numpy as np
import pytest
import torch

from agents.draw import DRAWClassifier, attention_parameters, filterbank, read

torch.set_num_threads(1)


def test_filterbank_gradcheck():
    torch.manual_seed(0)
    gx = torch.tensor([4.3, 2.0], dtype=torch.float64, requires_grad=True)
    gy = torch.tensor([3.1, 5.5], dtype=torch.float64, requires_grad=True)
    sigma2 = torch.tensor([1.3, 0.7], dtype=torch.float64, requires_grad=True)
    delta = torch.tensor([1.5, 0.8], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda *a: filterbank(*a, n=3, width=9, height=7), (gx, gy, sigma2, delta)
    )


def test_read_gradcheck_through_attention_parameters():
    torch.manual_seed(0)
    raw = (0.3 * torch.randn(2, 5, dtype=torch.float64)).requires_grad_(True)
    images = torch.rand(2, 7, 8, dtype=torch.float64, requires_grad=True)

    def glimpse(raw, images):
        gx, gy, sigma2, delta, gamma = attention_parameters(raw, 3, 8, 7)
        fx, fy = filterbank(gx, gy, sigma2, delta, 3, 8, 7)
        return read(images, fx, fy, gamma)

    assert torch.autograd.gradcheck(glimpse, (raw, images))


def test_filters_are_normalised_and_centred():
    gx, gy = torch.tensor([10.0]), torch.tensor([20.0])
    fx, fy = filterbank(gx, gy, torch.tensor([0.5]), torch.tensor([2.0]), 4, 40, 40)
    assert fx.shape == (1, 4, 40) and fy.shape == (1, 4, 40)
    assert torch.allclose(fx.sum(-1), torch.ones(1, 4))
    # filter means at g + (i - 1.5) * 2: 7, 9, 11, 13 (x) and 17, 19, 21, 23 (y)
    a = torch.arange(40.0)
    assert torch.allclose((fx * a).sum(-1), torch.tensor([[7.0, 9.0, 11.0, 13.0]]), atol=1e-4)
    assert torch.allclose((fy * a).sum(-1), torch.tensor([[17.0, 19.0, 21.0, 23.0]]), atol=1e-4)


def test_narrow_filters_read_pixels():
    # sigma -> 0 and stride 1 centred on a pixel grid: the glimpse is the image crop itself
    img = torch.arange(100.0).view(1, 10, 10)
    fx, fy = filterbank(
        torch.tensor([4.5]),
        torch.tensor([5.5]),
        torch.tensor([1e-3]),
        torch.tensor([1.0]),
        4,
        10,
        10,
    )
    g = read(img, fx, fy, torch.tensor([1.0]))
    assert torch.allclose(g[0], img[0, 4:8, 3:7])


def test_attention_parameters_map_centre_and_full_stride():
    gx, gy, sigma2, delta, gamma = attention_parameters(torch.zeros(1, 5), 12, 100, 100)
    assert torch.allclose(gx, torch.tensor([49.5])) and torch.allclose(gy, torch.tensor([49.5]))
    assert torch.allclose(delta, torch.tensor([99.0 / 11]))  # the grid spans the canvas
    assert torch.allclose(sigma2, torch.ones(1)) and torch.allclose(gamma, torch.ones(1))


def test_classifier_shapes_trace_and_initial_grid():
    torch.manual_seed(0)
    model = DRAWClassifier(60, glimpses=3, n=12, hidden=32, n_targets=2)
    x = torch.rand(5, 60, 60)
    logits, maps, params = model(x, return_trace=True)
    assert params.shape == (5, 3, 5)
    assert logits.shape == (5, 2, 10) and maps.shape == (5, 3, 60, 60)
    assert torch.isfinite(maps).all()
    # initial state: a 12x12 grid over the whole canvas with gamma 1; every filter row sums to
    # one, so the map sums to N^2 = 144 minus what falls off the canvas
    assert 100 < maps[0, 0].sum().item() <= 144.001
    logits.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


@pytest.mark.slow
def test_draw_trainer_uses_the_env_canvases_and_beats_chance():
    import gymnasium as gym
    from _supervised_helpers import check_state_roundtrip, make_trainer, train

    from agents.draw import DRAWTrainer

    tr = make_trainer(
        DRAWTrainer, "glimpse_envs/TranslatedMNIST-v0", glimpses=4, hidden=128, batch_size=32
    )
    env = gym.make("glimpse_envs/TranslatedMNIST-v0").unwrapped
    a, la = tr.canvas.fixed("test", [0, 5])
    b, lb = env.canvas.fixed("test", [0, 5])
    assert np.array_equal(a, b) and np.array_equal(la, lb)  # the hard agents' test images
    metrics = train(tr, 700)
    assert metrics["env_steps"] == 32 * 4  # one step per glimpse
    result = tr.evaluate("test", 500)
    # chance is 90 % error; 700 updates of 32 canvases reach about 10-20 % here
    assert result["error"] < 40.0, result
    assert result["pixels"] == 4 * 60 * 60 and result["glimpse_values"] == 4 * 144
    trace = tr.trace("test", 3)
    assert trace["filters"].shape == (4, 60, 60) and np.isfinite(trace["filters"]).all()
    assert trace["grid"].shape == (4, 5) and trace["read_n"] == 12
    check_state_roundtrip(tr)


def test_filters_never_go_dead():
    # a grid far off the canvas with a tiny variance: rows still sum to one (the nearest pixels)
    # and the gradient still reaches the centre, so training can pull the grid back
    gx = torch.tensor([500.0], requires_grad=True)
    fx, fy = filterbank(
        gx, torch.tensor([-300.0]), torch.tensor([1e-4]), torch.tensor([1.0]), 3, 20, 20
    )
    assert torch.isfinite(fx).all() and torch.allclose(fx.sum(-1), torch.ones(1, 3))
    assert fx[0, :, -1].min() > 0.99 and fy[0, :, 0].min() > 0.99
    raw = torch.tensor([[30.0, -30.0, -50.0, 40.0, -50.0]], requires_grad=True)  # extreme outputs
    gx, gy, sigma2, delta, gamma = attention_parameters(raw, 3, 20, 20)
    assert all(torch.isfinite(v).all() and (v != 0).all() for v in (sigma2, delta, gamma))
    img = torch.rand(1, 20, 20)
    g = read(img, *filterbank(gx, gy, sigma2, delta, 3, 20, 20), gamma)
    (grad,) = torch.autograd.grad(g.sum(), raw)
    assert torch.isfinite(grad).all() and grad[0, 4] != 0  # soft clamps keep the gradient
