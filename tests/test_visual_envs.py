"""Every registered visual id: checkers, determinism, pickling, semantics, rendering, bad inputs."""

from __future__ import annotations

import pickle
import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from glimpse_envs.canvas import Canvas
from tests.conftest import VISUAL_IDS, needs_mnist

# SB3's checker advises on image-like observations; the glimpse is float in [0, 1] on purpose
SB3_ALLOWED = (
    "is an image but its `dtype`",
    "upper and lower bounds are not in [0, 255]",
    "minimal resolution",
)


def test_every_visual_id_registered():
    names = [i.split("/")[1] for i in VISUAL_IDS]
    assert names == [
        "TiledMNIST-v0",
        "MNIST-v0",
        "TranslatedMNIST-v0",
        "ClutteredMNIST-v0",
        "ClutteredMNIST100-v0",
        "MultiMNIST-v0",
    ]
    for env_id in VISUAL_IDS:
        assert gym.spec(env_id).vector_entry_point is not None


@needs_mnist
@pytest.mark.parametrize(
    "kwargs", [{}, {"continuous": True, "start": "random", "glimpse_cost": 0.01}]
)
def test_gymnasium_check_env_no_warnings(env_id, kwargs):
    env = gym.make(env_id, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)
    env.close()


@needs_mnist
def test_sb3_check_env(env_id):
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = gym.make(env_id)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sb3_check_env(env)
    unexpected = [
        str(w.message) for w in caught if not any(a in str(w.message) for a in SB3_ALLOWED)
    ]
    assert unexpected == []


def _rollout(env, seed, steps=40):
    obs, info = env.reset(seed=seed)
    env.action_space.seed(seed)
    out = [(obs, info)]
    for _ in range(steps):
        obs, r, term, trunc, info = env.step(env.action_space.sample())
        out.append((obs, r, term, trunc, info))
        if term or trunc:
            out.append(env.reset())
    return out


def _equal(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    return np.array_equal(a, b)


def test_seeded_determinism(env_id, tiny):
    a = _rollout(gym.make(env_id, dataset=tiny), 3)
    b = _rollout(gym.make(env_id, dataset=tiny), 3)
    c = _rollout(gym.make(env_id, dataset=tiny), 4)
    assert _equal(a, b)
    assert not _equal(a, c)


def test_pickling(env_id, tiny):
    env = gym.make(env_id, dataset=tiny)
    env.reset(seed=1)
    clone = pickle.loads(pickle.dumps(env))
    action = env.action_space.sample()
    assert _equal(env.step(action), clone.step(action))


@needs_mnist
def test_pickled_named_dataset_is_not_copied():
    env = gym.make("glimpse_envs/MNIST-v0")
    assert len(pickle.dumps(env)) < 1_000_000


def test_render_rgb_array_and_zero_cost_without(env_id, tiny):
    env = gym.make(env_id, dataset=tiny, render_mode="rgb_array")
    env.reset(seed=0)
    env.step(np.asarray(env.action_space.sample()) * 0 + (1 if env.unwrapped.continuous else 0))
    frame = env.render()
    assert frame.ndim == 3 and frame.shape[2] == 3 and frame.dtype == np.uint8
    assert frame.shape[1] > frame.shape[0]  # canvas beside the patches
    plain = gym.make(env_id, dataset=tiny).unwrapped
    assert plain._path is None  # nothing is recorded for rendering when render_mode is None


def test_render_human_headless(tiny):
    """The window shows exactly the env's rgb_array frame of the current state."""
    import pygame

    env = gym.make("glimpse_envs/ClutteredMNIST-v0", dataset=tiny, render_mode="human")
    env.reset(seed=0)
    env.step(np.array([1, 2, 0]))
    frame = env.unwrapped._frame(0)
    shown = pygame.surfarray.array3d(env.unwrapped._window._screen).transpose(1, 0, 2)
    np.testing.assert_array_equal(shown, frame)
    env.close()


def _glimpse_actions(env, x=2, y=2):
    return np.array([x, y, 0])


@pytest.mark.parametrize("env_id", [i for i in VISUAL_IDS if "Multi" not in i])
def test_budget_and_answers(env_id, tiny):
    env = gym.make(env_id, dataset=tiny, glimpse_cost=0.0)
    T = env.unwrapped.budget
    obs, info = env.reset(seed=0)
    assert obs["step"] == 0 and info == {"glimpses": 1, "pixels_sensed": env.unwrapped._ppg}
    for t in range(1, T):
        obs, r, term, trunc, info = env.step(_glimpse_actions(env))
        assert (obs["step"], r, term, trunc, info["glimpses"]) == (t, 0.0, False, False, t + 1)
    obs, r, term, trunc, info = env.step(_glimpse_actions(env))  # keep looking at the last glimpse
    # the budget is the hard limit: the env terminates the episode itself (no TimeLimit)
    assert term and not trunc and r == 0.0 and info["prediction"] == -1 and not info["is_success"]
    label = info["label"]
    env.reset(seed=0)
    obs, r, term, trunc, info = env.step(np.array([0, 0, label + 1]))
    assert term and r == 1.0 and info["is_success"] and info["prediction"] == label
    assert info["pixels_sensed"] == env.unwrapped._ppg
    env.reset(seed=0)
    _, r, term, _, info = env.step(np.array([0, 0, (label + 1) % 10 + 1]))
    assert term and r == 0.0 and not info["is_success"]


def test_glimpse_cost_and_continuous(tiny):
    env = gym.make("glimpse_envs/MNIST-v0", dataset=tiny, glimpse_cost=0.1, continuous=True)
    env.reset(seed=0)
    look = np.zeros(13, np.float32)
    look[2] = 1.0
    obs, r, *_ = env.step(look)
    assert r == 0.0 and np.allclose(obs["location"], [0, 0])
    look[:2] = [0.5, -0.5]
    obs, *_ = env.step(look)
    assert np.allclose(obs["location"], [0.5, -0.5]) and obs["step"] == 2
    answer = np.zeros(13, np.float32)
    answer[2 + 1 + 3] = (
        1.0  # scores start at index 2; score 0 is "keep looking", score c + 1 class c
    )
    _, r, term, _, info = env.step(answer)
    assert term and info["prediction"] == 3 and np.isclose(r, float(info["label"] == 3) - 0.1 * 3)


def test_multimnist_semantics(tiny):
    env = gym.make("glimpse_envs/MultiMNIST-v0", dataset=tiny)
    obs, _ = env.reset(seed=0)
    assert obs["emitted"] == 0
    labels = env.unwrapped._labels[0].copy()
    obs, r, term, _, _ = env.step(np.array([3, 3, labels[0] + 1]))
    assert r == 1.0 and not term and obs["emitted"] == 1 and obs["step"] == 0
    obs, r, term, _, info = env.step(np.array([3, 3, (labels[1] + 1) % 10 + 1]))
    assert r == 0.0 and term and list(info["label"]) == list(labels)
    assert list(info["prediction"]) == [labels[0], (labels[1] + 1) % 10] and not info["is_success"]
    # the hard limit: T - 1 looks, then n answers; looking past the budget ends the episode
    env.reset(seed=1)
    T = env.unwrapped.budget
    for _ in range(T - 1):
        _, _, term, _, _ = env.step(np.array([1, 1, 0]))
        assert not term
    _, _, term, _, info = env.step(np.array([1, 1, 0]))
    assert term and list(info["prediction"]) == [-1, -1]
    assert gym.spec("glimpse_envs/MultiMNIST-v0").max_episode_steps is None


def test_a_bigger_budget_is_not_cut_by_a_registered_time_limit(tiny):
    env = gym.make("glimpse_envs/MNIST-v0", dataset=tiny, glimpses=12)
    env.reset(seed=0)
    for _ in range(11):
        _, _, term, trunc, info = env.step(np.array([1, 1, 0]))
        assert not term and not trunc
    assert info["glimpses"] == 12
    _, _, term, trunc, _ = env.step(np.array([1, 1, 3]))
    assert term and not trunc


def test_fixed_split_reset_shows_fixed_canvas(tiny):
    env = gym.make("glimpse_envs/ClutteredMNIST-v0", dataset=tiny)
    env.reset(seed=0, options={"split": "test", "index": 5})
    images, labels = env.unwrapped.canvas.fixed("test", [5])
    assert np.array_equal(env.unwrapped._images[0], images[0])
    _, _, _, _, info = env.step(np.array([0, 0, 1]))
    assert info["label"] == labels[0, 0]
    env.reset(options={"split": "validation"})
    with pytest.raises(ValueError, match="unknown split"):
        env.reset(options={"split": "dev"})


@pytest.mark.parametrize("continuous", [False, True])
def test_a_fixed_canvas_with_random_start_has_a_fixed_first_glimpse(tiny, continuous):
    """Fixed canvas i starts at the same place in any env, seeded or not, single or vector (every
    agent is scored on the same first glimpse); training resets still draw from the env's seed."""
    kw = dict(dataset=tiny, start="random", continuous=continuous)
    opts = {"split": "test", "index": np.array([3, 4, 3])}
    starts = []
    for seed in (0, 1, None):
        vec = gym.make_vec(
            "glimpse_envs/MNIST-v0", num_envs=3, vectorization_mode="vector_entry_point", **kw
        )
        obs, _ = vec.reset(seed=seed, options=opts)
        starts.append(obs["location"].copy())
    assert np.array_equal(starts[0], starts[1]) and np.array_equal(starts[0], starts[2])
    assert np.array_equal(starts[0][0], starts[0][2]) and not np.array_equal(
        starts[0][0], starts[0][1]
    )
    env = gym.make("glimpse_envs/MNIST-v0", **kw)
    obs, _ = env.reset(seed=5, options={"split": "test", "index": 4})
    assert np.array_equal(obs["location"], starts[0][1])
    a, _ = env.reset(seed=0)
    b, _ = env.reset(seed=1)
    assert not np.array_equal(a["location"], b["location"])  # training starts still vary


@pytest.mark.parametrize(
    "action",
    [
        np.array([16, 0, 0]),
        np.array([0, 0, 11]),
        np.array([-1, 0, 0]),
        np.array([0.5, 0, 0]),
        np.array([0, 0]),
        "left",
    ],
)
def test_bad_actions(action, tiny):
    env = gym.make("glimpse_envs/ClutteredMNIST-v0", dataset=tiny)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"invalid: expected an element of MultiDiscrete"):
        env.unwrapped.step(action)


def test_bad_continuous_action(tiny):
    env = gym.make("glimpse_envs/MNIST-v0", dataset=tiny, continuous=True).unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"\(<class 'numpy.ndarray'>\) invalid"):
        env.step(np.full(13, 1.5, np.float32))
    with pytest.raises(RuntimeError, match="call reset"):
        e = gym.make("glimpse_envs/MNIST-v0", dataset=tiny).unwrapped
        e.step(np.array([0, 0, 0]))


@pytest.mark.parametrize(
    "env_id, kwargs, match",
    [
        ("glimpse_envs/MNIST-v0", dict(glimpses=0), "glimpses=0 invalid"),
        ("glimpse_envs/MNIST-v0", dict(retina_size=8, retina_scales=4), "retina too large"),
        ("glimpse_envs/ClutteredMNIST-v0", dict(canvas_size=20), "cannot hold 1 digit"),
        ("glimpse_envs/MultiMNIST-v0", dict(n_digits=3), "size >= 84"),
        ("glimpse_envs/MNIST-v0", dict(dataset="cifar"), "unknown dataset 'cifar'"),
        ("glimpse_envs/MNIST-v0", dict(start="corner"), "start='corner' invalid"),
        ("glimpse_envs/MNIST-v0", dict(grid=1), "grid=1 invalid"),
        ("glimpse_envs/MNIST-v0", dict(glimpse_cost=-1), "glimpse_cost=-1 invalid"),
        ("glimpse_envs/MNIST-v0", dict(render_mode="ascii"), "render_mode='ascii' invalid"),
    ],
)
@pytest.mark.filterwarnings("ignore:.*render_mode=.ascii.")
def test_impossible_configs(env_id, kwargs, match, tiny):
    kwargs.setdefault("dataset", tiny)
    with pytest.raises(ValueError, match=match):
        gym.make(env_id, **kwargs)


def test_spaces_per_id(env_id, tiny):
    env = gym.make(env_id, dataset=tiny).unwrapped
    obs = env.observation_space
    assert obs["glimpse"].dtype == np.float32 and obs["location"].shape == (2,)
    expected = {
        "TiledMNIST-v0": ((1, 10, 10), [3, 3, 11]),
        "MNIST-v0": ((1, 8, 8), [8, 8, 11]),
        "TranslatedMNIST-v0": ((3, 12, 12), [16, 16, 11]),
        "ClutteredMNIST-v0": ((3, 12, 12), [16, 16, 11]),
        "ClutteredMNIST100-v0": ((4, 12, 12), [26, 26, 11]),
        "MultiMNIST-v0": ((3, 12, 12), [16, 16, 11]),
    }[env_id.split("/")[1]]
    assert obs["glimpse"].shape == expected[0] and list(env.action_space.nvec) == expected[1]
    assert isinstance(env.canvas, Canvas)
    assert "## Observation Space" in type(env).__doc__ and "## Version History" in type(env).__doc__


@needs_mnist
def test_make_without_import_and_async_vector():
    code = (
        "import gymnasium as gym; env = gym.make('glimpse_envs:glimpse_envs/MNIST-v0');"
        "print(env.reset(seed=0)[0]['glimpse'].shape)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "(1, 8, 8)"
    envs = gym.make_vec("glimpse_envs/ClutteredMNIST-v0", num_envs=2, vectorization_mode="async")
    try:
        obs, _ = envs.reset(seed=0)
        assert obs["glimpse"].shape == (2, 3, 12, 12)
        obs, r, term, trunc, info = envs.step(envs.action_space.sample())
        assert r.shape == (2,) and info["glimpses"].shape == (2,)
    finally:
        envs.close()


def test_sb3_does_not_take_the_glimpse_for_an_image(tiny):
    """The checker's image warnings do not apply: SB3's extractors flatten the float glimpse."""
    from stable_baselines3.common.preprocessing import is_image_space

    env = gym.make("glimpse_envs/ClutteredMNIST-v0", dataset=tiny)
    assert not is_image_space(env.observation_space["glimpse"])
