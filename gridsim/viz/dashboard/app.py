"""The Solara page: Mesa's SolaraViz over a `LiveModel`, with the dashboard's own panels.

Page 0 (the running model): controls, the clock and counters, the city map, the live ECDFs,
queues and utilisation. Page 1: a finished experiment's variants compared. Every element a
test or a user looks for carries a `gridsim-*` class, so nothing depends on Mesa's labels.

State lives in Solara reactive variables at module level, which Solara keeps per browser
session (kernel): each visitor steps a model of their own. A control change builds a new
model (same seed unless the seed changed); a value the scenario refuses leaves the last good
model in place and shows the scenario's one-line message.
"""

from __future__ import annotations

import os
import threading
from dataclasses import fields

import solara
from mesa.visualization import SolaraViz, solara_viz
from mesa.visualization.utils import force_update, update_counter

from gridsim.results.loaders import NotAResultsDir
from gridsim.scenario import ScenarioError, load_scenario
from gridsim.viz.dashboard import compare, panels
from gridsim.viz.dashboard.controls import Controls
from gridsim.viz.dashboard.live import LiveModel, clock_text
from gridsim.viz.dashboard.server import EXPERIMENT_ENV, SCENARIO_ENV

current = solara.reactive(None)          # the session's LiveModel
message = solara.reactive("")            # why the last control change was refused
map_metric = solara.reactive(next(iter(panels.GRID_METRICS)))
experiment_path = solara.reactive(os.environ.get(EXPERIMENT_ENV, ""))
comparison = solara.reactive(None)
compare_message = solara.reactive("")
map_variant = solara.reactive("")

LABELS = {"police_units": "police units on duty", "fulltime_workers": "full-time grid workers",
          "full_build": "finish all sub-centers and workstations", "surge_division": "surge: division (empty = none)",
          "surge_multiplier": "surge: x normal demand", "surge_hours": "surge: hours",
          "seed": "seed", "days": "days"}


class PageModel(LiveModel):
    """The page's model: the served scenario; Mesa's Reset rebuilds it with the current controls."""

    def __init__(self, controls: Controls | None = None):
        last = current.peek()
        if controls is None and last is not None:
            controls = last.controls
        super().__init__(os.environ.get(SCENARIO_ENV) or None, controls)


def rebuild(controls: Controls) -> None:
    """A new model for these controls, or the scenario's message and the old model kept."""
    try:
        model = PageModel(controls)
    except ScenarioError as exc:
        message.set(f"not applied, the model keeps its last good settings: {exc}")
        return
    message.set("")
    current.set(model)


# ============================================================================== page 0

@solara.component
def ControlsPanel(model: LiveModel):
    update_counter.get()
    c = model.controls

    def setter(name):
        return lambda value: rebuild(c.changed(**{name: value})) if value is not None and value != getattr(c, name) \
            else None

    def step():
        model.step()
        force_update()

    def run_to_end():
        model.run_to_end()
        force_update()

    with solara.Column(classes=["gridsim-controls"], gap="4px", style={"width": "100%", "overflow": "hidden"}):
        with solara.Row():
            solara.Button("Step an hour", on_click=step, color="primary", classes=["gridsim-step"],
                          disabled=model.finished)
            solara.Button("Run to the end", on_click=run_to_end, color="primary", classes=["gridsim-run"],
                          disabled=model.finished)
            solara.Button("Reset", on_click=lambda: rebuild(model.controls), classes=["gridsim-reset"])
        if message.value:
            solara.Error(message.value, classes=["gridsim-error"])
        for f in fields(Controls):
            value, label, cls = getattr(c, f.name), LABELS[f.name], [f"gridsim-{f.name.replace('_', '-')}"]
            if f.type == "bool":
                with solara.Div(classes=cls):
                    solara.Checkbox(label=label, value=value, on_value=setter(f.name))
            elif f.type == "int":
                solara.InputInt(label, value=value, on_value=setter(f.name), classes=cls, dense=True)
            elif f.type == "float":
                solara.InputFloat(label, value=value, on_value=setter(f.name), classes=cls, dense=True)
            else:
                solara.InputText(label, value=value, on_value=setter(f.name), classes=cls, dense=True)


@solara.component
def StatusPanel(model: LiveModel):
    update_counter.get()
    snap = model.snapshot()
    n = snap.counters
    with solara.Column(gap="2px"):
        solara.Div(classes=["gridsim-clock"], children=[clock_text(snap.clock_min)],
                   style={"font-size": "1.6em", "font-weight": "bold"})
        solara.Text(f"of {snap.horizon_min / 1440:g} day(s); {model.spec.name}, seed {model.controls.seed}"
                    + ("; finished" if model.finished else ""))
        for key, label in (("events", "events so far"), ("open", "events open"),
                           ("police_busy", f"police units busy (of {n['police_units']:,})"),
                           ("workers_busy", "grid workers busy"), ("queued", "tasks waiting")):
            with solara.Row(gap="6px"):
                solara.Div(classes=[f"gridsim-{key.replace('_', '-')}"], children=[f"{n[key]:,}"],
                           style={"font-weight": "bold"})
                solara.Text(label)
        for stage, live in snap.stages.items():
            solara.Text(f"{stage}: {panels.share_text(live)}")


@solara.component
def MapPanel(model: LiveModel):
    update_counter.get()
    solara.Select("colour grids by", values=list(panels.GRID_METRICS), value=map_metric, classes=["gridsim-metric"])
    fig = solara.use_memo(lambda: panels.city_map(model.snapshot(), model.city_model.city, map_metric.value),
                          dependencies=[id(model), model.clock, map_metric.value])
    with solara.Div(classes=["gridsim-map"]):
        solara.FigureMatplotlib(fig, format="png", dependencies=[id(model), model.clock, map_metric.value])


@solara.component
def EcdfPanel(model: LiveModel):
    update_counter.get()
    fig = solara.use_memo(lambda: panels.live_ecdfs(model.snapshot()), dependencies=[id(model), model.clock])
    with solara.Div(classes=["gridsim-ecdf"]):
        solara.FigureMatplotlib(fig, format="png", dependencies=[id(model), model.clock])


@solara.component
def QueuesPanel(model: LiveModel):
    update_counter.get()
    fig = solara.use_memo(lambda: panels.queues_and_utilisation(model.snapshot()),
                          dependencies=[id(model), model.clock])
    with solara.Div(classes=["gridsim-queues"]):
        solara.FigureMatplotlib(fig, format="png", dependencies=[id(model), model.clock])


# ============================================================================== page 1

def open_comparison(path: str) -> None:
    try:
        cmp = compare.open_experiment(path)
    except (NotAResultsDir, ScenarioError, OSError, ValueError) as exc:
        compare_message.set(str(exc))
        return
    compare_message.set("")
    comparison.set(cmp)
    map_variant.set(cmp.variants[-1])


@solara.component
def ComparePanel(model: LiveModel):
    def open_given() -> None:      # gridsim dashboard --experiment DIR: open it when the page first shows
        if experiment_path.value and comparison.value is None and not compare_message.value:
            open_comparison(experiment_path.value)
    solara.use_effect(open_given, [])
    with solara.Column(classes=["gridsim-compare"]):
        solara.InputText("experiment directory (gridsim batch --out DIR)", value=experiment_path,
                         classes=["gridsim-experiment-path"])
        solara.Button("Open", on_click=lambda: open_comparison(experiment_path.value), color="primary",
                      classes=["gridsim-open"])
        if compare_message.value:
            solara.Error(compare_message.value, classes=["gridsim-compare-error"])
        if comparison.value is not None:
            ComparisonView(comparison.value)


@solara.component
def ComparisonView(cmp: compare.Comparison):
    solara.Text(f"{cmp.data.name}: {len(cmp.variants)} variants, {cmp.data.replications} replications; "
                f"baseline {cmp.baseline}")
    ecdfs = solara.use_memo(lambda: compare.variant_ecdfs(cmp), [id(cmp)])
    shares = solara.use_memo(lambda: compare.shares_and_differences(cmp), [id(cmp)])
    city = solara.use_memo(cmp.city, [id(cmp)])
    fig = solara.use_memo(lambda: compare.difference_map(cmp, map_variant.value, city)
                          if city is not None and map_variant.value in cmp.variants[1:] else None,
                          [id(cmp), map_variant.value])
    with solara.Div(classes=["gridsim-compare-ecdf"]):
        solara.FigureMatplotlib(ecdfs, format="png")
    with solara.Div(classes=["gridsim-compare-shares"]):
        solara.FigureMatplotlib(shares, format="png")
    if len(cmp.variants) > 1:
        solara.Select("difference map: variant", values=cmp.variants[1:], value=map_variant)
    if fig is None:
        solara.Info("No difference map: it needs the runs' events (gridsim batch --keep-events) "
                    "and at least two variants.")
    else:
        with solara.Div(classes=["gridsim-compare-map"]):
            solara.FigureMatplotlib(fig, format="png")


COMPONENTS = [(ControlsPanel, 0), (StatusPanel, 0), (MapPanel, 0), (EcdfPanel, 0), (QueuesPanel, 0),
              (ComparePanel, 1)]
# Initial places on Mesa's draggable grid (12 columns, rows of about 30 px): the page's figures
# need taller items than Mesa's uniform default. Items stay draggable and resizable.
PAGE0_LAYOUT = [(0, 0, 6, 12), (6, 0, 6, 12), (0, 12, 6, 15), (6, 12, 6, 15), (6, 27, 6, 14)]


def initial_layout(n: int) -> list[dict]:
    """Page 0's five panels in two columns; any other page one full-width item per component."""
    places = PAGE0_LAYOUT if n == len(PAGE0_LAYOUT) else [(0, 40 * i, 12, 40) for i in range(n)]
    return [{"i": i, "x": x, "y": y, "w": w, "h": h, "moved": False} for i, (x, y, w, h) in enumerate(places)]


if hasattr(solara_viz, "make_initial_grid_layout"):     # Mesa's own default when it moves elsewhere
    solara_viz.make_initial_grid_layout = initial_layout


_spare: list[PageModel] = []


def _build_spare() -> None:
    """Build the default model while the server starts, so the first visitor does not wait."""
    try:
        _spare.append(PageModel(Controls.from_scenario(load_scenario(os.environ.get(SCENARIO_ENV) or None))))
    except ScenarioError:
        pass                  # the page will show the message when it builds its own


threading.Thread(target=_build_spare, daemon=True).start()


@solara.component
def Page():
    if current.value is None:
        current.set(_spare.pop() if _spare else PageModel())
        return solara.Text("building the model...")
    return SolaraViz(current, components=COMPONENTS, name="gridsim dashboard")
