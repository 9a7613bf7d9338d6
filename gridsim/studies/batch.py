"""A whole batch: run what the store is missing on an executor, commit each run, summarise.

Progress goes to a `BatchProgress` the caller supplies (the command line draws a bar or
logs lines); this module never prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from gridsim.studies.executors import Executor
from gridsim.studies.experiment import Experiment
from gridsim.studies.runs import RunTask, execute_run, failed_outcome, plan_runs
from gridsim.studies.store import Store


class BatchProgress(Protocol):
    """What a batch reports: the work about to start, each finished run's row, the end."""

    def start(self, exp: Experiment, todo: int, done: int, executor: Executor) -> None: ...

    def advance(self, row: dict) -> None: ...

    def close(self) -> None: ...


class _Silent:
    def start(self, exp: Experiment, todo: int, done: int, executor: Executor) -> None:
        pass

    def advance(self, row: dict) -> None:
        pass

    def close(self) -> None:
        pass


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


def runs_to_do(exp: Experiment, store: Store, keep_events: bool = False, retry_failed: bool = False
               ) -> list[RunTask]:
    """Runs without a committed row; with retry_failed, also those recorded as failed; with
    keep_events, also finished runs whose events.parquet is missing."""
    done = store.committed()
    todo = []
    for task in plan_runs(exp, keep_events):
        row = done.get(task.key)
        if (row is None or (retry_failed and row["status"] != "ok")
                or (keep_events and row["status"] == "ok" and not store.has_events(*task.key))):
            todo.append(task)
    return todo


def run_batch(exp: Experiment, out_dir: str | Path, executor: Executor, *, force: bool = False,
              keep_events: bool = False, retry_failed: bool = False,
              reporter: BatchProgress | None = None) -> BatchReport:
    """Run the runs of `exp` missing from the store at out_dir with `executor`, committing each as
    it finishes, then rewrite runs.parquet and summary.csv. A finished experiment does no work."""
    reporter = reporter or _Silent()
    with Store.open(out_dir, exp, force=force) as store:
        todo = runs_to_do(exp, store, keep_events, retry_failed)
        already = exp.n_runs - len(todo)
        ran = failed_now = 0
        interrupted = False
        try:
            if todo:
                with executor:
                    reporter.start(exp, len(todo), already, executor)
                    for task, out in executor.run(execute_run, todo):
                        out = _outcome(task, out)
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
            runs, summary = store.write_outputs() if wrote else store.read_outputs()
        return BatchReport(store=store.root, planned=exp.n_runs, already_done=already, ran=ran,
                           failed_now=failed_now, runs=runs, summary=summary, wrote_outputs=wrote,
                           interrupted=interrupted)


def _outcome(task: RunTask, out: Any) -> dict:
    """What the executor returned: the run's outcome, or the exception that lost it."""
    return failed_outcome(task, out) if isinstance(out, BaseException) else out
