"""Every stage label and threshold in figures and the report follows the scenario's targets."""

from __future__ import annotations

import functools
import math
from html import escape as html_escape


from gridsim.domain import TARGET_KEY, TARGET_STAGES, stage_label
from gridsim.results.loaders import RunData
from gridsim.results.run import simulate
from gridsim.scenario import load_scenario
from gridsim.viz import divisions, ecdf, hourly, labels, report, style

TARGETS = {"response_min": 4, "on_scene_min": 7, "support_min": 20, "cordon_min": 45}


@functools.lru_cache(maxsize=None)
def _run() -> RunData:
    scen = load_scenario(None, ["run.days=1"] + [f"targets.{k}={v}" for k, v in TARGETS.items()])
    return RunData.from_result(simulate(scen, keep_hourly=False), scen)


def test_labels_from_targets():
    assert labels.metric_title("on_scene.share", TARGETS) == "on scene <= 7 min"   # no rural limit given here
    assert labels.metric_title("110.respond.share", TARGETS) == "110 only: respond <= 4 min"
    assert labels.metric_title("support.p90", TARGETS) == "regional support: p90"
    assert labels.metric_title("close.share", TARGETS) == "WO closed in limit"
    assert labels.metric_title("util.leader", TARGETS) == "busy share: grid leaders"
    assert labels.stage_limit_text("cordon", TARGETS) == "(<= 45 min)"
    assert labels.stage_limit_text("verify", TARGETS) == "(within its deadline)"


def test_figures_and_report_follow_the_scenario():
    run = _run()
    assert {k: run.targets[k] for k in TARGETS} == TARGETS
    fig = ecdf.ecdf_run(run)
    for ax, stage in zip(fig.axes, TARGET_STAGES):
        x = TARGETS[TARGET_KEY[stage]]
        target_lines = [ln for ln in ax.get_lines() if ln.get_color() == style.TARGET_COLOR and ln.get_linestyle() == "--"]
        assert [float(ln.get_xdata()[0]) for ln in target_lines] == [x]
        legend = ax.get_legend_handles_labels()[1]
        assert f"target {x} min" in legend and "required 90%" in legend
    titles = [ax.get_title(loc="left").strip() for ax in divisions.divisions_run(run).axes]
    on_scene = stage_label("on_scene", run.targets)          # 'on scene <= 7 / 10 min': urban / rural limits
    assert on_scene.startswith("on scene <= 7")
    assert titles == ["respond <= 4 min", on_scene, "regional support <= 20 min", "cordon <= 45 min"]
    assert hourly.hourly_run(run).axes[1].get_ylabel() == f"share {on_scene}"
    html = report.run_report_html(run, kinds=["ecdf"])
    assert html_escape(on_scene) in html and "Respond: call to unit dispatched (&lt;= 4 min)" in html
    assert not any(f"&lt;= {old} min" in html for old in (3, 5, 15, 30))


def test_ecdf_panels_share_matches_targets():
    run = _run()
    judged = run.elapsed("on_scene")             # each event against its own limit (7 min urban here)
    share = float(judged["met"].mean())
    shown = [t.get_text() for t in ecdf.ecdf_run(run).axes[1].texts if "within" in t.get_text()]
    assert shown and shown[0].startswith(f"{100 * share:.1f}% within 7") and not math.isnan(share)
