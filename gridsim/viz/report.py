"""`gridsim report DIR`: one self-contained HTML file for a run or an experiment directory.

The report embeds every figure that applies (base64 PNG), the summary tables, and the
scenario's parameters with their sources: the resolved scenario, and for each key the comment
(`source: ...` / `assumption: ...`) of the file that set it (the scenario file named in
summary.json when it still exists, else the built-in `suzhou_2018.toml`). No scripts, no
stylesheets or images from elsewhere: it opens from disk in any browser.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from gridsim import __version__
from gridsim.analysis.metrics import MIN_JUDGED, RURAL_TARGET_KEY, STATUSES, TOO_FEW, Judgement, judge, mean_ci, stage_table_by
from gridsim.city import build_city
from gridsim.domain import ROLE_LABEL, STAGES, TARGET_STAGES, stage_label
from gridsim.results.io import atomic_write, decode_number
from gridsim.results.loaders import ExperimentData, RunData, load_results
from gridsim.scenario import BUILTIN_NAME, Scenario, builtin_path, load_scenario
from gridsim.scenario.schema import leaf_items
from gridsim.viz.compare import COMPARE_FIGURES, comparison_targets, results_of
from gridsim.viz.figures import kinds_for, make_figure, needs_city
from gridsim.viz.labels import (CAPTIONS, FIGURE_TITLES, category_label, context, fmt_pct, required_of,
                                stage_limit_text, target_min)
from gridsim.viz.notes import parse_notes, read_text
from gridsim.viz.style import STATUS_COLOR, NotApplicable, png_data_uri
from gridsim.viz.survival import CAPTION as SURVIVAL_CAPTION, TITLE as SURVIVAL_TITLE
from gridsim.viz.variants import variant_judgement

TITLES = FIGURE_TITLES | {"survival": SURVIVAL_TITLE}
FIGURE_CAPTIONS = CAPTIONS | {"survival": SURVIVAL_CAPTION}
"""Each figure kind's heading and caption (the survival figure keeps its own next to its code)."""
SOURCES_DOC = "docs/sources.md"
"""Where the figures a "source" note refers to are quoted, with their citations (in the repository)."""


# ============================================================================== scenario parameters

def _label_path(label: str) -> Path | None:
    """A scenario origin label ('<builtin>/x.toml', a path, '--set') as a readable file, or None."""
    if label.startswith("<builtin>/"):
        return builtin_path(Path(label).stem)
    p = Path(label.split(" [")[0])
    return p if p.is_file() else None


def _display_file(file: Path | None, label: str) -> str:
    if file is not None and file.resolve() == builtin_path(file.stem).resolve():
        return f"built-in {file.name}"
    if label.startswith("<builtin>/"):
        return f"built-in {Path(label).name}"
    return label


def _kind(note: str) -> str:
    n = note.lower().replace("not assumption", "")
    if "source" in n and "assumption" in n:
        return "source + assumption"
    if "source" in n:
        return "source"
    if "assumption" in n:
        return "assumption"
    return ""


def _original_ref(ref: str | None, base_dir: Path | None = None) -> Path | None:
    """The scenario file a run or experiment started from, if it can still be found."""
    if not ref:
        return builtin_path()
    if ref.startswith("<builtin>/"):
        return builtin_path(Path(ref).stem)
    candidates = [Path(ref)]
    if base_dir is not None:
        candidates.append(base_dir / ref)
    if "/" not in ref and not ref.endswith(".toml"):
        candidates.append(builtin_path(ref))
    for c in candidates:
        if c.is_file():
            return c
    return None


def parameter_rows(scenario: Scenario, original: Path | None, override_label: str) -> list[dict]:
    """One row per resolved key: section, key, value, where it was set, note and its kind.

    Where a key was set comes from loading the original scenario file again: the file of the
    `extends` chain that set it, or `override_label` when the resolved value differs from the
    file's (a --set / --days / --seed, or an experiment's [set] / variant). Notes are that file's
    comment for the key, falling back to the built-in scenario's comment (marked so).
    """
    orig: Scenario | None = None
    if original is not None:
        try:
            orig = load_scenario(original)
        except Exception:
            orig = None
    builtin = builtin_path()
    b_inline, b_block, _, b_headers = parse_notes(read_text(builtin))
    rows = []
    for key, value in leaf_items(scenario.data):
        if key in ("extends",):
            continue
        set_in, file = "resolved scenario", None
        if orig is not None:
            try:
                ov = orig.get(key)
                same = ov == value
            except (KeyError, TypeError):
                same = False
            if same:
                label = orig.origin.get(key, str(original))
                file = _label_path(label) or (Path(original) if Path(original).is_file() else None)
                set_in = _display_file(file, label)
            else:
                set_in = override_label
        note, note_from = "", ""
        if file is not None:
            inline = parse_notes(read_text(file))[0]
            note = inline.get(key, "")
            if note:
                note_from = ""
        if not note:
            note = b_inline.get(key, "")
            if note and (file is None or file.resolve() != builtin.resolve()):
                note_from = "built-in note"
        section = key.split(".")[0] if "." in key else ""
        sub = key.rsplit(".", 1)[0] if key.count(".") >= 2 else ""
        context = ""
        if section:
            context = b_block.get(section, "")
            if not context and section not in b_headers:    # only sub-tables: the first one's block
                context = next((v for k, v in b_block.items() if k.startswith(section + ".") and k.count(".") == 1), "")
        table_note = " ".join(x for x in (b_block.get(sub, ""), b_inline.get(sub, "")) if x) if sub else ""
        if context and table_note.startswith(context):
            table_note = table_note[len(context):].strip()
        kind, inherited = _kind(note), False
        if not kind:
            kind = _kind(table_note) or _kind(context)
            inherited = bool(kind)
        rows.append({"section": section, "table": sub, "key": key, "value": value, "set_in": set_in,
                     "note": note, "note_from": note_from, "kind": kind, "kind_inherited": inherited,
                     "section_note": context, "table_note": table_note})
    return rows


# ============================================================================== html pieces

CSS = """
body{font:14px/1.45 -apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:0;color:#1d1d1d;background:#fff}
main{max-width:1180px;margin:0 auto;padding:18px 28px 60px}
h1{font-size:24px;margin:6px 0 4px}h2{font-size:19px;margin:34px 0 8px;border-bottom:2px solid #e5e5e5;padding-bottom:4px}
h3{font-size:15px;margin:20px 0 6px}
.meta{color:#555;margin:0 0 10px}
nav{background:#f6f7f9;border:1px solid #e3e5e8;border-radius:6px;padding:8px 14px;margin:12px 0}
nav a{margin-right:14px;color:#1f4e9c;text-decoration:none}
table{border-collapse:collapse;margin:6px 0 10px;font-size:13px}
th,td{border-bottom:1px solid #e6e6e6;padding:3px 9px;text-align:right;vertical-align:top}
th{background:#f3f4f6;font-weight:600}
td.l,th.l{text-align:left}
tr:hover td{background:#fafbfc}
.wide{overflow-x:auto}
figure{margin:18px 0 26px}
figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#444;font-size:13px;margin-top:4px;max-width:1000px}
pre{background:#f6f7f9;border:1px solid #e3e5e8;padding:10px;overflow-x:auto;font-size:12px}
.kind-source{color:#1b6e2a;font-weight:600}.kind-assumption{color:#9a5b00;font-weight:600}
.muted{color:#777}.bad{color:#b3261e;font-weight:600}
td.note{text-align:left;max-width:560px}
details summary{cursor:pointer;color:#1f4e9c}
"""


def _e(v: Any) -> str:
    return html.escape(str(v), quote=True)


def _pct(v: Any, digits: int = 1) -> str:
    v = decode_number(v)
    return "-" if not np.isfinite(v) else f"{100 * v:.{digits}f}%"


def _mins(v: Any) -> str:
    x = decode_number(v)
    if math.isinf(x):
        return "> end"
    if not np.isfinite(x):
        return "-"
    return f"{x:,.1f}"


def _int(v: Any) -> str:
    x = decode_number(v)
    return "-" if not np.isfinite(x) else f"{int(round(x)):,}"


def _table(headers: list[str], rows: list[list[str]], tid: str, left: int = 1, raw: bool = False) -> str:
    """An HTML table; cells are escaped unless raw (then they are trusted HTML from this module)."""
    cell = (lambda c: c) if raw else _e
    head = "".join(f'<th class="l">{_e(h)}</th>' if i < left else f"<th>{_e(h)}</th>" for i, h in enumerate(headers))
    body = []
    for r in rows:
        body.append("<tr>" + "".join(f'<td class="l">{cell(c)}</td>' if i < left else f"<td>{cell(c)}</td>"
                                     for i, c in enumerate(r)) + "</tr>")
    return f'<div class="wide"><table id="{_e(tid)}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def _figures_html(data: RunData | ExperimentData, kinds: Iterable[str], metric: str | None) -> tuple[str, list[str]]:
    parts, done = [], []
    city = None
    for kind in kinds:
        if needs_city(data, kind) and city is None:
            city = build_city(data.scenario)
        try:
            fig = make_figure(data, kind, metric=metric, city=city)
        except NotApplicable:
            continue
        uri = png_data_uri(fig)
        parts.append(f'<figure id="fig-{kind}"><h3>{_e(TITLES.get(kind, kind))}</h3>'
                     f'<img alt="{_e(kind)} figure" src="{uri}"><figcaption>{_e(FIGURE_CAPTIONS.get(kind, ""))}'
                     f'</figcaption></figure>')
        done.append(kind)
    return "\n".join(parts), done


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        inner = ", ".join(_value(x) for x in v)
        return f"[{inner}]"
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, float):
        return f"{v:,g}" if abs(v) < 1e6 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}" if abs(v) >= 10000 else str(v)
    return str(v)


def _parameters_html(rows: list[dict]) -> str:
    out = []
    sections: dict[str, list[dict]] = {}
    for r in rows:
        sections.setdefault(r["section"] or "(top level)", []).append(r)
    own = {"source": 0, "assumption": 0, "source + assumption": 0, "": 0}
    inherited = sum(1 for r in rows if r["kind_inherited"])
    for r in rows:
        if not r["kind_inherited"]:
            own[r["kind"]] = own.get(r["kind"], 0) + 1
    out.append(f'<p>{len(rows)} keys: {own["source"]} with their own note naming a '
               f'<span class="kind-source">source</span>, {own["assumption"]} an '
               f'<span class="kind-assumption">assumption</span>, {own["source + assumption"]} both; '
               f'{inherited} covered by the note of their table or section (shown above them), '
               f'{own[""]} without a source or assumption note. "source" notes refer to '
               f'<code>{SOURCES_DOC}</code> in the gridsim repository, which quotes each figure with its '
               f'citation (the 2018 article and the public statistics it names).</p>')
    for sec, rs in sections.items():
        note = rs[0]["section_note"]
        out.append(f'<h3 id="param-{_e(sec)}">[{_e(sec)}]</h3>')
        if note:
            out.append(f'<p class="muted">{_e(note)}</p>')
        body = []
        last_table = None
        for r in rs:
            if r["table"] and r["table"] != last_table and r["table_note"]:
                body.append([f'<i>[{_e(r["table"])}]</i>', "", "", f'<span class="muted">{_e(r["table_note"])}</span>'])
            last_table = r["table"]
            kind = r["kind"]
            badge = ""
            if kind and r["kind_inherited"]:
                badge = f'<span class="muted">({_e(kind)}, see table note)</span> '
            elif kind:
                badge = f'<span class="kind-{kind.split()[0]}">{_e(kind)}</span>: '

            src = f' <span class="muted">({_e(r["note_from"])})</span>' if r["note_from"] and r["note"] else ""
            set_in = r["set_in"]
            set_html = f'<span class="bad">{_e(set_in)}</span>' if "command line" in set_in or "experiment" in set_in \
                else _e(set_in)
            body.append([_e(r["key"]), _e(_value(r["value"])), set_html, badge + _e(r["note"]) + src])
        out.append(_table(["key", "value", "set in", "note (source / assumption)"], body,
                          f"table-params-{sec}", left=4, raw=True))
    return "\n".join(out)


def _page(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{_e(title)}</title>"
            f"<style>{CSS}</style></head><body><main>\n{body}\n</main></body></html>\n")


def _nav(items: list[tuple[str, str]]) -> str:
    return "<nav>" + "".join(f'<a href="#{_e(a)}">{_e(t)}</a>' for a, t in items) + "</nav>"


# ============================================================================== pass or fail

def _verdict_html(status: str | None) -> str:
    """A verdict as a coloured word ('-' when the run carries no required shares)."""
    if not status:
        return "-"
    return f'<b style="color:{STATUS_COLOR.get(status, "#333")}">{_e(status)}</b>'


def stage_judgement(row: dict, targets: dict, stage: str) -> Judgement:
    """A summary.json stage row as a verdict: the row's own status when it has one, else the
    judging rule applied to its counts (summaries written before required shares were keys)."""
    required = decode_number(row.get("required")) if row.get("required") is not None else required_of(targets, stage)
    n = int(decode_number(row.get("n")) or 0)
    met = int(decode_number(row.get("met")) or 0) if row.get("met") is not None else int(
        round(decode_number(row.get("share")) * n)) if n else 0
    return judge(met, n, required)


def _requirement_text(stage: str, targets: dict) -> str:
    """'90% within 5 min' / '90% within their deadlines'."""
    limit = f"{target_min(targets, stage):g} min" if STAGES[stage].is_target else "their deadlines"
    rural = targets.get(RURAL_TARGET_KEY.get(stage, ""))
    if rural is not None and STAGES[stage].is_target and float(rural) != target_min(targets, stage):
        limit += f" (rural grids {float(rural):g} min)"
    return f"{fmt_pct(required_of(targets, stage), 0)} within {limit}"


def _summary_html(verdicts: list[tuple[str, str, Judgement]], what: str) -> str:
    """The one-screen summary that opens a report: counts of each verdict, then one row per
    (result, stage) with share, interval, requirement and verdict."""
    counts = {st: sum(1 for _, _, j in verdicts if j.status == st) for st in STATUSES}
    line = ", ".join(f'{_verdict_html(st)} {counts[st]}' for st in STATUSES if counts[st])
    rows = [[_e(name), _e(req), _e(fmt_pct(j.share)) if j.status != TOO_FEW else "-",
             (f"{_e(fmt_pct(j.ci_low))} - {_e(fmt_pct(j.ci_high))}" if j.status != TOO_FEW else "-"),
             _e(f"{j.n:,}"), _verdict_html(j.status)] for name, req, j in verdicts]
    return (f'<h2 id="summary-verdicts">Summary: what passed and what failed</h2><p>{_e(what)}: {line}. '
            f'Rule: a requirement is <b>met</b> when the whole 95 % interval of the share is at or above it, '
            f'<b>missed</b> when the whole interval is below it, <b>uncertain</b> when the interval straddles '
            f'it (more days or replications decide), and <b>too few to judge</b> below {MIN_JUDGED} judged '
            f'events. Required shares are the scenario\'s <code>[targets] &lt;stage&gt;_required_share</code> '
            f'keys.</p>'
            + _table(["result", "requirement", "share", "95% CI", "n judged", "verdict"], rows,
                     "table-summary-verdicts", left=2, raw=True))


def _verdict_matrix_html(judged: dict[str, dict[str, Judgement]], targets: dict, what: str, how: str) -> str:
    """The one-screen summary of several results (variants, folders): one row each, one column
    per stage, each cell the verdict with its share."""
    all_j = [j for row in judged.values() for j in row.values()]
    counts = {st: sum(1 for j in all_j if j.status == st) for st in STATUSES}
    line = ", ".join(f'{_verdict_html(st)} {counts[st]}' for st in STATUSES if counts[st])
    rows = []
    for name, row in judged.items():
        cells = []
        for st in STAGES:
            j = row.get(st)
            if j is None:
                cells.append("-")
            elif j.status == TOO_FEW:
                cells.append(_verdict_html(j.status) + f' <span class="muted">({j.n:,})</span>')
            else:
                cells.append(_verdict_html(j.status) + f" {_e(fmt_pct(j.share))}")
        rows.append([_e(name)] + cells)
    heads = [what] + [f"{STAGES[st].short}: {_requirement_text(st, targets)}" for st in STAGES]
    return (f'<h2 id="summary-verdicts">Summary: what passed and what failed</h2><p>{_e(how)}: {line}. '
            f'Rule: <b>met</b> when the whole 95 % interval is at or above the required share, <b>missed</b> '
            f'when it is wholly below, <b>uncertain</b> when it straddles it, <b>too few to judge</b> below '
            f'{MIN_JUDGED} judged events (count in brackets).</p>'
            + _table(heads, rows, "table-summary-verdicts", raw=True))


# ============================================================================== run report

def _stage_label(stage: str, targets: dict) -> str:
    return f"{STAGES[stage].title} {stage_limit_text(stage, targets)}"


def run_report_html(run: RunData, metric: str | None = None, kinds: Iterable[str] | None = None) -> str:
    s = run.summary
    t = run.targets
    name = run.name
    desc = run.scenario.description
    parts = [f"<h1>gridsim report: {_e(name)}</h1>",
             f'<p class="meta">{_e(desc)}</p>',
             f'<p class="meta">{_e(context(run))}; replication {_e(s.get("replication", 0))}; '
             f'scenario file {_e(s.get("scenario_file", "?"))}; gridsim {_e(s.get("gridsim_version", "?"))} '
             f'(run took {decode_number(s.get("wall_seconds")):.1f} s); report by gridsim {_e(__version__)}.</p>']
    figs, done = _figures_html(run, kinds or kinds_for(run), metric)
    stages = s.get("stages") or {}
    verdicts = [(STAGES[st].title, _requirement_text(st, t), stage_judgement(stages[st], t, st))
                for st in STAGES if st in stages]
    parts.append(_summary_html(verdicts, "Stages of this run"))
    parts.append(_nav([("summary-verdicts", "Summary"), ("targets", "Targets"), ("volumes", "Volumes"), ("utilisation", "Utilisation"),
                       ("by-division", "By division"), ("by-category", "By category"), ("figures", "Figures"),
                       ("parameters", "Parameters"), ("scenario-toml", "scenario.toml")]))
    # targets
    rows = []
    for stage in STAGES:
        r = (s.get("stages") or {}).get(stage)
        if not r:
            continue
        j = stage_judgement(r, t, stage)
        rows.append([_e(_stage_label(stage, t)), _e(_int(r["n"])), _e(_int(r.get("met"))), _e(_pct(r["share"])),
                     _e(f"{_pct(r['ci_low'])} - {_pct(r['ci_high'])}"), _e(fmt_pct(j.required, 0)),
                     _verdict_html(j.status), _e(_mins(r["p50"])), _e(_mins(r["p90"])), _e(_mins(r["p95"])),
                     _e(_mins(r["p99"]))])
    parts.append('<h2 id="targets">Targets</h2><p>Events called after the warm-up; the first four stages '
                 'apply to 110 incidents and urgent work orders, the last three to work orders (12345 and grid '
                 'patrol reports) against their per-order deadlines. Times in minutes; "&gt; end": beyond the '
                 'end of the run (open events already past their limit).</p>')
    parts.append(_table(["stage", "n judged", "met", "share", "95% CI (Wilson)", "required", "verdict", "p50", "p90",
                         "p95", "p99"], rows, "table-targets", raw=True))
    # volumes
    vol = s.get("volumes") or {}
    vrows = [[k.replace("_", " "), (f"{decode_number(v):,.2f}" if isinstance(v, float) and not float(v).is_integer()
                                    else _int(v))] for k, v in vol.items()]
    parts.append('<h2 id="volumes">Volumes</h2>' + _table(["volume", "count"], vrows, "table-volumes"))
    # utilisation
    urows = []
    for role, u in (s.get("utilisation") or {}).items():
        urows.append([ROLE_LABEL.get(role, role), _int(u.get("responders")), _int(u.get("on_duty_hours")),
                      _int(u.get("busy_hours")), _pct(u.get("utilisation"))])
    q = s.get("queues") or {}
    qrows = [[k.replace("_", " "), _fmt_cell(v)] for k, v in q.items()]
    parts.append('<h2 id="utilisation">Utilisation and queues</h2><p>Busy share: busy hours over on-duty hours '
                 'after the warm-up, all tasks (first response, co-response, support, cordon, verification), as '
                 'the model counted them.</p>'
                 + _table(["role", "responders", "on-duty h", "busy h", "busy share"], urows, "table-utilisation")
                 + _table(["queue (tasks waiting)", "value"], qrows, "table-queues"))
    # by division / category
    for key, title in (("division", "By division"), ("category", "By category")):
        recs = (s.get("by") or {}).get(key)
        if recs is None:
            recs = stage_table_by(run.events, key, t, run.horizon_min, run.warmup_min,
                                  work_order_warmup_min=run.work_order_warmup_min).to_dict(orient="records")
        tab = pd.DataFrame(recs)
        stages = ("respond", "on_scene", "support", "cordon", "register_dispatch", "close")
        brows = []
        for g, sub in tab.groupby(key, sort=False, observed=True):
            per = sub.set_index("stage")
            cells = []
            for st in stages:
                n = decode_number(per.loc[st, "n"]) if st in per.index else 0
                if not n:
                    cells.append("-")
                    continue
                j = stage_judgement(per.loc[st].to_dict(), t, st)
                share = _pct(per.loc[st, "share"]) if j.status != TOO_FEW else "too few to judge"
                cells.append(f'<span style="color:{STATUS_COLOR[j.status]}">{_e(share)}</span> ({int(n):,})')
            if all(c == "-" for c in cells):
                continue
            brows.append([_e(category_label(g) if key == "category" else g)] + cells)
        heads = [key] + [stage_label(st, t) for st in stages]
        parts.append(f'<h2 id="by-{key}">{title}</h2><p>Share meeting each target (events judged), coloured by '
                     f'its verdict against the required share (green met, magenta missed, orange uncertain, '
                     f'grey too few to judge).</p>' + _table(heads, brows, f"table-by-{key}", raw=True))
    parts.append('<h2 id="figures">Figures</h2>' + figs)
    # parameters
    original = _original_ref(s.get("scenario_file"))
    prow = parameter_rows(run.scenario, original, "command line (--set / --days / --seed)")
    where = (f"set in the original scenario file <code>{_e(s.get('scenario_file'))}</code> and the files it "
             f"extends" if original is not None else
             f"original scenario file <code>{_e(s.get('scenario_file'))}</code> not found: notes from the built-in "
             f"scenario")
    parts.append(f'<h2 id="parameters">Scenario parameters and their sources</h2><p>The resolved scenario of '
                 f'this run; {where}. Keys marked in red differ from that file (set on the command line).</p>'
                 + _parameters_html(prow))
    toml_text = read_text(run.dir / "scenario.toml") if run.dir else run.scenario.to_toml()
    parts.append(f'<h2 id="scenario-toml">Resolved scenario.toml</h2><details><summary>show the file</summary>'
                 f'<pre>{_e(toml_text)}</pre></details>')
    return _page(f"gridsim report: {name}", "\n".join(parts))


# ============================================================================== experiment report

def experiment_report_html(exp: ExperimentData, metric: str | None = None, kinds: Iterable[str] | None = None) -> str:
    name = exp.name
    runs = exp.runs
    n_failed = int((runs["status"] != "ok").sum()) if "status" in runs.columns else 0
    desc = exp.config.get("description", "") if isinstance(exp.config.get("description"), str) else ""
    parts = [f"<h1>gridsim report: experiment {_e(name)}</h1>"]
    if desc:
        parts.append(f'<p class="meta">{_e(desc)}</p>')
    parts.append(f'<p class="meta">{_e(context(exp))}; {len(runs)} run(s), {len(exp.ok)} ok, '
                 f'<span class="{"bad" if n_failed else ""}">{n_failed} failed</span>; base scenario '
                 f'{_e(exp.config.get("base", BUILTIN_NAME))}; report by gridsim {_e(__version__)}.</p>')
    figs, done = _figures_html(exp, kinds or kinds_for(exp), metric)
    parts.append(_verdict_matrix_html({v: {st: variant_judgement(exp, v, st) for st in STAGES} for v in exp.variants},
                                      exp.targets, "variant", "Mean share over replications with its 95 % "
                                      "Student-t interval (one replication: Wilson), judged against the required share"))
    parts.append(_nav([("summary-verdicts", "Summary"), ("variants", "Variants"), ("targets", "Targets"), ("utilisation", "Utilisation"),
                       ("summary", "summary.csv"), ("figures", "Figures"), ("experiment-file", "Experiment file"),
                       ("parameters", "Parameters")]))
    # variants and factors
    factors = exp.factors
    vrows = []
    for v in exp.variants:
        allr = runs[runs["variant"].astype(str) == v] if "variant" in runs.columns else runs
        okr = exp.variant_rows(v)
        vals = [", ".join(sorted({str(x) for x in allr[f]})) if f in allr else "" for f in factors]
        vrows.append([v] + vals + [str(len(okr)), str(len(allr) - len(okr))])
    parts.append('<h2 id="variants">Variants</h2>' + _table(["variant"] + factors + ["runs ok", "failed"], vrows,
                                                             "table-variants", left=1 + len(factors)))
    if n_failed:
        fr = runs[runs["status"] != "ok"]
        parts.append("<h3>Failed runs</h3>" + _table(
            ["variant", "replication", "error"],
            [[str(r.get("variant", "")), str(r.get("replication", "")), str(r.get("error", ""))[:400]]
             for _, r in fr.iterrows()], "table-failed", left=3))
    # targets: mean and CI per variant
    t = exp.targets

    def cell(rows: pd.DataFrame, col: str, kind: str) -> str:
        if col not in rows.columns or not len(rows):
            return "-"
        v = pd.to_numeric(rows[col], errors="coerce").to_numpy(dtype=float)
        have = v[~np.isnan(v)]            # a replication with no event judged has no value
        m, lo, hi = mean_ci(have)
        note = "" if len(have) == len(v) else f" ({len(have)}/{len(v)} reps)"
        if kind == "pct":
            return _pct(m) + ("" if not np.isfinite(lo) else f" [{_pct(lo)}, {_pct(hi)}]") + note
        return _mins(m) + ("" if not np.isfinite(lo) else f" [{_mins(lo)}, {_mins(hi)}]") + note

    trows = []
    for v in exp.variants:
        rows = exp.variant_rows(v)
        trows.append([v] + [cell(rows, f"{st}.share", "pct") for st in TARGET_STAGES]
                     + [cell(rows, "on_scene.p90", "min"), cell(rows, "register_dispatch.share", "pct"),
                        cell(rows, "close.share", "pct")])
    heads = ["variant"] + [stage_label(st, t) for st in TARGET_STAGES] \
        + [f"{STAGES['on_scene'].short} p90 (min)", stage_label("register_dispatch", t), stage_label("close", t)]
    parts.append('<h2 id="targets">Targets</h2><p>Mean over successful replications with its 95 % Student-t '
                 'interval in brackets; "(k/R reps)": only k replications had events judged for that stage.</p>' + _table(heads, [[_e(c) for c in r] for r in trows],
                                                      "table-targets", raw=True))
    urows = []
    roles = [r for r in ROLE_LABEL if f"util.{r}" in runs.columns]
    for v in exp.variants:
        rows = exp.variant_rows(v)
        urows.append([v] + [cell(rows, f"util.{r}", "pct") for r in roles]
                     + [cell(rows, "queue.grid_mean", "min").replace(" min", "") if "queue.grid_mean" in runs else "-"])
    parts.append('<h2 id="utilisation">Utilisation</h2>' + _table(
        ["variant"] + [ROLE_LABEL[r] for r in roles] + ["grid tasks waiting (mean)"], urows, "table-utilisation"))
    # summary.csv
    if exp.summary_table is not None and len(exp.summary_table):
        st = exp.summary_table
        srows = [[_fmt_cell(x) for x in r] for r in st.itertuples(index=False)]
        parts.append('<h2 id="summary">summary.csv</h2><p>As written by the batch: per variant and metric, the '
                     'mean with its 95 % CI and the paired difference against the baseline variant.</p>'
                     + f'<details open><summary>{len(st)} rows</summary>'
                     + _table(list(map(str, st.columns)), srows, "table-summary-csv", left=3) + "</details>")
    else:
        parts.append('<h2 id="summary">summary.csv</h2><p class="muted">No summary.csv in this directory.</p>')
    parts.append('<h2 id="figures">Figures</h2>' + figs)
    cfg_text = read_text(exp.config_path) if exp.config_path else ""
    parts.append('<h2 id="experiment-file">Experiment file</h2>'
                 + (f'<pre>{_e(cfg_text)}</pre>' if cfg_text else '<p class="muted">not found</p>'))
    if exp.scenario is not None:
        base_ref = exp.config.get("base") if isinstance(exp.config.get("base"), str) else None
        original = _original_ref(base_ref, exp.config_path.parent if exp.config_path else None)
        first = exp.variants[0] if exp.variants else ""
        prow = parameter_rows(exp.scenario, original, "experiment ([set] or variant)")
        for r in prow:
            if r["key"] in factors:
                r["set_in"] = "experiment factor: varies by variant (value of the first shown)"
        parts.append(f'<h2 id="parameters">Scenario parameters and their sources</h2><p>The resolved scenario of '
                     f'the first variant (<b>{_e(first)}</b>); the other variants differ only in the factors '
                     f'listed under Variants. Keys marked in red are set by the experiment.</p>'
                     + _parameters_html(prow))
    return _page(f"gridsim report: experiment {name}", "\n".join(parts))


def _fmt_cell(x: Any) -> str:
    if isinstance(x, float):
        if not np.isfinite(x):
            return "-" if math.isnan(x) else ("inf" if x > 0 else "-inf")
        return f"{x:,.4g}" if abs(x) < 1e5 else f"{x:,.0f}"
    return str(x)


# ============================================================================== comparison report

def comparison_report_html(datas: list[RunData | ExperimentData]) -> str:
    """Several folders side by side: verdicts of every result, the comparison figures, and each
    folder's context."""
    results = results_of(datas)
    targets = comparison_targets(datas)
    judged = {r.label: {st: r.judgement(st, targets) for st in STAGES} for r in results}
    parts = [f"<h1>gridsim report: {len(results)} results compared</h1>",
             '<p class="meta">Folders: ' + "; ".join(_e(f"{d.dir} ({context(d)})") for d in datas) + ".</p>",
             _verdict_matrix_html(judged, targets, "result", "Each run (Wilson interval) and each experiment "
                                  "variant (Student-t interval over replications), judged against the required "
                                  "shares of the first folder")]
    for name, make in COMPARE_FIGURES.items():
        parts.append(f'<figure id="fig-{name}"><img alt="{name}" src="{png_data_uri(make(datas))}"><figcaption>'
                     f'{_e(COMPARE_CAPTIONS[name])}</figcaption></figure>')
    return _page("gridsim report: comparison", "\n".join(parts))


COMPARE_CAPTIONS = {
    "compare_ecdf": "Cumulative share of judged events reached within x minutes of the call, one curve per result "
                    "(a variant: mean over its replications). Dashed red: the target; dash-dot: the required share. "
                    "The legend gives each result's share within the target and its verdict.",
    "compare_stages": "Share meeting each stage's limit per result, with its 95 % interval (clipped to 0-100 %), "
                      "coloured by verdict; results are named alternatives, so no line joins them.",
}


# ============================================================================== entry point

def write_comparison_report(paths: list[str | Path], out: str | Path) -> Path:
    """Write one report comparing several run or experiment folders; returns its path."""
    return atomic_write(Path(out), comparison_report_html([load_results(p) for p in paths]))


def write_report(path: str | Path, out: str | Path | None = None, metric: str | None = None) -> Path:
    """Write DIR/report.html (or `out`) for a run or experiment directory; returns its path."""
    data = load_results(path)
    text = run_report_html(data, metric) if isinstance(data, RunData) else experiment_report_html(data, metric)
    target = Path(out) if out is not None else Path(path) / "report.html"
    return atomic_write(target, text)
