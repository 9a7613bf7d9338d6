"""The domain vocabulary: roles, sources, priorities, stages and scheduler event kinds.

One definition of each name the rest of the package speaks, so nothing is copied and nothing
drifts. This module is the bottom layer: it imports nothing from gridsim, and everything
else may import it. Numbers that are *modelling choices* never live here (they are scenario
keys); only names, codes and the meaning of the judged stages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# --- responders ---------------------------------------------------------------------------
ROLES = ("police", "fulltime", "leader", "parttime")
"""Every responder role, in code order (the code is the index)."""
POLICE, FULLTIME, LEADER, PARTTIME = range(len(ROLES))
ROLE_CODE = {name: code for code, name in enumerate(ROLES)}
ROLE_NAME = dict(enumerate(ROLES))
GRID_ROLES = ROLES[1:]
"""The roles that belong to a grid (not the police)."""
ROLE_LABEL = {"police": "police patrol units", "fulltime": "full-time grid workers",
              "leader": "grid leaders", "parttime": "part-time grid workers"}
STAFF_KEY = {"police": "police_units", "fulltime": "fulltime_workers", "leader": "grid_leaders",
             "parttime": "parttime_workers"}
"""Role -> its head-count key in the scenario's [staff] and [allocation] tables."""

# --- event sources ------------------------------------------------------------------------
SOURCES = ("110", "12345", "grid")
"""Where an event enters: a 110 police call, a 12345 hotline work order, a grid patrol report."""
SOURCE_CODE = {name: code for code, name in enumerate(SOURCES)}
WORK_ORDER_SOURCES = ("12345", "grid")
SOURCE_LABEL = {"110": "110 police incidents", "12345": "12345 work orders", "grid": "grid patrol reports"}

# --- priorities ---------------------------------------------------------------------------
PRIORITIES = ("urgent", "routine")
URGENT, ROUTINE = range(len(PRIORITIES))

# --- build status of sub-centers and workstations ---------------------------------------
BUILT, UNDER_CONSTRUCTION, NOT_STARTED = 2, 1, 0
STATUS_NAMES = {BUILT: "built", UNDER_CONSTRUCTION: "under construction", NOT_STARTED: "not started"}
HANDLED_LEVELS = ("police", "workstation", "subcenter", "division")
"""Where an event was routed: 110 by the police; a work order by the dispatcher office that handed it
to its handler (an unbuilt level's step is done by the level above)."""


# --- judged stages ------------------------------------------------------------------------
@dataclass(frozen=True)
class Stage:
    """One judged step: elapsed = end - reference, judged against a limit.

    The limit is either the scenario's `[targets].<target_key>` (one number) or, for work
    orders, a per-row ABSOLUTE due time (`due_column` of the events table: minutes from the run's
    start when the limit runs out, already converted from its own clock, calendar or working
    time). `title` and `short` are the labels every table, figure and report uses.
    """

    name: str
    reference: str
    end: str
    title: str
    short: str
    target_key: str | None = None
    due_column: str | None = None
    rural_target_key: str | None = None     # [targets] key of a longer limit in rural grids, if any

    @property
    def is_target(self) -> bool:
        """A patrol-system target (3/5/15/30 min) rather than a work-order step limit."""
        return self.target_key is not None


STAGES: dict[str, Stage] = {s.name: s for s in (
    Stage("respond", "t_call", "t_dispatch", "Respond: call to unit dispatched", "respond",
          target_key="response_min"),
    Stage("on_scene", "t_call", "t_arrive", "On scene: call to first unit arriving", "on scene",
          target_key="on_scene_min", rural_target_key="on_scene_rural_min"),
    Stage("support", "t_call", "t_support", "Regional support: call to last support unit on scene",
          "regional support", target_key="support_min"),
    Stage("cordon", "t_call", "t_cordon", "City-wide cordon: call to last checkpoint reached", "cordon",
          target_key="cordon_min"),
    Stage("register_dispatch", "t_call", "t_dispatch", "Work order registered and dispatched", "WO dispatched",
          due_column="due_register_dispatch"),
    Stage("verify", "t_report", "t_verify", "Work order verified on site", "WO verified",
          due_column="due_verify"),
    Stage("close", "t_call", "t_close", "Work order closed", "WO closed", due_column="due_close"),
)}
TARGET_STAGES = tuple(name for name, s in STAGES.items() if s.is_target)
WORK_ORDER_STAGES = tuple(name for name, s in STAGES.items() if not s.is_target)
TARGET_KEY = {name: STAGES[name].target_key for name in TARGET_STAGES}
PERCENTILES = (50, 90, 95, 99)
ECDF_GRID_MIN = np.round(np.arange(0.0, 60.0 + 1e-9, 0.5), 10)
"""Minutes at which experiment stores keep each run's ECDF (`ecdf.<stage>` columns)."""


def stage_label(stage: str, targets: dict | object) -> str:
    """'respond <= 3 min' from the scenario's targets (a dict or the typed [targets] table);
    'on scene <= 5 / 10 min' where rural grids have a longer limit (urban / rural); work-order
    stages have per-event limits and read 'WO dispatched in limit'."""
    s = STAGES[stage]
    if s.target_key is None:
        return f"{s.short} in limit"
    get = (lambda k: targets.get(k)) if isinstance(targets, dict) else (lambda k: getattr(targets, k, None))
    value = get(s.target_key)
    rural = get(s.rural_target_key) if s.rural_target_key else None
    if rural is not None and float(rural) != float(value):
        return f"{s.short} <= {value:g} / {rural:g} min"     # urban / rural grids
    return f"{s.short} <= {value:g} min"


# --- the scheduler's event kinds ---------------------------------------------------------
# Task kinds: one job for one responder (the engine's agencies give them meaning).
P110, SUPPORT, CORDON, WORK, VERIFY, CORESP, BACKUP, FIX = range(8)
TASK_KINDS = ("p110", "support", "cordon", "work", "verify", "coresponse", "backup", "fix")
# Timed event kinds on the scheduler's heap. Each is handled by exactly one registered
# handler (see gridsim.engine.scheduler); an agency adds a kind by registering a handler.
FREE, VERIFY_READY, SHIFT_ON, SHIFT_OFF, SAMPLE, WARMUP_END = range(6)
EVENT_KINDS = ("free", "verify_ready", "shift_on", "shift_off", "sample", "warmup_end")
