"""Benchmark: simulate the whole baseline city for N days and print one JSON line.

    python experiments/bench.py --days 365        # the performance target: <= 60 s, < 2 GiB
    python experiments/bench.py --days 1 --end-to-end   # `gridsim run` path incl. city build + writing

Fields: days, events (all simulated events), incidents_110, work_orders, wall_s (simulation:
city build + demand + event loop + records table), events_per_s, loop_s (event loop only),
peak_rss_mib. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--seed", type=int, default=2018)
    ap.add_argument("--end-to-end", action="store_true", help="time the `gridsim run` command instead")
    ap.add_argument("--profile", action="store_true", help="print a pyinstrument profile of the run")
    args = ap.parse_args()
    if args.end_to_end:
        with tempfile.TemporaryDirectory() as out:
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "gridsim", "run", "--days", str(args.days), "--seed",
                            str(args.seed), "--out", out, "--quiet"], check=True, stdout=subprocess.DEVNULL)
            wall = time.perf_counter() - t0
        print(json.dumps({"days": args.days, "end_to_end_wall_s": round(wall, 2),
                          "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)}))
        return

    from gridsim.city import build_city
    from gridsim.engine.model import CityModel
    from gridsim.results.table import events_table
    from gridsim.scenario import load_scenario

    profiler = None
    if args.profile:
        from pyinstrument import Profiler
        profiler = Profiler()
        profiler.start()
    t0 = time.perf_counter()
    s = load_scenario(None, [f"run.days={args.days}", f"run.seed={args.seed}"])
    city = build_city(s)
    model = CityModel(s, city=city)
    t1 = time.perf_counter()
    c1 = time.process_time()
    model.run_events()
    t2 = time.perf_counter()
    loop_cpu = time.process_time() - c1
    df = events_table(model)
    t3 = time.perf_counter()
    if profiler is not None:
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False, show_all=False), file=sys.stderr)
    n110 = int((df["source"] == "110").sum())
    print(json.dumps({
        "days": args.days, "events": len(df), "incidents_110": n110, "work_orders": len(df) - n110,
        "loop_events": model.events_processed,
        "setup_s": round(t1 - t0, 2), "loop_s": round(t2 - t1, 2), "loop_cpu_s": round(loop_cpu, 2), "table_s": round(t3 - t2, 2),
        "wall_s": round(t3 - t0, 2), "events_per_s": round(len(df) / (t3 - t0)),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }))


if __name__ == "__main__":
    main()
