"""glimpse-envs: Gymnasium environments in which hard attention is the action.

Importing the package registers every id under the ``glimpse_envs/`` namespace::

    import gymnasium as gym
    import glimpse_envs  # noqa: F401

    env = gym.make("glimpse_envs/ClutteredMNIST-v0")
    vec = gym.make_vec("glimpse_envs/Copy-v0", num_envs=256, vectorization_mode="vector_entry_point")

``gym.make("glimpse_envs:glimpse_envs/ClutteredMNIST-v0")`` works without the import.
"""

from glimpse_envs.glimpse_env import GlimpseConfig
from glimpse_envs.tape import register_tape_envs
from glimpse_envs.visual import register_visual_envs

__all__ = ["GlimpseConfig", "page", "registered_ids"]
__version__ = "0.1.0"

register_visual_envs()
register_tape_envs()


def registered_ids() -> list[str]:
    """All ids this package registers, visual first, in registration order."""
    import gymnasium as gym

    return [env_id for env_id in gym.registry if env_id.startswith("glimpse_envs/")]


def page(env_id: str) -> str:
    """The documentation page of a registered id (``env.unwrapped.__doc__``), without building it."""
    import gymnasium as gym

    from glimpse_envs import tape, visual

    task = gym.spec(env_id).kwargs.get("task")
    for tasks in (visual.TASKS, tape.TASKS):
        if task in tasks and tasks[task].id == env_id:
            return tasks[task].page
    raise ValueError(f"{env_id!r} is not a glimpse_envs id: see glimpse_envs.registered_ids()")
