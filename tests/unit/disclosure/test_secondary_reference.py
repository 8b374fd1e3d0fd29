"""The faster secondary suppression gives the previous algorithm's output.

`_reference.py` is the algorithm before the speed work (whole-table audit every
round, one SVD per component). These tests run both on tables with several
indicators and periods, small and large connected components of hidden rows
(dense and LSQR audit) and several rounds, and require identical tables, except
where the previous algorithm stopped with rows still derivable (it only looked
for complements in a derivable row's own lines): there the new output must hide
a superset and leave nothing derivable.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carepilot.disclosure import (
    NHS_DIGITAL_SUPPRESS_1_TO_5,
    SUPPRESS_1_TO_7,
    DisclosurePolicy,
    _frame,
    release,
    secondary,
)
from carepilot.disclosure.constraints import build_constraints
from carepilot.disclosure.secondary import DENSE_LIMIT, find_derivable
from carepilot.errors import InputDataError
from tests.property.disclosure.tables import build_table

from ._reference import reference_build_constraints, reference_release


def assert_matches_reference(
    table: pd.DataFrame, policy: DisclosurePolicy, fast: pd.DataFrame
) -> None:
    slow = reference_release(table, policy)
    cons = build_constraints(table, policy.hierarchy)
    if find_derivable(slow["suppressed"].to_numpy(), cons).any():
        new, old = fast["suppressed"].to_numpy(), slow["suppressed"].to_numpy()
        assert (new | ~old).all()
        assert not find_derivable(new, cons).any()
    else:
        pd.testing.assert_frame_equal(fast, slow)


def engine_like_table(
    n_practices: int, mean: float, groups: int, seed: int
) -> pd.DataFrame:
    """practice -> pcn -> commissioner -> national x (total, sex, 4 age bands) for
    ``groups`` indicator x period groups; small practices so many rows are hidden."""
    rng = np.random.default_rng(seed)
    pcn_of = rng.integers(0, max(1, n_practices // 4), n_practices)
    frames = []
    for g in range(groups):
        leaves = {
            (p, s, a): (int(n), int(d))
            for p in range(n_practices)
            for s in range(2)
            for a in range(4)
            for d in [rng.poisson(mean)]
            for n in [rng.binomial(d, 0.4)]
        }
        table = build_table(
            [(int(u), int(u) % 3) for u in pcn_of], 4, leaves, f"ind-{g % 2}"
        )
        table["period_start"] = f"2024-{g // 2 + 1:02d}-01"
        frames.append(table)
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize(
    ("n_practices", "mean", "groups", "seed"),
    [
        (40, 6.0, 4, 1),
        (120, 4.0, 3, 2),
        (200, 3.0, 2, 3),
        (60, 12.0, 6, 4),
        (80, 16.0, 3, 8),
    ],
)
@pytest.mark.parametrize("policy", [SUPPRESS_1_TO_7, NHS_DIGITAL_SUPPRESS_1_TO_5])
def test_identical_to_reference_on_engine_like_tables(
    n_practices: int, mean: float, groups: int, seed: int, policy: DisclosurePolicy
) -> None:
    table = engine_like_table(n_practices, mean, groups, seed)
    fast = release(table, policy)
    assert_matches_reference(table, policy, fast)
    assert fast["suppressed"].any()


def test_tables_exercise_large_components_and_several_rounds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The parametrised tables reach the LSQR path (components > DENSE_LIMIT) and
    the incremental audit (more than one round)."""
    with caplog.at_level("INFO", logger="carepilot.disclosure.release"):
        release(engine_like_table(80, 16.0, 3, 8), SUPPRESS_1_TO_7)
    assert "3 rounds" in caplog.text
    table = engine_like_table(200, 3.0, 2, 3)
    hidden = release(table, SUPPRESS_1_TO_7)["suppressed"].to_numpy()
    cons = build_constraints(table, SUPPRESS_1_TO_7.hierarchy)
    ent = np.flatnonzero(hidden[cons.cell])
    cells, col = np.unique(cons.cell[ent], return_inverse=True)
    lines, row = np.unique(cons.line[ent], return_inverse=True)
    _, label = _frame.components(
        row.astype(np.int64), col.astype(np.int64), len(lines), len(cells)
    )
    assert np.bincount(label).max() > DENSE_LIMIT


@st.composite
def multi_group_tables(draw: st.DrawFn) -> pd.DataFrame:
    """Several indicator x period groups of random additive tables."""
    frames = []
    for g in range(draw(st.integers(1, 4))):
        n_practices = draw(st.integers(1, 6))
        pcns = draw(
            st.lists(st.integers(0, 2), min_size=n_practices, max_size=n_practices)
        )
        n_age = draw(st.integers(1, 3))
        leaves: dict[tuple[int, int, int], tuple[int, int]] = {}
        for p in range(n_practices):
            for s in range(2):
                for a in range(n_age):
                    den = draw(st.integers(0, 25))
                    leaves[(p, s, a)] = (draw(st.integers(0, den)), den)
        table = build_table([(u, u % 2) for u in pcns], n_age, leaves, f"ind-{g}")
        frames.append(table)
    return pd.concat(frames, ignore_index=True)


@settings(max_examples=60, deadline=None)
@given(
    multi_group_tables(),
    st.sampled_from([SUPPRESS_1_TO_7, NHS_DIGITAL_SUPPRESS_1_TO_5]),
)
def test_identical_to_reference_on_random_tables(
    table: pd.DataFrame, policy: DisclosurePolicy
) -> None:
    assert_matches_reference(table, policy, release(table, policy))


def test_incremental_audit_equals_full_audit() -> None:
    """Re-auditing only components with newly hidden rows gives the full answer."""
    table = engine_like_table(60, 5.0, 2, 7)
    cons = build_constraints(table, SUPPRESS_1_TO_7.hierarchy)
    rng = np.random.default_rng(0)
    hidden = rng.random(len(table)) < 0.3
    known = find_derivable(hidden, cons)
    for _ in range(5):
        more = hidden | (rng.random(len(table)) < 0.05)
        incremental = find_derivable(more, cons, changed=more & ~hidden, known=known)
        full = find_derivable(more, cons)
        assert (incremental == full).all()
        hidden, known = more, full


def test_single_threaded_blas_restores_the_thread_count() -> None:
    setters = _frame._openblas_thread_setters()  # pyright: ignore[reportPrivateUsage]
    before = [setter(3) for setter in setters]
    try:
        with _frame.single_threaded_blas(), _frame.single_threaded_blas():
            assert all(setter(1) == 1 for setter in setters)
        assert all(setter(3) == 3 for setter in setters)
    finally:
        for setter, count in zip(setters, before, strict=True):
            setter(count)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_constraints_identical_to_reference(seed: int) -> None:
    table = engine_like_table(30, 5.0, 3, seed)
    # mixed dtypes: numeric area codes next to text parent codes, a categorical
    table["area_code"] = table["area_code"].astype("category")
    table.loc[table["area_type"] == "national", "parent_area_code"] = np.nan
    new = build_constraints(table, SUPPRESS_1_TO_7.hierarchy)
    old = reference_build_constraints(table, SUPPRESS_1_TO_7.hierarchy)
    for field in ("line", "cell", "margin"):
        assert (getattr(new, field) == getattr(old, field)).all(), field
    assert (new.n_lines, new.n_cells) == (old.n_lines, old.n_cells)


def test_constraints_compare_codes_as_text() -> None:
    """An integer area code matches the same code written as text in the parent
    column, as before (values are compared as text)."""
    table = pd.DataFrame(
        {
            "area_type": ["pcn", "practice", "practice"],
            "area_code": [7, 1, 2],
            "parent_area_code": [None, "7", "7"],
            "breakdown": "total",
            "category": "all",
        }
    )
    new = build_constraints(table, (("practice", "pcn"),))
    old = reference_build_constraints(table, (("practice", "pcn"),))
    assert new.n_lines == old.n_lines == 1
    assert (new.cell == old.cell).all()


def test_empty_key_column_is_rejected() -> None:
    table = engine_like_table(2, 5.0, 1, 0)
    table.loc[3, "category"] = None
    with pytest.raises(InputDataError, match=r"column `category` is empty at row 3"):
        build_constraints(table, SUPPRESS_1_TO_7.hierarchy)


def test_later_rounds_on_the_unresolved_parts_only_change_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rounds after the first work on the indicator x period parts that still have
    derivable rows; the result equals running them on the whole table."""
    first = engine_like_table(80, 16.0, 3, 8)
    second = engine_like_table(30, 10.0, 3, 8)
    second["indicator_id"] = second["indicator_id"] + "-b"
    table = pd.concat([first, second], ignore_index=True)
    calls: list[int] = []
    restrict = secondary._restrict  # pyright: ignore[reportPrivateUsage]

    def counted(*args: Any) -> Any:
        calls.append(1)
        return restrict(*args)

    monkeypatch.setattr(secondary, "_restrict", counted)
    restricted = release(table, SUPPRESS_1_TO_7)
    assert calls  # the later rounds did run on a part of the table
    monkeypatch.setattr(secondary, "_RESTRICT_ROUNDS", False)
    whole = release(table, SUPPRESS_1_TO_7)
    pd.testing.assert_frame_equal(restricted, whole)
