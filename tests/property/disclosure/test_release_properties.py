"""Properties of `carepilot.disclosure.release` on random additive tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carepilot.disclosure import (
    NHS_DIGITAL_2018,
    NHS_DIGITAL_SUPPRESS_1_TO_5,
    OPENSAFELY,
    SUPPRESS_1_TO_7,
    DisclosurePolicy,
    release,
)

from .tables import attack, build_table, equations

MARGIN = 1.0
"""A suppressed count must have an LP feasible interval at least this wide."""

COUNTS = ["numerator", "denominator"]
STATS = ["value", "lower_ci_95", "upper_ci_95", "lower_ci_99_8", "upper_ci_99_8"]


@st.composite
def additive_tables(draw: st.DrawFn, positive: bool = False) -> pd.DataFrame:
    """Random practice → pcn → commissioner → national tables with 2 breakdowns."""
    n_practices = draw(st.integers(1, 6))
    pcns = draw(st.lists(st.integers(0, 2), min_size=n_practices, max_size=n_practices))
    practices = [(pcn, pcn % 2) for pcn in pcns]
    n_age = draw(st.integers(1, 3))
    leaves: dict[tuple[int, int, int], tuple[int, int]] = {}
    for p in range(n_practices):
        for s in range(2):
            for a in range(n_age):
                if positive:
                    num = draw(st.integers(1, 12))
                    den = num + draw(st.integers(1, 12))
                else:
                    den = draw(st.integers(0, 25))
                    num = draw(st.integers(0, den))
                leaves[(p, s, a)] = (num, den)
    return build_table(practices, n_age, leaves)


suppress_policies = st.sampled_from([NHS_DIGITAL_SUPPRESS_1_TO_5, SUPPRESS_1_TO_7])
rounding_policies = st.sampled_from([OPENSAFELY, NHS_DIGITAL_2018])


def _hidden_derivable(released: pd.DataFrame) -> list[int]:
    """Suppressed rows whose unit vector lies in the row space of the equations."""
    hidden = np.flatnonzero(released["suppressed"].to_numpy())
    col_of = {int(r): j for j, r in enumerate(hidden)}
    rows = []
    for margin, children in equations(released):
        coeffs = np.zeros(len(hidden))
        for row, sign in [(margin, 1.0)] + [(c, -1.0) for c in children]:
            if row in col_of:
                coeffs[col_of[row]] += sign
        if coeffs.any():
            rows.append(coeffs)
    if not rows:
        return []
    a = np.array(rows)
    rank = np.linalg.matrix_rank(a)
    out = []
    for row, j in col_of.items():
        e = np.zeros(len(hidden))
        e[j] = 1.0
        if np.linalg.matrix_rank(np.vstack([a, e])) == rank:
            out.append(row)
    return out


@given(additive_tables(), rounding_policies)
def test_opensafely_never_releases_small_counts(
    table: pd.DataFrame, policy: DisclosurePolicy
) -> None:
    out = release(table, policy)
    for col in COUNTS:
        released = out[col].dropna().to_numpy()
        assert not ((released >= 1) & (released <= policy.threshold)).any()
        assert (released % policy.rounding_base == 0).all()
        if policy.redact_zero:
            assert (released > policy.threshold).all()
    suppressed = out["suppressed"].to_numpy()
    assert out.loc[suppressed, STATS].isna().all().all()
    # a row is suppressed exactly when its numerator or denominator is redacted
    assert (suppressed == out[COUNTS].isna().any(axis=1).to_numpy()).all()


@given(additive_tables(), suppress_policies)
def test_suppression_never_releases_small_counts(
    table: pd.DataFrame, policy: DisclosurePolicy
) -> None:
    out = release(table, policy)
    shown = out.loc[~out["suppressed"]]
    for col in [*COUNTS, "complement"]:
        values = (
            (shown["denominator"] - shown["numerator"]).to_numpy()
            if col == "complement"
            else shown[col].to_numpy()
        )
        assert not ((values >= 1) & (values < policy.threshold)).any(), col
    hidden = out.loc[out["suppressed"]]
    assert hidden[[*COUNTS, *STATS]].isna().all().all()
    assert hidden["suppression_reason"].notna().all()


ALL_POLICIES = [
    NHS_DIGITAL_SUPPRESS_1_TO_5,
    SUPPRESS_1_TO_7,
    OPENSAFELY,
    NHS_DIGITAL_2018,
]


@settings(max_examples=40)
@given(additive_tables(), st.sampled_from(ALL_POLICIES))
def test_release_is_idempotent_and_pure(
    table: pd.DataFrame, policy: DisclosurePolicy
) -> None:
    before = table.copy(deep=True)
    once = release(table, policy)
    pd.testing.assert_frame_equal(table, before)
    twice = release(once, policy)
    pd.testing.assert_frame_equal(once, twice)


@given(additive_tables(), suppress_policies)
def test_unsuppressed_rows_are_unchanged(
    table: pd.DataFrame, policy: DisclosurePolicy
) -> None:
    out = release(table, policy)
    keep = ~out["suppressed"].to_numpy()
    cols = [c for c in table.columns if c not in ("suppressed", "suppression_reason")]
    pd.testing.assert_frame_equal(
        out.loc[keep, cols], table.loc[keep, cols], check_dtype=False
    )
    assert out.loc[keep, "suppression_reason"].isna().all()


@given(additive_tables(), suppress_policies)
def test_no_suppressed_row_is_a_linear_function_of_published_rows(
    table: pd.DataFrame, policy: DisclosurePolicy
) -> None:
    out = release(table, policy)
    assert _hidden_derivable(out) == []


@pytest.mark.slow
@settings(max_examples=30)
@given(additive_tables(positive=True), suppress_policies)
def test_lp_attacker_cannot_narrow_any_suppressed_count(
    table: pd.DataFrame, policy: DisclosurePolicy
) -> None:
    out = release(table, policy)
    truth = table[COUNTS].to_numpy()
    for j, col in enumerate(COUNTS):
        for row, (lo, hi) in attack(out, col).items():
            assert lo - 1e-6 <= truth[row, j] <= hi + 1e-6
            assert hi - lo >= MARGIN, (col, row, lo, hi, truth[row, j])
