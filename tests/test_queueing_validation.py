"""The simulator against queueing theory: one grid, c full-time workers, zero travel and hop
delays, Poisson arrivals, exponential service = M/M/c. The wait (t_dispatch - t_call) must
match Erlang C: P(wait > 0) and the mean wait, over independent replications.

Tolerance: the replication mean must lie within 3 standard errors of the theory (a two-sided
test at about 0.3 %) AND within 0.03 absolute for P(wait) and 10 % relative for the mean wait.
Seeds are fixed, so the test is deterministic.
"""

import numpy as np
import pytest

from gridsim.results.run import simulate
from gridsim.scenario import load_scenario
from gridsim.analysis.theory import erlang_c, mmc_mean_wait, mmc_wait_cdf

from conftest import SCENARIOS

REPS = 6
DAYS = 60


def _replications(c: int, per_day: float, mean_min: float):
    s = load_scenario(SCENARIOS / "validation_mmc.toml",
                      [f"staff.fulltime_workers={c}", f"demand.hotline_per_day={per_day}",
                       f"service.hotline_help.mean_min={mean_min}", f"run.days={DAYS}"])
    out = []
    for r in range(REPS):
        df = simulate(s, replication=r, keep_hourly=False).events
        d = df[(df.t_call >= s.run.warmup_hours * 60) & df.t_dispatch.notna()]
        w = (d.t_dispatch - d.t_call).to_numpy()
        out.append((np.mean(w > 1e-9), w.mean(), np.mean(w <= 5.0)))
    return np.array(out)


@pytest.mark.parametrize("c,per_day,mean_min", [(3, 288.0, 12.0), (2, 144.0, 10.0), (6, 720.0, 7.0)])
def test_mmc_matches_erlang_c(c, per_day, mean_min):
    lam, mu = per_day / 1440.0, 1.0 / mean_min
    est = _replications(c, per_day, mean_min)
    mean = est.mean(axis=0)
    se = est.std(axis=0, ddof=1) / np.sqrt(REPS)
    theory = (erlang_c(c, lam / mu), mmc_mean_wait(c, lam, mu), mmc_wait_cdf(5.0, c, lam, mu))
    for k, (tol_abs, tol_rel) in enumerate([(0.03, None), (None, 0.10), (0.03, None)]):
        assert abs(mean[k] - theory[k]) <= 3 * se[k] + 1e-12, (k, mean[k], theory[k], se[k])
        if tol_abs is not None:
            assert abs(mean[k] - theory[k]) <= tol_abs
        else:
            assert abs(mean[k] - theory[k]) <= tol_rel * theory[k]
