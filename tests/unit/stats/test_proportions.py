from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carepilot.errors import DefinitionError, InputDataError
from carepilot.stats.proportions import (
    phe_proportion,
    proportion_interval,
    wilson_interval,
)

from .conftest import assert_close


def test_wilson_helper_oracle(phe_oracles: Path) -> None:
    cases = pd.read_csv(phe_oracles / "byars_wilson" / "cases.csv")
    cases = cases[cases["function"] == "wilson"]
    assert len(cases) == 9
    for row in cases.itertuples():
        lo, hi = wilson_interval([row.x], [row.n], float(row.confidence))
        assert_close(lo, [row.expected_lowercl])
        assert_close(hi, [row.expected_uppercl])


@pytest.mark.parametrize("case", ["multiplier_1", "multiplier_100", "missing_inputs"])
def test_phe_proportion_oracle(phe_oracles: Path, case: str) -> None:
    cases = pd.read_csv(phe_oracles / "phe_proportion" / "cases.csv")
    rows = cases[cases["case"] == case].reset_index(drop=True)
    data = rows[["area", "numerator", "denominator"]]
    mult = float(rows["multiplier"].iloc[0])
    out = phe_proportion(data, "numerator", "denominator", multiplier=mult)
    assert_close(out["value"], rows["expected_value"])
    for col in ["lower95_0cl", "upper95_0cl", "lower99_8cl", "upper99_8cl"]:
        assert_close(out[col], rows[f"expected_{col}"])
    assert (out["statistic"] == rows["expected_statistic"]).all()
    assert (out["method"] == rows["expected_method"]).all()


def test_phe_proportion_grouped_oracle(phe_oracles: Path) -> None:
    cases = pd.read_csv(phe_oracles / "phe_proportion" / "cases.csv")
    data = cases[["area", "numerator", "denominator"]]  # every row: Area1-8 occur twice
    expected = pd.read_csv(phe_oracles / "phe_proportion" / "grouped_expected.csv")
    out = phe_proportion(
        data, "numerator", "denominator", group_by="area", confidence=0.95
    )
    merged = expected.merge(out, on="area", validate="one_to_one")
    assert len(merged) == len(expected)
    assert_close(merged["numerator"], merged["numerator_sum"])
    assert_close(merged["denominator"], merged["denominator_sum"])
    for col in ["value", "lower95_0cl", "upper95_0cl"]:
        assert_close(merged[col], merged[f"expected_{col}"])
    assert (merged["confidence"] == merged["expected_confidence"]).all()


def test_zero_denominator_gives_nan_and_zero_numerator_gives_zero_lower() -> None:
    lo, hi = wilson_interval([0, 0, 5], [0, 10, 5])
    assert np.isnan(lo[0]) and np.isnan(hi[0])
    assert lo[1] == 0.0 and 0 < hi[1] < 1
    assert hi[2] == 1.0
    value, _, _ = proportion_interval([0], [0])
    assert np.isnan(value[0])


def test_confidence_one_returns_zero_and_one() -> None:
    lo, hi = wilson_interval([3], [10], 1.0)
    assert (lo[0], hi[0]) == (0.0, 1.0)


def test_confidence_accepts_percent_and_rejects_bad_levels() -> None:
    a = wilson_interval([3], [10], 95)
    b = wilson_interval([3], [10], 0.95)
    assert_close(a, b)
    with pytest.raises(DefinitionError):
        wilson_interval([3], [10], 0.5)


def test_bad_inputs_raise_named_errors() -> None:
    with pytest.raises(InputDataError, match="numerator"):
        wilson_interval([-1], [10])
    with pytest.raises(InputDataError, match="greater than"):
        wilson_interval([11], [10])
    df = pd.DataFrame({"x": [1, 12], "n": [10, 10]})
    with pytest.raises(InputDataError, match="row 2"):
        phe_proportion(df, "x", "n")
    with pytest.raises(InputDataError, match="not found"):
        phe_proportion(df, "x", "missing")
    with pytest.raises(InputDataError, match="row 1"):
        phe_proportion(pd.DataFrame({"x": ["a"], "n": [3]}), "x", "n")
    with pytest.raises(InputDataError, match="greater than zero"):
        phe_proportion(pd.DataFrame({"x": [0], "n": [0]}), "x", "n")
