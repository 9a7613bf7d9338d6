"""The staffing tuner against Erlang C, allocation between unequal units, its output file,
and clear failures."""

import subprocess
import sys

import numpy as np
import pytest

from gridsim.results.run import simulate
from gridsim.scenario import ScenarioError, load_scenario
from gridsim.analysis.theory import mmc_least_servers, mmc_wait_cdf
from gridsim.studies.tune import TargetNotJudged, TuneError, parse_target, run_tune, target_counts

from conftest import SCENARIOS

MMC = SCENARIOS / "validation_mmc.toml"


def _quiet(_msg):
    pass


@pytest.mark.parametrize("per_day,mean_min,t,share", [(288.0, 12.0, 5.0, 0.8), (576.0, 6.0, 2.0, 0.7),
                                                     (144.0, 20.0, 10.0, 0.9)])
def test_single_value_equals_erlang_c_least_servers(per_day, mean_min, t, share):
    lam, mu = per_day / 1440.0, 1.0 / mean_min
    c_star = mmc_least_servers(lam, mu, t, share)
    # the case is decidable with ~25,000 calls: theory is clear of the required share both sides
    assert mmc_wait_cdf(t, c_star, lam, mu) - share > 0.02
    assert share - mmc_wait_cdf(t, c_star - 1, lam, mu) > 0.02
    s = load_scenario(MMC, [f"demand.hotline_per_day={per_day}", f"service.hotline_help.mean_min={mean_min}",
                            "run.days=30"])
    res = run_tune(s, str(MMC), [parse_target(f"register_dispatch:{t}:{share}")], "staff.fulltime_workers",
                   reps=3, workers=1, message=_quiet)
    assert res.value == c_star
    assert res.evaluation.unit_met()
    assert res.runs_used <= 1 + 3 * 6


def _two_unit_scenario(tmp_path):
    (tmp_path / "two.csv").write_text(
        "name,name_zh,area_km2,land_area_km2,towns,streets,neighbourhood_committees,population_2020,"
        "population_estimated,ref_lat,ref_lon,ref_estimated\n"
        "Big,大,1.0,1.0,1,0,1,3000,0,31.30,120.60,0\n"
        "Small,小,1.0,1.0,1,0,1,1000,0,31.50,120.90,0\n")
    f = tmp_path / "two.toml"
    f.write_text(f"""
extends = "{MMC}"
name = "two_units"
[run]
days = 30
[city]
divisions_file = "two.csv"
population_total = 4000
subcenters = 2
subcenters_built = 2
workstations = 2
workstations_built = 2
workstations_started = 2
grids = 2
[staff]
fulltime_workers = 8
[demand]
hotline_per_day = 576.0
[surge]
divisions = ["Big"]
""")
    return f


def test_allocation_gives_each_unit_what_its_own_load_needs(tmp_path):
    f = _two_unit_scenario(tmp_path)
    s = load_scenario(f)
    mu = 1 / 12.0
    lam = {"Big": 576 * 0.75 / 1440, "Small": 576 * 0.25 / 1440}
    want = [mmc_least_servers(lam["Big"], mu, 5.0, 0.8), mmc_least_servers(lam["Small"], mu, 5.0, 0.8)]
    assert want[0] > want[1]             # unequal units
    res = run_tune(s, str(f), [parse_target("register_dispatch:5:0.8")], "staff.fulltime_workers",
                   per="division", reps=3, workers=1, message=_quiet)
    assert res.allocation == want
    assert res.value == sum(want)


def test_fixed_total_shares_staff_by_need(tmp_path):
    f = _two_unit_scenario(tmp_path)
    s = load_scenario(f)
    res = run_tune(s, str(f), [parse_target("register_dispatch:5:0.8")], "staff.fulltime_workers",
                   per="division", total=8, reps=2, workers=1, message=_quiet)
    assert sum(res.allocation) == 8
    assert res.allocation[0] > res.allocation[1]      # the big unit gets more


def _first_help_example() -> list[str]:
    from gridsim.cli.tune import EPILOG
    line = next(ln.strip() for ln in EPILOG.splitlines() if ln.strip().startswith("gridsim tune"))
    return line.split()[2:]


def test_first_help_example_succeeds_and_its_scenario_meets_the_target(tmp_path):
    """The first example of `gridsim tune --help`, as printed, run from the repository."""
    out = tmp_path / "tune"
    args = _first_help_example()
    assert args[:4] == ["scenarios/validation_mmc.toml", "--target", "register_dispatch:5:0.8", "--vary"]
    r = subprocess.run([sys.executable, "-m", "gridsim", "tune", *args, "--workers", "1", "--out", str(out)],
                       capture_output=True, text=True, cwd=SCENARIOS.parent)
    assert r.returncode == 0, r.stderr
    assert "recommended staff.fulltime_workers = 4" in r.stdout
    assert "square-root staffing rule" in r.stdout
    rec = load_scenario(out / "recommended.toml")
    assert rec.get("staff.fulltime_workers") == 4 and rec.get("run.days") == 20
    counts = {}
    for rep in range(3):
        res = simulate(rec, replication=rep, keep_hourly=False)
        for k, v in target_counts(res.events, rec, [parse_target("register_dispatch:5:0.8")], None).items():
            counts[k] = tuple(np.add(counts.get(k, (0, 0)), v))
    k, n = counts[(0, -1)]
    assert k / n > 0.8
    assert (out / "search_log.csv").read_text().count("\n") >= 3


def test_unreachable_target_is_a_clear_message_not_a_hang(tmp_path):
    s = load_scenario(MMC, ["run.days=10"])
    with pytest.raises(TuneError, match="not met even at staff.fulltime_workers=3"):
        run_tune(s, str(MMC), [parse_target("register_dispatch:0.5:0.99")], "staff.fulltime_workers",
                 reps=2, workers=1, hi_bound=3, message=_quiet)
    r = subprocess.run([sys.executable, "-m", "gridsim", "tune", str(MMC), "--target", "register_dispatch:0.5:0.99",
                        "--vary", "staff.fulltime_workers", "--max", "3", "--set", "run.days=5", "--workers", "1",
                        "--out", str(tmp_path / "t")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "not met even at" in r.stdout and "Traceback" not in r.stderr


def test_share_that_falls_as_the_key_grows_says_raising_max_will_not_help(tmp_path):
    """More calls make the wait worse: the search walks up to --max and must not advise raising it."""
    s = load_scenario(MMC, ["run.days=3", "run.warmup_hours=6"])
    with pytest.raises(TuneError) as err:
        run_tune(s, str(MMC), [parse_target("register_dispatch:5:0.8")], "demand.hotline_per_day",
                 reps=2, workers=1, hi_bound=600.0, message=_quiet)
    text = str(err.value)
    assert "not met even at demand.hotline_per_day=600" in text and "will not help" in text
    assert "raise --max," not in text
    # a share that grows with the key: raising --max is the advice
    from gridsim.studies.tune import Evaluation, _out_of_reach
    tg = [parse_target("register_dispatch:5:0.99")]
    low, high = Evaluation({(0, -1): (400, 1000)}, tg, 2), Evaluation({(0, -1): (900, 1000)}, tg, 2)
    assert "grows with the value: raise --max" in _out_of_reach(tg, "c=3", low, "c=6", high)
    assert "will not help" in _out_of_reach(tg, "c=3", high, "c=6", low)


def test_target_that_judges_no_event_is_refused_with_the_reason(tmp_path, capsys):
    """validation_mmc has routine work orders only: 'respond' judges none of them (it once recommended 0)."""
    from gridsim.cli.main import main
    s = load_scenario(MMC, ["run.days=2", "run.warmup_hours=6"])
    with pytest.raises(TargetNotJudged, match="'respond' judges 110 incidents only: this scenario has no 110 incidents"):
        run_tune(s, str(MMC), [parse_target("respond:2:0.9")], "staff.fulltime_workers", reps=2, workers=1,
                 message=_quiet)
    code = main(["tune", str(MMC), "--target", "respond:2:0.9", "--vary", "staff.fulltime_workers", "--days", "2",
                 "--set", "run.warmup_hours=6", "--reps", "2", "--workers", "1", "--out", str(tmp_path / "t")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "no 110 incidents" in err and "register_dispatch" in err and "hotline_help" not in err
    assert not (tmp_path / "t" / "recommended.toml").exists()
    # a work-order step judged on 110 incidents alone
    with pytest.raises(TargetNotJudged, match="110 incidents are not work orders"):
        run_tune(s, str(MMC), [parse_target("close:60:0.9:110")], "staff.fulltime_workers", reps=2, workers=1,
                 message=_quiet)


def test_target_with_source_filter():
    t = parse_target("register_dispatch:30:0.9:12345")
    assert (t.stage, t.minutes, t.share, t.source) == ("register_dispatch", 30.0, 0.9, "12345")
    # two days: work-order stages skip orders called in the first 24 h (run.work_order_warmup_hours)
    s = load_scenario(None, ["run.days=2"])
    horizon, warm = 2 * 1440.0, s.run.work_order_warmup_hours * 60.0
    ev = simulate(s, keep_hourly=False).events
    both = target_counts(ev, s, [parse_target("register_dispatch:30:0.9"), t], None)
    wo = ev[(ev.source == "12345") & (ev.t_call >= warm)]
    # judged: the target's 30 minutes ran out inside the run, and the order was dispatched by
    # then or is still open (a censored miss); met: dispatched within the 30 minutes
    due_inside = wo[wo.t_call + 30.0 <= horizon]
    judged = due_inside[due_inside.t_dispatch.notna() | due_inside.open]
    met = int((judged.t_dispatch <= judged.t_call + 30.0).sum())
    assert both[(1, -1)] == (met, len(judged)) and 0 < met < len(judged)
    assert both[(0, -1)][1] > both[(1, -1)][1]        # the unfiltered target also judges patrol-found hazards


@pytest.mark.parametrize("text", ["on_scene:5", "teleport:5:0.9", "on_scene:x:0.9", "on_scene:5:1.5",
                                  "on_scene:5:0.9:119"])
def test_bad_targets(text):
    with pytest.raises(ScenarioError):
        parse_target(text)
    r = subprocess.run([sys.executable, "-m", "gridsim", "tune", "--target", text, "--vary", "staff.police_units"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "--target" in r.stderr


def test_parallel_executor_gives_the_same_search():
    s = load_scenario(MMC, ["run.days=10"])
    args = dict(reps=2, message=_quiet)
    serial = run_tune(s, str(MMC), [parse_target("register_dispatch:5:0.8")], "staff.fulltime_workers",
                      workers=1, **args)
    procs = run_tune(s, str(MMC), [parse_target("register_dispatch:5:0.8")], "staff.fulltime_workers",
                     workers=2, **args)
    assert serial.value == procs.value
    assert [r["register_dispatch.share"] for r in serial.log] == [r["register_dispatch.share"] for r in procs.log]
