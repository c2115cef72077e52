"""Typed env configuration: GlimpseConfig / TapeConfig per id, config.glimpses, train.py's env flags."""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import pytest
from conftest import VISUAL_IDS, make_tiny_dataset

import glimpse_envs
from agents import cli
from glimpse_envs import GlimpseConfig
from glimpse_envs.tape import TAPE_IDS
from glimpse_envs.tape_env import TapeConfig
from glimpse_envs.wrappers import GlimpseStack


def _defaults(env_id: str) -> GlimpseConfig:
    """The registered task's defaults, found from the spec's ``kwargs`` (Minigrid's way)."""
    from glimpse_envs.visual import TASKS

    return TASKS[gym.spec(env_id).kwargs["task"]].config


@pytest.fixture(scope="module")
def tiny():
    return make_tiny_dataset()


def test_every_config_field_is_documented_with_a_default():
    for cls in (GlimpseConfig, TapeConfig):
        for f in dataclasses.fields(cls):
            if f.init and f.name not in cli.ENV_NOT_FLAGS:
                assert f.metadata.get("help"), f"{cls.__name__}.{f.name} has no help text"
                assert f.default is not dataclasses.MISSING, f.name


@pytest.mark.parametrize("env_id", VISUAL_IDS)
def test_visual_config_is_the_registered_task_config(env_id, tiny):
    """Every visual id is one class with ``kwargs={"task": NAME}``; its defaults are the task's
    config, and the built env's config (single and vector alike) is it with the given fields
    replaced (the budget read from it)."""
    spec = gym.spec(env_id)
    assert spec.entry_point == "glimpse_envs.glimpse_env:GlimpseEnv"
    assert spec.vector_entry_point == "glimpse_envs.glimpse_env:GlimpseVectorEnv"
    default = _defaults(env_id)
    assert isinstance(default, GlimpseConfig)
    env = gym.make(env_id, dataset=tiny, glimpses=default.glimpses + 2)
    vec = gym.make_vec(
        env_id,
        num_envs=2,
        vectorization_mode="vector_entry_point",
        dataset=tiny,
        glimpses=default.glimpses + 2,
    )
    want = dataclasses.replace(default, dataset=tiny, glimpses=default.glimpses + 2)
    assert env.unwrapped.config == vec.unwrapped.config == want
    assert env.observation_space["step"].n == env.unwrapped.config.glimpses + 1
    assert GlimpseStack(env).budget == want.glimpses
    from agents.supervised import env_glimpses

    assert env_glimpses(env) == env_glimpses(vec) == want.glimpses
    env.close()
    vec.close()


def test_registered_defaults_are_the_papers():
    cfg = {env_id: _defaults(env_id) for env_id in VISUAL_IDS}
    short = {k.split("/")[-1]: v for k, v in cfg.items()}
    assert {k: v.glimpses for k, v in short.items()} == {
        "TiledMNIST-v0": 3,
        "MNIST-v0": 6,
        "TranslatedMNIST-v0": 8,
        "ClutteredMNIST-v0": 8,
        "ClutteredMNIST100-v0": 8,
        "MultiMNIST-v0": 6,
    }
    assert (
        short["ClutteredMNIST100-v0"].canvas_size,
        short["ClutteredMNIST100-v0"].retina_scales,
        short["ClutteredMNIST100-v0"].n_clutter,
    ) == (100, 4, 8)
    assert short["TiledMNIST-v0"].sensor == "tiles" and short["MultiMNIST-v0"].n_digits == 2


def test_config_validates_once_with_the_same_messages():
    with pytest.raises(ValueError, match="glimpses=0 invalid"):
        GlimpseConfig(glimpses=0)
    with pytest.raises(ValueError, match="start='left' invalid"):
        dataclasses.replace(GlimpseConfig(), start="left")
    with pytest.raises(TypeError, match=r"unknown argument\(s\) \['glimpse'\]"):
        GlimpseConfig().override(glimpse=3)
    assert GlimpseConfig().override(glimpses=None) == GlimpseConfig()  # None keeps a field
    with pytest.raises(dataclasses.FrozenInstanceError):
        GlimpseConfig().glimpses = 3


def test_a_whole_config_can_be_given(tiny):
    cfg = GlimpseConfig(dataset=tiny, glimpses=2, canvas_size=40, retina_size=6, retina_scales=2)
    env = gym.make("glimpse_envs/TranslatedMNIST-v0", config=cfg, start="random")
    assert env.unwrapped.config == dataclasses.replace(cfg, start="random")
    assert env.observation_space["glimpse"].shape == (2, 6, 6)


@pytest.mark.parametrize("env_id", TAPE_IDS)
def test_tape_config_per_id(env_id):
    env = gym.make(env_id, memory_size=64)
    cfg = env.unwrapped.config
    assert isinstance(cfg, TapeConfig) and cfg.memory_size == 64
    family, cls, defaults = cli.env_config(env_id)  # from the registry, no env built
    assert (family, cls, defaults.memory_size) == ("tape", TapeConfig, 128)
    assert cfg == TapeConfig.make(cfg.env_name, cfg.task_class, memory_size=64)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.memory_size = 3


# -- train.py flags -----------------------------------------------------------------------------


def test_env_flags_parse_into_env_kwargs_and_win_over_the_json():
    run, _, _, _ = cli.parse_train_args(
        [
            "--env",
            "MNIST-v0",
            "--glimpses",
            "4",
            "--scales",
            "2",
            "--no-continuous",
            "--env-kwargs",
            '{"glimpses": 3, "start": "random"}',
        ]
    )
    assert run.env_kwargs == {
        "glimpses": 4,
        "retina_scales": 2,
        "continuous": False,
        "start": "random",
    }
    run, _, _, _ = cli.parse_train_args(["--env", "MNIST-v0", "--retina-size", "6"])
    assert run.env_kwargs == {"retina_size": 6}
    run, _, _, _ = cli.parse_train_args(
        [
            "--env",
            "Copy-v0",
            "--agent",
            "tape-reinforce",
            "--memory_size",
            "64",
            "--max-length",
            "5",
        ]
    )
    assert run.env_kwargs == {"memory_size": 64, "max_length": 5}


def test_a_hyperparams_file_may_set_env_options(tmp_path):
    path = tmp_path / "h.yml"
    path.write_text("MNIST-v0:\n  glimpses: 4\n  n_envs: 8\n")
    run, _, _, _ = cli.parse_train_args(["--env", "MNIST-v0", "--hyperparams", str(path)])
    assert run.env_kwargs == {"glimpses": 4} and run.num_envs == 8
    run, _, _, _ = cli.parse_train_args(
        ["--env", "MNIST-v0", "--hyperparams", str(path), "--glimpses", "5"]
    )
    assert run.env_kwargs == {"glimpses": 5}


def test_an_agent_option_of_the_same_name_keeps_its_flag():
    run, cfg, _, _ = cli.parse_train_args(
        ["--env", "MNIST-v0", "--agent", "draw", "--glimpses", "4"]
    )
    assert cfg.glimpses == 4 and run.env_kwargs == {}
    run, cfg, _, _ = cli.parse_train_args(
        ["--env", "Copy-v0", "--agent", "ntm", "--max-length", "5", "--memory-size", "64"]
    )
    assert cfg.max_length == 5 and run.env_kwargs == {"memory_size": 64}


def test_the_help_shows_the_ids_own_defaults(capsys):
    with pytest.raises(SystemExit):
        cli.parse_train_args(["--env", "ClutteredMNIST100-v0", "--help"])
    out = capsys.readouterr().out
    assert "--glimpses GLIMPSES" in out and "--scales" in out and "(default: 100)" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--env", "MNIST-v0", "--memory-size", "64"],
            "--memory-size is an option of tape envs; glimpse_envs/MNIST-v0 is a visual env",
        ),
        (
            ["--env", "Copy-v0", "--agent", "tape-reinforce", "--scales=2"],
            "--scales is an option of visual envs; glimpse_envs/Copy-v0 is a tape env",
        ),
        (["--env", "MNIST-v0", "--glimpses", "many"], "argument --glimpses: invalid int value"),
    ],
)
def test_a_bad_env_flag_is_a_one_line_usage_error(argv, message, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_env_flags_cannot_change_on_resume(monkeypatch):
    from agents import get_trainer
    from agents.base import RunConfig

    run = dataclasses.asdict(RunConfig(env="glimpse_envs/MNIST-v0", env_kwargs={"glimpses": 4}))
    ckpt = {
        "agent": "ram",
        "run": run,
        "_path": "x/checkpoint.pt",
        "agent_config": dataclasses.asdict(get_trainer("ram").Config()),
    }
    monkeypatch.setattr(cli, "load_checkpoint", lambda path: ckpt)
    resumed, _, _, _ = cli.parse_train_args(["--resume", "x", "--glimpses", "4", "--steps", "9"])
    assert resumed.env_kwargs == {"glimpses": 4} and resumed.steps == 9
    with pytest.raises(cli.CheckpointError, match="env_kwargs: checkpoint {'glimpses': 4}"):
        cli.parse_train_args(["--resume", "x", "--glimpses", "5"])


def test_ram_reads_the_budget_from_the_config(tiny):
    import torch

    from agents import get_trainer
    from agents.base import RunConfig

    torch.set_num_threads(1)
    cls = get_trainer("ram")
    run = RunConfig(
        env="glimpse_envs/MNIST-v0",
        agent="ram",
        num_envs=4,
        env_kwargs={"dataset": tiny, "glimpses": 3},
    )
    trainer = cls(run, cls.Config())
    assert trainer.glimpses == trainer.vec.unwrapped.config.glimpses == 3
    trainer.close()


def test_the_package_exports_the_config():
    assert glimpse_envs.GlimpseConfig is GlimpseConfig
