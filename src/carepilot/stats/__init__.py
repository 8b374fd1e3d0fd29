"""Fingertips-grade public-health statistics (PHE / PHEindicatormethods methods).

Vectorised NumPy functions the indicator engine calls, plus ``phe_*`` DataFrame
conveniences for analysts. Every method is checked against published
PHEindicatormethods results (see ``docs/statistics.md``).

This package is pure: it imports only NumPy, SciPy and pandas (no web, database or
CLI code) and never opens files.
"""

from __future__ import annotations

from carepilot.stats.dsr import (
    DSRResult,
    calculate_dsr,
    directly_standardised_rate,
    directly_standardised_rate_nonindependent,
)
from carepilot.stats.funnels import (
    assign_funnel_significance,
    calculate_funnel_limits,
    calculate_funnel_points,
)
from carepilot.stats.inequality import (
    SIIResult,
    gap,
    phe_sii,
    slope_index_of_inequality,
)
from carepilot.stats.isr import (
    ISRResult,
    calculate_isr,
    indirectly_standardised_rate,
    indirectly_standardised_ratio,
)
from carepilot.stats.life_expectancy import (
    LifeTable,
    life_expectancy,
    phe_life_expectancy,
)
from carepilot.stats.means import mean_interval, phe_mean
from carepilot.stats.proportions import (
    phe_proportion,
    proportion_interval,
    wilson_interval,
)
from carepilot.stats.quantiles import assign_quantiles, phe_quantile
from carepilot.stats.rates import (
    byars_interval,
    exact_poisson_interval,
    phe_rate,
    rate_interval,
)
from carepilot.stats.significance import Polarity, compare_to_benchmark
from carepilot.stats.standard_populations import ESP1976, ESP2013, StandardPopulation

__all__ = [
    "ESP1976",
    "ESP2013",
    "DSRResult",
    "ISRResult",
    "LifeTable",
    "Polarity",
    "SIIResult",
    "StandardPopulation",
    "assign_funnel_significance",
    "assign_quantiles",
    "byars_interval",
    "calculate_dsr",
    "calculate_funnel_limits",
    "calculate_funnel_points",
    "calculate_isr",
    "compare_to_benchmark",
    "directly_standardised_rate",
    "directly_standardised_rate_nonindependent",
    "exact_poisson_interval",
    "gap",
    "indirectly_standardised_rate",
    "indirectly_standardised_ratio",
    "life_expectancy",
    "mean_interval",
    "phe_life_expectancy",
    "phe_mean",
    "phe_proportion",
    "phe_quantile",
    "phe_rate",
    "phe_sii",
    "proportion_interval",
    "rate_interval",
    "slope_index_of_inequality",
    "wilson_interval",
]
