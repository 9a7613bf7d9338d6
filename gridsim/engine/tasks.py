"""A task: one job for one responder, passed between the agencies of the engine.

A 110 incident's first unit, a regional-support unit, a cordon checkpoint, a work order's
handler, its on-site verification, a patrol-found matter fixed by its finder, or a grid worker
co-responding to a 110 call (the kinds are
gridsim.domain's task kinds). Tasks are named tuples, so queues hold plain tuples and code
reads `task.home`, not `task[7]`. On the hot path build them with `new_task(Task, (...))`:
`tuple.__new__` skips the keyword-handling constructor and costs a fifth as much.
"""

from __future__ import annotations

from typing import NamedTuple


class Task(NamedTuple):
    kind: int            # gridsim.domain task kind (P110, SUPPORT, CORDON, WORK, VERIFY, CORESP, BACKUP, FIX)
    event: int           # event id (row of the events table)
    x: float             # where the job is, km
    y: float
    service_min: float   # time on scene
    priority: int        # gridsim.domain URGENT or ROUTINE
    t_ready: float       # when it was ready for dispatch (queues serve the oldest first)
    home: int            # whose queue holds it: a sub-center (police) or a grid (grid workers)


new_task = tuple.__new__
