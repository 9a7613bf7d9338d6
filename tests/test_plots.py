"""Figures and the HTML report, from a small run and a small experiment built here.

The experiment's runs.parquet is built in this module from a few `simulate()` results,
following the agreed schema (see `gridsim.results.loaders.ExperimentData`), so these tests do not depend
on the batch runner. Figures are checked through their matplotlib objects: target lines at
the right x, one curve per variant, labels with units.
"""

from __future__ import annotations

import functools
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.image import AxesImage

from gridsim.analysis.metrics import judge_replications, stage_elapsed, stage_table
from gridsim.cli.main import main
from gridsim.domain import ECDF_GRID_MIN, ROLE_LABEL, ROLES, TARGET_KEY, TARGET_STAGES, stage_label
from gridsim.results import loaders
from gridsim.results.io import decode_number
from gridsim.results.run import simulate, write_run
from gridsim.scenario import load_scenario
from gridsim.viz import (divisions, ecdf, figures, histograms, hourly, labels, maps, notes, report, staffing, style,
                         utilisation)

ROOT = Path(__file__).resolve().parents[1]
FACTOR = "staff.fulltime_workers"
VARIANTS = {"ft_half": 4658, "ft_2018": 9316}
REPS = 2


# ----------------------------------------------------------------------------- data

@functools.lru_cache(maxsize=None)
def _run():
    scen = load_scenario(None, ["run.days=1"])
    return scen, simulate(scen)


@functools.lru_cache(maxsize=None)
def _city():
    from gridsim.city import build_city
    return build_city(_run()[0])


def _row(variant: str, rep: int, scen, res) -> dict:
    """One runs.parquet row from a simulate() result, following the agreed schema."""
    s = res.summary
    row = {"experiment": "tiny", "variant": variant, "replication": rep, "seed": s["seed"], "status": "ok",
           "error": "", "wall_s": s["wall_seconds"], FACTOR: scen.get(FACTOR)}
    for stage, r in s["stages"].items():
        for f in ("n", "share", "ci_low", "ci_high", "p50", "p90", "p95", "p99"):
            row[f"{stage}.{f}"] = decode_number(r[f])
    for role, u in s["utilisation"].items():
        row[f"util.{role}"] = decode_number(u["utilisation"])
    for k, v in s["volumes"].items():
        row[f"volume.{k}"] = decode_number(v)
    for k, v in s["queues"].items():
        row[f"queue.{k}"] = decode_number(v)
    horizon, warm = s["horizon_min"], s["warmup_hours"] * 60.0
    for stage in TARGET_STAGES:
        el = np.sort(stage_elapsed(res.events, stage, s["targets"], horizon, warm)["elapsed"].to_numpy())
        row[f"ecdf.{stage}"] = ([math.nan] * len(ECDF_GRID_MIN) if len(el) == 0 else
                                list(np.searchsorted(el, ECDF_GRID_MIN, side="right") / len(el)))
    return row


@functools.lru_cache(maxsize=None)
def _experiment_rows():
    from gridsim.city import build_city
    rows, scens = [], {}
    for name, ft in VARIANTS.items():
        scen = load_scenario(None, ["run.days=1", f"{FACTOR}={ft}"])
        scens[name] = scen
        city = _city() if ft == 9316 else build_city(scen)
        for rep in range(REPS):
            rows.append(_row(name, rep, scen, simulate(scen, replication=rep, city=city, keep_hourly=False)))
    failed = {k: (math.nan if isinstance(v, float) else v) for k, v in rows[0].items()}
    failed.update(replication=REPS, status="failed", error="RuntimeError: boom", wall_s=0.1)
    for stage in TARGET_STAGES:
        failed[f"ecdf.{stage}"] = None
    rows.append(failed)
    return rows, scens


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    scen, res = _run()
    d = tmp_path_factory.mktemp("run")
    write_run(res, scen, d)
    return d


@pytest.fixture(scope="module")
def exp_dir(tmp_path_factory):
    rows, scens = _experiment_rows()
    d = tmp_path_factory.mktemp("exp")
    pd.DataFrame(rows).to_parquet(d / "runs.parquet", index=False)
    (d / "experiment.toml").write_text(
        '# a tiny test experiment\nname = "tiny"\nbase = "suzhou_2018"\nreplications = 2\ndays = 1\nseed = 2018\n'
        'metrics = ["on_scene.share", "util.fulltime"]\n\n[factors]\n"staff.fulltime_workers" = [4658, 9316]\n')
    (d / "scenarios").mkdir()
    for name, scen in scens.items():
        (d / "scenarios" / f"{name}.toml").write_text(scen.to_toml())
    pd.DataFrame([{"experiment": "tiny", "variant": v, "metric": "on_scene.share", "n": REPS, "mean": 0.5}
                  for v in VARIANTS]).to_csv(d / "summary.csv", index=False)
    return d


@pytest.fixture(scope="module")
def run_data(run_dir):
    return loaders.load_results(run_dir)


@pytest.fixture(scope="module")
def exp_data(exp_dir):
    return loaders.load_results(exp_dir)


def _vlines(ax, x=None):
    """Vertical target lines (dashed, target colour) of an axes, optionally at x."""
    out = []
    for ln in ax.get_lines():
        xd = np.asarray(ln.get_xdata(), dtype=float)
        if len(xd) == 2 and xd[0] == xd[1] and ln.get_color() == style.TARGET_COLOR and ln.get_linestyle() == "--":
            if x is None or math.isclose(xd[0], x):
                out.append(ln)
    return out


def _hlines(ax, y):
    return [ln for ln in ax.get_lines() if len(ln.get_ydata()) == 2
            and np.allclose(np.asarray(ln.get_ydata(), dtype=float), y) and ln.get_color() == style.TARGET_COLOR]


def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts] + [fig._suptitle.get_text()]


# ----------------------------------------------------------------------------- kinds

def test_detect_kind_and_defaults(run_dir, exp_dir, tmp_path, run_data, exp_data):
    assert loaders.detect_kind(run_dir) == "run"
    assert loaders.detect_kind(exp_dir) == "experiment"
    assert loaders.detect_kind(tmp_path) is None
    assert isinstance(run_data, loaders.RunData) and isinstance(exp_data, loaders.ExperimentData)
    assert figures.kinds_for(run_data) == ("ecdf", "hist", "divisions", "hourly", "map", "utilisation", "survival")
    assert figures.kinds_for(exp_data) == ("ecdf", "staffing", "utilisation")
    assert exp_data.factors == [FACTOR] and exp_data.numeric_factors == [FACTOR]
    assert exp_data.variants == list(VARIANTS) and len(exp_data.ok) == len(VARIANTS) * REPS
    assert exp_data.scenario is not None and exp_data.days == 1
    assert "tiny" in labels.context(exp_data) and "seed 2018" in labels.context(exp_data)
    with pytest.raises(style.NotApplicable):
        figures.make_figure(run_data, "staffing")
    with pytest.raises(style.NotApplicable):
        figures.make_figure(exp_data, "map")


# ----------------------------------------------------------------------------- run figures

def test_ecdf_run_targets_and_shares(run_data):
    fig = ecdf.ecdf_run(run_data)
    title = fig._suptitle.get_text()
    assert "suzhou_2018" in title and "1 day" in title and "seed 2018" in title
    table = stage_table(run_data.events, run_data.targets, run_data.horizon_min, run_data.warmup_min)
    axes = fig.axes
    assert len(axes) == 4
    for ax, stage, target in zip(axes, TARGET_STAGES, (3, 5, 15, 30)):
        assert float(run_data.targets[TARGET_KEY[stage]]) == target
        assert len(_vlines(ax, target)) == 1, stage
        assert "min" in ax.get_xlabel() and ax.get_ylabel()
        share = table[stage]["share"]
        if table[stage]["n"]:
            shown = [t.get_text() for t in ax.texts if "within" in t.get_text()]
            limits = run_data.elapsed(stage)["limit"].to_numpy()
            same = bool(np.all(limits == target))       # on scene: 5 min urban, longer in rural grids
            within = f"{target} min" if same else f"{limits.min():g}-{limits.max():g} min"
            assert shown and f"{100 * share:.1f}% within {within}" in shown[0], (stage, shown)
            assert table[stage]["status"] in shown[0]                     # the verdict beside the share
            if same:      # the curve's height at the target is the share meeting it
                curve = [ln for ln in ax.get_lines() if ln.get_label() == "events judged"][0]
                x, y = np.asarray(curve.get_xdata()), np.asarray(curve.get_ydata())
                assert math.isclose(y[np.searchsorted(x, target, side="right") - 1], share, abs_tol=1e-12)


def test_hist_by_category(run_data):
    fig = histograms.hist_run(run_data)
    el = run_data.elapsed("on_scene")
    cats = set(run_data.events.set_index("event_id").loc[el["event_id"], "category"].astype(str))
    visible = [ax for ax in fig.axes if ax.get_visible() and ax.get_title(loc="left")]
    titles = {ax.get_title(loc="left").rsplit(" (", 1)[0] for ax in visible}
    assert titles == {labels.category_label(c) for c in cats}
    assert "requests for help" in titles and not any("_" in t for t in titles)     # readable, not police_help
    for ax in visible:
        assert len(_vlines(ax, 5.0)) == 1
        assert ax.patches, "no bars"
    assert any("on-scene time (min" in ax.get_xlabel() for ax in visible)


def test_divisions_bars_with_ci(run_data):
    fig = divisions.divisions_run(run_data)
    assert len(fig.axes) == 4
    names = [d.name for d in run_data.scenario.divisions]
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == names
    city = stage_table(run_data.events, run_data.targets, run_data.horizon_min, run_data.warmup_min)
    for ax, stage in zip(fig.axes, TARGET_STAGES):
        assert str(run_data.targets[TARGET_KEY[stage]]) in ax.get_title(loc="left")
        assert "share" in ax.get_xlabel()
        if city[stage]["n"]:
            ref = [ln for ln in ax.get_lines() if np.allclose(ln.get_xdata(), city[stage]["share"])]
            assert ref, f"no city-wide line in {stage}"
            assert ax.containers, "bars and error bars"
    on_scene_bars = [p for p in fig.axes[1].patches]
    assert len(on_scene_bars) == len(names)


def test_hourly_two_panels(run_data):
    fig = hourly.hourly_run(run_data)
    top, bottom = fig.axes[:2]
    bars = [c for c in top.containers]
    assert len(bars) == 3 and all(len(b) == 24 for b in bars)
    # heights are events per counted day of each hour: back to counts they give every counted event
    expo = hourly.hour_exposure(run_data.horizon_min, run_data.warmup_min)
    counted = (run_data.events["t_call"] >= run_data.warmup_min).sum()
    total = sum(np.nansum([r.get_height() for r in b] * expo) for b in bars)
    assert math.isclose(total, counted, rel_tol=1e-9)
    assert "per day" in top.get_ylabel() and bottom.get_ylabel().startswith("share on scene <= 5")
    assert "hour of day" in bottom.get_xlabel()
    # a 1-day run with a 4 h warm-up: hours 0-3 are never counted, and the figure says why
    assert run_data.warmup_min == 240 and list(np.flatnonzero(expo == 0)) == [0, 1, 2, 3]
    for ax in (top, bottom):
        assert any("warm-up" in t.get_text() and "not counted" in t.get_text() for t in ax.texts)
    required = [ln for ln in bottom.get_lines() if ln.get_color() == style.REQUIRED_COLOR]
    assert [float(ln.get_ydata()[0]) for ln in required] == [0.9]


def test_map_metrics(run_data):
    city = _city()
    fig = maps.map_run(run_data, city=city)
    ax = fig.axes[0]
    assert any(isinstance(a, AxesImage) for a in ax.get_children())
    cbar = fig.axes[1]
    assert "p90" in cbar.get_ylabel() and "min" in cbar.get_ylabel()
    assert "5 (target)" in [t.get_text() for t in cbar.get_yticklabels()]
    labels = [t.get_text() for t in ax.texts]
    assert set(city.division_names) <= set(labels)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "sub-center built (71)" in legend and "workstation not started (3)" in legend
    assert ax.get_xlabel() == "east (km)" and ax.get_ylabel() == "north (km)"
    # per-grid share computed from the events table
    vals, n, label = maps.grid_metric(run_data, "on_scene_share", city.n_grids)
    el = run_data.elapsed("on_scene")
    g = run_data.events.set_index("event_id").loc[el["event_id"], "grid_id"].to_numpy()
    busiest = int(np.argmax(np.bincount(g, minlength=city.n_grids)))
    assert math.isclose(vals[busiest], el["met"].to_numpy()[g == busiest].mean())
    assert label == f"share {stage_label('on_scene', run_data.targets)}" and "<= 5" in label
    # shares: a diverging scale centred on the required share (its midpoint colour sits at 90 %)
    share_fig = maps.map_run(run_data, "on_scene_share", city=city)
    scale = maps.color_scale(maps.pooled_values(run_data, city, "on_scene_share", "share", "auto"), "on_scene",
                             "share", run_data.targets)
    assert scale.norm(0.9) == pytest.approx(0.5) and scale.norm(0.0) == 0.0 and scale.norm(1.0) == 1.0
    assert "90% (required)" in [t.get_text() for t in share_fig.axes[1].get_yticklabels()]
    fig = maps.map_run(run_data, "volume", city=city)
    assert "events per day" in fig.axes[1].get_ylabel()
    with pytest.raises(ValueError, match="unknown map metric"):
        maps.map_run(run_data, "speed", city=city)


def test_utilisation_run(run_data):
    tab = utilisation.role_hourly_busy(run_data)
    ft = tab[tab["role"] == "fulltime"].set_index("hour")
    assert math.isnan(ft.loc[3, "share"]) and ft.loc[3, "on_duty_min"] == 0     # off duty at 03:00
    assert ft.loc[11, "share"] > 0
    ev = run_data.events
    pol = ev[(ev["responder_role"] == "police") & ev["t_dispatch"].notna()]
    s = pol["t_dispatch"].to_numpy()
    e = pol["t_done"].fillna(run_data.horizon_min).to_numpy()
    expect = np.clip(np.minimum(e, run_data.horizon_min) - np.maximum(s, run_data.warmup_min), 0, None).sum()
    assert math.isclose(tab[tab["role"] == "police"]["busy_min"].sum(), expect, rel_tol=1e-9)
    fig = utilisation.utilisation_run(run_data)
    a, b = fig.axes[:2]
    assert {ln.get_label().split(" (")[0] for ln in a.get_lines() if not ln.get_label().startswith("_")} \
        >= {ROLE_LABEL[r] for r in ROLES}
    assert "busy share" in a.get_ylabel() and "hour" in a.get_xlabel() and "hours" in b.get_xlabel()
    assert {"police units busy", "grid tasks waiting for a worker"} <= {ln.get_label() for ln in b.get_lines()}


# ----------------------------------------------------------------------------- experiment figures

def test_ecdf_experiment_one_curve_per_variant(exp_data):
    fig = ecdf.ecdf_experiment(exp_data)
    assert "experiment tiny" in fig._suptitle.get_text()
    ok = exp_data.ok
    for ax, stage in zip(fig.axes, TARGET_STAGES):
        target = float(exp_data.targets[TARGET_KEY[stage]])
        assert len(_vlines(ax, target)) == 1
        curves = [ln for ln in ax.get_lines() if ln.get_label().split(": ")[0] in VARIANTS]
        if stage in ("respond", "on_scene"):
            assert sorted(ln.get_label().split(": ")[0] for ln in curves) == sorted(VARIANTS)
            assert sum(isinstance(c, PolyCollection) for c in ax.collections) == len(VARIANTS)   # CI bands
            for ln in curves:
                v = ln.get_label().split(": ")[0]
                mean = np.mean(np.vstack(ok[ok["variant"] == v][f"ecdf.{stage}"].to_list()), axis=0)
                assert np.allclose(ln.get_ydata(), mean)
                share = ok[ok["variant"] == v][f"{stage}.share"].mean()
                j = judge_replications(ok[ok["variant"] == v][f"{stage}.share"], ok[ok["variant"] == v][f"{stage}.n"],
                                       exp_data.targets[f"{stage}_required_share"])
                assert ln.get_label() == f"{v}: {100 * share:.1f}% ({j.status})"
            required = [ln for ln in ax.get_lines() if ln.get_color() == style.REQUIRED_COLOR]
            assert [float(ln.get_ydata()[0]) for ln in required] == [0.9]          # the required share drawn
        assert "min" in ax.get_xlabel()


def test_variants_are_named_points_with_verdicts(exp_data):
    fig = staffing.staffing_experiment(exp_data)
    panels = {ax.get_title(loc="left"): ax for ax in fig.axes if ax.get_visible()}
    on_scene = stage_label("on_scene", exp_data.targets)            # 'on scene <= 5 / 10 min' (urban / rural)
    assert "on scene: p90" in panels and on_scene in panels and "busy share: full-time grid workers" in panels
    ax = panels["on scene: p90"]
    assert len(_hlines(ax, 5.0)) == 1
    # named variants: one point per variant at a named position, no line joining them
    assert [t.get_text() for t in ax.get_xticklabels()] == list(VARIANTS)
    points = [ln for ln in ax.get_lines() if ln.get_marker() not in ("None", None, "", "_") and len(ln.get_xdata()) == 1]
    assert [float(p.get_xdata()[0]) for p in points] == [0.0, 1.0]
    assert not [ln for ln in ax.get_lines() if len(ln.get_xdata()) > 1 and ln.get_linestyle() == "-"]
    ok = exp_data.ok
    expect = [ok[ok["variant"] == v]["on_scene.p90"].mean() for v in VARIANTS]
    assert np.allclose([p.get_ydata()[0] for p in points], expect)
    assert not [ln for ln in ax.get_lines() if ln.get_linestyle() == ":"]        # no invented crossing
    # share panels: the required share drawn, each point coloured by its verdict
    share_ax = panels[on_scene]
    assert [ln for ln in share_ax.get_lines() if ln.get_color() == style.REQUIRED_COLOR
            and np.allclose(ln.get_ydata(), 0.9)]
    for x, v in enumerate(VARIANTS):
        rows = ok[ok["variant"] == v]
        j = judge_replications(rows["on_scene.share"], rows["on_scene.n"], 0.9)
        pt = [p for p in share_ax.get_lines() if len(p.get_xdata()) == 1 and p.get_xdata()[0] == x
              and p.get_marker() != "_"][0]
        assert pt.get_color() == style.STATUS_COLOR[j.status]
    for bar in share_ax.collections:                                               # whiskers stay in 0-100 %
        for seg in bar.get_segments():
            assert np.all((seg[:, 1] >= 0) & (seg[:, 1] <= 1))
    single = staffing.staffing_experiment(exp_data, metric="util_fulltime")
    assert len([a for a in single.axes if a.get_visible()]) == 1
    # a second factor that some variants leave unset (NaN) or set to a list, as in surge.toml
    runs = exp_data.runs.copy()
    runs["surge.divisions"] = [["Kunshan"] if i % 2 else math.nan for i in range(len(runs))]
    runs["110.register_dispatch.share"] = math.nan        # a per-source metric, never a factor
    mixed_data = loaders.ExperimentData(runs=runs)
    assert mixed_data.factors == [FACTOR, "surge.divisions"]
    mixed = staffing.staffing_experiment(mixed_data)
    assert any(ax.get_visible() for ax in mixed.axes)
    no_factor = loaders.ExperimentData(runs=exp_data.runs.drop(columns=[FACTOR]))   # variants without a number
    assert staffing.staffing_experiment(no_factor).axes[0].get_xticklabels()


def test_utilisation_experiment(exp_data):
    fig = utilisation.utilisation_experiment(exp_data)
    ax = fig.axes[0]
    assert len(ax.patches) == len(VARIANTS) * len(ROLES)
    assert [t.get_text() for t in ax.get_xticklabels()] == [ROLE_LABEL[r] for r in ROLES]
    assert "busy share" in ax.get_ylabel()


# ----------------------------------------------------------------------------- command line

def test_cli_plot_run_and_experiment(run_dir, exp_dir, capsys):
    # every kind of a run is rendered by the report test; here the selection and the paths
    assert main(["plot", str(run_dir), "--kind", "ecdf", "--kind", "divisions", "hourly"]) == 0
    out = capsys.readouterr().out.split()
    for kind in ("ecdf", "divisions", "hourly"):
        p = run_dir / "figures" / f"{kind}.png"
        assert p.read_bytes()[:4] == b"\x89PNG" and p.stat().st_size > 10_000 and str(p) in out
    assert not (run_dir / "figures" / "map.png").exists()
    # each map metric gets its own file: a second map does not overwrite the first
    assert main(["plot", str(run_dir), "--kind", "map"]) == 0
    assert main(["plot", str(run_dir), "--kind", "map", "--metric", "respond_share"]) == 0
    assert (run_dir / "figures" / "map_on_scene_p90.png").is_file()
    assert (run_dir / "figures" / "map_respond_share.png").is_file()
    assert not (run_dir / "figures" / "map.png").exists()
    capsys.readouterr()
    assert main(["plot", str(exp_dir)]) == 0                 # default: every kind that applies
    out = capsys.readouterr().out.split()
    assert out == ["wrote", str(exp_dir / "figures" / "ecdf.png"), "wrote", str(exp_dir / "figures" / "staffing.png"),
                   "wrote", str(exp_dir / "figures" / "utilisation.png")]
    assert main(["plot", str(exp_dir), "--kind", "ecdf", "--format", "svg"]) == 0
    assert (exp_dir / "figures" / "ecdf.svg").read_text().lstrip().startswith("<?xml")
    capsys.readouterr()


@pytest.mark.parametrize("args, message", [
    (["plot", "{empty}"], "neither a run directory"),
    (["plot", "{missing}"], "does not exist"),
    (["report", "{empty}"], "neither a run directory"),
    (["plot", "{exp}", "--kind", "hist"], "needs a run directory"),
    (["plot", "{run}", "--kind", "map", "--metric", "speed"], "unknown map metric"),
    (["plot", "{exp}", "--kind", "staffing", "--metric", "speed"], "unknown metric 'speed'"),
])
def test_cli_errors_one_line_status_2(args, message, run_dir, exp_dir, tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("x")
    subst = {"{empty}": str(tmp_path), "{missing}": str(tmp_path / "nope"), "{exp}": str(exp_dir),
             "{run}": str(run_dir)}
    assert main([subst.get(a, a) for a in args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and err.startswith("gridsim: error: ")


def test_plot_help_has_examples(capsys):
    with pytest.raises(SystemExit):
        main(["plot", "--help"])
    out = capsys.readouterr().out
    assert "examples:" in out and "--metric" in out and "staffing" in out


# ----------------------------------------------------------------------------- report

def _no_external(text: str) -> str:
    body = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", text)
    assert "http" not in body.lower()
    assert "<script" not in body.lower() and "<link" not in body.lower() and "@import" not in body
    assert "url(" not in body
    for src in re.findall(r'src="([^"]*)"', text):
        assert src.startswith("data:image/png;base64,")
    return body


def test_report_run(run_dir, capsys):
    assert main(["report", str(run_dir)]) == 0
    path = run_dir / "report.html"
    assert str(path) in capsys.readouterr().out
    text = path.read_text(encoding="utf-8")
    body = _no_external(text)
    for kind in figures.RUN_KINDS:
        assert f'id="fig-{kind}"' in body
    assert body.count("<img ") == len(figures.RUN_KINDS)
    for table in ("table-targets", "table-volumes", "table-utilisation", "table-queues", "table-by-division",
                  "table-by-category", "table-params-targets", "table-params-staff"):
        assert f'id="{table}"' in body
    # parameters with their sources (the run used the built-in scenario with run.days = 1, its default)
    assert "respond and set out (t_dispatch - t_call); source" in body
    days_row = re.search(r"<td class=\"l\">run\.days</td>.*?</tr>", body).group(0)
    assert "built-in suzhou_2018.toml" in days_row and "assumption" in days_row
    assert '<pre>' in body and "[targets]" in body


def test_report_opens_with_verdicts_and_is_reproducible(run_dir, run_data):
    first = report.write_report(run_dir).read_bytes()
    again = report.write_report(run_dir).read_bytes()
    assert first == again                                   # no timestamp: same run, same report
    body = first.decode("utf-8")
    assert "report written" not in body and not re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", body)
    # the one-screen summary comes before every other section, one verdict per stage
    start = body.index('id="summary-verdicts"')
    assert start < body.index('id="targets"') and start < body.index('id="figures"')
    summary = body[start:body.index("</table>", start)]
    stages = run_data.summary["stages"]
    for stage, row in stages.items():
        j = report.stage_judgement(row, run_data.targets, stage)
        assert row["status"] == j.status                     # the summary.json verdict, as judged here
    rows = re.findall(r"<tr>(.*?)</tr>", summary.split("<tbody>")[1])
    assert len(rows) == len(stages)
    assert [re.search(r'<b style="color:[^"]+">(.*?)</b>', r).group(1) for r in rows] == \
        [stages[st]["status"] for st in stages]
    assert stages["cordon"]["n"] >= 30 or "too few to judge" in rows[3]
    # sources cited from a file inside the repository
    assert "docs/sources.md" in body and "shared/source" not in body
    assert (ROOT / "docs" / "sources.md").is_file()
    assert "3分钟响应出击" in (ROOT / "docs" / "sources.md").read_text(encoding="utf-8")


def test_report_experiment(exp_dir):
    path = report.write_report(exp_dir)
    body = _no_external(path.read_text(encoding="utf-8"))
    for kind in ("ecdf", "staffing", "utilisation"):
        assert f'id="fig-{kind}"' in body
    for table in ("table-variants", "table-targets", "table-utilisation", "table-summary-csv", "table-failed",
                  "table-params-staff"):
        assert f'id="{table}"' in body
    assert "RuntimeError: boom" in body and "1 failed" in body
    summary = body[body.index('id="summary-verdicts"'):body.index('id="variants"')]
    assert all(v in summary for v in VARIANTS) and ("missed" in summary or "met" in summary)
    assert "a tiny test experiment" in body              # the experiment file, verbatim
    ft_row = re.search(r"<td class=\"l\">staff\.fulltime_workers</td>.*?</tr>", body).group(0)
    assert "experiment" in ft_row                        # set by the experiment, not the base file


def test_scenario_notes_and_old_scenario_files(tmp_path, run_dir):
    from gridsim.scenario import builtin_path
    # a value that differs from the scenario file was set on the command line
    rows = {r["key"]: r for r in report.parameter_rows(load_scenario(None, ["run.days=3"]), builtin_path(), "cmdline")}
    assert rows["run.days"]["set_in"] == "cmdline" and rows["run.seed"]["set_in"] == "built-in suzhou_2018.toml"
    assert rows["run.days"]["kind"] == "assumption" and rows["targets.support_min"]["kind"] == "source"
    comments = notes.scenario_notes(builtin_path())
    assert "source" in comments["targets.on_scene_min"]
    assert "assumption" in comments["staff.police_units"]
    # a section header's comment
    assert "files a patrol-found matter in the app" in comments["lifecycle.register_patrol"]
    assert "talk and filing per call" in comments["hotline.talk"]
    # a resolved scenario.toml written before the schema gained a section still loads
    text = (run_dir / "scenario.toml").read_text()
    old = re.sub(r"\n\[allocation\]\n(?:[^\[\n][^\n]*\n)*", "\n", text)
    assert "[allocation]" not in old
    (tmp_path / "scenario.toml").write_text(old)
    scen = loaders.load_resolved_scenario(tmp_path / "scenario.toml")
    assert scen.run.days == 1 and scen.allocation.per == "none"


# ----------------------------------------------------------------------------- several folders

def test_compare_several_folders(run_dir, exp_dir, run_data, exp_data, tmp_path, capsys):
    from gridsim.viz import compare
    results = compare.results_of([run_data, exp_data])
    assert [r.label for r in results] == [run_dir.name] + [f"{exp_dir.name}/{v}" for v in VARIANTS]
    fig = compare.compare_stages([run_data, exp_data])
    ax = fig.axes[1]                                                   # on scene
    assert [t.get_text() for t in ax.get_xticklabels()] == [r.label for r in results]
    j = results[0].judgement("on_scene", run_data.targets)
    assert j.status == run_data.summary["stages"]["on_scene"]["status"]
    point = [ln for ln in ax.get_lines() if len(ln.get_xdata()) == 1 and ln.get_xdata()[0] == 0
             and ln.get_marker() != "_"][0]
    assert point.get_ydata()[0] == pytest.approx(j.share) and point.get_color() == style.STATUS_COLOR[j.status]
    ecdf_fig = compare.compare_ecdf([run_data, exp_data])
    curves = [ln for ln in ecdf_fig.axes[1].get_lines() if ln.get_label().split(": ")[0] in {r.label for r in results}]
    assert len(curves) == len(results)                                  # overlaid, one per result
    # the CLI: several folders need --out; plot writes the comparison figures, report one page
    assert main(["plot", str(run_dir), str(exp_dir)]) == 2
    assert "--out" in capsys.readouterr().err
    assert main(["plot", str(run_dir), str(exp_dir), "--out", str(tmp_path / "cmp")]) == 0
    assert sorted(p.name for p in (tmp_path / "cmp").iterdir()) == ["compare_ecdf.png", "compare_stages.png"]
    assert main(["report", str(run_dir), str(exp_dir), "--out", str(tmp_path / "cmp.html")]) == 0
    body = (tmp_path / "cmp.html").read_text(encoding="utf-8")
    summary = body[body.index('id="summary-verdicts"'):]
    assert all(r.label in summary for r in results) and body.count("<img ") == 2
    assert main(["report", str(run_dir), str(tmp_path / "nowhere"), "--out", str(tmp_path / "bad.html")]) == 2
    assert not (tmp_path / "bad.html").exists()
    capsys.readouterr()


def test_experiment_map_shows_the_change_from_the_baseline_by_division(exp_data, exp_dir, tmp_path, capsys):
    with pytest.raises(style.NotApplicable, match="per-division"):          # nothing kept per division
        figures.make_figure(exp_data, "map")
    runs = exp_data.runs.copy()
    divisions = _city().division_names
    for i, d in enumerate(divisions):     # the second variant is 5 points better in the first division only
        runs[f"on_scene.share@{d}"] = np.where(runs["variant"] == "ft_2018", 0.6 + (0.05 if i == 0 else 0.0), 0.6)
    data = loaders.ExperimentData(runs=runs, dir=exp_dir, scenario=exp_data.scenario)
    assert "map" in figures.kinds_for(data)
    means, col = maps.division_means(data, "on_scene_share")
    assert col == "on_scene.share" and means["ft_2018"][divisions[0]] - means["ft_half"][divisions[0]] == \
        pytest.approx(0.05)
    fig = maps.map_experiment(data, "on_scene_share", city=_city())
    assert fig.axes[0].get_title(loc="left") == "ft_2018 minus ft_half"
    assert fig.axes[0].get_images()
    cbar = fig.axes[-1]
    assert "difference" in cbar.get_ylabel() and "blue: better" in cbar.get_ylabel()
    assert figures.figure_stem(data, "map", "on_scene.share") == "map_on_scene_share"
    assert main(["plot", str(exp_dir), "--kind", "map", "--metric", "speed"]) == 2      # one line, no traceback
    assert "unknown map metric" in capsys.readouterr().err


# ----------------------------------------------------------------------------- survival

def _survival_run(with_working: bool = True, days: int = 6) -> loaders.RunData:
    """A synthetic run of work orders (no simulation): lognormal times to close around each
    category's deadline, open at the horizon when longer; hazards found some hours after onset."""
    scen = load_scenario(None, [f"run.days={days}"])
    rng = np.random.default_rng(3)
    horizon, n = days * 1440.0, 600
    cats = [k for k, c in scen.categories.items() if c.source != "110"]
    cat = rng.choice(cats, n)
    source = np.array([scen.categories[c].source for c in cat])
    deadline = np.array([scen.categories[c].close_deadline_days for c in cat]) * 1440.0
    t_call = rng.uniform(0, horizon, n)
    t_close = t_call + rng.lognormal(np.log(0.8 * deadline), 0.8)
    is_open = t_close > horizon
    t_close[is_open] = np.nan
    ev = pd.DataFrame({"event_id": np.arange(n), "source": source, "category": cat, "t_call": t_call,
                       "t_close": t_close, "open": is_open, "due_close": t_call + deadline,
                       "t_onset": np.where(source == "grid", t_call - rng.exponential(300.0, n), np.nan)})
    if with_working:
        ev["wd_to_close"] = (np.where(is_open, horizon, t_close) - t_call) / 1440.0 * 5 / 7
    summary = {"horizon_min": horizon, "warmup_hours": 1.0, "work_order_warmup_hours": 24.0, "days": days,
               "seed": 7}
    return loaders.RunData(events=ev, summary=summary, scenario=scen)


def _curve(ax, label_start: str):
    return [ln for ln in ax.get_lines() if ln.get_label().startswith(label_start)]


def test_survival_curves_deadlines_and_medians():
    from gridsim.analysis.survival import km_curve, km_curves
    from gridsim.viz import survival
    run = _survival_run()
    fig = figures.make_figure(run, "survival")
    cal, wd, cat, disc = fig.axes[:4]
    assert "24 h work-order warm-up" in fig._suptitle.get_text()
    # calendar panel: one KM step curve per source, its heights the product-limit estimate
    curves = km_curves(run.events, "close", run.horizon_min, "source", warmup_min=1440.0)
    line, km = _curve(cal, "12345 work orders")[0], curves["12345"]
    drawn = km.at_risk >= survival.MIN_AT_RISK                # the noisy tail of the last few is cut
    assert drawn.any() and not drawn.all()
    assert np.asarray(line.get_ydata()) == pytest.approx(np.r_[1.0, km.survival[drawn]])
    assert np.asarray(line.get_xdata()) == pytest.approx(np.r_[0.0, km.times[drawn] / 1440.0])
    assert "closed in time: not estimable" in line.get_label()       # 13 working days do not fit in 6 days
    assert f"n = {curves['12345'].n:,}" in line.get_label()
    assert _curve(cal, "grid patrol reports")
    # deadline markers: calendar-clock deadlines on the calendar panel, working-day ones on the other
    deadlines = survival.close_deadlines(run)
    assert {d for d in deadlines["working"].values()} == {3.0, 13.0} and set(deadlines["calendar"].values()) == {1.0}
    assert len(_vlines(cal, 1.0)) == 1 and not _vlines(cal, 3.0)
    assert len(_vlines(wd, 3.0)) == 1 and len(_vlines(wd, 13.0)) == 1
    assert "working days" in wd.get_xlabel() and "days" in cal.get_xlabel()
    # categories whose deadline is far beyond this 6-day run: most still open, median "not reached"
    labels = [ln.get_label() for ln in cat.get_lines() if not ln.get_label().startswith("_")]
    assert len(labels) <= survival.MAX_CATEGORIES and any("median not reached" in lab for lab in labels)
    assert any("median" in lab and "working days" in lab for lab in labels)
    # time to discovery of hazards, in hours
    hazards = km_curve(run.events, ("t_onset", "t_call"), run.horizon_min, warmup_min=1440.0)
    assert _curve(disc, "latent hazards")[0].get_label().startswith(f"latent hazards (n = {hazards.n:,}")
    assert "hours" in disc.get_xlabel()


def test_survival_without_working_clock_or_hazards_says_so():
    run = _survival_run(with_working=False)
    run = loaders.RunData(events=run.events.drop(columns=["t_onset"]), summary=run.summary, scenario=run.scenario)
    fig = figures.make_figure(run, "survival")
    texts = _texts(fig)
    assert any("wd_to_close" in t for t in texts) and any("t_onset" in t for t in texts)
    assert "survival" in figures.kinds_for(run)
    assert "survival" in report.TITLES and report.FIGURE_CAPTIONS["survival"]


def test_survival_curves_of_millions_are_drawn_at_a_fixed_resolution():
    from gridsim.analysis.survival import product_limit
    from gridsim.viz import survival
    rng = np.random.default_rng(8)
    c = product_limit(rng.exponential(100.0, 20_000), rng.random(20_000) < 0.7)
    x, y, lo, hi = survival._steps(c)
    last = c.times[c.at_risk >= survival.MIN_AT_RISK][-1]
    assert len(x) == survival.MAX_POINTS and x[0] == 0.0 and x[-1] == last < c.tau
    assert y == pytest.approx([c.at(t) for t in x])                 # the step function read at x
    few = product_limit(np.arange(1.0, 21.0), np.ones(20, dtype=bool))
    x, y, _, _ = survival._steps(few)                              # few steps: exact, while 10 are at risk
    assert x.tolist() == list(range(0, 12)) and y[-1] == pytest.approx(0.45)
