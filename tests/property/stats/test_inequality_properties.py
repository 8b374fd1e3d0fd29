"""Hypothesis properties of SII/RII, funnels, quantiles and significance."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from carepilot.stats.funnels import proportion_funnel_limit
from carepilot.stats.inequality import slope_index_of_inequality
from carepilot.stats.quantiles import assign_quantiles
from carepilot.stats.significance import compare_to_benchmark

pops = st.lists(st.integers(100, 100_000), min_size=5, max_size=10)


@settings(max_examples=25)
@given(pops, st.floats(-5, 5), st.floats(50, 80))
def test_sii_recovers_exact_linear_gradient(
    populations: list[int], slope: float, start: float
) -> None:
    share = np.asarray(populations) / sum(populations)
    mid = np.cumsum(share) - share / 2
    values = start + slope * mid
    result = slope_index_of_inequality(
        values, populations, se=np.full(len(values), 0.5), repetitions=1000
    )
    assert np.isclose(result.sii, slope, atol=1e-8)
    assert np.isclose(result.intercept, start)
    assert result.sii_lower[0.95] <= result.sii <= result.sii_upper[0.95]


@settings(max_examples=25)
@given(pops, st.floats(-5, 5))
def test_negative_multiplier_flips_sii_and_inverts_rii(
    populations: list[int], slope: float
) -> None:
    share = np.asarray(populations) / sum(populations)
    values = 70 + slope * (np.cumsum(share) - share / 2)
    se = np.full(len(values), 1.0)
    up = slope_index_of_inequality(values, populations, se=se, repetitions=1000)
    down = slope_index_of_inequality(
        values, populations, se=se, repetitions=1000, multiplier=-1
    )
    assert np.isclose(down.sii, -up.sii) and np.isclose(down.rii, 1 / up.rii)


@given(st.floats(0.01, 0.99), st.integers(10, 1_000_000))
def test_funnel_998_outside_95_and_around_baseline(theta: float, n: int) -> None:
    lo95 = proportion_funnel_limit([n], theta, 0.95, "low")[0]
    hi95 = proportion_funnel_limit([n], theta, 0.95, "high")[0]
    lo998 = proportion_funnel_limit([n], theta, 0.998, "low")[0]
    hi998 = proportion_funnel_limit([n], theta, 0.998, "high")[0]
    assert lo998 <= lo95 <= theta <= hi95 <= hi998


@given(
    st.lists(st.floats(0, 1000, allow_nan=False), min_size=10, max_size=200),
    st.integers(2, 10),
    st.booleans(),
)
def test_quantiles_are_in_range_and_monotone(
    values: list[float], q: int, invert: bool
) -> None:
    out = assign_quantiles(values, q, invert=invert)
    assert ((out >= 1) & (out <= q)).all()
    order = np.argsort(values, kind="stable")
    ranked = out[order] if not invert else out[order][::-1]
    assert (np.diff(ranked) >= 0).all()


@given(st.floats(-100, 100), st.floats(0, 10), st.floats(0, 10), st.floats(-100, 100))
def test_benchmark_inside_interval_is_similar(
    value: float, below: float, above: float, shift: float
) -> None:
    lo, hi = value - below, value + above
    bench = min(max(shift, lo), hi)
    assert (
        compare_to_benchmark([value], [lo], [hi], bench, "higher_is_better")[0]
        == "similar"
    )
