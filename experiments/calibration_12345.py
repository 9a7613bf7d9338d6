"""Calibrate the 12345 seat roster: answer waits against Jiangsu 2024 (13.4 s mean, 95.25 % in 30 s).

    python experiments/calibration_12345.py --days 7                 # the scenario's [hotline] roster
    python experiments/calibration_12345.py --days 7 --size 0.95     # Erlang C sizing per hour first
    python experiments/calibration_12345.py --set hotline.talk.mean_min=3.5

Only the call centre is simulated: the baseline's 12345 calls (demand.hotline_per_day on the
hotline profile) and the 110 calls handed over to it (demand.police_per_day on the police
profile, from_110_share of them, after triage), queued FCFS for the hourly seat roster
(gridsim.engine.answer_queue) with [hotline.talk] talk-and-filing times. With --size P the roster
is first sized per hour of day by Erlang C: the least seats with P(wait <= 30 s) >= P at that
hour's rate on the busiest day run (M/M/c; talk is lognormal, so this is a start). With
--greeting-s S every caller first spends S seconds before joining the seat queue (greeting and
menu, counted in the wait to answer, as a caller experiences it): Jiangsu's 13.4 s mean together
with 95.25 % within 30 s cannot both come from a queue alone (a queue with 95 % within 30 s
averages ~3 s; one averaging 13.4 s answers ~88 % within 30 s).
Prints a Markdown table by hour of day (calls a day, seats, offered load, Erlang C's and the
simulation's mean wait and share within 30 s) and the totals; calls from the warm-up on.
"""

from __future__ import annotations

import argparse

import numpy as np

from gridsim.analysis.theory import mmc_least_servers, mmc_mean_wait, mmc_wait_cdf
from gridsim.engine.answer_queue import ANSWER_LIMIT_S, answer_calls
from gridsim.engine.demand import hourly_rate
from gridsim.engine.distributions import sample
from gridsim.scenario import Scenario, load_scenario

JIANGSU = (13.4, 95.25)     # mean wait to answer (s), % answered within 30 s (facts.md)


def hotline_arrivals(s: Scenario, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Arrival times (min) of every call reaching a 12345 seat, and the expected calls per
    simulated hour (both streams), as the model's demand draws them."""
    hours = s.run.days * 24
    dm, hl = s.demand, s.hotline
    direct = hourly_rate(s, "hotline", dm.hotline_per_day, hours)
    police_per_day = max(dm.police_per_day - dm.hotline_per_day * hl.to_110_share, 0.0) / (1.0 - hl.from_110_share)
    handed = hourly_rate(s, "police", police_per_day * hl.from_110_share, hours)
    expected = direct + handed
    t = []
    for rate in (direct, handed):
        n = rng.poisson(rate)
        t.append((np.repeat(np.arange(hours), n) + rng.random(n.sum())) * 60.0)
    t[1] = t[1] + sample(rng, s.police.triage, len(t[1]))
    return np.sort(np.concatenate(t)), expected


def erlang_roster(per_hour: np.ndarray, mean_talk: float, share: float) -> list[int]:
    """Least seats per hour of day with M/M/c P(wait <= 30 s) >= share on the busiest day run
    (the roster is the same every day; Monday has 15 % more calls than the weekly mean)."""
    lam = per_hour.reshape(-1, 24).max(axis=0) / 60.0
    return [mmc_least_servers(max(x, 1e-9), 1.0 / mean_talk, ANSWER_LIMIT_S / 60.0, share) for x in lam]


def erlang_by_hour(per_hour: np.ndarray, mean_talk: float, seats: list[int],
                   greeting_s: float) -> tuple[np.ndarray, np.ndarray]:
    """M/M/c mean wait (s) and P(wait <= 30 s) by hour of day, the greeting included, each day's
    rate in its own hour, averaged over the calls (an overloaded hour: infinite wait, share 0)."""
    lam = per_hour.reshape(-1, 24) / 60.0
    mu = 1.0 / mean_talk
    wait, within = np.zeros_like(lam), np.zeros_like(lam)
    for (d, h), x in np.ndenumerate(lam):
        stable = seats[h] > 0 and x < seats[h] * mu
        wait[d, h] = greeting_s + mmc_mean_wait(seats[h], x, mu) * 60.0 if stable else np.inf
        within[d, h] = mmc_wait_cdf((ANSWER_LIMIT_S - greeting_s) / 60.0, seats[h], x, mu) if stable else 0.0
    return (wait * lam).sum(axis=0) / lam.sum(axis=0), (within * lam).sum(axis=0) / lam.sum(axis=0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--seed", type=int, default=2018)
    ap.add_argument("--size", type=float, metavar="P", help="size the roster by Erlang C for P(wait <= 30 s) >= P")
    ap.add_argument("--greeting-s", type=float, default=0.0, metavar="S",
                    help="fixed seconds every caller spends before joining the seat queue (greeting, menu); "
                         "counted in the wait to answer")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args()
    s = load_scenario(None, [f"run.days={args.days}", f"run.seed={args.seed}", *args.set])
    rng = np.random.default_rng(args.seed)
    t, per_hour = hotline_arrivals(s, rng)
    talk = sample(rng, s.hotline.talk, len(t))
    mean_talk = s.hotline.talk.mean_min
    seats = erlang_roster(per_hour, mean_talk, args.size) if args.size else list(s.hotline.seats_hourly)
    wait = (answer_calls(t + args.greeting_s / 60.0, talk, seats) - t) * 60.0
    keep = t >= s.run.warmup_hours * 60.0
    t, wait = t[keep], wait[keep]
    hod = (t // 60).astype(int) % 24
    load = per_hour.reshape(-1, 24).mean(axis=0) / 60.0 * mean_talk
    theory_wait, theory_within = erlang_by_hour(per_hour, mean_talk, seats, args.greeting_s)
    first = int(np.ceil(s.run.warmup_hours))
    hour_days = np.bincount(np.arange(first, len(per_hour)) % 24, minlength=24)   # measured days per hour
    print("| hour | calls a day | seats | load (Erl) | Erlang C mean wait (s) | simulated mean wait (s) "
          "| Erlang C within 30 s | simulated within 30 s |")
    print("|---|---|---|---|---|---|---|---|")
    for h in range(24):
        w = wait[hod == h]
        print(f"| {h:02d} | {np.sum(hod == h) / hour_days[h]:,.0f} | {seats[h]} | {load[h]:.1f} | {theory_wait[h]:.1f} "
              f"| {w.mean():.1f} | {theory_within[h] * 100:.1f} % | {np.mean(w <= ANSWER_LIMIT_S) * 100:.1f} % |")
    print()
    print(f"seats_hourly = {seats}")
    print(f"talk: {s.hotline.talk.family}, mean {mean_talk} min, cv {s.hotline.talk.cv}; greeting {args.greeting_s:g} s; "
          f"{args.days} days, seed {args.seed}, calls from hour {s.run.warmup_hours:g} on")
    print(f"calls a day: {len(t) / (len(per_hour) - first) * 24:,.0f}; seat-hours a day: {sum(seats):,}")
    print(f"mean wait to answer: {wait.mean():.1f} s (Jiangsu 2024: {JIANGSU[0]} s); "
          f"answered within 30 s: {np.mean(wait <= ANSWER_LIMIT_S) * 100:.2f} % ({JIANGSU[1]} %); "
          f"90th / 99th percentile wait: {np.percentile(wait, 90):.0f} / {np.percentile(wait, 99):.0f} s")


if __name__ == "__main__":
    main()
