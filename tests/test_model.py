"""The simulation core: records, shifts, calibration, Little's law, paired common sense,
determinism and common random numbers."""

import functools
import gc
import weakref

import numpy as np
import pandas as pd
import pytest

from gridsim.city import build_city
from gridsim.engine.demand import NO_TRANSFER, generate_demand, hourly_rate
from gridsim.analysis.metrics import paired_difference_ci
from gridsim.engine.model import CityModel, run_streams
from gridsim.results.table import COLUMNS, events_table
from gridsim.results.io import write_parquet
from gridsim.results.run import simulate
from gridsim.scenario import load_scenario
from gridsim.engine.shifts import shift_intervals

from conftest import SCENARIOS


@functools.lru_cache(maxsize=None)
def _run(overrides: tuple = (), ref=None, replication: int = 0):
    s = load_scenario(ref, list(overrides))
    return s, simulate(s, replication=replication)


GRID_ROLES = {"fulltime", "leader", "parttime"}


def _ordered(df, pairs):
    for a, b in pairs:
        both = df[a].notna() & df[b].notna()
        assert both.any(), (a, b)
        assert (df.loc[both, b] >= df.loc[both, a] - 1e-9).all(), (a, b)


def test_records_have_every_column_and_ordered_stage_times():
    s, res = _run()
    df = res.events
    assert list(df.columns) == list(COLUMNS)
    assert df["event_id"].tolist() == list(range(len(df)))
    # rows are in t_call order, except hazards: in onset order (t_call is when a patrol found one)
    hazard = (df.source == "grid").to_numpy()
    assert (np.diff(np.where(hazard, df.t_onset, df.t_call)) >= 0).all()
    assert df.loc[hazard, "t_onset"].notna().all() and df.loc[~hazard, "t_onset"].isna().all()
    assert (df.loc[hazard, "t_ready"] == df.loc[hazard, "t_onset"]).all()        # a hazard is latent from its onset
    # stage times are ordered wherever both exist
    calls, hazards = df[~hazard], df[hazard]
    _ordered(calls, [("t_first_call", "t_call"), ("t_call", "t_ready"), ("t_ready", "t_dispatch")])
    _ordered(calls[calls.source == "12345"], [("t_call", "t_answer"), ("t_answer", "t_ready")])
    _ordered(hazards, [("t_onset", "t_call"), ("t_call", "t_dispatch")])
    _ordered(df, [("t_dispatch", "t_arrive"), ("t_arrive", "t_done"), ("t_done", "t_report"), ("t_report", "t_verify"),
                  ("t_verify", "t_close"), ("t_report", "t_close"), ("t_call", "t_support"), ("t_call", "t_cordon")])
    police = df[df.source == "110"]
    assert set(police.loc[police.t_dispatch.notna(), "responder_role"]) == {"police"}
    assert set(police.handled_level) == {"police"} and (police.handler == "").all()
    wo = df[df.source != "110"]
    by_grid = wo[wo.handler == "grid"]
    assert set(by_grid.loc[by_grid.t_arrive.notna(), "responder_role"]) <= GRID_ROLES
    by_department = wo[wo.handler != "grid"]
    assert len(by_department) > 0 and (by_department.responder_role == "").all()   # the department has no responder
    assert by_department.t_arrive.isna().all() and (by_department.handler != "").all()
    assert police["t_report"].isna().all() and wo["t_support"].isna().all()
    # support / cordon times exist only where needed
    assert df.loc[df.needs_support == 0, "t_support"].isna().all()
    assert df.loc[df.needs_cordon == 0, "t_cordon"].isna().all()
    # open events are kept, marked, and have no close time; nothing after the horizon
    horizon = s.run.days * 1440
    assert df["open"].sum() > 0 and df.loc[df.open, "t_close"].isna().all()
    for col in [c for c in df.columns if c.startswith("t_")]:
        assert not (df[col] > horizon).any()
    # a hazard no patrol has found yet is open; one fixed on the spot was never routed
    assert hazards.t_call.isna().any() and hazards.loc[hazards.t_call.isna(), "open"].all()
    fixed = df[df.fixed_on_spot]
    assert len(fixed) > 0 and (fixed.source == "grid").all() and (fixed.handled_level == "").all()
    assert (fixed.t_dispatch == fixed.t_call).all() and fixed.t_verify.isna().all()
    # co-response: only linkage categories, only 110
    co = df[df.t_coarrive.notna()]
    assert len(co) > 0 and set(co.category) <= {"dispute", "police_help"} and (co.source == "110").all()
    assert set(co.coresponder_role) <= GRID_ROLES


def test_nobody_dispatched_off_shift():
    s, res = _run()
    df = res.events
    horizon = s.run.days * 1440
    for role in ("fulltime", "leader", "parttime"):
        ivs = shift_intervals(s, role, horizon)
        t = df.loc[(df.responder_role == role) & (df.source != "110"), "t_dispatch"].to_numpy()
        assert len(t) > 0, role
        inside = np.zeros(len(t), bool)
        for a, b in ivs:
            inside |= (t >= a) & (t <= b)
        assert inside.all(), role


def test_urgent_before_routine_in_a_grid_queue():
    """Orders waiting overnight: at shift start urgent ones are dispatched first."""
    s, res = _run()
    df = res.events
    # orders a grid worker handles (minor matters): t_dispatch is when a worker takes one; they
    # enter the system when filed (12345) or found (hazards: t_call after the onset in t_ready)
    wo = df[(df.source != "110") & (df.handler == "grid")]
    entered = np.maximum(wo.t_call, wo.t_ready)
    morning = wo[wo.t_dispatch == 8.5 * 60]
    # among the orders taken at the very start of the shift, in each grid no routine order
    # went before an urgent one that was waiting in the same grid
    waiting = wo[(entered < 8.5 * 60) & (wo.t_dispatch > 8.5 * 60)]
    late_urgent = waiting[waiting.priority == "urgent"]
    served_routine = morning[morning.priority == "routine"]
    clash = set(late_urgent.grid_id) & set(served_routine.grid_id)
    assert len(morning) > 0 and (morning.priority == "urgent").any()
    assert not clash


def test_calibration_110_volume_and_mix_over_30_days():
    """Source: 2,318,000 valid incidents in 181 days; mix 5.2/12.3/26.2/51.2/5.1 %."""
    s = load_scenario(None, ["run.days=30"])
    city = build_city(s)
    d = generate_demand(s, city, run_streams(s.run.seed, 0), 30 * 1440)
    police = d.source == 0
    per_day = police.sum() / 30
    assert per_day == pytest.approx(2_318_000 / 181, rel=0.01)
    names = np.array(d.category_names)[d.category[police]]
    for cat, share in {"crime": 0.052, "dispute": 0.123, "traffic": 0.262, "police_help": 0.512,
                       "police_other": 0.051}.items():
        # tolerance 0.5 percentage points: > 10 binomial standard errors for ~384,000 incidents
        assert (names == cat).mean() == pytest.approx(share, abs=0.005), cat
    # 12345: ~27,600 direct calls a day (source; the day-of-week profile over 30 days from a Monday,
    # within Poisson noise), besides the 110 calls handed over
    h = d.hotline
    calls, direct = int(h.calls.sum()), int(h.calls.sum() - h.from_110.sum())
    expected = hourly_rate(s, "hotline", 27_600, 30 * 24).sum()
    assert abs(direct - expected) < 4 * np.sqrt(expected) and direct / 30 == pytest.approx(27_600, rel=0.015)
    # first contact: the categories' shares of calls not handed to 110, and 68.4 % of all calls
    # (Jiangsu 2024, the figure the shares are calibrated to)
    p = sum(c.share * c.first_contact_share for c in s.categories_of("12345").values())
    resolved, asked = int(h.first_contact.sum()), calls - int(h.to_110.sum())
    assert abs(resolved / asked - p) < 4 * np.sqrt(p * (1 - p) / asked)
    assert resolved / calls == pytest.approx(0.684, abs=0.005)


def test_littles_law_on_the_baseline():
    """Mean 110 incidents in the dispatch system (time average kept by the event loop) equals
    arrival rate x mean time from ready to the first unit freeing (from the records: the end of
    on-scene handling, earlier by police_released where a grid worker mediated)."""
    s, res = _run(("run.days=3",))
    df = res.events
    horizon, warm = 3 * 1440.0, s.run.warmup_hours * 60
    sel = df[(df.source == "110") & (df.t_ready >= warm) & (df.t_ready < horizon)]
    lam = len(sel) / (horizon - warm)
    assert sel.police_released.notna().sum() > 100                        # mediation releases units early
    W = ((sel.t_done - sel.police_released.fillna(0.0)).fillna(horizon) - sel.t_ready).mean()
    L = res.summary["queues"]["incidents_110_in_system_mean"]
    assert L == pytest.approx(lam * W, rel=0.02)


def test_same_seed_gives_byte_identical_events(tmp_path):
    s = load_scenario()
    a, b = simulate(s), simulate(s)
    write_parquet(a.events, tmp_path / "a.parquet")
    write_parquet(b.events, tmp_path / "b.parquet")
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    c = simulate(s, seed=99)
    assert len(c.events) != len(a.events) or not np.array_equal(c.events.t_call, a.events.t_call)


def test_common_random_numbers_across_staffing():
    """Same replication, different staffing: identical 110 and 12345 calls and identical hazards
    (onsets, places, categories); only when patrols find the hazards may differ."""
    _, base = _run()
    _, more = _run(("staff.fulltime_workers=14000",))
    for src, time_col in (("110", "t_call"), ("12345", "t_call"), ("grid", "t_onset")):
        a = base.events[base.events.source == src]
        b = more.events[more.events.source == src]
        assert len(a) > 0
        assert np.array_equal(a[time_col].to_numpy(), b[time_col].to_numpy()), src
        assert np.array_equal(a.grid_id.to_numpy(), b.grid_id.to_numpy()), src
        assert np.array_equal(a.category.to_numpy(), b.category.to_numpy()), src
        assert np.array_equal(a.handler.to_numpy(), b.handler.to_numpy()), src
    hz_a, hz_b = (r.events[r.events.source == "grid"] for r in (base, more))
    assert not np.array_equal(hz_a.t_call.to_numpy(), hz_b.t_call.to_numpy())     # more walkers find sooner
    # another replication differs
    _, rep1 = _run(replication=1)
    assert not np.array_equal(rep1.events.t_call.to_numpy()[:100], base.events.t_call.to_numpy()[:100])


def _minor_on_scene(res, horizon=1440.0):
    """Mean minutes from the 12345 call to a grid worker on scene, for the minor matters grid
    workers handle (the same orders in every variant: common random numbers); an order not yet
    reached counts until the end of the run."""
    df = res.events
    wo = df[(df.source == "12345") & (df.handler == "grid") & (df.t_call >= 240)]
    return (wo.t_arrive.fillna(horizon) - wo.t_call).mean()


def _time_to_discovery(res, horizon=1440.0):
    """Mean minutes from a hazard's onset to a patrol finding it (not found: until the end)."""
    df = res.events
    hz = df[(df.source == "grid") & (df.t_onset >= 240)]
    return (hz.t_call.fillna(horizon) - hz.t_onset).mean()


def test_more_fulltime_workers_never_slower_paired():
    """More full-time workers walk more patrol time: hazards are found sooner; the minor matters
    they handle reach the scene no later by any margin that matters (earlier finds also add work
    to the workstation dispatchers, so the paired difference may be slightly positive)."""
    runs = [(_run((), replication=r)[1], _run(("staff.fulltime_workers=14000",), replication=r)[1]) for r in range(3)]
    base, more = ([_time_to_discovery(pair[k]) for pair in runs] for k in (0, 1))
    diff, lo, hi = paired_difference_ci(base, more)
    assert hi < 0                       # found sooner, beyond the replications' noise
    base, more = ([_minor_on_scene(pair[k]) for pair in runs] for k in (0, 1))
    diff, lo, hi = paired_difference_ci(base, more)
    assert hi < 0.05 * np.mean(base)    # and not worse on scene by any margin


def test_full_build_not_slower_than_2018():
    """Every sub-center and workstation built: each order is routed by its own offices (no
    division centre doing an unbuilt sub-center's step with its few dispatchers), so the routing
    time that emerges from the offices' queues is shorter for the same orders (same seed, same
    calls), and the same minor matters reach the scene no later on average."""
    _, base = _run()
    _, full = _run((), SCENARIOS / "suzhou_2018_full_build.toml")
    b, f = base.events, full.events
    assert np.array_equal(b.source, f.source) and np.array_equal(b.handler, f.handler)    # the same orders
    routed = lambda df, handler: set(df.loc[(df.source != "110") & handler(df.handler), "handled_level"]) - {""}  # noqa: E731
    grid, department = (lambda h: h == "grid"), (lambda h: h != "grid")
    assert routed(f, grid) == {"workstation"} and routed(f, department) == {"subcenter"}
    assert {"subcenter", "division"} <= routed(b, grid) and {"subcenter", "division"} <= routed(b, department)
    # routing time: filed to handed to the department office, paired on the same 12345 orders
    dept = ((b.source == "12345") & (b.handler != "grid") & b.t_dispatch.notna() & f.t_dispatch.notna()
            & (b.t_call >= 240))
    assert dept.sum() > 1000
    assert (f.t_dispatch - f.t_ready)[dept].mean() < (b.t_dispatch - b.t_ready)[dept].mean()
    # ... and the same minor matters reach the scene no later on average
    assert _minor_on_scene(full) <= _minor_on_scene(base)


def test_surge_multiplies_volume_in_its_division_and_window():
    s0 = load_scenario()
    s1 = load_scenario(None, ["surge.enabled=true", "surge.multiplier=3.0", "surge.start_hour=8.0",
                              "surge.duration_hours=6.0", "surge.divisions=['Kunshan']"])
    city = build_city(s0)

    def count(s, div_in, window):
        d = generate_demand(s, city, run_streams(2018, 0), 1440)
        k = city.division_names.index("Kunshan")
        in_div = (city.grid_div[d.grid] == k) == div_in
        in_win = (d.t_call >= 480) & (d.t_call < 840)
        direct = (d.source == 0) & (d.transfer == NO_TRANSFER)
        return int((in_div & (in_win == window) & direct).sum())

    # Kunshan direct 110 calls in the window: ~3x; elsewhere and outside the window: unchanged (CRN).
    # (Police matters handed over by 12345 are left out: a 12345 surge adds calls to the one answer
    # queue and to the stream's draws in arrival order, so hand-overs elsewhere shift too.)
    assert count(s1, True, True) == pytest.approx(3 * count(s0, True, True), rel=0.15)
    assert count(s1, False, True) == count(s0, False, True)
    assert count(s1, True, False) == count(s0, True, False)

    def elsewhere(s):
        d = generate_demand(s, city, run_streams(2018, 0), 1440)
        keep = (d.source == 0) & (d.transfer == NO_TRANSFER) & (city.grid_div[d.grid] != city.division_names.index("Kunshan"))
        return d.t_call[keep], d.category[keep]

    for a, b in zip(elsewhere(s0), elsewhere(s1)):
        np.testing.assert_array_equal(a, b)              # the very same calls, not just as many


def test_zero_travel_mode():
    _, res = _run(("travel.mode=zero",))
    df = res.events[res.events.t_arrive.notna()]
    assert np.allclose(df.t_arrive, df.t_dispatch)


def test_model_is_garbage_collected():
    s = load_scenario(None, ["run.days=1"])
    m = CityModel(s)
    m.run_events()
    m.release()
    ref = weakref.ref(m)
    del m
    gc.collect()
    assert ref() is None


def test_category_can_lean_urban_without_changing_the_mix():
    s0 = load_scenario()
    s1 = load_scenario(None, ["categories.crime.urban_weight=4.0", "categories.traffic.urban_weight=0.25"])
    city = build_city(s0)
    d0 = generate_demand(s0, city, run_streams(2018, 0), 3 * 1440)
    d1 = generate_demand(s1, city, run_streams(2018, 0), 3 * 1440)
    names = d0.category_names
    assert np.array_equal(d0.category, d1.category)          # same mix, same events
    for cat, lean in (("crime", 1), ("traffic", -1), ("police_help", 0)):
        c = names.index(cat)
        u0 = city.grid_urban[d0.grid[d0.category == c]].mean()
        u1 = city.grid_urban[d1.grid[d1.category == c]].mean()
        if lean == 0:
            assert u1 == u0
        else:
            assert (u1 - u0) * lean > 0.05, (cat, u0, u1)


def test_cli_run_bad_out_dir_is_one_line_exit_2(tmp_path):
    import subprocess
    import sys
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = subprocess.run([sys.executable, "-m", "gridsim", "run", "--out", str(blocker / "sub")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"--out {blocker / 'sub'}: cannot write there" in r.stderr
    assert blocker.read_text() == "x"            # nothing already there is touched


def test_stepping_an_hour_at_a_time_gives_the_same_run():
    """The dashboard steps the model; parts must add up to one uninterrupted run."""
    s = load_scenario(None, ["run.days=1"])
    city = build_city(s)
    whole = CityModel(s, city=city)
    whole.run_events()
    stepped = CityModel(s, city=city)
    seen = []
    for h in range(1, 25):
        stepped.advance_to(h * 60.0)
        seen.append(stepped.clock)
        if h == 12:      # a mid-run snapshot: nothing after the clock, the run itself undisturbed
            mid = events_table(stepped, until=stepped.clock)
            assert mid["t_call"].max() <= 720.0 and (mid["t_close"].dropna() <= 720.0).all()
            assert mid["open"].sum() > 0
    assert seen[-1] == 1440.0 and stepped.finished
    assert stepped.events_processed == whole.events_processed
    pd.testing.assert_frame_equal(events_table(stepped), events_table(whole))


def test_police_busy_share_is_taken_over_rostered_unit_hours():
    s = load_scenario(None, ["run.days=1"])
    m = CityModel(s)
    m.run_events()
    u = m.run_stats()["utilisation"]["police"]
    counts = m.police_fleet.on_duty_count.sum(axis=0)
    expected_hours = sum(counts[h] for h in range(4, 24))           # warm-up 4 h, one day
    assert u["on_duty_hours"] == pytest.approx(expected_hours, rel=1e-9)
    assert u["on_duty_hours"] < u["responders"] * 20                # fewer than all units all day
    m.release()
