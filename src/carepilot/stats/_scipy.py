"""Typed wrappers around the few SciPy distribution functions the package uses.

SciPy ships incomplete type information, so strict type checking stops at this
module: everything else in `carepilot.stats` calls these typed functions.
"""

# pyright: reportMissingTypeStubs=false, reportUnknownMemberType=false, reportUnknownVariableType=false, reportUnknownArgumentType=false

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import stats as _sps

FloatArray = npt.NDArray[np.float64]


def norm_ppf(p: float) -> float:
    """Standard-normal quantile Φ⁻¹(p)."""
    return float(_sps.norm.ppf(p))


def chi2_ppf(p: float, df: npt.ArrayLike) -> FloatArray:
    """Chi-square p-quantile with `df` degrees of freedom (vectorised over df)."""
    return np.asarray(_sps.chi2.ppf(p, df), dtype=np.float64)


def t_ppf(p: float, df: npt.ArrayLike) -> FloatArray:
    """Student-t p-quantile with `df` degrees of freedom."""
    return np.asarray(_sps.t.ppf(p, df), dtype=np.float64)


def poisson_sf(k: npt.ArrayLike, mean: npt.ArrayLike) -> FloatArray:
    """P(X > k) for X ~ Poisson(mean)."""
    return np.asarray(_sps.poisson.sf(k, mean), dtype=np.float64)


def poisson_cdf(k: npt.ArrayLike, mean: npt.ArrayLike) -> FloatArray:
    """P(X ≤ k) for X ~ Poisson(mean)."""
    return np.asarray(_sps.poisson.cdf(k, mean), dtype=np.float64)


def rank_min(values: npt.ArrayLike) -> FloatArray:
    """Ranks 1..N with ties given the minimum rank (R's ``rank(ties="min")``)."""
    return np.asarray(_sps.rankdata(values, method="min"), dtype=np.float64)
