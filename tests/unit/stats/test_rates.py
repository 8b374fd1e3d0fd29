from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carepilot.errors import InputDataError
from carepilot.stats.rates import (
    byars_interval,
    byars_lower,
    byars_upper,
    exact_poisson_interval,
    phe_rate,
    rate_interval,
)

from .conftest import assert_close


def test_byars_helper_oracle(phe_oracles: Path) -> None:
    cases = pd.read_csv(phe_oracles / "byars_wilson" / "cases.csv")
    cases = cases[cases["function"] == "byars"]
    assert len(cases) == 7
    for row in cases.itertuples():
        assert_close(
            byars_lower([row.x], float(row.confidence)), [row.expected_lowercl]
        )
        assert_close(
            byars_upper([row.x], float(row.confidence)), [row.expected_uppercl]
        )


@pytest.mark.parametrize(
    "case",
    [
        "multiplier_100",
        "multiplier_100000",
        "missing_inputs",
        "numerator_gt_denominator",
    ],
)
def test_phe_rate_oracle(phe_oracles: Path, case: str) -> None:
    cases = pd.read_csv(phe_oracles / "phe_rate" / "cases.csv")
    rows = cases[cases["case"] == case].reset_index(drop=True)
    mult = float(rows["multiplier"].iloc[0])
    out = phe_rate(
        rows[["area", "numerator", "denominator"]],
        "numerator",
        "denominator",
        multiplier=mult,
    )
    assert_close(out["value"], rows["expected_value"])
    for col in ["lower95_0cl", "upper95_0cl", "lower99_8cl", "upper99_8cl"]:
        assert_close(out[col], rows[f"expected_{col}"])
    assert (out["statistic"] == rows["expected_statistic"]).all()
    assert (out["method"] == rows["expected_method"].fillna("")).all()


def test_phe_rate_grouped_oracle(phe_oracles: Path) -> None:
    cases = pd.read_csv(phe_oracles / "phe_rate" / "cases.csv")
    data = cases[["area", "numerator", "denominator"]]  # every row: Area1-8 occur twice
    expected = pd.read_csv(phe_oracles / "phe_rate" / "grouped_expected.csv")
    out = phe_rate(data, "numerator", "denominator", group_by="area", confidence=0.95)
    merged = expected.merge(out, on="area", validate="one_to_one")
    assert len(merged) == len(expected)
    for col in ["value", "lower95_0cl", "upper95_0cl"]:
        assert_close(merged[col], merged[f"expected_{col}"])
    assert (merged["method"] == merged["expected_method"].fillna("")).all()


def test_byars_interval_switches_to_exact_below_ten() -> None:
    counts = np.array([0, 1, 9, 10, 11])
    lo, hi = byars_interval(counts)
    ex_lo, ex_hi = exact_poisson_interval(counts)
    assert_close(lo[:3], ex_lo[:3])
    assert_close(hi[:3], ex_hi[:3])
    assert_close(lo[3:], byars_lower(counts[3:]))
    assert lo[0] == 0.0


def test_rate_edge_cases() -> None:
    value, lo, hi = rate_interval([0, 5, np.nan], [100, 0, 100], multiplier=1000)
    assert value[0] == 0 and lo[0] == 0 and hi[0] > 0
    assert np.isnan(value[1]) and np.isnan(lo[1]) and np.isnan(hi[1])
    assert np.isnan(value[2]) and np.isnan(lo[2])
    with pytest.raises(InputDataError):
        rate_interval([-1], [10])
    with pytest.raises(InputDataError, match="row 1"):
        phe_rate(pd.DataFrame({"x": [3], "n": [0]}), "x", "n")
