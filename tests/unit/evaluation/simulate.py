"""Seeded synthetic data with planted effects for the evaluation tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def staggered_panel(
    seed: int,
    *,
    n_units: int = 150,
    n_periods: int = 8,
    effect: float = 1.0,
    cohorts: tuple[int, ...] = (4, 6),
) -> pd.DataFrame:
    """Practices x periods; cohorts adopt at the given periods, a third never.

    y_it = a_i + l_t + effect·D_it + e_it, with a deprivation quintile whose
    effect is half as big in quintile 5 when ``effect`` is non-zero.
    """
    rng = np.random.default_rng(seed)
    g_choices = np.array([0, *cohorts])
    g = rng.choice(g_choices, size=n_units)
    a = rng.normal(0, 1, n_units) + 0.3 * (g > 0)
    lam = np.cumsum(rng.normal(0.2, 0.1, n_periods))
    quint = rng.integers(1, 6, n_units)
    rows = []
    for i in range(n_units):
        for t in range(1, n_periods + 1):
            d = int(g[i] > 0 and t >= g[i])
            tau = effect * (0.5 if quint[i] == 5 else 1.0)
            rows.append(
                {
                    "practice": i,
                    "period": t,
                    "first": int(g[i]),
                    "d": d,
                    "imd": int(quint[i]),
                    "y": a[i] + lam[t - 1] + tau * d + rng.normal(0, 0.5),
                }
            )
    return pd.DataFrame(rows)


def patients(seed: int, *, n: int = 1500, effect: float = -2.0) -> pd.DataFrame:
    """Patient-level data with confounding by age and deprivation."""
    rng = np.random.default_rng(seed)
    age = rng.normal(60, 10, n)
    imd = rng.integers(1, 6, n).astype(float)
    p = 1 / (1 + np.exp(-(-0.5 + 0.04 * (age - 60) + 0.2 * (imd - 3))))
    d = (rng.random(n) < p).astype(int)
    y = 10 + 0.1 * age + 0.5 * imd + effect * d + rng.normal(0, 2, n)
    return pd.DataFrame({"d": d, "age": age, "imd": imd, "y": y})


def its_series(
    seed: int, *, rr: float = 0.85, n: int = 48, start: int = 25
) -> pd.DataFrame:
    """Monthly counts with trend, seasonality and a level change at ``start``."""
    rng = np.random.default_rng(seed)
    t = np.arange(1, n + 1)
    month = (t - 1) % 12 + 1
    pop = np.full(n, 100_000.0)
    mu = (
        pop
        / 1000
        * np.exp(0.002 * t + 0.1 * np.sin(2 * np.pi * month / 12))
        * np.where(t >= start, rr, 1.0)
    )
    return pd.DataFrame(
        {
            "t": t,
            "month": month,
            "pop": pop,
            "s": (t >= start).astype(int),
            "y": rng.poisson(mu),
        }
    )
