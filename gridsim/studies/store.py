"""The results store of one experiment (`results/NAME/`), resumable and safe to kill.

Layout::

    experiment.toml           the experiment file, verbatim
    fingerprint.json          hash of the experiment file and every resolved scenario
    scenarios/VARIANT.toml    each variant's resolved scenario
    runs/VARIANT/repR/row.json    one committed run
    runs/VARIANT/repR/events.parquet, summary.json    with --keep-events
    runs.parquet              one row per run, rebuilt from the row files
    summary.csv               per variant and metric: mean, 95% CI, paired difference vs baseline

Every file is written through `gridsim.results.io` (temporary file, fsync, rename), and a run
is committed by its row.json, written last: a killed batch leaves complete runs or none.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pandas as pd

from gridsim import __version__
from gridsim.results.io import (atomic_write, atomic_write_with, decode_number, dumps, read_json,
                                remove_stale_temporaries, write_json, write_parquet)
from gridsim.results.loaders import ecdf_column
from gridsim.scenario import ScenarioError
from gridsim.studies.columns import ECDF_STAGES, metric_columns
from gridsim.studies.experiment import Experiment
from gridsim.studies.summary import summarise_runs

STORE_ENTRIES = ("experiment.toml", "fingerprint.json", "scenarios", "runs", "runs.parquet", "summary.csv")
LOCK_FILE = ".lock"


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _refuse(exp: Experiment, problem: str, allowed: str = "") -> ScenarioError:
    return ScenarioError(exp.path, "", problem, allowed)


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
        if store.root.exists() and not store.root.is_dir():
            raise _refuse(exp, f"{store.root} exists and is not a directory", "another --out DIR")
        store.root.mkdir(parents=True, exist_ok=True)
        store._lock()
        try:
            if (store.root / "fingerprint.json").exists():
                store._reopen(force)
            else:
                store._adopt(force)
        except ScenarioError:
            store.close()
            raise
        store._write_inputs()
        return store

    def _reopen(self, force: bool) -> None:
        """A store with a fingerprint: keep its runs if it is this experiment's, else refuse or clear."""
        try:
            stored = read_json(self.root / "fingerprint.json").get("fingerprint")
        except (OSError, ValueError, AttributeError):
            if not force:
                raise _refuse(self.exp, f"{self.root}/fingerprint.json is damaged, so its runs cannot be matched "
                              f"to this experiment; re-run with --force to discard them, or use another --out DIR"
                              ) from None
            stored = None
        if stored != self.exp.fingerprint and not force:
            raise _refuse(self.exp, f"{self.root}/ holds runs of an earlier version of this experiment (the "
                          f"experiment file, or a scenario it uses, changed since); give the experiment a new "
                          f"`name` (or use --out DIR) to keep both, or re-run with --force to discard the old runs")
        if stored != self.exp.fingerprint or force:
            self._clear()

    def _adopt(self, force: bool) -> None:
        """A directory without a fingerprint: new, or a store whose creation was interrupted."""
        foreign = sorted(p.name for p in self.root.iterdir()
                         if p.name not in STORE_ENTRIES and not p.name.startswith("."))
        if foreign:
            raise _refuse(self.exp, f"{self.root}/ exists and is not a gridsim batch store (it holds "
                          f"'{foreign[0]}')", "an empty or new directory: another --out DIR or experiment name")
        if any((self.root / "runs").glob("*/rep*/row.json")) and not force:
            raise _refuse(self.exp, f"{self.root}/ holds runs but no fingerprint.json, so they cannot be "
                          f"matched to this experiment; re-run with --force to discard them, or use another --out DIR")
        self._clear()     # leftovers of a store whose creation was interrupted

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
            raise _refuse(self.exp, f"another gridsim batch is writing to {self.root}/ right now",
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
        remove_stale_temporaries(self.root)

    def _write_inputs(self) -> None:
        exp = self.exp
        if not (self.root / "experiment.toml").exists():
            atomic_write(self.root / "experiment.toml", exp.text)
        scen_dir = self.root / "scenarios"
        scen_dir.mkdir(exist_ok=True)
        for v in exp.variants:
            p = scen_dir / f"{v.name}.toml"
            if not p.exists():
                atomic_write(p, f"# resolved scenario of variant '{v.name}' of experiment {exp.name} "
                                f"({exp.path}; gridsim {__version__})\n" + v.scenario.to_toml())
        fp = self.root / "fingerprint.json"
        if not fp.exists():    # last: a store without it is one whose creation did not finish
            atomic_write(fp, dumps({"fingerprint": exp.fingerprint, "experiment": exp.name,
                                    "experiment_file": exp.path, "gridsim_version": __version__,
                                    "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}) + "\n")

    # -- runs
    def committed(self) -> dict[tuple[str, int], dict]:
        """The committed rows of the planned runs, by (variant, replication). Reads the row files
        that exist (not one look-up per planned run: a plan can be far larger than the store)."""
        out: dict[tuple[str, int], dict] = {}
        planned = {v.name for v in self.exp.variants}
        runs = self.root / "runs"
        if not runs.is_dir():
            return out
        for vdir in runs.iterdir():
            if vdir.name not in planned:
                continue
            for rdir in vdir.iterdir():
                rep = rdir.name[3:]
                if not (rdir.name.startswith("rep") and rep.isdigit() and int(rep) < self.exp.replications):
                    continue
                try:
                    row = read_json(rdir / "row.json")
                except (OSError, ValueError):
                    continue          # not committed (or unreadable): the run is done again
                if isinstance(row, dict) and row.get("variant") == vdir.name and row.get("replication") == int(rep):
                    out[(vdir.name, int(rep))] = row
        return out

    def has_events(self, variant: str, replication: int) -> bool:
        return (self.run_dir(variant, replication) / "events.parquet").exists()

    def commit(self, outcome: dict) -> None:
        """Commit one finished run: its events (if kept) first, then row.json, each atomically."""
        row = outcome["row"]
        d = self.run_dir(row["variant"], row["replication"])
        d.mkdir(parents=True, exist_ok=True)
        if outcome.get("events") is not None:
            write_parquet(outcome["events"], d / "events.parquet")
            write_json(d / "summary.json", outcome["summary"])
        write_json(d / "row.json", row, indent=None)

    def write_outputs(self, rows: dict[tuple[str, int], dict] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(Re)write runs.parquet and summary.csv from the committed rows, atomically."""
        import pyarrow.parquet as pq
        if rows is None:
            rows = self.committed()
        table = runs_table(self.exp, rows)
        atomic_write_with(self.runs_path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
        df = table.to_pandas()
        summary = summarise_runs(self.exp, df)
        atomic_write(self.summary_path, summary.to_csv(index=False))
        return df, summary

    def read_outputs(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """runs.parquet and summary.csv as they are (a batch with nothing to run rewrites nothing);
        rebuilt from the committed rows when either is missing or damaged (they are derived)."""
        import pyarrow.parquet as pq
        try:
            return pq.read_table(self.runs_path).to_pandas(), pd.read_csv(self.summary_path)
        except Exception:         # truncated, overwritten, deleted: pyarrow / pandas / OS errors
            return self.write_outputs()


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
        "wall_s": pa.array([decode_number(r.get("wall_s")) for r in ordered], pa.float64()),
    }
    for key in exp.factor_keys:
        values = [exp.variant(r["variant"]).factors.get(key) for r in ordered]
        try:
            cols[key] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
            cols[key] = pa.array([json.dumps(v) for v in values], pa.string())
    for m in metric_columns(ordered):
        cols[m] = pa.array([decode_number(r.get("metrics", {}).get(m)) for r in ordered], pa.float64())
    for stage in ECDF_STAGES:
        cols[ecdf_column(stage)] = pa.array([[decode_number(x) for x in r["ecdf"][stage]] if stage in r.get("ecdf", {})
                                          else None for r in ordered], pa.list_(pa.float64()))
    return pa.table(cols)
