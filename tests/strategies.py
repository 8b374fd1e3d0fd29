"""Reusable Hypothesis strategies shared across test packages (add yours below)."""

from __future__ import annotations

from hypothesis import strategies as st

CONFIDENCE_LEVELS = st.sampled_from([0.9, 0.95, 0.98, 0.99, 0.998])
"""Confidence levels PHE methods accept (0.9 to just below 1)."""


@st.composite
def numerator_denominator(
    draw: st.DrawFn, max_denominator: int = 10_000_000
) -> tuple[int, int]:
    """A count x and sample size n with 0 ≤ x ≤ n and n ≥ 1."""
    n = draw(st.integers(min_value=1, max_value=max_denominator))
    x = draw(st.integers(min_value=0, max_value=n))
    return x, n


counts = st.integers(min_value=0, max_value=5_000_000)
"""Non-negative event counts."""

positive_populations = st.floats(min_value=1.0, max_value=1e8, allow_nan=False)
"""Populations / person-time greater than zero."""


@st.composite
def age_band_counts(draw: st.DrawFn, n_bands: int = 19) -> tuple[list[int], list[int]]:
    """Events and populations for `n_bands` age bands (population ≥ events, ≥ 1)."""
    pops = draw(st.lists(st.integers(1, 200_000), min_size=n_bands, max_size=n_bands))
    events = [draw(st.integers(0, p)) for p in pops]
    return events, pops
