"""Compare the baseline's 110 response times with the observed figures in facts.md.

    python experiments/calibration_110.py --days 3

Prints one Markdown table: the share of 110 incidents on scene within 5 / 5-10 / 10-15 /
15-30 / over 30 minutes of the call (Ankang's weekly bulletins, central city, two weeks), the
median time from dispatch to arrival in urban and rural grids (Guangzhou 2005: 2-3 min urban,
about 10 min suburban), and incidents a day (12,807: 2,318,000 in 181 days, the source).
Incidents still without a unit at the end and older than a band's upper edge count in the
bands above it (they are at least that late).
"""

from __future__ import annotations

import argparse

import numpy as np

from gridsim.results.run import simulate
from gridsim.scenario import load_scenario

BANDS = [(0, 5), (5, 10), (10, 15), (15, 30), (30, np.inf)]
ANKANG = ["61.8 / 70.7", "12.7 / 11.1", "5.5 / 4.6", "7.6 / 5.4", "12.4 / 8.2"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--seed", type=int, default=2018)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args()
    s = load_scenario(None, [f"run.days={args.days}", f"run.seed={args.seed}", *args.set])
    ev = simulate(s, keep_hourly=False).events
    warm, horizon = s.run.warmup_hours * 60.0, s.run.days * 1440.0
    p = ev[(ev.source == "110") & (ev.t_call >= warm)]
    on_scene = (p.t_arrive - p.t_call).to_numpy().copy()
    waiting = np.isnan(on_scene)
    on_scene[waiting] = np.inf                       # no unit yet: later than any band it has outlived
    age = (horizon - p.t_call).to_numpy()
    rows = []
    for (lo, hi), obs in zip(BANDS, ANKANG):
        known = ~waiting | (age > hi)                # judged for this band
        within = (on_scene[known] > lo) & (on_scene[known] <= hi)
        share = np.mean(within) * 100
        label = f"on scene within {hi:g} min" if lo == 0 else (f"{lo:g}-{hi:g} min" if np.isfinite(hi) else f"over {lo:g} min")
        rows.append((label, f"{share:.1f} %", f"{obs} % (Ankang, 2 weeks)"))
    drive = (p.t_arrive - p.t_dispatch)
    rows.append(("median dispatch to arrival, urban grids", f"{np.nanmedian(drive[p.urban]):.1f} min",
                 "2-3 min (Guangzhou 2005)"))
    rows.append(("median dispatch to arrival, rural grids", f"{np.nanmedian(drive[~p.urban]):.1f} min",
                 "about 10 min (Guangzhou 2005, suburbs)"))
    days = (horizon - warm) / 1440.0
    rows.append(("110 incidents a day", f"{len(p) / days:,.0f}", "12,807 (Suzhou H1 2018, the source)"))
    print(f"| 110 figure (baseline, {args.days} days, seed {args.seed}) | simulated | observed |")
    print("|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} |")


if __name__ == "__main__":
    main()
