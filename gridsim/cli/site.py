"""`gridsim site`: which unbuilt sub-centers to finish, chosen by a covering MILP and checked by
simulation against the current build and a random choice of the same size."""

from __future__ import annotations

import argparse
import csv
import difflib
import io
import math
from pathlib import Path

from gridsim.cli.common import UsageError, ensure_out_dir, interval, number, print_table, print_wrote, run_args, \
    run_overrides, scenario_args
from gridsim.scenario import BUILTIN_NAME, load_scenario

EPILOG = """examples:
  gridsim site --coverage-min 15 --subcenters 5                 # finish 5 of the 33, confirm with 3 x 1 day
  gridsim site --coverage-min 10 --subcenters 3 --division Wujiang --division Kunshan
  gridsim site my.toml --coverage-min 15 --subcenters 8 --replications 5 --days 2 --out out/site8

writes into --out: sited.toml (the input scenario with the chosen sub-centers built),
sites.csv (the chosen sub-centers), order.csv (the order in which to finish all candidates,
greedy, with the MILP optimum of each budget), siting.csv (covered demand and simulated stage
shares with 95% CIs per variant) and siting_map.png.
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("site", help="choose which unbuilt sub-centers to finish (covering MILP + simulation)",
                              epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    scenario_args(p)
    p.add_argument("--coverage-min", type=float, required=True, metavar="T",
                   help="a grid is covered when a built sub-center office is within T minutes (full-time worker speed)")
    p.add_argument("--subcenters", type=int, required=True, metavar="K", help="how many unbuilt sub-centers to finish")
    p.add_argument("--division", action="append", default=[], metavar="NAME",
                   help="only candidates in this division (repeatable; default: all)")
    p.add_argument("--replications", type=int, default=3, help="simulated replications per variant (default 3)")
    run_args(p, days_help="simulated days per replication (default 1)")
    p.add_argument("--out", default="out/site", help="output directory (default out/site)")
    p.set_defaults(func=cmd_site)


def _check_args(args: argparse.Namespace) -> None:
    if not (args.coverage_min > 0 and math.isfinite(args.coverage_min)):
        raise UsageError(f"--coverage-min {args.coverage_min:g}: must be > 0 minutes")
    if args.subcenters < 1:
        raise UsageError(f"--subcenters {args.subcenters}: must be >= 1")
    if args.replications < 2:
        raise UsageError(f"--replications {args.replications}: must be >= 2 (confidence intervals need two)")
    if args.days is not None and args.days < 1:
        raise UsageError(f"--days {args.days}: must be >= 1")


def _division_ids(names: list[str], wanted: list[str]) -> list[int] | None:
    if not wanted:
        return None
    for w in wanted:
        if w not in names:
            close = difflib.get_close_matches(w, names, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise UsageError(f"--division {w}: unknown division{hint}; allowed: {', '.join(names)}")
    return [names.index(w) for w in wanted]


def _scenario_text(scenario, built: dict, skip: tuple[str, ...] = ()) -> str:
    """`extends` the input, then the keys given on the command line, then the built sub-centers."""
    import tomli_w

    base = BUILTIN_NAME if scenario.path.startswith("<builtin>") else str(Path(scenario.path).resolve())
    doc: dict = {}
    keys = {k: scenario.get(k) for k, o in scenario.origin.items() if o == "--set" and k not in skip}
    for key, value in keys.items():
        node = doc
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    head = ("# written by `gridsim site`: the input scenario with the chosen sub-centers built\n"
            f"extends = {tomli_w.dumps({'x': base})[4:]}")
    city = doc.pop("city", {})
    city.pop("subcenters_built", None)
    city.pop("subcenters_built_ids", None)
    ids = ", ".join(str(i) for i in built["city.subcenters_built_ids"])
    city_text = tomli_w.dumps({"city": city}) if city else "[city]\n"
    return (head + "\n" + tomli_w.dumps(doc) + ("\n" if doc else "") + city_text
            + f"subcenters_built = {built['city.subcenters_built']}\nsubcenters_built_ids = [{ids}]\n")


def _csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def cmd_site(args: argparse.Namespace) -> int:
    from gridsim.city import build_city
    from gridsim.results.io import atomic_write
    from gridsim.studies import siting
    from gridsim.viz.outlines import siting_map
    from gridsim.viz.style import save_figure

    _check_args(args)
    overrides = run_overrides(args)
    if args.days is None:
        overrides.append("run.days=1")
    scenario = load_scenario(args.scenario, overrides)
    city = build_city(scenario)
    divs = _division_ids(city.division_names, args.division)
    problem = siting.siting_problem(scenario, city, args.coverage_min, divisions=divs)
    n_cand = len(problem.candidates)
    if args.subcenters > n_cand:
        where = f" in {', '.join(args.division)}" if args.division else ""
        raise UsageError(f"--subcenters {args.subcenters}: only {n_cand} unbuilt sub-centers{where} to choose from; "
                         f"allowed: 1 to {n_cand}")
    out = Path(ensure_out_dir(args.out))

    chosen, covered = siting.solve_mclp(problem, args.subcenters)
    order = siting.finish_order(problem)
    rand = siting.random_choice(problem, args.subcenters, scenario.run.seed)
    ids = {"current": [], "chosen": problem.candidates[chosen], "random": problem.candidates[rand]}
    variants = {name: scenario.copy_with(siting.built_overrides(city, add)) if len(add) else scenario
                for name, add in ids.items()}
    cover = {"current": problem.covered_demand([]), "chosen": covered, "random": problem.covered_demand(rand)}
    total = float(problem.demand.sum())
    print(f"{scenario.name}: {n_cand} candidate sub-centers, coverage within {args.coverage_min:g} min "
          f"({siting.coverage_radius_km(scenario, args.coverage_min):.2f} km straight line)")
    print(f"simulating {len(variants)} variants x {args.replications} replications x {scenario.run.days} day(s) "
          "with common random numbers ...", flush=True)
    conf = siting.confirm(variants, args.replications, scenario.run.seed)

    rank = {s.subcenter: s.step for s in order}
    site_rows = [{"subcenter": int(s), "division": city.division_names[city.sc_div[s]],
                  "x_km": round(float(city.sc_x[s]), 3), "y_km": round(float(city.sc_y[s]), 3),
                  "greedy_rank": rank[int(s)],
                  "covered_alone_per_day": round(problem.covered_demand([int(j)]) - cover["current"], 2)}
                 for j, s in zip(chosen, problem.candidates[chosen])]
    order_rows = [{"step": s.step, "subcenter": s.subcenter, "division": city.division_names[city.sc_div[s.subcenter]],
                   "covered_greedy_per_day": round(s.covered_greedy, 2),
                   "covered_optimal_per_day": round(s.covered_optimal, 2), "gap": round(s.gap, 2)} for s in order]
    table = [{"variant": r["variant"], "subcenters": ";".join(str(int(s)) for s in ids[r["variant"]]),
              "covered_per_day": round(cover[r["variant"]], 2), "covered_share": round(cover[r["variant"]] / total, 4),
              **{k: r[k] for k in ("stage", "n", "mean", "ci_low", "ci_high", "diff", "diff_ci_low", "diff_ci_high")}}
             for r in conf.rows]
    text = _scenario_text(scenario, siting.built_overrides(city, ids["chosen"]),
                          skip=() if args.days is not None else ("run.days",))
    fig = siting_map(city, [int(problem.candidates[j]) for j in sorted(chosen, key=lambda j: rank[int(problem.candidates[j])])],
                     problem.covered_by(chosen), args.coverage_min,
                     f"{scenario.name}, seed {scenario.run.seed}: city as built from that seed")
    wrote = [atomic_write(out / "sited.toml", text), atomic_write(out / "sites.csv", _csv(site_rows)),
             atomic_write(out / "order.csv", _csv(order_rows)), atomic_write(out / "siting.csv", _csv(table)),
             save_figure(fig, out / "siting_map.png")]

    print(f"\nchosen ({args.subcenters}): " + ", ".join(f"{r['subcenter']} {r['division']}" for r in site_rows))
    print(f"covered work orders a day (of {total:,.0f}): current {cover['current']:,.0f}, "
          f"chosen {cover['chosen']:,.0f}, random {cover['random']:,.0f}")
    print("\nsimulated share within target, mean [95% CI]; diff = paired difference vs current (points)")
    print_table([
        ("stage", lambda r: r["stage"]),
        ("variant", lambda r: r["variant"]),
        ("share", lambda r: number(r["mean"], True)),
        ("95% CI", lambda r: interval(r["ci_low"], r["ci_high"], True)),
        ("diff", lambda r: "" if math.isnan(r["diff"]) else number(r["diff"], True, signed=True)),
        ("diff 95% CI", lambda r: interval(r["diff_ci_low"], r["diff_ci_high"], True, signed=True)),
    ], sorted(conf.rows, key=lambda r: list(dict.fromkeys(x["stage"] for x in conf.rows)).index(r["stage"])))
    first = order[: min(10, len(order))]
    print("\nfinish order (greedy; optimal = MILP best for that many): "
          + ", ".join(f"{s.subcenter}" for s in first) + (" ..." if len(order) > len(first) else ""))
    print_wrote(wrote)
    return 0
