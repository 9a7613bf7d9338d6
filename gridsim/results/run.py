"""One run: build the city, simulate, summarise, and write its run folder.

`simulate` is the single entry point that `gridsim run`, batch experiments and the tuner
share, so a run means the same thing everywhere. `write_run` writes a self-contained run
folder as a whole (see `gridsim.results.io.staged_folder`): events.parquet, summary.json,
scenario.toml and a copy of every data file the scenario read, which scenario.toml names
by its plain file name, so `gridsim run DIR/scenario.toml` repeats the run and
`gridsim plot DIR` draws it without looking anywhere else. `estimate_memory` says before
anything is allocated whether a run can fit in the machine's memory.
"""

from __future__ import annotations

import copy
import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import tomli_w

from gridsim import __version__
from gridsim.city import City, build_city
from gridsim.analysis.metrics import deadline_coverage, stage_table, stage_table_by
from gridsim.analysis.survival import km_curve
from gridsim.domain import WORK_ORDER_SOURCES
from gridsim.engine.model import STREAMS, CityModel, Progress
from gridsim.results.table import events_table
from gridsim.results.loaders import scenario_files
from gridsim.results.io import atomic_write, staged_folder, to_jsonable, write_json, write_parquet
from gridsim.scenario import Scenario
from gridsim.scenario.divisions import DataFile

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
    wo_warm = run.work_order_warmup_hours * 60.0
    targets = scenario.targets.as_dict()
    counted = (events["t_call"] >= warm).to_numpy()       # a mask: a filtered copy would double a year's memory
    source = events["source"].to_numpy()
    by = {}
    for key in ("division", "category", "hour", "source"):
        tab = stage_table_by(events, key, targets, horizon, warm, work_order_warmup_min=wo_warm)
        by[key] = tab.to_dict(orient="records")
    volumes = {
        "110_incidents": int((counted & (source == "110")).sum()),
        "12345_work_orders": int((counted & (source == "12345")).sum()),
        "grid_patrol_reports": int((counted & (source == "grid")).sum()),
        "hotline_calls": stats["hotline"]["calls"],
        "hotline_first_contact_after_warmup": stats["hotline"]["first_contact"],
        "open_at_end": int((counted & events["open"].to_numpy()).sum()),
        "events_after_warmup": int(counted.sum()),
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
        "work_order_warmup_hours": run.work_order_warmup_hours,
        "horizon_min": horizon,
        "wall_seconds": round(wall_seconds, 3),
        "targets": {k: v for k, v in targets.items()},
        "stages": stage_table(events, targets, horizon, warm, work_order_warmup_min=wo_warm),
        "volumes": volumes,
        "utilisation": stats["utilisation"],
        "queues": stats["queues"],
        "hotline": stats["hotline"],
        "routing": stats["routing"],
        "departments": stats["departments"],
        "grid_patrols": stats["grid_patrols"],
        "work_orders": work_order_summary(events, horizon, wo_warm),
        "by": by,
    }
    if keep_hourly:
        out["hourly_model"] = stats["hourly"]
    return to_jsonable(out)


def work_order_summary(events: pd.DataFrame, horizon: float, wo_warm: float) -> dict:
    """What a 12345 centre manager asks of a run beyond the judged stages: time to close in
    working days by source (Kaplan-Meier: open orders censored, so the median is honest), hazards
    found and how long they lay latent, and which deadlines the run is too short to judge."""
    out: dict = {"close_working_days": {}}
    # only the columns needed: a filtered copy of the whole table would double a year's memory
    slim = events[["source", "t_call", "t_close", "open", "wd_to_close"]]
    for src in WORK_ORDER_SOURCES:
        rows = slim[(slim["source"] == src).to_numpy() & (slim["t_call"] >= wo_warm).to_numpy()]
        if len(rows) == 0:
            continue
        km = km_curve(rows, "close", horizon, clock="working")
        out["close_working_days"][src] = {"orders": km.n, "open": km.n_censored, "median": km.median,
                                          "restricted_mean": km.restricted_mean, "follow_up": km.tau}
    del slim
    onset = events["t_onset"].to_numpy(np.float64)
    arose = events[["t_call", "t_onset", "fixed_on_spot"]][onset >= wo_warm]      # hazards (NaN onset otherwise)
    found = arose["t_call"].notna()
    lag = (arose["t_call"] - arose["t_onset"])[found]
    out["hazards"] = {"arisen": int(len(arose)), "found": int(found.sum()),
                      "fixed_on_spot": int(arose["fixed_on_spot"].sum()),
                      "discovery_p50_min": float(lag.median()) if len(lag) else None,
                      "discovery_p90_min": float(lag.quantile(0.9)) if len(lag) else None}
    out["deadline_notes"] = deadline_coverage(events, horizon, wo_warm)
    return out


RUN_FILES = ("events.parquet", "summary.json", "scenario.toml")
"""The files every run folder holds (besides the copies of the data files its scenario read)."""
STORE_MARKERS = ("fingerprint.json", "runs.parquet", "runs")
"""Entries that make a folder a batch store (gridsim.studies.store), which a run must not enter."""


def run_folder_problem(path: str | Path) -> str | None:
    """Why `path` cannot be (re)placed by a run folder, or None if it can: it may not exist yet,
    be empty, or be an earlier run folder (which is replaced as a whole, figures and all)."""
    p = Path(path)
    if not p.exists():
        return None
    if not p.is_dir():
        return f"{path} exists and is not a folder"
    cwd = Path.cwd().resolve()
    if p.resolve() == cwd or p.resolve() in cwd.parents:
        return f"{path} is the current folder (or holds it); a run folder is replaced as a whole"
    names = {q.name for q in p.iterdir()}
    store = sorted(names & set(STORE_MARKERS))
    if store:
        return f"{path} is a batch results store (it holds {store[0]}); a run would mix its files into it"
    if names and not names & set(RUN_FILES):
        return (f"{path} is not a run folder (it holds '{sorted(names)[0]}'); a run folder is replaced as a "
                f"whole, so gridsim writes only into a new, empty or earlier run folder")
    return None


def _data_file_names(files: tuple[DataFile, ...]) -> dict[str, str]:
    """Each data file's name in the run folder: its own name, made unique if two share one."""
    names: dict[str, str] = {}
    for f in files:
        base = Path(f.path).name
        name, k = base, 1
        while name in names.values() or name in RUN_FILES:
            k += 1
            name = f"{Path(base).stem}_{k}{Path(base).suffix}"
        names[f.key] = name
    return names


def _copy_data_file(f: DataFile, dest: Path) -> None:
    """Copy a data file into the run folder, refusing one that changed since the scenario read it."""
    data = Path(f.path).read_bytes()
    if hashlib.sha256(data).hexdigest() != f.sha256:
        raise OSError(f"{f.path} changed while the run used it ({f.key}); run again")
    atomic_write(dest, data)


def saved_scenario_toml(scenario: Scenario, names: dict[str, str]) -> str:
    """The resolved scenario as TOML, its data-file keys pointing at the copies beside it."""
    data = copy.deepcopy(scenario.data)
    data.pop("extends", None)
    for key, name in names.items():
        node = data
        *parents, leaf = key.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = name
    header = (f"# resolved scenario of {scenario.path} (gridsim {__version__}); the data files it names "
              f"are the copies in this folder\n")
    return header + tomli_w.dumps(data)


def write_run(result: RunResult, scenario: Scenario, out_dir: str | Path) -> dict[str, Path]:
    """Write the run folder `out_dir` as a whole: events.parquet, summary.json, scenario.toml and
    the data files it names. The previous folder (figures, report and all) is replaced only
    once the new one is complete; a kill at any moment leaves one or the other."""
    out = Path(out_dir)
    files = scenario_files(scenario)
    names = _data_file_names(files)
    with staged_folder(out) as staging:
        write_parquet(result.events, staging / "events.parquet")
        write_json(staging / "summary.json", result.summary)
        for f in files:
            _copy_data_file(f, staging / names[f.key])
        atomic_write(staging / "scenario.toml", saved_scenario_toml(scenario, names))
    paths = {"events": out / "events.parquet", "summary": out / "summary.json", "scenario": out / "scenario.toml"}
    paths.update({key: out / name for key, name in names.items()})
    return paths


# --------------------------------------------------------------------------- memory

BASE_BYTES = 400e6
"""Memory of a run before its events: interpreter, libraries, city, model (measured: a 1-day
baseline run peaks at 0.31 GB, a 30-day one at 0.66 GB with 0.75 M events)."""
BYTES_PER_EVENT = 400.0
"""Peak memory per event of `gridsim run` (event loop, events table, Parquet): the 365-day
baseline (9.15 M events) peaked at 3.74 GiB (3.92 GB, measured with the police patrol model);
30 days (0.75 M events) at 0.66 GB. The estimate errs a little high: 3.78 GiB for the year."""

@dataclass(frozen=True)
class MemoryEstimate:
    """Expected events of a run and the peak memory they need."""

    events: float
    bytes: float


def expected_per_day(scenario: Scenario) -> dict[str, float]:
    """Expected events per day by source from the demand rates alone (no city, no arrays):
    valid 110 incidents; 12345 calls, direct and handed over from 110, that file an order;
    hazards arising (each is a row, found or not)."""
    dm, hl = scenario.demand, scenario.hotline
    filed = 1.0 - sum(c.share * c.first_contact_share for c in scenario.categories_of("12345").values())
    direct_110 = max(dm.police_per_day - dm.hotline_per_day * hl.to_110_share, 0.0)   # as engine.demand draws it
    from_110 = direct_110 / (1.0 - hl.from_110_share) * hl.from_110_share
    return {"110": dm.police_per_day,
            "12345": (dm.hotline_per_day * (1.0 - hl.to_110_share) + from_110) * filed,
            "grid": dm.hazards_per_100k_day * scenario.city.population_total / 1e5}


def expected_events(scenario: Scenario) -> float:
    """Expected events of a run (see expected_per_day): instant even for absurd sizes."""
    run, sg = scenario.run, scenario.surge
    per_source = expected_per_day(scenario)
    total = run.days * sum(per_source.values())
    if sg.enabled and sg.multiplier > 1.0:      # extra events in the surge window (all divisions: an upper bound)
        hours = max(0.0, min(sg.duration_hours, run.days * 24.0 - sg.start_hour))
        total += (sg.multiplier - 1.0) * hours / 24.0 * sum(per_source[s] for s in sg.sources if s in per_source)
    return float(total)


def estimate_memory(scenario: Scenario) -> MemoryEstimate:
    """The peak memory `gridsim run` of this scenario is expected to need."""
    events = expected_events(scenario)
    return MemoryEstimate(events=events, bytes=BASE_BYTES + BYTES_PER_EVENT * events)


def machine_memory() -> int | None:
    """Physical memory of this machine in bytes (None where the OS does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None
