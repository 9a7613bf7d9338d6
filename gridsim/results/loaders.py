"""Reading saved results back: a run directory or an experiment directory, never a live model.

A *run directory* (`gridsim run --out DIR`) holds `events.parquet`, `summary.json`, the
resolved `scenario.toml` and a copy of every data file it names; a folder that lacks any of
them, or whose files do not belong together, is refused (never drawn as the built-in city);
an *experiment directory* (`gridsim batch`) holds `runs.parquet`
(one row per run, see `ExperimentData`), `summary.csv`, the experiment file and the resolved
scenarios. `load_results` tells them apart by which files exist. Figures, the report and tests
read results only through this module, so the file layout and the JSON codec
(`gridsim.results.io`) are known in one place.

The names of the runs.parquet metric columns live here too (`STAGE_FIELDS`, `METRIC_GROUPS`,
`ecdf_column`): the store that writes them (gridsim.studies) sits above this layer.
"""

from __future__ import annotations

import dataclasses
import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gridsim.analysis.metrics import stage_elapsed
from gridsim.domain import ECDF_GRID_MIN, PERCENTILES, SOURCES, STAGES
from gridsim.results.io import read_json
from gridsim.scenario import Scenario, ScenarioError, load_scenario
from gridsim.scenario.divisions import DataFile, locate_divisions
from gridsim.scenario.schema import leaf_items

# --- runs.parquet columns -----------------------------------------------------------------
BASE_COLUMNS = ("experiment", "variant", "replication", "seed", "status", "error", "wall_s")
"""Bookkeeping columns of every runs.parquet row."""
PERCENTILE_FIELDS = tuple(f"p{q}" for q in PERCENTILES)
STAGE_FIELDS = ("n", "share", "ci_low", "ci_high") + PERCENTILE_FIELDS
"""`<stage>.<field>` columns, one set per judged stage."""
METRIC_GROUPS = ("util", "volume", "queue", "ecdf")
"""Metric columns that are not per stage: `util.<role>`, `volume.<key>`, `queue.<key>`, `ecdf.<stage>`."""
METRIC_PREFIXES = frozenset(STAGES) | frozenset(SOURCES) | frozenset(METRIC_GROUPS)
"""First part of every metric column (per-source metrics read `<source>.<stage>.<field>`);
any other dotted column is a swept factor (its first part is a scenario section)."""


def ecdf_column(stage: str) -> str:
    """The runs.parquet column holding each run's ECDF of a stage on the ECDF_GRID_MIN grid."""
    return f"ecdf.{stage}"


class NotAResultsDir(ValueError):
    """The directory is neither a run nor an experiment directory."""


class IncompatibleResults(NotAResultsDir):
    """The directory's files do not follow the layout this gridsim reads (e.g. another ECDF grid)."""


class DamagedResults(NotAResultsDir):
    """A results file cannot be read (truncated, overwritten, not the format its name says)."""


def _read(path: Path, reader, what: str):
    """Read one results file; any failure becomes one DamagedResults line naming the file."""
    try:
        return reader(path)
    except FileNotFoundError:
        raise NotAResultsDir(f"{path}: missing") from None
    except Exception as exc:          # OSError, ValueError (JSON, ArrowInvalid) or pyarrow's own errors
        raise DamagedResults(f"{path}: cannot be read as {what} ({_first_line(exc)}); the file is damaged "
                             f"or truncated: write it again (rerun the command that made it)") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:160]


def read_parquet(path: str | Path) -> pd.DataFrame:
    """A Parquet results file; DamagedResults if it cannot be read."""
    return _read(Path(path), pd.read_parquet, "a Parquet table")


def read_summary(path: str | Path) -> Any:
    """A JSON results file (results codec); DamagedResults if it cannot be read."""
    return _read(Path(path), read_json, "JSON")


# ============================================================================== scenarios

def load_resolved_scenario(path: str | Path) -> Scenario:
    """A resolved scenario.toml; one written by an older gridsim (keys missing that the schema
    has since gained) is read on top of the built-in defaults instead of being refused."""
    try:
        return load_scenario(path)
    except Exception as exc:
        if "missing" not in str(exc):
            raise
    raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    raw.pop("extends", None)
    scen = load_scenario(None).copy_with(dict(leaf_items(raw)), origin=str(path))
    return dataclasses.replace(scen, path=str(path))


def find_key(d: Any, key: str) -> Any:
    """First value of `key` in a nested dict (top level first)."""
    if not isinstance(d, dict):
        return None
    if key in d:
        return d[key]
    for v in d.values():
        found = find_key(v, key)
        if found is not None:
            return found
    return None


# ============================================================================== a run

@dataclass
class RunData:
    """One run: its events table, summary.json (as written: see `gridsim.results.io` for its
    None / "inf" numbers) and resolved scenario."""

    events: pd.DataFrame
    summary: dict
    scenario: Scenario
    dir: Path | None = None

    @classmethod
    def load(cls, path: str | Path) -> "RunData":
        """A run folder: refused (NotAResultsDir, one line) if a file is missing or damaged, if its
        scenario.toml names a data file that is not in the folder, or if its files do not
        belong to the same run."""
        p = Path(path)
        scen_path = p / "scenario.toml"
        if not scen_path.is_file():
            raise NotAResultsDir(f"{p}: no scenario.toml, so the city and targets of this run are unknown "
                                 f"(a run folder holds events.parquet, summary.json and scenario.toml); "
                                 f"run it again with gridsim run ... --out {p}")
        scenario = _folder_scenario(scen_path)
        summary = read_summary(p / "summary.json")
        if not isinstance(summary, dict):
            raise DamagedResults(f"{p / 'summary.json'}: not a run summary (a JSON object)")
        events = read_parquet(p / "events.parquet")
        total = (summary.get("volumes") or {}).get("events_total")
        if total is not None and total != len(events):
            raise IncompatibleResults(f"{p}: events.parquet holds {len(events):,} events but summary.json "
                                      f"counts {total:,}: the files come from different runs; run it again")
        return cls(events=events, summary=summary, scenario=scenario, dir=p)

    @classmethod
    def from_result(cls, result: Any, scenario: Scenario) -> "RunData":
        """From a `gridsim.results.run.RunResult` in memory (no files needed)."""
        return cls(events=result.events, summary=result.summary, scenario=scenario)

    @property
    def targets(self) -> dict:
        """The run's targets (minutes by target key), as the run judged them."""
        return dict(self.summary.get("targets") or self.scenario.targets.as_dict())

    @property
    def horizon_min(self) -> float:
        return float(self.summary.get("horizon_min") or self.scenario.run.days * 1440.0)

    @property
    def warmup_min(self) -> float:
        return float(self.summary.get("warmup_hours", self.scenario.run.warmup_hours)) * 60.0

    @property
    def work_order_warmup_min(self) -> float:
        """Work-order stages skip orders filed earlier (run.work_order_warmup_hours)."""
        hours = self.summary.get("work_order_warmup_hours", self.scenario.run.work_order_warmup_hours)
        return float(hours) * 60.0

    @property
    def days(self) -> float:
        return float(self.summary.get("days", self.scenario.run.days))

    @property
    def seed(self) -> int:
        return int(self.summary.get("seed", self.scenario.run.seed))

    @property
    def name(self) -> str:
        return str(self.summary.get("scenario") or self.scenario.name)

    def elapsed(self, stage: str) -> pd.DataFrame:
        """Judged events of a stage after the warm-up: event_id, elapsed, met (see analysis.metrics)."""
        return stage_elapsed(self.events, stage, self.targets, self.horizon_min, self.warmup_min,
                             work_order_warmup_min=self.work_order_warmup_min)


OUTLINES_KEY = "city.outlines_file"


def scenario_files(scenario: Scenario) -> tuple[DataFile, ...]:
    """Every data file a run of `scenario` reads: `scenario.data_files` plus the division
    outlines, which the city reads itself (city.outlines_file; "" = none)."""
    files = list(scenario.data_files)
    name = scenario.city.outlines_file
    if name and OUTLINES_KEY not in {f.key for f in files}:
        label = scenario.origin.get(OUTLINES_KEY, scenario.path)
        path = locate_divisions(name, Path(scenario.folders.get(label, ".")))
        if path is None:
            raise ScenarioError(label, OUTLINES_KEY, "boundary file not found",
                                "a GeoJSON path, relative to the scenario file or a built-in file, or \"\"", name, True)
        files.append(DataFile(OUTLINES_KEY, str(path.resolve()), hashlib.sha256(path.read_bytes()).hexdigest()))
    return tuple(files)


def _folder_scenario(scen_path: Path) -> Scenario:
    """A run folder's scenario.toml, every data file it names found inside the folder itself."""
    folder = scen_path.parent.resolve()
    try:
        scenario = load_resolved_scenario(scen_path)
    except ScenarioError as exc:
        raise NotAResultsDir(str(exc)) from None
    for f in scenario_files(scenario):
        if Path(f.path).resolve().parent != folder:
            raise NotAResultsDir(f"{scen_path} names {f.key} = '{scenario.get(f.key)}', which is not in "
                                 f"{scen_path.parent}/ (a run folder carries a copy of every data file it "
                                 f"read); run it again with this gridsim")
    return scenario


# ============================================================================== an experiment

@dataclass
class ExperimentData:
    """An experiment's runs.parquet (one row per run), with its experiment file and a scenario.

    runs.parquet columns: BASE_COLUMNS (experiment, variant, replication, seed, status "ok" |
    "failed", error, wall_s); one column per swept factor named by its dotted scenario key; per
    stage `<stage>.<field>` for STAGE_FIELDS; per source `<source>.<stage>.<field>`;
    `util.<role>`; `volume.<key>`; `queue.<key>`; `ecdf.<stage>` (list of shares on the
    ECDF_GRID_MIN grid).
    """

    runs: pd.DataFrame
    dir: Path | None = None
    config: dict = field(default_factory=dict)
    config_path: Path | None = None
    scenario: Scenario | None = None
    summary_table: pd.DataFrame | None = None

    @classmethod
    def load(cls, path: str | Path) -> "ExperimentData":
        p = Path(path)
        runs = read_parquet(p / "runs.parquet")
        tomls = sorted(p.glob("*.toml")) + sorted(p.glob("scenarios/*.toml"))
        config, config_path = _experiment_file(p, tomls)
        first = str(runs["variant"].iloc[0]) if "variant" in runs.columns and len(runs) else None
        candidates = ([p / "scenarios" / f"{first}.toml"] if first else []) + tomls
        data = cls(runs=runs, dir=p, config=config, config_path=config_path,
                   scenario=_first_scenario(candidates, skip=config_path), summary_table=_summary_csv(p))
        for col in runs.columns:
            if col.startswith(ecdf_column("")):
                data.ecdf_matrix(col.split(".", 1)[1])     # another ECDF grid fails here, not in a figure
        return data

    @property
    def ok(self) -> pd.DataFrame:
        """The runs that succeeded."""
        if "status" not in self.runs.columns:
            return self.runs
        return self.runs[self.runs["status"] == "ok"]

    @property
    def name(self) -> str:
        if "experiment" in self.runs.columns and len(self.runs):
            return str(self.runs["experiment"].iloc[0])
        for k in ("name", "experiment"):
            if isinstance(self.config.get(k), str):
                return self.config[k]
        return self.dir.name if self.dir else "experiment"

    @property
    def factors(self) -> list[str]:
        """Swept factors: dotted columns that are not metrics (their first part is a scenario section)."""
        return [c for c in self.runs.columns if "." in c and c.split(".")[0] not in METRIC_PREFIXES]

    @property
    def numeric_factors(self) -> list[str]:
        out = []
        for c in self.factors:
            v = pd.to_numeric(self.ok[c], errors="coerce") if c in self.ok else pd.Series(dtype=float)
            if len(v) and v.notna().all() and v.nunique() >= 2 and not pd.api.types.is_bool_dtype(self.ok[c]):
                out.append(c)
        return out

    @property
    def variants(self) -> list[str]:
        """Variant names in the order they first appear."""
        if "variant" not in self.runs.columns:
            return ["all"]
        return list(dict.fromkeys(self.runs["variant"].astype(str)))

    def variant_rows(self, variant: str) -> pd.DataFrame:
        """The successful runs of one variant."""
        ok = self.ok
        if "variant" not in ok.columns:
            return ok
        return ok[ok["variant"].astype(str) == variant]

    @property
    def targets(self) -> dict:
        """The targets of the experiment's scenario (the built-in scenario's when none was found)."""
        scenario = self.scenario if self.scenario is not None else load_scenario(None)
        return scenario.targets.as_dict()

    @property
    def days(self) -> float | None:
        for c in ("run.days", "days"):
            if c in self.ok.columns and self.ok[c].nunique() == 1:
                return float(self.ok[c].iloc[0])
        found = find_key(self.config, "days")
        if isinstance(found, (int, float)):
            return float(found)
        if self.scenario is not None:
            return float(self.scenario.run.days)
        return None

    @property
    def replications(self) -> int:
        if "replication" in self.ok.columns and len(self.ok):
            return int(self.ok["replication"].nunique())
        return len(self.ok)

    @property
    def seeds(self) -> list[int]:
        """The experiment file's root seed alone when it has one, else every run's seed."""
        root = find_key(self.config, "seed")
        if isinstance(root, int):
            return [root]
        return sorted(set(self.ok["seed"].dropna().astype(int))) if "seed" in self.ok.columns else []

    def ecdf_matrix(self, stage: str, variant: str | None = None) -> np.ndarray:
        """(runs, len(ECDF_GRID_MIN)) shares of a stage's `ecdf.<stage>` column, over the successful
        runs (of one variant). Runs without the column's data (failed, or no event judged) are
        left out; a run stored on another grid raises IncompatibleResults."""
        rows = self.ok if variant is None else self.variant_rows(variant)
        col = ecdf_column(stage)
        out = []
        for i, v in enumerate(rows[col] if col in rows.columns else []):
            if v is None:
                continue
            a = np.asarray(v, dtype=float)
            if a.shape != ECDF_GRID_MIN.shape:
                where = f"{self.dir / 'runs.parquet'}: " if self.dir else ""
                raise IncompatibleResults(
                    f"{where}{col} of run {rows.index[i]} has {a.size} points; this gridsim reads "
                    f"{ECDF_GRID_MIN.size} (0 to {ECDF_GRID_MIN[-1]:g} min every "
                    f"{ECDF_GRID_MIN[1] - ECDF_GRID_MIN[0]:g} min): the store was written on another grid")
            if np.isfinite(a).any():
                out.append(a)
        return np.vstack(out) if out else np.empty((0, ECDF_GRID_MIN.size))


def _experiment_file(p: Path, tomls: list[Path]) -> tuple[dict, Path | None]:
    """The experiment file of a store: experiment.toml, else the first TOML without [targets]."""
    for f in ([p / "experiment.toml"] if (p / "experiment.toml").is_file() else []) + tomls:
        try:
            raw = tomllib.loads(f.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            continue
        if "targets" not in raw:
            return raw, f
    return {}, None


def _first_scenario(candidates: list[Path], skip: Path | None) -> Scenario | None:
    for f in candidates:
        if f.is_file() and f != skip:
            try:
                return load_resolved_scenario(f)
            except Exception:       # not a scenario: try the next file
                continue
    return None


def _summary_csv(p: Path) -> pd.DataFrame | None:
    if not (p / "summary.csv").exists():
        return None
    try:
        return pd.read_csv(p / "summary.csv")
    except Exception:
        return None


# ============================================================================== either

def detect_kind(path: str | Path) -> str | None:
    """'experiment' (runs.parquet), 'run' (events.parquet + summary.json) or None."""
    p = Path(path)
    if (p / "runs.parquet").is_file():
        return "experiment"
    if (p / "events.parquet").is_file() and (p / "summary.json").is_file():
        return "run"
    return None


def load_results(path: str | Path) -> RunData | ExperimentData:
    """Load a run or experiment directory; NotAResultsDir if it is neither."""
    p = Path(path)
    kind = detect_kind(p)
    if kind is None:
        what = "does not exist" if not p.exists() else "is neither a run directory (events.parquet + summary.json) " \
                                                       "nor an experiment directory (runs.parquet)"
        raise NotAResultsDir(f"{path}: {what}")
    return RunData.load(p) if kind == "run" else ExperimentData.load(p)
