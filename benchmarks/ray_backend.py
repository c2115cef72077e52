"""Ray Tune backend of ``hard_vs_soft.py``: the same runs, one Tune trial per run, the same files.

``python benchmarks/hard_vs_soft.py --full --device cuda --backend ray --ray-address auto`` hands
every run that is not done yet to Ray Tune as one trial of a grid over the runs' jobs. A trial calls
the harness's own ``execute(job)`` (a ``train.py`` subprocess on the worker), so it writes the very
``result.json`` / ``train.log`` / ``train/`` a local run writes; the trial also reports the result
back, and the driver writes ``result.json`` again on its side, so the report works whether or not
the cluster shares a filesystem (checkpoints and logs stay on the worker if it does not).

Each trial asks for ``threads`` CPUs (and a share of a GPU with ``--device cuda``); Tune runs at
most ``--jobs`` at once. A trial that dies (a lost worker) is recorded as a failed run and the other
trials go on. Workers need the repository at the same path as the driver (the job holds absolute
paths) with glimpse-envs' dependencies installed; the harness code itself is shipped by value.

Ray is an optional extra: ``pip install 'glimpse-envs[ray]'`` (``ray[tune]``).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

INSTALL_HINT = "the Ray backend needs Ray Tune: pip install 'glimpse-envs[ray]' (or 'ray[tune]')"


def _import_ray():
    try:
        import ray
        from ray import tune
    except ImportError as e:
        raise SystemExit(f"{INSTALL_HINT} ({e})") from None
    return ray, tune


def run_jobs_with_ray(
    jobs: list[dict[str, Any]],
    runs_dir: Path,
    *,
    execute: Callable[[dict], dict],
    max_concurrent: int = 0,
    address: str | None = None,
    gpus_per_trial: float = 0.0,
    num_cpus: int | None = None,
    log: Callable[[str], Any] = print,
) -> list[dict[str, Any]]:
    """Run the harness ``jobs`` as Ray Tune trials; returns their result dicts (as written).

    ``execute`` runs one job (the sweep passes ``hard_vs_soft.execute``: this module imports no
    harness, so the two do not import each other); ``address`` joins a running
    cluster (``"auto"``), None starts a local Ray instance with ``num_cpus`` CPUs (default: the
    cores available) and shuts it down at the end.
    """
    ray, tune = _import_ray()
    from ray import cloudpickle

    # ship the harness and this module by value: workers need not import them by name
    for name in {execute.__module__, __name__}:
        module = sys.modules.get(name)
        if module is not None and name != "__main__":
            cloudpickle.register_pickle_by_value(module)

    runs_dir = Path(runs_dir).resolve()
    started = False
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "configure_logging": False,
        }
        if address:
            ray.init(address=address, **kwargs)
        else:
            ray.init(num_cpus=num_cpus or _cores(), **kwargs)
        started = True
    by_key = {j["key"]: j for j in jobs}

    def trainable(config: dict[str, Any]) -> dict[str, Any]:
        result = execute(config["job"])
        return {"ok": result.get("status") == "ok", "result_json": json.dumps(result, default=str)}

    if hasattr(tune, "RunConfig"):  # Ray >= 2.41
        run_config_cls, failure_config_cls = tune.RunConfig, tune.FailureConfig
    else:  # older Ray 2.x
        from ray.train import FailureConfig as failure_config_cls
        from ray.train import RunConfig as run_config_cls
    cpus = max(int(j.get("threads", 1)) for j in jobs)
    resources: dict[str, float] = {"cpu": cpus}
    if gpus_per_trial:
        resources["gpu"] = gpus_per_trial
    tuner = tune.Tuner(
        tune.with_resources(trainable, resources),
        param_space={"job": tune.grid_search(jobs)},
        tune_config=tune.TuneConfig(
            max_concurrent_trials=max_concurrent or None,
            trial_name_creator=lambda t: t.config["job"]["key"],
            trial_dirname_creator=lambda t: t.config["job"]["key"],
        ),
        run_config=run_config_cls(
            name=f"hard_vs_soft_{time.strftime('%Y%m%d-%H%M%S')}",
            storage_path=str(runs_dir / "_ray"),
            failure_config=failure_config_cls(max_failures=0, fail_fast=False),
            verbose=0,
        ),
    )
    t0 = time.time()
    try:
        grid = tuner.fit()
        out = []
        for res in grid:
            job = res.config["job"] if res.config else None
            if job is None:
                continue
            metrics = res.metrics or {}
            if res.error is None and "result_json" in metrics:
                result = json.loads(metrics["result_json"])
            else:
                result = {
                    "key": job["key"],
                    **job["meta"],
                    "status": "failed",
                    "error": f"ray trial: {type(res.error).__name__}: {res.error}"
                    if res.error is not None
                    else "ray trial reported nothing",
                }
            _write(Path(job["dir"]) / "result.json", result)
            by_key.pop(job["key"], None)
            out.append(result)
            what = "ok" if result.get("status") == "ok" else f"FAILED: {result.get('error')}"
            log(f"[ray {time.time() - t0:6.0f} s] {job['key']}: {what}")
        for key, job in by_key.items():  # trials Tune never reported (should not happen)
            result = {
                "key": key,
                **job["meta"],
                "status": "failed",
                "error": "ray: no trial result",
            }
            _write(Path(job["dir"]) / "result.json", result)
            out.append(result)
        return out
    finally:
        if started:
            ray.shutdown()


def _write(path: Path, obj: dict[str, Any]) -> None:
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def _cores() -> int:
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1
