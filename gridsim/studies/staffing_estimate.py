"""The tuner's analytic starting point: each unit's load from one pilot run, then Erlang C and
the square-root staffing rule per unit (M/M/c), which the simulation search refines."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gridsim.analysis.theory import halfin_whitt_beta, mmc_least_servers
from gridsim.results.run import simulate
from gridsim.scenario import Scenario
from gridsim.studies.targets import Target


@dataclass
class UnitLoad:
    """Measured per-unit load: arrival rate (per min), mean busy time per task (min)."""

    lam: np.ndarray
    mean_service: np.ndarray
    allowance: float           # minutes of the target left for waiting in queue


def measure_load(scenario: Scenario, role: str, target: Target, unit: str) -> UnitLoad:
    """One pilot run at the current staffing: each unit's task rate and busy time per task."""
    res = simulate(scenario, replication=0, keep_hourly=False)
    ev = res.events
    warm = scenario.run.warmup_hours * 60.0
    span = scenario.run.days * 1440.0 - warm
    fam = ev[(ev.source == "110") if role == "police" else (ev.source != "110")]
    fam = fam[(fam.t_ready >= warm) & fam.t_done.notna()]
    n_units = {"division": len(scenario.divisions), "subcenter": scenario.city.subcenters,
               "workstation": scenario.city.workstations}[unit]
    col = {"division": "division", "subcenter": "subcenter_id", "workstation": "workstation_id"}[unit]
    codes = fam[col].cat.codes.to_numpy() if unit == "division" else fam[col].to_numpy()
    busy = (fam.t_done - fam.t_dispatch).to_numpy()
    # tasks the records do not show (support, cordon, verification, co-response) scale the load
    roles_busy = sum(u["busy_hours"] for r, u in res.summary["utilisation"].items()
                     if (r == "police") == (role == "police"))
    scale = (roles_busy * 60.0 / busy.sum()) if busy.sum() > 0 and roles_busy else 1.0
    counts = np.bincount(codes, minlength=n_units).astype(float)
    busy_sum = np.bincount(codes, weights=busy, minlength=n_units)
    lam = counts / span
    mean_s = np.where(counts > 0, busy_sum * scale / np.maximum(counts, 1), np.nan)
    # the part of the target not spent waiting: ready delay, turnout, travel (median)
    stage_end = {"respond": "t_dispatch", "on_scene": "t_arrive"}.get(target.stage, "t_dispatch")
    fixed = (fam[stage_end] - fam.t_call) - (fam.t_dispatch - fam.t_ready)
    allowance = max(0.0, target.minutes - float(np.nanmedian(fixed))) if len(fixed) else target.minutes
    return UnitLoad(lam=lam, mean_service=mean_s, allowance=allowance)


def erlang_estimate(load: UnitLoad, share: float) -> np.ndarray:
    """Least servers per unit with P(wait <= allowance) >= share (M/M/c per unit)."""
    out = np.zeros(len(load.lam), dtype=int)
    for u, (lam, s) in enumerate(zip(load.lam, load.mean_service)):
        if lam > 0 and s > 0 and np.isfinite(s):
            out[u] = mmc_least_servers(lam, 1.0 / s, load.allowance, share)
    return out


def sqrt_staffing(load: UnitLoad, share: float) -> np.ndarray:
    """Square-root staffing per unit: ceil(a + beta sqrt(a)), beta from P(wait) = 1 - share."""
    beta = halfin_whitt_beta(1.0 - share)
    a = np.where(np.isfinite(load.mean_service), load.lam * np.nan_to_num(load.mean_service), 0.0)
    return np.where(a > 0, np.ceil(a + beta * np.sqrt(a) - 1e-9), 0).astype(int)
