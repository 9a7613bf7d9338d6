"""One run of a batch: the task a worker receives and the row it sends back.

`plan_runs` lists every (variant, replication) of an experiment as a picklable `RunTask`;
`execute_run` is the top-level function every executor calls on a task. It never raises: a
run that fails comes back as a row with status "failed" and the error, so a batch goes on.
"""

from __future__ import annotations

import hashlib
import math
import time
import traceback
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from gridsim import __version__
from gridsim.city import City, build_city
from gridsim.results.run import simulate
from gridsim.scenario import Scenario
from gridsim.studies.columns import ecdf_columns, flatten_summary
from gridsim.studies.experiment import Experiment

@dataclass
class RunTask:
    """One run to do: everything a worker needs, picklable (no open files, no model)."""

    experiment: str
    variant: str
    replication: int
    seed: int
    scenario: Scenario
    factors: dict
    keep_events: bool = False

    @property
    def key(self) -> tuple[str, int]:
        return (self.variant, self.replication)


def plan_runs(exp: Experiment, keep_events: bool = False) -> list[RunTask]:
    """All runs, replication-major (replication 0 of every variant first), so a batch stopped
    early still has complete pairs to compare."""
    return [RunTask(exp.name, v.name, r, exp.seed, v.scenario, dict(v.factors), keep_events)
            for r in range(exp.replications) for v in exp.variants]


_CITY_CACHE: "OrderedDict[str, City]" = OrderedDict()
_CITY_CACHE_SIZE = 4


def _city_for(scenario: Scenario) -> City:
    """Build the city once per scenario per worker: replications of a variant share it (read-only)."""
    key = hashlib.sha256(scenario.to_toml().encode("utf-8")).hexdigest()
    city = _CITY_CACHE.get(key)
    if city is None:
        city = build_city(scenario)
        _CITY_CACHE[key] = city
        while len(_CITY_CACHE) > _CITY_CACHE_SIZE:
            _CITY_CACHE.popitem(last=False)
    else:
        _CITY_CACHE.move_to_end(key)
    return city


def _error_text(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    where = ""
    if tb:
        fr = tb[-1]
        where = f" (at {Path(fr.filename).name}:{fr.lineno} in {fr.name})"
    msg = str(exc).strip().replace("\n", " ")
    return f"{type(exc).__name__}: {msg}{where}" if msg else f"{type(exc).__name__}{where}"


def _empty_row(task: RunTask) -> dict:
    return {"experiment": task.experiment, "variant": task.variant, "replication": int(task.replication),
            "seed": int(task.seed), "status": "ok", "error": "", "wall_s": math.nan,
            "factors": task.factors, "metrics": {}, "ecdf": {}, "gridsim_version": __version__}


def failed_outcome(task: RunTask, exc: BaseException, wall_s: float = math.nan) -> dict:
    """The outcome of a run that raised (in the worker, or in the executor)."""
    row = _empty_row(task)
    row.update(status="failed", error=_error_text(exc), wall_s=wall_s)
    return {"row": row, "events": None, "summary": None}


def execute_run(task: RunTask) -> dict:
    """Run one (variant, replication); never raises: a failure is returned as a failed row.

    Returns {"row": flat row dict, "events": DataFrame or None, "summary": dict or None} (the
    events and full summary only when task.keep_events).
    """
    t0 = time.perf_counter()
    try:
        city = _city_for(task.scenario)
        result = simulate(task.scenario, replication=task.replication, seed=task.seed, city=city,
                          keep_hourly=False)
        row = _empty_row(task)
        row["metrics"] = flatten_summary(result.summary)
        row["ecdf"] = ecdf_columns(result.events, task.scenario)
    except Exception as exc:      # a run that raises is recorded, the batch goes on
        return failed_outcome(task, exc, time.perf_counter() - t0)
    row["wall_s"] = time.perf_counter() - t0
    if task.keep_events:
        return {"row": row, "events": result.events, "summary": result.summary}
    return {"row": row, "events": None, "summary": None}
