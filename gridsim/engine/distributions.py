"""Time distributions named in scenarios (`Distribution`: family, mean_min, cv) -> vectorised samples.

One parameterisation (mean and coefficient of variation) for every family, so a scenario
can switch family without re-deriving parameters.
"""

from __future__ import annotations

import math

import numpy as np

from gridsim.scenario import Distribution


def sample(rng: np.random.Generator, spec: Distribution, size: int) -> np.ndarray:
    """Draw `size` non-negative durations (minutes) from a distribution spec."""
    family, mean = spec.family, float(spec.mean_min)
    if size == 0:
        return np.empty(0)
    if mean == 0.0 or family == "fixed":
        # still consume the stream the same way so switching mean to 0 keeps other draws aligned
        rng.random(size)
        return np.full(size, mean)
    if family == "exponential":
        return rng.exponential(mean, size)
    cv = float(spec.cv)
    if family == "lognormal":
        s2 = math.log1p(cv * cv)
        return rng.lognormal(math.log(mean) - s2 / 2.0, math.sqrt(s2), size)
    if family == "gamma":
        k = 1.0 / (cv * cv)
        return rng.gamma(k, mean / k, size)
    raise ValueError(f"unknown distribution family {family!r}")

