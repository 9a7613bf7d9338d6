"""The 12345 hotline centre: call-takers on an hourly seat roster, and the work orders they file.

Every call's arrival is known before the run, so demand generation solves the answer queue up
front (gridsim.engine.answer_queue) and keeps per-hour sums (HotlineCalls): calls, waits,
answers within 30 s, first-contact resolutions and transfers with 110. The centre holds them
and reports the run's call statistics over the measured window. During the loop it receives
each filed work order (source 12345) and passes it on to whoever handles filed orders.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import mesa
import numpy as np

from gridsim.domain import SOURCE_CODE
from gridsim.engine.demand import HotlineCalls
from gridsim.engine.scheduler import Scheduler


class HotlineCentre(mesa.Agent):
    """Holds the run's 12345 call results and hands filed work orders on."""

    name = "hotline_centre"

    def __init__(self, model: mesa.Model, scheduler: Scheduler, calls: HotlineCalls,
                 hand_over: Callable[[int, float], None]):
        super().__init__(model)
        self.calls = calls
        self.hand_over = hand_over            # next step of a filed order (routing / dispatch)
        scheduler.register_arrivals(SOURCE_CODE["12345"], self.on_routed_order)

    def on_routed_order(self, e: int, t: float) -> None:
        """Work order e has been filed by a call-taker: pass it on."""
        self.hand_over(e, t)

    def stats(self, warmup_min: float) -> dict:
        """Call statistics of the calls arriving in the measured window (whole simulated hours
        from warmup_min on), in total and by hour of day. Waits are seconds; a mean or share
        is None when no call arrived."""
        c = self.calls
        first = math.ceil(warmup_min / 60.0 - 1e-9)
        window = slice(first, None)
        n, wait = c.calls[window], c.wait_s_sum[window]
        within = c.within_30s[window]
        hod = np.arange(first, first + len(n)) % 24
        by_calls = np.bincount(hod, weights=n, minlength=24)
        by_wait = np.bincount(hod, weights=wait, minlength=24)
        by_within = np.bincount(hod, weights=within, minlength=24)
        total = int(n.sum())
        return {
            "calls": total,
            "answer_wait_mean_s": _ratio(float(wait.sum()), total),
            "answered_within_30s_share": _ratio(float(within.sum()), total),
            "answer_wait_max_s": float(c.wait_s_max[window].max()) if total else None,
            "first_contact": int(c.first_contact[window].sum()),
            "to_110": int(c.to_110[window].sum()),
            "from_110": int(c.from_110[window].sum()),
            "by_hour_of_day": {
                "calls": [int(v) for v in by_calls],
                "answer_wait_mean_s": [_ratio(w, k) for w, k in zip(by_wait, by_calls)],
                "answered_within_30s_share": [_ratio(w, k) for w, k in zip(by_within, by_calls)],
            },
        }


def _ratio(num: float, den: float) -> float | None:
    return float(num) / float(den) if den > 0 else None
