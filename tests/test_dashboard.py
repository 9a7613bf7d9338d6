"""The dashboard without a browser: controls as overrides, the stepped model, the panels'
figures, the experiment comparison, and the command's port and host handling."""

from __future__ import annotations

import math
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from gridsim.cli.main import main
from gridsim.domain import TARGET_STAGES
from gridsim.engine.model import CityModel
from gridsim.results.table import events_table
from gridsim.scenario import ScenarioError, load_scenario
from gridsim.viz.dashboard import compare, panels
from gridsim.viz.dashboard.controls import Controls
from gridsim.viz.dashboard.live import LiveModel, clock_text


@pytest.fixture(scope="module")
def stepped():
    """The built-in baseline stepped three hours."""
    m = LiveModel()
    for _ in range(3):
        m.step()
    return m


def test_controls_round_trip_the_scenario():
    base = load_scenario()
    c = Controls.from_scenario(base)
    assert (c.police_units, c.seed, c.days, c.surge_division) == (base.staff.police_units, base.run.seed, 1, "")
    spec = load_scenario(None, c.overrides(base))
    assert spec.staff == base.staff and spec.city == base.city and not spec.surge.enabled
    moved = c.changed(police_units=900, full_build=True, surge_division="Kunshan", surge_multiplier=2.5,
                      surge_hours=6.0)
    spec = load_scenario(None, moved.overrides(base))
    assert spec.staff.police_units == 900 and spec.run.seed == base.run.seed
    assert spec.city.subcenters_built == base.city.subcenters
    assert spec.city.workstations_built == spec.city.workstations_started == base.city.workstations
    assert spec.surge.enabled and spec.surge.divisions == ("Kunshan",)
    assert (spec.surge.multiplier, spec.surge.duration_hours) == (2.5, 6.0)


@pytest.mark.parametrize("change, words", [({"police_units": -5}, "staff.police_units"),
                                           ({"surge_division": "Atlantis"}, "unknown division 'Atlantis'")])
def test_a_bad_control_is_refused_with_the_scenarios_message(change, words):
    c = Controls.from_scenario(load_scenario()).changed(**change)
    with pytest.raises(ScenarioError) as exc:
        LiveModel(None, c)
    assert words in str(exc.value) and "\n" not in str(exc.value)


def test_steps_are_hours_and_add_up_to_the_uninterrupted_run():
    spec = load_scenario(None, ["run.days=1"])
    live = LiveModel(None, Controls.from_scenario(spec).changed(days=1))
    live.step()
    assert live.clock == 60.0 and live.steps == 1 and clock_text(live.clock) == "day 1 01:00"
    live.run_to_end()
    assert live.finished and not live.running and live.clock == 1440.0
    assert len(live.samples) == 25 and [s["hour"] for s in live.samples] == list(range(25))
    whole = CityModel(spec)
    whole.run_events()
    a, b = events_table(live.city_model), events_table(whole)
    assert len(a) == len(b)
    np.testing.assert_array_equal(a["t_arrive"].to_numpy(), b["t_arrive"].to_numpy())


def test_a_control_change_keeps_the_seed_and_the_calls():
    base = Controls.from_scenario(load_scenario())
    a, b = LiveModel(None, base), LiveModel(None, base.changed(police_units=700))
    a.step()
    b.step()
    ta, tb = a.snapshot().events, b.snapshot().events
    np.testing.assert_array_equal(ta["t_call"].to_numpy(), tb["t_call"].to_numpy())   # same calls
    assert b.snapshot().counters["police_units"] < a.snapshot().counters["police_units"]


def test_snapshot_counts_and_judges_only_decided_events(stepped):
    snap = stepped.snapshot()
    assert snap.clock_min == 180.0 and snap is stepped.snapshot()             # cached until the clock moves
    assert snap.counters["events"] == len(snap.events) > 0
    assert snap.events["t_call"].max() <= 180.0
    for stage in TARGET_STAGES:
        live = snap.stages[stage]
        called = snap.events.set_index("event_id").loc[live.event_ids, "t_call"]
        assert (called <= 180.0 - live.limit_min).all()
        if live.n:
            lo, hi = live.interval
            assert lo <= live.share <= hi and live.met == int(live.met_mask.sum())
            assert not live.met_mask[~np.isfinite(live.elapsed)].any()
    assert list(snap.hourly["hour"]) == [0, 1, 2, 3]
    util = snap.hourly["util.police"].to_numpy()[1:]        # hour 0: before the first shift starts
    assert np.all((util > 0) & (util <= 1))
    assert snap.police_busy.sum() == snap.counters["police_busy"]


def test_panels_draw_the_snapshot(stepped):
    snap, city = stepped.snapshot(), stepped.city_model.city
    for metric in panels.GRID_METRICS:
        fig = panels.city_map(snap, city, metric)
        ax = fig.axes[0]
        assert metric in ax.get_title() and "day 1 03:00" in ax.get_title()
        labels = {t.get_text() for t in ax.get_legend().get_texts()}
        assert {"police unit busy", "police unit idle", "sub-center built"} <= labels
    values, _ = panels.GRID_METRICS["events so far"](snap, city)
    assert values.sum() == len(snap.events)
    share, label = panels.GRID_METRICS["on scene within target"](snap, city)
    assert "on scene <= 5 min" in label and np.nanmax(share) <= 1.0
    ecdf = panels.live_ecdfs(snap).axes[0]
    assert sorted(round(line.get_xdata()[0], 3) for line in ecdf.lines if line.get_linestyle() == "--") \
        == [3.0, 5.0, 15.0, 30.0]
    legend = " ".join(t.get_text() for t in ecdf.get_legend().get_texts())
    assert "% met [" in legend
    q = panels.queues_and_utilisation(snap)
    assert len(q.axes[1].lines) == 4 and list(q.axes[0].lines[0].get_xdata()) == [0, 1, 2, 3]


def test_ecdf_points_keep_unreached_events_below_one():
    x, y = panels.ecdf_points(np.array([1.0, 2.0, math.inf, 4.0]))
    assert list(x) == [1.0, 2.0, 4.0] and y[-1] == 0.75


# ------------------------------------------------------------------------------ experiment page

@pytest.fixture(scope="module")
def experiment_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("exp")
    (root / "exp.toml").write_text(textwrap.dedent("""\
        name = "dash"
        base = "suzhou_2018"
        replications = 2
        days = 1
        seed = 7
        [[variants]]
        name = "as_built"
        [[variants]]
        name = "more_police"
        [variants.set]
        "staff.police_units" = 1400
        """))
    out = root / "out"
    assert main(["batch", str(root / "exp.toml"), "--out", str(out), "--keep-events", "--quiet",
                 "--workers", "1"]) == 0
    return out


def test_comparison_of_an_experiment(experiment_dir):
    cmp = compare.open_experiment(experiment_dir)
    assert cmp.variants == ["as_built", "more_police"] and cmp.baseline == "as_built"
    shares = cmp.shares("on_scene")
    assert list(shares["variant"]) == cmp.variants and (shares["low"] <= shares["share"]).all()
    diff = cmp.differences("on_scene")
    runs = cmp.data.ok.set_index(["variant", "replication"])["on_scene.share"]
    expected = (runs["more_police"] - runs["as_built"]).mean()
    assert diff["difference"].iloc[0] == pytest.approx(expected) and expected > 0   # more units: more on time
    assert cmp.ecdf("respond", "as_built").shape == (121,)
    values = cmp.difference_map_values("more_police")
    assert values is not None and np.nanmean(values) > 0
    fig = compare.variant_ecdfs(cmp)
    assert len(fig.axes[0].get_lines()) >= 2
    assert compare.difference_map(cmp, "more_police", cmp.city()) is not None
    assert "difference from as_built" in compare.shares_and_differences(cmp).axes[1].get_title()


def test_comparison_refuses_a_run_or_nothing(tmp_path, experiment_dir):
    with pytest.raises(ValueError, match="neither a run directory"):
        compare.open_experiment(tmp_path)
    with pytest.raises(ValueError) as exc:                     # a kept run folder is no experiment
        compare.open_experiment(experiment_dir / "runs" / "as_built" / "rep0")
    assert "\n" not in str(exc.value) and "rep0" in str(exc.value)


# ------------------------------------------------------------------------------ the command

def test_port_in_use_is_one_line_and_status_2(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        assert main(["dashboard", "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"--port {port}: cannot listen on 127.0.0.1:{port}" in err


def test_defaults_are_loopback_and_a_bad_scenario_fails_first(capsys, tmp_path):
    from gridsim.cli.main import build_parser
    args = build_parser().parse_args(["dashboard"])
    assert args.host == "127.0.0.1"
    assert main(["dashboard", str(tmp_path / "nope.toml")]) == 2
    assert "nope.toml" in capsys.readouterr().err


def test_dashboard_help_lists_the_command():
    out = subprocess.run([sys.executable, "-m", "gridsim", "dashboard", "--help"], capture_output=True,
                         text=True, check=True).stdout
    assert "--host" in out and "127.0.0.1" in out
