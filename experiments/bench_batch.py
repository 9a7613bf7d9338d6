"""Benchmark: one 20-run batch (4 staffing variants x 5 replications of the whole Suzhou city)
run serially, with local worker processes, and on a Dask local cluster; prints one JSON line.

    python experiments/bench_batch.py                 # 2 simulated days per run, all cores
    python experiments/bench_batch.py --days 1 --workers 2 --repeat 3

Fields: runs, days, workers, serial_s, processes_s, dask_s (wall time of `run_batch`, executor
start-up included), speedup_processes (serial / processes), speedup_dask (serial / dask),
dask_vs_processes (dask / processes - 1), identical (the three runs.parquet agree, wall_s aside),
load_before / load_after (1-minute load average: anything else running skews the figures). With
--repeat N the executors take turns N times and the best time of each is reported.
Targets on 2 cores: processes >= 1.8x faster than serial; Dask within 15% of processes.
Not a test: timings depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from pathlib import Path

EXPERIMENT = """
name = "bench_batch"
base = "suzhou_2018"
replications = {reps}
days = {days}
seed = 2018
[factors]
"staff.fulltime_workers" = [9316, 6987, 13974, 18632]
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=2, help="simulated days per run (default 2, as the examples)")
    ap.add_argument("--reps", type=int, default=5, help="replications per variant (4 variants; default 5)")
    ap.add_argument("--workers", type=int, default=None, help="processes / Dask workers (default: all cores)")
    ap.add_argument("--no-dask", action="store_true", help="skip the Dask local cluster")
    ap.add_argument("--repeat", type=int, default=1, help="take turns this many times, keep the best (default 1)")
    args = ap.parse_args()

    import pyarrow.parquet as pq

    from gridsim.studies.executors import DaskExecutor, ProcessExecutor, SerialExecutor, default_workers
    from gridsim.studies.batch import run_batch
    from gridsim.studies.experiment import load_experiment

    workers = args.workers or default_workers()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = tmp / "bench_batch.toml"
        path.write_text(EXPERIMENT.format(reps=args.reps, days=args.days))
        exp = load_experiment(path)
        executors = {"serial": SerialExecutor, "processes": lambda: ProcessExecutor(workers)}
        if not args.no_dask:
            executors["dask"] = lambda: DaskExecutor("local", workers)
        times, tables = {}, {}
        load_before = os.getloadavg()[0]
        for i in range(args.repeat):
            for name, make in executors.items():
                t0 = time.perf_counter()
                report = run_batch(exp, tmp / f"{name}{i}", make())
                times[name] = min(times.get(name, math.inf), time.perf_counter() - t0)
                assert len(report.failed) == 0, report.failed["error"].tolist()
                tables[name] = pq.read_table(tmp / f"{name}{i}" / "runs.parquet").drop(["wall_s"])
        out = {"runs": exp.n_runs, "days": args.days, "workers": workers, "repeat": args.repeat,
               **{f"{k}_s": round(v, 2) for k, v in times.items()},
               "speedup_processes": round(times["serial"] / times["processes"], 2)}
        if "dask" in times:
            out["speedup_dask"] = round(times["serial"] / times["dask"], 2)
            out["dask_vs_processes"] = round(times["dask"] / times["processes"] - 1, 3)
        out["identical"] = all(t.equals(tables["serial"]) for t in tables.values())
        out["load_before"], out["load_after"] = round(load_before, 2), round(os.getloadavg()[0], 2)
        print(json.dumps(out))


if __name__ == "__main__":
    main()
