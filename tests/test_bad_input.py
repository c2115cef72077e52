"""Bad input gets a clear error before any work is done: one row per case.

Each row: an env id, whether it is the native vector env (N = 2), the ``reset`` options, the
exception type, and words the message must contain (naming the input and the fix).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import glimpse_envs  # noqa: F401
from tests.conftest import make_tiny_dataset

COPY, MNIST = "glimpse_envs/Copy-v0", "glimpse_envs/MNIST-v0"

RESET_CASES = [
    # misspelt or unknown keys are never ignored
    (MNIST, False, {"splt": "test", "index": 0}, ValueError, "unknown reset option"),
    (MNIST, True, {"splt": "test", "index": 0}, ValueError, "unknown reset option"),
    (COPY, False, {"lenght": 7}, ValueError, "unknown reset option"),
    (COPY, True, {"lenght": 7}, ValueError, "unknown reset option"),
    (COPY, False, {"reset_mask": [True]}, ValueError, "unknown reset option"),
    # indices and lengths are ints, not floats, strings or bools
    (MNIST, False, {"split": "test", "index": 2.5}, TypeError, "options['index'] must be an int"),
    (MNIST, False, {"split": "test", "index": "3"}, TypeError, "options['index'] must be an int"),
    (MNIST, True, {"split": "test", "index": [0, 1.5]}, TypeError, "must be an int"),
    (COPY, False, {"split": "test", "index": 2.5}, TypeError, "options['index'] must be an int"),
    (COPY, True, {"length": 2.5}, TypeError, "options['length'] must be an int"),
    (COPY, True, {"length": [3, 2.5]}, TypeError, "options['length'] must be an int"),
    (COPY, False, {"length": True}, TypeError, "options['length'] must be an int"),
    (MNIST, False, {"split": "test", "index": -1}, ValueError, "must be >= 0"),
    # one per env means one per env
    (MNIST, True, {"split": "test", "index": [0, 1, 2]}, ValueError, "one int or 2 ints"),
    (COPY, True, {"split": "test", "index": [0, 1, 2]}, ValueError, "one int or 2 ints"),
    (MNIST, True, {"reset_mask": [True, False, True]}, ValueError, "reset_mask"),
    (COPY, True, {"reset_mask": [True]}, ValueError, "reset_mask"),
    (COPY, True, {"reset_mask": [1, 0]}, ValueError, "boolean array of shape (2,)"),
    # a tape index names an episode of a split
    (COPY, False, {"index": 3}, ValueError, "add 'split'"),
    (COPY, True, {"index": 3}, ValueError, "add 'split'"),
    # options must be a dict
    (COPY, False, [("length", 3)], TypeError, "takes a dict"),
]


def _make(env_id: str, vector: bool):
    kwargs = {"dataset": make_tiny_dataset()} if "MNIST" in env_id else {}
    if vector:
        return gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point", **kwargs)
    return gym.make(env_id, **kwargs)


@pytest.mark.parametrize(
    "env_id,vector,options,error,words",
    RESET_CASES,
    ids=[f"{e.split('/')[1]}-{'vec' if v else 'one'}-{o}" for e, v, o, _, _ in RESET_CASES],
)
def test_bad_reset_options(env_id, vector, options, error, words):
    env = _make(env_id, vector)
    env.reset(seed=0)  # (gym.make's passive checker wants its first reset to succeed)
    with pytest.raises(error) as e:
        env.reset(seed=0, options=options)
    assert words in str(e.value), str(e.value)
    # nothing was started: the env still resets and plays normally afterwards
    env.reset(seed=0)
    env.step(np.zeros(env.action_space.shape, np.int64))


def test_good_per_env_options_still_work():
    env = _make(COPY, True)
    _, info = env.reset(seed=0, options={"length": [3, None]})
    assert info["length"][0] == 3
    _, info = env.reset(options={"reset_mask": np.array([False, True]), "length": 5})
    assert info["length"][1] == 5 and info["length"][0] == 3
    env.reset(seed=0, options={"split": "test", "index": np.array([4, 7]), "length": 3})


CONSTRUCTOR_CASES = [
    ("glimpse_envs/TiledMNIST-v0", {"grid": 0}, ValueError, "grid"),
    ("glimpse_envs/TiledMNIST-v0", {"retina_size": 30}, ValueError, "sensor='tiles' has no retina"),
    (MNIST, {"continuous": "false"}, TypeError, "use True or False"),
    (COPY, {"bits": 64}, ValueError, "use bits <= 16"),
    ("glimpse_envs/AssociativeRecall-v0", {"bits": 40}, ValueError, "use bits <= 16"),
]


@pytest.mark.parametrize(
    "env_id,kwargs,error,words",
    CONSTRUCTOR_CASES,
    ids=[f"{e.split('/')[1]}-{k}" for e, k, _, _ in CONSTRUCTOR_CASES],
)
def test_bad_constructor_arguments(env_id, kwargs, error, words):
    extra = {"dataset": make_tiny_dataset()} if "MNIST" in env_id else {}
    with pytest.raises(error) as e:
        gym.make(env_id, **kwargs, **extra)
    assert words in str(e.value), str(e.value)


@pytest.mark.parametrize("env_id", [MNIST, COPY])
@pytest.mark.parametrize(
    "kwargs,words",
    [
        ({"num_envs": 2.5}, "num_envs"),
        ({"num_envs": 2, "max_episode_steps": 0}, "max_episode_steps"),
    ],
)
def test_bad_vector_arguments(env_id, kwargs, words):
    extra = {"dataset": make_tiny_dataset()} if "MNIST" in env_id else {}
    with pytest.raises(ValueError, match=words):
        gym.make_vec(env_id, vectorization_mode="vector_entry_point", **kwargs, **extra)


def test_visual_action_shapes_are_exact_and_step_needs_reset():
    one = _make(MNIST, False)
    one.reset(seed=0)
    with pytest.raises(ValueError, match="invalid"):
        one.step(np.array([[1, 1, 0]]))  # (1, 3) is not an action of a single env
    vec = gym.make_vec(
        MNIST, num_envs=4, vectorization_mode="vector_entry_point", dataset=make_tiny_dataset()
    )
    with pytest.raises(RuntimeError, match="never reset"):
        vec.step(np.zeros((4, 3), np.int64))
    vec.reset(seed=0)
    for bad in (np.zeros((3, 4), np.int64), np.zeros(12, np.int64)):  # transposed, flat
        with pytest.raises(ValueError, match="invalid"):
            vec.step(bad)
    vec.step(np.zeros((4, 3), np.int64))


@pytest.mark.parametrize(
    "images,labels,words",
    [
        (np.zeros((4, 32, 32), np.uint8), np.zeros(4, np.int64), "differ in shape"),
        (np.zeros((4, 28), np.uint8), np.zeros(4, np.int64), "(N, H, W, C)"),
        (np.zeros((4, 28, 28, 3, 1), np.uint8), np.zeros(4, np.int64), "(N, H, W, C)"),
        (
            np.full((4, 28, 28), 2.0, np.float32),
            np.zeros(4, np.int64),
            "divide 0..255 values by 255",
        ),
        (np.zeros((4, 28, 28), np.int16), np.zeros(4, np.int64), "uint8"),
        (np.zeros((4, 28, 28), np.uint8), np.zeros(3, np.int64), "one per image"),
        (np.zeros((4, 28, 28), np.uint8), np.full(4, 10), "[0, 10)"),
        (np.zeros((4, 28, 28), np.uint8), np.full(4, -1), "number the classes"),
    ],
)
def test_custom_dataset_of_the_wrong_form_is_refused(images, labels, words):
    from glimpse_envs.data import Dataset

    good = (np.zeros((2, 28, 28), np.uint8), np.zeros(2, np.int64))
    with pytest.raises(ValueError) as e:
        Dataset(
            "mine", {"train": (images, labels), "validation": good, "test": good}, num_classes=10
        )
    assert words in str(e.value), str(e.value)
