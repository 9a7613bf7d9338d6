"""Responders as Mesa agents: police patrol units and grid leaders / full-time / part-time workers.

The agents are the model's population (countable, selectable with Mesa's AgentSet API), but
their hot-path state (idle or busy, position) lives in the dispatcher's flat lists, indexed by
`Responder.index`, so the event loop never scans or steps agents.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

if TYPE_CHECKING:       # pragma: no cover
    from gridsim.engine.model import CityModel

POLICE, FULLTIME, LEADER, PARTTIME = 0, 1, 2, 3
ROLE_CODE = {"police": POLICE, "fulltime": FULLTIME, "leader": LEADER, "parttime": PARTTIME}
ROLE_NAME = {v: k for k, v in ROLE_CODE.items()}


class Responder(mesa.Agent):
    """One police patrol unit (home = sub-center) or grid worker (home = grid)."""

    def __init__(self, model: "CityModel", role: int, index: int, home: int):
        super().__init__(model)
        self.role = role
        self.index = index      # position in the dispatcher's state lists
        self.home = home

    @property
    def role_name(self) -> str:
        return ROLE_NAME[self.role]

    @property
    def busy(self) -> bool:
        return self.model.dispatcher.busy[self.index]


def responder_table(city) -> tuple[np.ndarray, np.ndarray]:
    """(role, home) of every responder: police units first (by sub-center), then grid workers
    grid by grid (full-time, leaders, part-time)."""
    roles = [np.full(int(city.sc_police_units.sum()), POLICE)]
    homes = [np.repeat(np.arange(city.n_subcenters), city.sc_police_units)]
    per_grid = np.column_stack([city.grid_fulltime, city.grid_leaders, city.grid_parttime])
    codes = np.array([FULLTIME, LEADER, PARTTIME])
    roles.append(np.repeat(np.tile(codes, city.n_grids), per_grid.ravel()))
    homes.append(np.repeat(np.repeat(np.arange(city.n_grids), 3), per_grid.ravel()))
    return np.concatenate(roles).astype(np.int8), np.concatenate(homes).astype(np.int32)
