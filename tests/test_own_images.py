"""Your own images: colour datasets of any size and any number of classes, from arrays or from an
image folder, through canvases, sensors, envs, renders and agents; and every spec's
``reward_threshold``."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import glimpse_envs
from glimpse_envs.canvas import Canvas
from glimpse_envs.data import Dataset, load_dataset, resize
from glimpse_envs.retina import Retina, TileSensor, reference_retina
from tests.conftest import VISUAL_IDS

SPLITS = ("train", "validation", "test")


def random_rgb(classes: int = 15, shape=(20, 24), n=(60, 15, 30), seed: int = 0) -> Dataset:
    """Noise images of a non-28, non-square size, every pixel nonzero, labels i % classes."""
    rng = np.random.default_rng(seed)
    return Dataset(
        "rgb",
        {
            sp: (rng.integers(1, 256, (k, *shape, 3), dtype=np.uint8), np.arange(k) % classes)
            for sp, k in zip(SPLITS, n)
        },
    )


def colour_is_class(classes: int = 3, shape=(20, 24), n=(300, 60, 150), seed: int = 0) -> Dataset:
    """Trivially separable: object c is filled with colour c (red, green, blue), shaded at random."""
    rng = np.random.default_rng(seed)
    palette = np.array([[230, 30, 30], [30, 230, 30], [30, 30, 230]])[:classes]

    def split(m):
        y = rng.integers(0, classes, m)
        shade = rng.uniform(0.6, 1.0, (m, *shape, 1))
        return (palette[y][:, None, None, :] * shade).astype(np.uint8), y

    return Dataset("colours", {sp: split(k) for sp, k in zip(SPLITS, n)})


@pytest.fixture(scope="module")
def rgb() -> Dataset:
    return random_rgb()


def test_dataset_derives_classes_shape_and_channels(rgb):
    assert rgb.num_classes == 15 and rgb.classes == [str(i) for i in range(15)]
    assert rgb.image_shape == (20, 24) and rgb.channels == 3
    floats = Dataset("f", {sp: (rgb.images(sp) / 255.0, rgb.labels(sp)) for sp in SPLITS})
    np.testing.assert_array_equal(floats.images("test"), rgb.images("test"))  # round(255 x)
    one = Dataset("g", {sp: (rgb.images(sp)[..., :1], rgb.labels(sp)) for sp in SPLITS})
    assert one.channels == 1 and one.images("train").shape == (60, 20, 24)  # (N, H, W, 1): gray
    named = Dataset("n", rgb.splits, classes=[f"c{i}" for i in range(20)])
    assert named.num_classes == 20


@pytest.mark.parametrize("env_id", VISUAL_IDS)
def test_spaces_follow_the_dataset(env_id, rgb):
    env = gym.make(env_id, dataset=rgb, render_mode="rgb_array")
    u = env.unwrapped
    k, g = u.sensor.shape[:2] if isinstance(u.sensor, Retina) else (1, u.sensor.tile)
    assert env.observation_space["glimpse"].shape == (k, g, g, 3)
    assert env.action_space.nvec[-1] == 16  # 15 classes + keep looking
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert info["pixels_sensed"] == k * g * g * 3
    frame = env.render()
    assert frame.ndim == 3 and frame.shape[2] == 3
    canvas = frame[: u.canvas.size * max(1, 256 // u.canvas.size)]
    assert (canvas[..., 0] != canvas[..., 1]).any(), "the canvas is drawn in colour"
    cont = gym.make(env_id, dataset=rgb, continuous=True)
    assert cont.action_space.shape == (2 + 15 + 1,)


def _gray(ds: Dataset, channel: int) -> Dataset:
    return Dataset("c", {sp: (ds.images(sp)[..., channel], ds.labels(sp)) for sp in SPLITS})


@pytest.mark.parametrize("scale", [1.0, 1.5, 0.6])
def test_colour_canvas_is_the_grayscale_canvas_of_each_channel(rgb, scale):
    kw = dict(size=80, n_digits=2, n_clutter=5, clutter_size=7, object_scale=scale)
    canvas = Canvas(dataset=rgb, **kw)
    assert canvas.object_shape == (round(20 * scale), round(24 * scale))
    params = canvas.draw(np.random.default_rng(1), "train", 9)
    images, labels = canvas.render(params, "train")
    assert images.shape == (9, 80, 80, 3) and labels.shape == (9, 2)
    one_by_one = np.concatenate([canvas.render(params[i : i + 1], "train")[0] for i in range(9)])
    np.testing.assert_array_equal(one_by_one, images)
    for c in range(3):
        gray = Canvas(dataset=_gray(rgb, c), **kw).render(params, "train")[0]
        np.testing.assert_array_equal(images[..., c], gray)
    # the objects are the dataset's images resized by area averaging, pasted where drawn (clutter
    # goes under them by a pixel-wise maximum: without clutter they are exactly the objects)
    oh, ow = canvas.object_shape
    bare = Canvas(dataset=rgb, **{**kw, "n_clutter": 0}).render(params[:, :6], "train")[0]
    objects = resize(rgb.images("train"), oh, ow)
    for b in range(9):
        for j in range(2):
            i, x, y = params[b, 3 * j : 3 * j + 3]
            x += j * (canvas.size // 2)
            np.testing.assert_array_equal(bare[b, y : y + oh, x : x + ow], objects[i])
            assert (images[b, y : y + oh, x : x + ow] >= objects[i]).all()


@pytest.mark.parametrize("size,scales", [(8, 1), (6, 3), (5, 2)])
def test_retina_reads_each_channel_as_the_slow_reference(size, scales):
    rng = np.random.default_rng(size)
    images = rng.integers(0, 256, (7, 30, 30, 3), dtype=np.uint8)
    locations = rng.uniform(-1.2, 1.2, (7, 2)).astype(np.float32)
    retina = Retina(size, scales, channels=3)
    out = retina(images, locations)
    assert out.shape == (7, scales, size, size, 3) and out.dtype == np.float32
    for c in range(3):
        ref = reference_retina(images[..., c], locations, size, scales)
        np.testing.assert_allclose(out[..., c], ref, atol=2e-6)
        np.testing.assert_array_equal(out[..., c], Retina(size, scales)(images[..., c], locations))
    np.testing.assert_array_equal(retina(images[:1], locations[:1]), out[:1])


def test_tiles_keep_the_channels():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 28, 28, 3), dtype=np.uint8)
    locations = rng.uniform(-1, 1, (5, 2))
    out = TileSensor(3, 28, channels=3)(images, locations)
    assert out.shape == (5, 1, 10, 10, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], TileSensor(3, 28)(images[..., c], locations))


@pytest.mark.parametrize("env_id", ["glimpse_envs/ClutteredMNIST-v0", "glimpse_envs/TiledMNIST-v0"])
def test_same_seed_same_episode_and_single_equals_vector(env_id, rgb):
    """Two episodes each: N single envs seeded seed + i against the vector env seeded seed."""
    n = 3
    vec = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point", dataset=rgb)
    singles = [gym.make(env_id, dataset=rgb) for _ in range(n)]
    twin = gym.make(env_id, dataset=rgb)
    T = singles[0].unwrapped.budget
    rng = np.random.default_rng(0)
    obs, _ = vec.reset(seed=5)
    single_obs = [e.reset(seed=5 + i)[0] for i, e in enumerate(singles)]
    twin_obs, _ = twin.reset(seed=5)
    for _episode in range(2):
        for t in range(T):
            for i in range(n):
                np.testing.assert_array_equal(obs["glimpse"][i], single_obs[i]["glimpse"])
            np.testing.assert_array_equal(twin_obs["glimpse"], single_obs[0]["glimpse"])
            actions = np.stack([singles[0].action_space.sample() for _ in range(n)])
            actions[:, 2] = rng.integers(1, 16, n) if t == T - 1 else 0
            obs, reward, term, _, _ = vec.step(actions)
            twin_obs, *_ = twin.step(actions[0])
            for i, e in enumerate(singles):
                single_obs[i], r, done, _, _ = e.step(actions[i])
                assert r == reward[i] and done == term[i] == (t == T - 1)
        obs, _ = vec.reset()  # the second episode from each generator's state
        single_obs = [e.reset()[0] for e in singles]
        twin_obs, _ = twin.reset()


def test_from_folder_round_trip(tmp_path, rgb):
    Image = pytest.importorskip("PIL.Image")
    names = ["apple", "kiwi", "plum"]
    x = rgb.images("train")[:30]
    for j, image in enumerate(x):
        folder = tmp_path / "fruit" / names[j % 3]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{j:03d}.png")
    (tmp_path / "fruit" / "kiwi" / "notes.txt").write_text("not an image")
    ds = Dataset.from_folder(tmp_path / "fruit", validation=0.2, test=0.2, seed=3)
    assert ds.classes == names and ds.num_classes == 3 and ds.channels == 3
    assert [ds.size(sp) for sp in SPLITS] == [18, 6, 6]
    read = np.concatenate([ds.images(sp) for sp in SPLITS])
    labels = np.concatenate([ds.labels(sp) for sp in SPLITS])
    for j, image in enumerate(x):  # every file read back bit-exact, under its folder's label
        hit = np.flatnonzero((read == image).all(axis=(1, 2, 3)))
        assert len(hit) == 1 and labels[hit[0]] == j % 3
    again = Dataset.from_folder(tmp_path / "fruit", validation=0.2, test=0.2, seed=3)
    np.testing.assert_array_equal(again.images("test"), ds.images("test"))
    gray = Dataset.from_folder(tmp_path / "fruit", mode="L", size=(10, 12))
    assert gray.images("train").shape[1:] == (10, 12) and gray.channels == 1
    # a folder path is a dataset name: gym.make and train.py's --env-kwargs take it
    env = gym.make("glimpse_envs/MNIST-v0", dataset=str(tmp_path / "fruit"))
    assert env.observation_space["glimpse"].shape == (1, 8, 8, 3)
    assert env.unwrapped.canvas.size == 28 and env.action_space.nvec[-1] == 4
    assert load_dataset(str(tmp_path / "fruit")) is load_dataset(tmp_path / "fruit")


def test_from_folder_with_split_folders_and_bad_folders(tmp_path, rgb):
    Image = pytest.importorskip("PIL.Image")
    for sp, k in (("train", 8), ("test", 4)):
        for j in range(k):
            folder = tmp_path / "set" / sp / ("ab"[j % 2])
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rgb.images("train")[j]).save(folder / f"{j}.png")
    ds = Dataset.from_folder(tmp_path / "set", validation=0.25)
    assert [ds.size(sp) for sp in SPLITS] == [6, 2, 4] and ds.classes == ["a", "b"]
    with pytest.raises(ValueError, match="not a folder"):
        Dataset.from_folder(tmp_path / "missing")
    (tmp_path / "one" / "only").mkdir(parents=True)
    with pytest.raises(ValueError, match="at least 2"):
        Dataset.from_folder(tmp_path / "one")
    mixed = tmp_path / "mixed"
    for j, side in enumerate((8, 9, 8, 9)):
        (mixed / "xy"[j % 2]).mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.zeros((side, side, 3), np.uint8)).save(mixed / "xy"[j % 2] / f"{j}.png")
    with pytest.raises(ValueError, match="pass size="):
        Dataset.from_folder(mixed)


@pytest.mark.parametrize(
    "kwargs,words",
    [
        (dict(object_scale=0), "object_scale=0 invalid"),
        (dict(object_scale=0.05), "use object_scale >="),
        (dict(canvas_size=30, n_digits=2), "use size >= 48"),
        (dict(clutter_size=21, n_clutter=2), "use 1 to 20 pixels"),
    ],
)
def test_bad_configs_name_the_fix(rgb, kwargs, words):
    with pytest.raises(ValueError, match=words):
        gym.make("glimpse_envs/TranslatedMNIST-v0", dataset=rgb, **kwargs)


def test_bad_dataset_inputs_name_the_fix(rgb):
    bad = dict(rgb.splits)
    bad["test"] = (rgb.images("test")[..., :2], rgb.labels("test"))
    with pytest.raises(ValueError, match="same channels"):
        Dataset("x", bad)
    with pytest.raises(ValueError, match="at least 2 classes"):
        Dataset("x", {sp: (rgb.images(sp), np.zeros(rgb.size(sp), int)) for sp in SPLITS})
    with pytest.raises(ValueError, match="one name per class"):
        Dataset("x", rgb.splits, num_classes=15, classes=["a", "b"])
    with pytest.raises(ValueError, match="unknown dataset 'cifar'.*image folder"):
        gym.make("glimpse_envs/MNIST-v0", dataset="cifar")
    with pytest.raises(ValueError, match="channels=3"):
        Retina(8, 1, channels=2).prepare(np.zeros((2, 28, 28, 3), np.uint8))


def test_colour_objects_larger_than_the_default_canvas_grow_it():
    big = random_rgb(shape=(40, 36))
    env = gym.make("glimpse_envs/MNIST-v0", dataset=big)
    assert env.unwrapped.canvas.size == 40
    with pytest.raises(ValueError, match="use size >= 40"):
        gym.make("glimpse_envs/MNIST-v0", dataset=big, canvas_size=28)


# -- agents ------------------------------------------------------------------------------------


def _trainer(agent: str, ds: Dataset, **cfg):
    import torch

    from agents import get_trainer
    from agents.base import RunConfig

    torch.set_num_threads(1)
    cls = get_trainer(agent)
    run = RunConfig(
        env="glimpse_envs/TranslatedMNIST-v0",
        agent=agent,
        seed=0,
        num_envs=16,
        steps=10**6,
        env_kwargs={"dataset": ds, "canvas_size": 40},
    )
    return cls(run, cls.Config(**cfg))


def test_ram_beats_chance_on_colour_is_class():
    """20 updates of 16 episodes (~2 s): test error < 20 % on 150 canvases of 3 classes (chance:
    66.7 %; measured: 0 %)."""
    ds = colour_is_class()
    tr = _trainer("ram", ds)
    for _ in range(20):
        tr.train_iteration()
    error = tr.evaluate("test", 150)["error"]
    trace = tr.trace("test", 0)
    tr.close()
    assert error < 20.0, error
    assert trace["image"].shape == (40, 40, 3)


@pytest.mark.parametrize("agent,iterations", [("cnn", 20), ("mlp", 20), ("lstm", 20), ("ppo", 3)])
def test_agents_run_on_colour_and_beat_chance(agent, iterations):
    """CNN, MLP, row LSTM: 20 updates of 64 canvases; PPO: 3 rollouts of 16 x 64 steps. Test error
    < 40 % on 150 canvases (chance 66.7 %; measured 0 % for the three, about 8 % for PPO)."""
    tr = _trainer(agent, colour_is_class())
    for _ in range(iterations):
        tr.train_iteration()
    error = tr.evaluate("test", 150)["error"]
    trace = tr.trace("test", 1)
    tr.close()
    assert error < 40.0, error
    assert np.asarray(trace["image"]).shape == (40, 40, 3)


def test_grayscale_only_agents_refuse_colour_clearly():
    with pytest.raises(ValueError, match="grayscale canvases only.*use ram, ppo"):
        _trainer("draw", colour_is_class())


def test_render_draws_a_colour_trace(tmp_path):
    from agents.render import VisualEpisode, env_context

    tr = _trainer("ram", colour_is_class())
    trace = tr.trace("test", 2)
    sensor, _ = env_context(tr.run.env, tr.env_kwargs)
    tr.close()
    episode = VisualEpisode(trace, sensor, "RAM")
    assert episode.view_cells == sensor.size  # g, not the channel count
    frame = episode.frame()
    assert frame.ndim == 3 and frame.shape[2] == 3
    assert (frame[..., 0].astype(int) - frame[..., 2]).max() > 100  # red or blue canvas pixels


# -- reward thresholds -------------------------------------------------------------------------


def test_every_spec_has_a_reward_threshold():
    for env_id in glimpse_envs.registered_ids():
        assert gym.spec(env_id).reward_threshold is not None, env_id
        doc = gym.make(env_id).unwrapped.__doc__
        assert "## Reward Threshold" in doc and str(gym.spec(env_id).reward_threshold) in doc


@pytest.mark.parametrize("env_id", VISUAL_IDS)
def test_visual_threshold_is_met_by_the_label_and_missed_by_guessing(env_id, tiny):
    """The return is the accuracy: answering the true label earns the maximum, above the
    threshold; answering at random (1 in 10) stays far below it."""
    threshold = gym.spec(env_id).reward_threshold
    rng = np.random.default_rng(0)
    for policy, meets in (("label", True), ("guess", False)):
        env = gym.make(env_id, dataset=tiny)
        returns = []
        for ep in range(30):
            env.reset(seed=ep)
            total, done, k = 0.0, False, 0
            while not done:
                u = env.unwrapped
                label = int(u._labels[0, min(int(u._emitted[0]), u.n_targets - 1)])
                answer = label if policy == "label" else int(rng.integers(0, 10))
                _, r, done, _, _ = env.step(np.array([0, 0, answer + 1]))
                total, k = total + r, k + 1
            returns.append(total)
        assert (np.mean(returns) >= threshold) == meets, (policy, np.mean(returns))


def test_tape_thresholds_are_met_by_the_oracles_and_missed_by_silence():
    """Each default training length once (a finished curriculum draws them uniformly): the
    oracle's mean return is at least the threshold; emitting nothing earns at most 0."""
    from glimpse_envs.tape import TASKS, reward_threshold
    from tests.oracles import run_vector

    for cls in TASKS.values():
        env_id = f"glimpse_envs/{cls.env_name}"
        threshold = gym.spec(env_id).reward_threshold
        assert threshold == reward_threshold(cls.oracle_return)
        probe = gym.make(env_id).unwrapped
        lo, hi = probe.curriculum.min_length, probe.curriculum.max_length
        reps = 40 if cls.env_name.startswith("RepeatCopy") else 1  # random repeat counts
        reps = 20 if cls.env_name.startswith("DynamicNGrams") else reps  # random sequences
        lengths = list(range(lo, hi + 1)) * reps
        venv = gym.make_vec(env_id, num_envs=len(lengths), vectorization_mode="vector_entry_point")
        returns, _, _, _ = run_vector(venv, cls.env_name, lengths, seed=0)
        assert returns.mean() >= threshold, (env_id, returns.mean(), threshold)
        assert abs(returns.mean() - cls.oracle_return) < 0.05 * cls.oracle_return, env_id
        silent = gym.make(env_id)
        silent.reset(seed=0)
        total, done = 0.0, False
        while not done:
            _, r, term, trunc, _ = silent.step(np.zeros(4, np.int64))
            total, done = total + r, term or trunc
        assert total < threshold, env_id
