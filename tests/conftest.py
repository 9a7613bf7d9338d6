import functools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


@functools.lru_cache(maxsize=None)
def _baseline_city():
    from gridsim.city import build_city
    from gridsim.scenario import load_scenario
    return build_city(load_scenario())


@pytest.fixture
def baseline_city():
    """The built-in city, built once per test session (read-only)."""
    return _baseline_city()
