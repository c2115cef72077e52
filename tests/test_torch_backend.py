"""The native visual vector env on the torch backend (``backend="torch"``) plays exactly the
episodes of the numpy one, and RAM trains the same curve on it (CPU here; the same code runs on
an accelerator with ``device=``)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tests.conftest import VISUAL_IDS, make_tiny_dataset  # noqa: E402


def _host(x):
    if isinstance(x, dict):
        return {k: _host(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)) or (isinstance(x, np.ndarray) and x.dtype == object):
        return [None if v is None else _host(v) for v in x]
    return x.cpu().numpy() if hasattr(x, "cpu") else np.asarray(x)


def _assert_same(a, b):
    a, b = _host(a), _host(b)
    if isinstance(a, dict):
        assert sorted(a) == sorted(b)
        for k in a:
            _assert_same(a[k], b[k])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            if x is None or y is None:
                assert x is y
            else:
                _assert_same(x, y)
    else:
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("env_id", VISUAL_IDS)
@pytest.mark.parametrize("mode", ["NextStep", "SameStep"])
def test_torch_backend_plays_the_numpy_episodes(env_id, mode):
    tiny = make_tiny_dataset()
    kw = dict(num_envs=4, vectorization_mode="vector_entry_point", dataset=tiny)
    kw["autoreset_mode"] = mode
    ref = gym.make_vec(env_id, **kw)
    dev = gym.make_vec(env_id, backend="torch", device="cpu", **kw)
    obs_r, info_r = ref.reset(seed=3)
    obs_d, info_d = dev.reset(seed=3)
    assert isinstance(obs_d["glimpse"], torch.Tensor)  # observations stay on the device
    _assert_same(obs_r, obs_d)
    _assert_same(info_r, info_d)
    rng = np.random.default_rng(0)
    for _ in range(25):
        a = ref.action_space.sample()
        a[:, 2] = np.where(rng.random(4) < 0.6, 0, a[:, 2])  # look more often than answer
        for x, y in zip(ref.step(a), dev.step(a)):
            _assert_same(x, y)
    _assert_same(ref.unwrapped.canvases(), dev.unwrapped.canvases())
    # a partial reset of fixed canvases
    mask = np.array([True, False, True, False])
    _assert_same(
        ref.reset(options={"reset_mask": mask, "split": "test", "index": 5}),
        dev.reset(options={"reset_mask": mask, "split": "test", "index": 5}),
    )


def test_bad_backend_is_named():
    with pytest.raises(ValueError, match="backend='jax' invalid"):
        gym.make_vec(
            "glimpse_envs/MNIST-v0",
            num_envs=2,
            vectorization_mode="vector_entry_point",
            dataset=make_tiny_dataset(),
            backend="jax",
        )


def test_ram_trains_the_same_curve_on_the_torch_backend(tmp_path):
    from agents.base import RunConfig
    from agents.ram import Config, RAMTrainer

    curves = []
    for backend in ("numpy", "torch"):
        run = RunConfig(
            env="glimpse_envs/TranslatedMNIST-v0",
            agent="ram",
            env_kwargs={"dataset": make_tiny_dataset(), "backend": backend},
            seed=0,
            num_envs=8,
            threads=1,
        )
        trainer = RAMTrainer(run, Config())
        curves.append([trainer.train_iteration() for _ in range(5)])
        curves[-1].append(trainer.evaluate("validation", 10))
        trainer.close()
    for a, b in zip(*curves):
        assert {k: v for k, v in a.items() if "per_s" not in k} == {
            k: v for k, v in b.items() if "per_s" not in k
        }
