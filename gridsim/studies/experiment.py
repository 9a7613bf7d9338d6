"""Batch experiments: variants x replications of a scenario, run anywhere, stored safely.

An experiment file (TOML) names a base scenario, the variants to compare (a full grid of
`[factors]` or explicit `[[variants]]`), the replications and days, and the metrics to keep
in the summary. This module parses and validates it (`load_experiment`), plans the runs
(`plan_runs`), runs one of them (`execute_run`, the picklable function every executor
calls), keeps the results store under `results/NAME/` (`Store`), summarises the runs
(`summarise_runs`) and drives a whole batch (`run_batch`). Executors live in
`gridsim.studies.executors`, the command in `gridsim.cli.batch`.

Common random numbers: run (variant v, replication r) is `simulate(scenario_v, replication=r,
seed=root_seed)`, and `simulate` draws every stream from `SeedSequence(root_seed,
spawn_key=(r, k))` (k = stream number, see `gridsim.engine.model.STREAMS`), so replication r of every
variant sees the same calls, and the differences between variants are paired.

Store layout (`results/NAME/`)::

    experiment.toml           the experiment file, verbatim
    fingerprint.json          hash of the experiment file and every resolved scenario
    scenarios/VARIANT.toml    each variant's resolved scenario
    runs/VARIANT/repR/row.json    one committed run (written to a temporary file, then renamed)
    runs/VARIANT/repR/events.parquet, summary.json    with --keep-events
    runs.parquet              one row per run, rebuilt from the row files
    summary.csv               per variant and metric: mean, 95% CI, paired difference vs baseline
"""

from __future__ import annotations

import copy
import difflib
import fnmatch
import hashlib
import itertools
import json
import math
import os
import re
import time
import tomllib
import traceback
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from gridsim import __version__
from gridsim.city import City, build_city
from gridsim.analysis.metrics import mean_ci, paired_difference_ci, stage_elapsed
from gridsim.results.run import simulate
from gridsim.scenario import BUILTIN_NAME, ROLES, SOURCES, Scenario, ScenarioError, builtin_path, load_scenario

# --------------------------------------------------------------------------- metric names

#: x values (minutes from the call) of the per-run ECDF columns: 0, 0.5, ..., 60.
ECDF_GRID_MIN: tuple[float, ...] = tuple(i * 0.5 for i in range(121))
ECDF_STAGES = ("respond", "on_scene", "support", "cordon")
METRIC_STAGES = ("respond", "on_scene", "support", "cordon", "register_dispatch", "verify", "close")
STAGE_FIELDS = ("n", "share", "ci_low", "ci_high", "p50", "p90", "p95", "p99")
UTIL_ROLES = ROLES      # police, fulltime, leader, parttime
# keys of a run summary's "volumes" and "queues" (tests check these against a real run)
KNOWN_VOLUMES = ("110_incidents", "12345_work_orders", "grid_patrol_reports", "hotline_calls",
                 "hotline_first_contact_after_warmup", "open_at_end", "events_after_warmup",
                 "events_total", "days_counted")
KNOWN_QUEUES = ("police_mean", "police_max", "grid_mean", "grid_max", "police_tasks_in_system_mean",
                "incidents_110_in_system_mean")
# per-source stage metrics, e.g. 110.on_scene.share: the 110 incidents alone, so that police
# staffing is not judged by urgent work orders (which also count in on_scene.share)
SOURCE_FIELDS = ("n", "share", "p50", "p90")
SOURCE_METRICS: tuple[str, ...] = tuple(f"{src}.{s}.{f}" for src in SOURCES for s in METRIC_STAGES
                                        for f in SOURCE_FIELDS)
METRIC_NAMES: tuple[str, ...] = (
    tuple(f"{s}.{f}" for s in METRIC_STAGES for f in STAGE_FIELDS)
    + SOURCE_METRICS
    + tuple(f"util.{r}" for r in UTIL_ROLES)
    + tuple(f"volume.{k}" for k in KNOWN_VOLUMES)
    + tuple(f"queue.{k}" for k in KNOWN_QUEUES))
DEFAULT_METRICS = ("respond.share", "on_scene.share", "support.share", "cordon.share",
                   "register_dispatch.share", "close.share", "on_scene.p90",
                   "util.police", "util.fulltime", "queue.grid_mean", "volume.open_at_end")
BASE_COLUMNS = ("experiment", "variant", "replication", "seed", "status", "error", "wall_s")

EXPERIMENT_KEYS = ("name", "description", "base", "replications", "days", "seed", "metrics", "set",
                   "factors", "variants")
VARIANT_KEYS = ("name", "description", "scenario", "set")
RESERVED_KEYS = ("run.seed", "run.days")        # set by the experiment's `seed` and `days`
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.,=+-]*$")
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9_.,=+-]")


# --------------------------------------------------------------------------- the spec

@dataclass
class Variant:
    """One scenario of the experiment: its name, resolved scenario and factor values."""

    name: str
    scenario: Scenario
    overrides: dict[str, Any] = field(default_factory=dict)   # dotted key -> value, as written
    factors: dict[str, Any] = field(default_factory=dict)     # factor key -> resolved value
    scenario_ref: str | None = None                            # `scenario = "..."` of the variant


@dataclass
class Experiment:
    """A parsed, validated experiment file."""

    name: str
    path: str
    text: str
    description: str
    base_ref: str
    base: Scenario
    variants: list[Variant]
    replications: int
    days: int
    seed: int
    metrics: list[str]              # concrete metric names kept in the summary
    factor_keys: list[str]          # dotted keys with one runs.parquet column each
    fingerprint: str

    @property
    def baseline(self) -> Variant:
        return self.variants[0]

    @property
    def n_runs(self) -> int:
        return len(self.variants) * self.replications

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise KeyError(name)


def _err(path: str, key: str, problem: str, allowed: str = "", value: Any = None, has_value: bool = False
         ) -> ScenarioError:
    return ScenarioError(path, key, problem, allowed, value, has_value)


def _flatten(table: dict, prefix: str = "") -> dict[str, Any]:
    """Nested TOML tables to dotted keys: `staff.fulltime_workers = 1` and `"staff.fulltime_workers" = 1`
    mean the same."""
    out: dict[str, Any] = {}
    for k, v in table.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _check_type(path: str, key: str, value: Any, kind: str, minimum: int | None = None) -> Any:
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _err(path, key, "wrong type", "an integer" + (f" >= {minimum}" if minimum is not None else ""),
                       value, True)
        if minimum is not None and value < minimum:
            raise _err(path, key, "out of range", f"an integer >= {minimum}", value, True)
    elif kind == "str":
        if not isinstance(value, str) or not value.strip():
            raise _err(path, key, "wrong type", "a non-empty string", value, True)
    elif kind == "table":
        if not isinstance(value, dict):
            raise _err(path, key, "should be a table", "a table of dotted scenario keys = values", value, True)
    return value


def _check_name(path: str, key: str, name: Any) -> str:
    _check_type(path, key, name, "str")
    if not _SAFE_NAME.match(name) or ".." in name or len(name) > 120:
        raise _err(path, key, "not usable as a directory name", "letters, digits and _ . , = + - "
                   "(starting with a letter or digit, at most 120 characters)", name, True)
    return name


def _unknown(path: str, key: str, allowed: Iterable[str], value: Any) -> ScenarioError:
    allowed = list(allowed)
    close = difflib.get_close_matches(key.split(".")[-1], allowed, n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return _err(path, key, f"unknown key{hint}", ", ".join(allowed), value, True)


def _resolve_ref(ref: str, exp_dir: Path, path: str, key: str) -> Scenario:
    """A scenario named in an experiment file: a path relative to the file, or a built-in name."""
    _check_type(path, key, ref, "str")
    candidates = [exp_dir / ref]
    if not ref.endswith(".toml"):
        candidates.append(exp_dir / f"{ref}.toml")
    for cand in candidates:
        if cand.is_file():
            return load_scenario(os.path.normpath(cand))
    if not ref.endswith(".toml") and "/" not in ref and builtin_path(ref).exists():
        return load_scenario(ref)
    if Path(ref).is_absolute() and Path(ref).is_file():
        return load_scenario(ref)
    raise _err(path, key, "no such scenario", f"a .toml path relative to {path}, or a built-in name "
               f"('{BUILTIN_NAME}')", ref, True)


def _format_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, (list, tuple)):
        return "+".join(_format_value(x) for x in v) or "none"
    return str(v)


def _grid_names(keys: list[str], combos: list[tuple]) -> list[str]:
    """Readable variant names for factor combinations: `fulltime_workers=4658,police_units=900`."""
    short = [k.split(".")[-1] for k in keys]
    labels = [s if short.count(s) == 1 else k for s, k in zip(short, keys)]
    return [_UNSAFE_CHARS.sub("_", ",".join(f"{lab}={_format_value(v)}" for lab, v in zip(labels, combo)))
            for combo in combos]


def _leaf_diff(a: Any, b: Any, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two scenario data trees."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in list(a) + [k for k in b if k not in a]:
            out += _leaf_diff(a.get(k), b.get(k), f"{prefix}{k}.")
        return out
    return [] if a == b else [prefix.rstrip(".")]


def load_experiment(path: str | Path) -> Experiment:
    """Read and validate an experiment file; every variant's scenario is resolved and validated.

    Raises ScenarioError (file, key, value, what is allowed) on any bad input, before anything runs.
    """
    label = str(path)
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _err(label, "", "file not found", "a path to an experiment .toml file "
                   "(e.g. experiments/staffing_sweep.toml)") from None
    except OSError as exc:
        raise _err(label, "", f"cannot read file ({exc.strerror})") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _err(label, "", f"not valid TOML ({exc})") from None
    for key, value in raw.items():
        if key not in EXPERIMENT_KEYS:
            raise _unknown(label, key, EXPERIMENT_KEYS, value)
    exp_dir = p.parent

    name = _check_name(label, "name", raw.get("name", p.stem))
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise _err(label, "description", "wrong type", "a string", description, True)
    base_ref = raw.get("base", BUILTIN_NAME)
    base = _resolve_ref(base_ref, exp_dir, label, "base")
    if "replications" not in raw:
        raise _err(label, "replications", "missing key", "an integer >= 1 (runs per variant, paired by seed)")
    replications = _check_type(label, "replications", raw["replications"], "int", 1)
    days = _check_type(label, "days", raw.get("days", base["run"]["days"]), "int", 1)
    seed = _check_type(label, "seed", raw.get("seed", base["run"]["seed"]), "int", 0)

    metrics_raw = raw.get("metrics", list(DEFAULT_METRICS))
    if not isinstance(metrics_raw, list) or not metrics_raw or not all(isinstance(m, str) for m in metrics_raw):
        raise _err(label, "metrics", "wrong type", "a non-empty list of metric names such as "
                   "'on_scene.share', 'util.police', or patterns like '*.share'", metrics_raw, True)
    metrics: list[str] = []
    for m in metrics_raw:
        if any(c in m for c in "*?["):
            hits = [n for n in METRIC_NAMES if fnmatch.fnmatchcase(n, m)]
            if not hits:
                raise _err(label, "metrics", f"pattern '{m}' matches no metric", _metric_help(), metrics_raw, True)
        elif m in METRIC_NAMES:
            hits = [m]
        else:
            close = difflib.get_close_matches(m, METRIC_NAMES, n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise _err(label, "metrics", f"unknown metric '{m}'{hint}", _metric_help(), metrics_raw, True)
        metrics += [h for h in hits if h not in metrics]

    common = _flatten(_check_type(label, "set", raw.get("set", {}), "table"))
    _check_reserved(label, "set", common)
    set_label = f"{label} [set]"
    base = base.copy_with(common, origin=set_label) if common else base

    has_f, has_v = "factors" in raw, "variants" in raw
    if has_f and has_v:
        raise _err(label, "factors", "an experiment has either [factors] (a full grid) or [[variants]] "
                   "(named variants), not both", "one of the two")
    specs: list[tuple[str, dict, str | None, Scenario]] = []   # (name, overrides, scenario ref, start)
    factor_keys: list[str] = []
    if has_f:
        factors = _flatten(_check_type(label, "factors", raw["factors"], "table"))
        if not factors:
            raise _err(label, "factors", "empty table", "dotted scenario keys = lists of values, "
                       "e.g. \"staff.fulltime_workers\" = [4658, 9316]")
        _check_reserved(label, "factors", factors)
        for key, values in factors.items():
            if not isinstance(values, list) or not values:
                raise _err(label, f"factors.{key}", "wrong type", "a non-empty list of values to try", values, True)
            if any(a == b for a, b in itertools.combinations(values, 2)):
                raise _err(label, f"factors.{key}", "repeated value", "distinct values", values, True)
        factor_keys = list(factors)
        combos = list(itertools.product(*factors.values()))
        for combo in combos:
            specs.append(("", dict(zip(factor_keys, combo)), None, base))
    elif has_v:
        variants_raw = raw["variants"]
        if not isinstance(variants_raw, list) or not variants_raw or not all(isinstance(v, dict) for v in variants_raw):
            raise _err(label, "variants", "wrong type", "one or more [[variants]] tables, each with a name "
                       "and a [variants.set] table of overrides or a scenario", None)
        seen: set[str] = set()
        for i, v in enumerate(variants_raw):
            where = f"variants[{i}]"
            for k, val in v.items():
                if k not in VARIANT_KEYS:
                    raise _unknown(label, f"{where}.{k}", VARIANT_KEYS, val)
            if "name" not in v:
                raise _err(label, f"{where}.name", "missing key", "a name for the variant (used in results)")
            vname = _check_name(label, f"{where}.name", v["name"])
            if vname in seen:
                raise _err(label, f"{where}.name", "duplicate variant name", "unique names", vname, True)
            seen.add(vname)
            overrides = _flatten(_check_type(label, f"{where}.set", v.get("set", {}), "table"))
            _check_reserved(label, f"{where}.set", overrides)
            start, ref = base, None
            if "scenario" in v:
                ref = v["scenario"]
                start = _resolve_ref(ref, exp_dir, label, f"{where}.scenario")
                if common:
                    start = start.copy_with(common, origin=set_label)
            specs.append((vname, overrides, ref, start))
    else:
        specs.append(("base", {}, None, base))

    names = _grid_names(factor_keys, [tuple(o.values()) for _, o, _, _ in specs]) if has_f else [s[0] for s in specs]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise _err(label, "factors", f"two variants would share the name '{dup}'", "factor values that "
                   "differ after formatting")
    run_set = {"run.days": days, "run.seed": seed}
    variants: list[Variant] = []
    for vname, (_, overrides, ref, start) in zip(names, specs):
        origin = f"{label} [factors]" if has_f else f"{label} [[variants]] '{vname}'"
        scen = start.copy_with(overrides, origin=origin) if overrides else start
        scen = scen.copy_with({**run_set, "name": f"{name}.{vname}"}, origin=f"{label} days/seed")
        variants.append(Variant(name=vname, scenario=scen, overrides=overrides, scenario_ref=ref))

    if not has_f:    # explicit variants: a column for every key a variant sets or its scenario changes
        for v in variants:
            for k in list(v.overrides) + (_leaf_diff(base.data, v.scenario.data) if v.scenario_ref else []):
                if k not in factor_keys and k not in ("name", "description", "extends") and k not in RESERVED_KEYS:
                    factor_keys.append(k)
    for v in variants:
        v.factors = {k: _get(v.scenario, k) for k in factor_keys}

    h = hashlib.sha256()
    h.update(text.encode("utf-8"))
    for part in [base.to_toml()] + [f"{v.name}\n{v.scenario.to_toml()}" for v in variants]:
        h.update(b"\0" + part.encode("utf-8"))
    return Experiment(name=name, path=label, text=text, description=description, base_ref=str(base_ref),
                      base=base, variants=variants, replications=replications, days=days, seed=seed,
                      metrics=metrics, factor_keys=factor_keys, fingerprint=h.hexdigest())


def _get(scenario: Scenario, key: str) -> Any:
    try:
        return copy.deepcopy(scenario.get(key))
    except (KeyError, TypeError):
        return None


def _check_reserved(path: str, where: str, overrides: dict) -> None:
    for key in overrides:
        if key in RESERVED_KEYS:
            own = key.split(".")[1]
            raise _err(path, f"{where}.{key}", f"{key} is set by the experiment's `{own}`",
                       f"`{own} = ...` at the top of the experiment file", overrides[key], True)


def _metric_help() -> str:
    return ("<stage>.<field> with stage in " + ", ".join(METRIC_STAGES) + " and field in "
            + ", ".join(STAGE_FIELDS) + "; <source>.<stage>.<field> for one source (110, 12345, grid; field "
            + ", ".join(SOURCE_FIELDS) + "); util.<role> (" + ", ".join(UTIL_ROLES) + "); volume.<key> ("
            + ", ".join(KNOWN_VOLUMES) + "); queue.<key> (" + ", ".join(KNOWN_QUEUES)
            + "); or a pattern such as '*.share'")


# --------------------------------------------------------------------------- planning

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


# --------------------------------------------------------------------------- one run (in a worker)

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


def _num(v: Any) -> float:
    """A summary value as a float: None -> NaN, "inf" -> +inf."""
    if v is None:
        return math.nan
    if isinstance(v, str):
        return {"inf": math.inf, "-inf": -math.inf}.get(v, math.nan)
    return float(v)


def flatten_summary(summary: dict) -> dict[str, float]:
    """The run summary as flat metric columns: <stage>.<field>, util.<role>, volume.<key>, queue.<key>."""
    out: dict[str, float] = {}
    stages = summary.get("stages", {})
    for stage in METRIC_STAGES:
        row = stages.get(stage) or {}
        for f in STAGE_FIELDS:
            out[f"{stage}.{f}"] = _num(row.get(f))
    by_source = {(str(r.get("source")), r.get("stage")): r for r in summary.get("by", {}).get("source", [])}
    for name in SOURCE_METRICS:
        src, stage, f = name.split(".")
        out[name] = _num((by_source.get((src, stage)) or {}).get(f))
    util = summary.get("utilisation", {})
    for role in UTIL_ROLES:
        out[f"util.{role}"] = _num((util.get(role) or {}).get("utilisation"))
    for k, v in summary.get("volumes", {}).items():
        out[f"volume.{k}"] = _num(v)
    for k, v in summary.get("queues", {}).items():
        out[f"queue.{k}"] = _num(v)
    return out


def ecdf_columns(events: pd.DataFrame, scenario: Scenario) -> dict[str, list[float]]:
    """Per target stage: the share of judged events with elapsed <= x for x in ECDF_GRID_MIN
    (censored misses count as never reached); all NaN when no event was judged."""
    run = scenario["run"]
    horizon, warm = run["days"] * 1440.0, run["warmup_hours"] * 60.0
    grid = np.asarray(ECDF_GRID_MIN)
    out = {}
    for stage in ECDF_STAGES:
        el = np.sort(stage_elapsed(events, stage, scenario["targets"], horizon, warm)["elapsed"].to_numpy(np.float64))
        if len(el) == 0:
            out[stage] = [math.nan] * len(grid)
        else:
            out[stage] = (np.searchsorted(el, grid, side="right") / len(el)).tolist()
    return out


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


# --------------------------------------------------------------------------- the store

STORE_ENTRIES = ("experiment.toml", "fingerprint.json", "scenarios", "runs", "runs.parquet", "summary.csv")
LOCK_FILE = ".lock"


def _atomic_write(path: Path, data: str | bytes) -> None:
    """Write to a temporary file beside `path`, flush it to disk, then rename it into place."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(tmp, mode, **({} if isinstance(data, bytes) else {"encoding": "utf-8"})) as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _remove(path: Path) -> None:
    import shutil
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


class Store:
    """The results directory of one experiment: committed runs, outputs, inputs beside them."""

    def __init__(self, root: Path, exp: Experiment):
        self.root = Path(root)
        self.exp = exp
        self._lock_fh = None

    @property
    def runs_path(self) -> Path:
        return self.root / "runs.parquet"

    @property
    def summary_path(self) -> Path:
        return self.root / "summary.csv"

    def run_dir(self, variant: str, replication: int) -> Path:
        return self.root / "runs" / variant / f"rep{replication}"

    # -- opening
    @classmethod
    def open(cls, root: str | Path, exp: Experiment, force: bool = False) -> "Store":
        """Open (or create) the store; refuse one made from a different experiment unless force."""
        store = cls(Path(root), exp)
        root = store.root
        if root.exists() and not root.is_dir():
            raise _err(exp.path, "", f"{root} exists and is not a directory", "another --out DIR")
        root.mkdir(parents=True, exist_ok=True)
        store._lock()
        fp_path = root / "fingerprint.json"
        if fp_path.exists():
            try:
                stored = json.loads(fp_path.read_text(encoding="utf-8")).get("fingerprint")
            except (OSError, ValueError, AttributeError):
                stored = None
            if stored != exp.fingerprint and not force:
                store.close()
                raise _err(exp.path, "", f"{root}/ holds runs of an earlier version of this experiment (the "
                           f"experiment file, or a scenario it uses, changed since); give the experiment a new "
                           f"`name` (or use --out DIR) to keep both, or re-run with --force to discard the old runs")
            if stored != exp.fingerprint or force:
                store._clear()
        else:
            foreign = sorted(p.name for p in root.iterdir()
                             if p.name not in STORE_ENTRIES and not p.name.startswith("."))
            if foreign:
                store.close()
                raise _err(exp.path, "", f"{root}/ exists and is not a gridsim batch store (it holds "
                           f"'{foreign[0]}')", "an empty or new directory: another --out DIR or experiment name")
            if any((root / "runs").glob("*/rep*/row.json")) and not force:
                store.close()
                raise _err(exp.path, "", f"{root}/ holds runs but no fingerprint.json, so they cannot be "
                           f"matched to this experiment; re-run with --force to discard them, or use another --out DIR")
            store._clear()     # leftovers of a store whose creation was interrupted
        store._write_inputs()
        return store

    def _lock(self) -> None:
        try:
            import fcntl
        except ImportError:      # not POSIX: no lock
            return
        fh = open(self.root / LOCK_FILE, "a")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise _err(self.exp.path, "", f"another gridsim batch is writing to {self.root}/ right now",
                       "wait for it to finish, or use another --out DIR") from None
        self._lock_fh = fh

    def close(self) -> None:
        if self._lock_fh is not None:
            self._lock_fh.close()
            self._lock_fh = None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _clear(self) -> None:
        for name in STORE_ENTRIES:
            _remove(self.root / name)
        for p in self.root.glob(".*.tmp"):
            _remove(p)

    def _write_inputs(self) -> None:
        exp = self.exp
        if not (self.root / "experiment.toml").exists():
            _atomic_write(self.root / "experiment.toml", exp.text)
        scen_dir = self.root / "scenarios"
        scen_dir.mkdir(exist_ok=True)
        for v in exp.variants:
            p = scen_dir / f"{v.name}.toml"
            if not p.exists():
                _atomic_write(p, f"# resolved scenario of variant '{v.name}' of experiment {exp.name} "
                                 f"({exp.path}; gridsim {__version__})\n" + v.scenario.to_toml())
        fp = self.root / "fingerprint.json"
        if not fp.exists():    # last: a store without it is one whose creation did not finish
            _atomic_write(fp, json.dumps({"fingerprint": exp.fingerprint, "experiment": exp.name,
                                          "experiment_file": exp.path, "gridsim_version": __version__,
                                          "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, indent=1) + "\n")

    # -- runs
    def committed(self) -> dict[tuple[str, int], dict]:
        """The committed rows of the planned runs, by (variant, replication)."""
        out: dict[tuple[str, int], dict] = {}
        for v in self.exp.variants:
            for r in range(self.exp.replications):
                p = self.run_dir(v.name, r) / "row.json"
                try:
                    row = json.loads(p.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue          # not committed (or unreadable): the run is done again
                if isinstance(row, dict) and row.get("variant") == v.name and row.get("replication") == r:
                    out[(v.name, r)] = row
        return out

    def has_events(self, variant: str, replication: int) -> bool:
        return (self.run_dir(variant, replication) / "events.parquet").exists()

    def commit(self, outcome: dict) -> None:
        """Commit one finished run: its events (if kept) first, then row.json, each atomically."""
        row = outcome["row"]
        d = self.run_dir(row["variant"], row["replication"])
        d.mkdir(parents=True, exist_ok=True)
        if outcome.get("events") is not None:
            import pyarrow as pa
            import pyarrow.parquet as pq
            tmp = d / f".events.parquet.{os.getpid()}.tmp"
            pq.write_table(pa.Table.from_pandas(outcome["events"], preserve_index=False), tmp, compression="zstd")
            os.replace(tmp, d / "events.parquet")
            _atomic_write(d / "summary.json", json.dumps(outcome["summary"], indent=1))
        _atomic_write(d / "row.json", json.dumps(row, allow_nan=True))

    def write_outputs(self, rows: dict[tuple[str, int], dict] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(Re)write runs.parquet and summary.csv from the committed rows, atomically."""
        import pyarrow.parquet as pq
        if rows is None:
            rows = self.committed()
        table = runs_table(self.exp, rows)
        tmp = self.root / f".runs.parquet.{os.getpid()}.tmp"
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, self.runs_path)
        df = table.to_pandas()
        summary = summarise_runs(self.exp, df)
        _atomic_write(self.summary_path, summary.to_csv(index=False))
        return df, summary


def metric_columns(rows: Iterable[dict]) -> list[str]:
    """Metric columns: the known ones in a fixed order, then any others the runs produced, sorted."""
    extra = sorted({k for row in rows for k in row.get("metrics", {}) if k not in METRIC_NAMES})
    return list(METRIC_NAMES) + extra


def runs_table(exp: Experiment, rows: dict[tuple[str, int], dict]):
    """The runs.parquet table (pyarrow): one row per committed run, variants in file order."""
    import pyarrow as pa
    order = {v.name: i for i, v in enumerate(exp.variants)}
    ordered = [rows[k] for k in sorted(rows, key=lambda k: (order[k[0]], k[1]))]
    cols: dict[str, Any] = {
        "experiment": pa.array([r["experiment"] for r in ordered], pa.string()),
        "variant": pa.array([r["variant"] for r in ordered], pa.string()),
        "replication": pa.array([int(r["replication"]) for r in ordered], pa.int64()),
        "seed": pa.array([int(r["seed"]) for r in ordered], pa.int64()),
        "status": pa.array([r["status"] for r in ordered], pa.string()),
        "error": pa.array([r.get("error", "") for r in ordered], pa.string()),
        "wall_s": pa.array([_num(r.get("wall_s")) for r in ordered], pa.float64()),
    }
    for key in exp.factor_keys:
        values = [exp.variant(r["variant"]).factors.get(key) for r in ordered]
        try:
            cols[key] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
            cols[key] = pa.array([json.dumps(v) for v in values], pa.string())
    for m in metric_columns(ordered):
        cols[m] = pa.array([_num(r.get("metrics", {}).get(m)) for r in ordered], pa.float64())
    for stage in ECDF_STAGES:
        cols[f"ecdf.{stage}"] = pa.array([[_num(x) for x in r["ecdf"][stage]] if stage in r.get("ecdf", {})
                                          else None for r in ordered], pa.list_(pa.float64()))
    return pa.table(cols)


# --------------------------------------------------------------------------- summary

SUMMARY_COLUMNS = ("experiment", "variant", "metric", "n", "mean", "ci_low", "ci_high", "baseline",
                   "n_pairs", "diff", "diff_ci_low", "diff_ci_high")


def summarise_runs(exp: Experiment, runs: pd.DataFrame, metrics: list[str] | None = None) -> pd.DataFrame:
    """Per variant and kept metric: mean and 95% Student-t CI over the successful replications,
    and the paired difference (variant - baseline) over replications where both succeeded."""
    metrics = list(exp.metrics if metrics is None else metrics)
    base = exp.baseline.name
    ok = runs[runs["status"] == "ok"] if len(runs) else runs
    out = []
    for m in metrics:
        series = {}
        for v in exp.variants:
            if m in ok.columns:
                sel = ok[ok["variant"] == v.name]
                series[v.name] = pd.Series(sel[m].to_numpy(np.float64), index=sel["replication"].to_numpy())
            else:
                series[v.name] = pd.Series([], dtype=np.float64)
        for v in exp.variants:
            s = series[v.name].sort_index()
            mean, lo, hi = mean_ci(s.to_numpy())
            row = {"experiment": exp.name, "variant": v.name, "metric": m, "n": len(s), "mean": mean,
                   "ci_low": lo, "ci_high": hi, "baseline": base, "n_pairs": math.nan, "diff": math.nan,
                   "diff_ci_low": math.nan, "diff_ci_high": math.nan}
            if v.name != base:
                reps = sorted(set(series[base].index) & set(s.index))
                d, dlo, dhi = paired_difference_ci(series[base].loc[reps].to_numpy(), s.loc[reps].to_numpy())
                row.update(n_pairs=len(reps), diff=d, diff_ci_low=dlo, diff_ci_high=dhi)
            out.append(row)
    df = pd.DataFrame(out, columns=list(SUMMARY_COLUMNS))
    df["n_pairs"] = df["n_pairs"].astype("Int64")
    return df


# --------------------------------------------------------------------------- a whole batch

@dataclass
class BatchReport:
    """What a batch did and where its results are."""

    store: Path
    planned: int
    already_done: int
    ran: int
    failed_now: int
    runs: pd.DataFrame
    summary: pd.DataFrame
    wrote_outputs: bool
    interrupted: bool = False

    @property
    def failed(self) -> pd.DataFrame:
        return self.runs[self.runs["status"] != "ok"] if len(self.runs) else self.runs

    @property
    def complete(self) -> bool:
        return len(self.runs) == self.planned


class _NullReporter:
    def start(self, exp: Experiment, todo: int, done: int, executor: Any) -> None:
        pass

    def advance(self, row: dict) -> None:
        pass

    def close(self) -> None:
        pass


def run_batch(exp: Experiment, out_dir: str | Path, executor: Any, *, force: bool = False,
              keep_events: bool = False, retry_failed: bool = False, reporter: Any = None) -> BatchReport:
    """Run the runs of `exp` missing from the store at out_dir with `executor`, committing each as
    it finishes, then rewrite runs.parquet and summary.csv. A finished experiment does no work.

    Runs to do: those without a committed row; with retry_failed, also those recorded as failed;
    with keep_events, also finished runs whose events.parquet is missing.
    """
    reporter = reporter or _NullReporter()
    with Store.open(out_dir, exp, force=force) as store:
        done = store.committed()
        todo = []
        for task in plan_runs(exp, keep_events):
            row = done.get(task.key)
            if (row is None or (retry_failed and row["status"] != "ok")
                    or (keep_events and row["status"] == "ok" and not store.has_events(*task.key))):
                todo.append(task)
        already = exp.n_runs - len(todo)
        ran = failed_now = 0
        interrupted = False
        try:
            if todo:
                with executor:
                    reporter.start(exp, len(todo), already, executor)
                    for task, out in executor.run(execute_run, todo):
                        if isinstance(out, BaseException):
                            out = failed_outcome(task, out)
                        store.commit(out)
                        ran += 1
                        failed_now += out["row"]["status"] != "ok"
                        reporter.advance(out["row"])
        except KeyboardInterrupt:
            interrupted = True
            raise
        finally:
            reporter.close()
            wrote = bool(ran) or not (store.runs_path.exists() and store.summary_path.exists())
            if wrote:
                runs, summary = store.write_outputs()
            else:
                import pyarrow.parquet as pq
                runs = pq.read_table(store.runs_path).to_pandas()
                summary = pd.read_csv(store.summary_path)
        return BatchReport(store=store.root, planned=exp.n_runs, already_done=already, ran=ran,
                           failed_now=failed_now, runs=runs, summary=summary, wrote_outputs=wrote,
                           interrupted=interrupted)


def default_out_dir(exp: Experiment) -> Path:
    return Path("results") / exp.name

