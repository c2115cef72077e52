"""The native vector env equals Gymnasium's SyncVectorEnv of single envs seeded seed + i."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from tests.conftest import VISUAL_IDS


def _actions(space_single, n, rng, continuous):
    if continuous:
        a = rng.uniform(-1, 1, (n, space_single.shape[0])).astype(np.float32)
        a[:, 2] += rng.random(n) < 0.7  # mostly keep looking
        return np.clip(a, -1, 1)
    nvec = space_single.nvec
    a = rng.integers(0, nvec, (n, 3))
    a[rng.random(n) < 0.7, 2] = 0
    return a


def _assert_info_equal(native, sync):
    keys = {k for k in sync if not k.startswith("_")}
    assert keys == {k for k in native if not k.startswith("_")}, (sorted(native), sorted(sync))
    for k in keys:
        mask = sync["_" + k]
        assert np.array_equal(native["_" + k], mask), k
        if k == "final_obs":
            for a, b in zip(native[k][mask], sync[k][mask]):
                assert a.keys() == b.keys() and all(np.array_equal(a[j], b[j]) for j in a)
        elif k == "final_info":
            _assert_info_equal(native[k], sync[k])
        else:
            assert np.array_equal(np.asarray(native[k])[mask], np.asarray(sync[k])[mask]), k


@pytest.mark.parametrize("mode", ["NextStep", "SameStep"])
@pytest.mark.parametrize(
    "kwargs", [{}, {"continuous": True, "start": "random", "glimpse_cost": 0.05}]
)
def test_vector_equals_sync_singles(env_id, mode, kwargs, tiny):
    n = 4
    native = gym.make_vec(
        env_id,
        num_envs=n,
        vectorization_mode="vector_entry_point",
        autoreset_mode=mode,
        dataset=tiny,
        **kwargs,
    )
    sync = gym.make_vec(
        env_id,
        num_envs=n,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode(mode)},
        dataset=tiny,
        **kwargs,
    )
    assert native.observation_space == sync.observation_space
    assert native.action_space == sync.action_space
    assert native.metadata["autoreset_mode"] == gym.vector.AutoresetMode(mode)
    rng = np.random.default_rng(0)
    for seed in (11, None):
        o1, i1 = native.reset(seed=seed if seed is not None else 5)
        o2, i2 = sync.reset(seed=seed if seed is not None else 5)
        assert all(np.array_equal(o1[k], o2[k]) for k in o2)
        _assert_info_equal(i1, i2)
        ends = 0
        for _ in range(25):
            a = _actions(native.single_action_space, n, rng, kwargs.get("continuous", False))
            r1 = native.step(a)
            r2 = sync.step(a)
            assert all(np.array_equal(r1[0][k], r2[0][k]) for k in r2[0]), "obs"
            for x, y in zip(r1[1:4], r2[1:4]):
                assert np.array_equal(x, y) and x.dtype == y.dtype
            _assert_info_equal(r1[4], r2[4])
            ends += r1[2].sum()
        assert ends > 0
    native.close()
    sync.close()


def test_reset_options_seed_list_and_mask(tiny):
    vec = gym.make_vec(
        "glimpse_envs/ClutteredMNIST-v0",
        num_envs=3,
        vectorization_mode="vector_entry_point",
        dataset=tiny,
    )
    single = gym.make("glimpse_envs/ClutteredMNIST-v0", dataset=tiny)
    obs, _ = vec.reset(seed=[7, 8, 9])
    assert np.array_equal(obs["glimpse"][1], single.reset(seed=8)[0]["glimpse"])
    obs, info = vec.reset(options={"split": "test", "index": np.array([0, 5, 9])})
    images, _ = vec.unwrapped.canvas.fixed("test", [0, 5, 9])
    assert np.array_equal(vec.unwrapped._images, images)
    before = obs["glimpse"].copy()
    obs, info = vec.reset(
        seed=[None, 3, None], options={"reset_mask": np.array([False, True, False])}
    )
    assert np.array_equal(obs["glimpse"][[0, 2]], before[[0, 2]])
    assert np.array_equal(obs["glimpse"][1], single.reset(seed=3)[0]["glimpse"])
    assert info["_glimpses"].tolist() == [False, True, False]
    with pytest.raises(ValueError, match="2 seeds given for num_envs=3"):
        vec.reset(seed=[1, 2])
    with pytest.raises(
        ValueError, match="invalid: expected an element of MultiDiscrete.*for each of the 3 envs"
    ):
        vec.step(np.zeros((2, 3), np.int64))


def test_vector_constructor_args(tiny):
    vec = gym.make_vec(
        "glimpse_envs/MNIST-v0",
        num_envs=2,
        vectorization_mode="vector_entry_point",
        dataset=tiny,
        max_episode_steps=2,
        render_mode="rgb_array",
    )
    vec.reset(seed=0)
    _, _, term, trunc, _ = vec.step(np.array([[1, 1, 0], [1, 1, 0]]))
    assert not trunc.any()
    _, _, term, trunc, _ = vec.step(np.array([[1, 1, 0], [1, 1, 0]]))
    assert trunc.all() and not term.any()
    frames = vec.render()
    assert len(frames) == 2 and frames[0].ndim == 3
    with pytest.raises(ValueError, match="num_envs=0 invalid"):
        gym.make_vec(
            "glimpse_envs/MNIST-v0",
            num_envs=0,
            vectorization_mode="vector_entry_point",
            dataset=tiny,
        )
    # by default the vector env never truncates: the glimpse budget ends every episode
    vec = gym.make_vec(
        VISUAL_IDS[0], num_envs=2, vectorization_mode="vector_entry_point", dataset=tiny
    )
    vec.reset(seed=0)
    for _ in range(vec.unwrapped.max_steps):
        _, _, term, trunc, _ = vec.step(np.zeros((2, 3), np.int64))
        assert not trunc.any()
    assert term.all()


def test_single_env_episodes_built_ahead_are_the_ones_built_one_at_a_time(tiny):
    """The single env builds GlimpseEnv.AHEAD episodes per batched call; over several batches
    and resets that switch split or take a fixed canvas, every episode is the one a vector env of
    one row (one episode per reset) gives with the same seed and options."""
    env_id = "glimpse_envs/ClutteredMNIST-v0"
    single = gym.make(env_id, dataset=tiny, start="random")
    vec = gym.make_vec(
        env_id, num_envs=1, vectorization_mode="vector_entry_point", dataset=tiny, start="random"
    )
    splits = ["train", "train", "validation", "train", "test", "test", "train"]
    resets = 3 * single.unwrapped.AHEAD
    for k in range(resets):
        options = {"split": splits[k % len(splits)]}
        if k % 5 == 4:
            options["index"] = k % 10  # (the tiny splits hold 10 to 40 images)
        seed = 3 if k in (0, resets // 2) else None
        o1, _ = single.reset(seed=seed, options=options)
        o2, _ = vec.reset(seed=seed, options=options)
        assert np.array_equal(o1["glimpse"], o2["glimpse"][0]), k
        assert np.array_equal(o1["location"], o2["location"][0]), k
        assert np.array_equal(single.unwrapped._images[0], vec.unwrapped._images[0]), k
        assert np.array_equal(single.unwrapped._labels, vec.unwrapped._labels), k
    assert single.unwrapped._ahead is not None  # the path under test was taken


@pytest.mark.parametrize("env_id", ["glimpse_envs/ClutteredMNIST-v0", "glimpse_envs/MultiMNIST-v0"])
def test_lazy_resets_equal_sync_singles_and_prepare_only_looked_at_canvases(env_id, tiny):
    """The native env's partial resets read first glimpses straight from the pixels and prepare a
    canvas only when its row looks with many others (a few lookers are read straight too): every
    observation still equals the single envs', whose resets prepare every canvas at once."""
    n = 32
    kw = {"dataset": tiny}
    native = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point", **kw)
    sync = gym.make_vec(env_id, num_envs=n, vectorization_mode="sync", **kw)
    assert native.unwrapped._lazy and not sync.envs[0].unwrapped._lazy
    prepared = []
    prepare = native.unwrapped.sensor.prepare
    native.unwrapped.sensor.prepare = lambda images: prepared.append(len(images)) or prepare(images)
    o1, _ = native.reset(seed=3)
    o2, _ = sync.reset(seed=3)
    # (a reset of every row prepares at once: in lock-step episodes every row looks next)
    assert np.array_equal(o1["glimpse"], o2["glimpse"]) and prepared == [n]
    prepared.clear()
    rng = np.random.default_rng(0)
    nvec = native.single_action_space.nvec
    episodes, done = n, np.zeros(n, bool)
    # look with probability 0 (answers: partial resets never prepared), a few rows, many rows,
    # all rows
    for p_look in [0.6, 0.1] + [0.0] * 4 + [0.1, 0.6, 1.0] * 6:
        a = rng.integers(0, nvec, (n, 3))
        a[:, 2] = np.where(rng.random(n) < p_look, 0, rng.integers(1, nvec[2], n))
        before = len(prepared)
        r1, r2 = native.step(a), sync.step(a)
        if p_look == 0.0 and not done.all():
            assert len(prepared) == before  # nobody looked, some rows reset: nothing prepared
        for k in r2[0]:
            assert np.array_equal(r1[0][k], r2[0][k]), k
        for x, y in zip(r1[1:4], r2[1:4]):
            assert np.array_equal(x, y)
        episodes += done.sum()  # (NextStep: the rows that ended reset on this step)
        done = r1[2] | r1[3]
    assert 0 < sum(prepared) < episodes  # some canvases prepared, not every episode's
    native.close()
    sync.close()
