"""One run: build the city, simulate, summarise, and write `events.parquet` + `summary.json`.

`simulate` is the single entry point that `gridsim run`, batch experiments and the tuner
share, so a run means the same thing everywhere.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from gridsim import __version__
from gridsim.city import City, build_city
from gridsim.analysis.metrics import stage_table, stage_table_by
from gridsim.engine.model import STREAMS, CityModel, Progress
from gridsim.results.table import events_table
from gridsim.results.io import atomic_write, to_jsonable, write_json, write_parquet
from gridsim.scenario import Scenario

TARGET_STAGES = ("respond", "on_scene", "support", "cordon")
WORK_ORDER_STAGES = ("register_dispatch", "verify", "close")


@dataclass
class RunResult:
    """Everything one run produced: the per-event table and its summary."""

    events: pd.DataFrame
    summary: dict


def simulate(scenario: Scenario, replication: int = 0, seed: int | None = None, city: City | None = None,
             progress: Progress | None = None, keep_hourly: bool = True) -> RunResult:
    """Run one replication of a scenario; same (scenario, seed, replication) -> same result."""
    t0 = time.perf_counter()
    seed = int(scenario.run.seed if seed is None else seed)
    if city is None:
        city = build_city(scenario)
    model = CityModel(scenario, city=city, replication=replication, seed=seed, progress=progress)
    model.run_events()
    events = events_table(model)
    stats = model.run_stats()
    model.release()
    wall = time.perf_counter() - t0
    summary = summarise(events, scenario, stats, seed=seed, replication=replication, wall_seconds=wall,
                        keep_hourly=keep_hourly)
    return RunResult(events=events, summary=summary)


def summarise(events: pd.DataFrame, scenario: Scenario, stats: dict, seed: int, replication: int,
              wall_seconds: float, keep_hourly: bool = True) -> dict:
    """The run's headline numbers: targets met, by division / category / hour, queues, load."""
    run = scenario.run
    horizon = run.days * 1440.0
    warm = run.warmup_hours * 60.0
    targets = scenario.targets.as_dict()
    counted = events[events["t_call"] >= warm]
    by = {}
    for key in ("division", "category", "hour", "source"):
        tab = stage_table_by(events, key, targets, horizon, warm)
        by[key] = tab.to_dict(orient="records")
    volumes = {
        "110_incidents": int((counted["source"] == "110").sum()),
        "12345_work_orders": int((counted["source"] == "12345").sum()),
        "grid_patrol_reports": int((counted["source"] == "grid").sum()),
        "hotline_calls": stats["hotline_calls"],
        "hotline_first_contact_after_warmup": stats["hotline_first_contact"],
        "open_at_end": int(counted["open"].sum()),
        "events_after_warmup": int(len(counted)),
        "events_total": int(len(events)),
        "days_counted": (horizon - warm) / 1440.0,
    }
    out = {
        "gridsim_version": __version__,
        "scenario": scenario.name,
        "scenario_file": scenario.path,
        "seed": seed,
        "replication": replication,
        "streams": {name: [replication, k] for k, name in enumerate(STREAMS)},
        "days": run.days,
        "warmup_hours": run.warmup_hours,
        "horizon_min": horizon,
        "wall_seconds": round(wall_seconds, 3),
        "targets": {k: v for k, v in targets.items()},
        "stages": stage_table(events, targets, horizon, warm),
        "volumes": volumes,
        "utilisation": stats["utilisation"],
        "queues": stats["queues"],
        "by": by,
    }
    if keep_hourly:
        out["hourly_model"] = stats["hourly"]
    return to_jsonable(out)


def write_run(result: RunResult, scenario: Scenario, out_dir: str | Path) -> dict[str, Path]:
    """Write events.parquet, summary.json and the resolved scenario.toml into out_dir, atomically."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"events": out / "events.parquet", "summary": out / "summary.json", "scenario": out / "scenario.toml"}
    write_parquet(result.events, paths["events"])
    write_json(paths["summary"], result.summary)
    atomic_write(paths["scenario"], f"# resolved scenario of {scenario.path} (gridsim {__version__})\n"
                 + scenario.to_toml())
    return paths

