from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carepilot.errors import InputDataError
from carepilot.stats.funnels import (
    assign_funnel_significance,
    calculate_funnel_limits,
    calculate_funnel_points,
)

from .conftest import assert_close

RTOL = 1e-6  # the oracle CSVs carry 7-10 significant digits


@pytest.fixture()
def folder(phe_oracles: Path) -> Path:
    return phe_oracles / "funnels"


def _compare(
    table: pd.DataFrame, expected: pd.DataFrame, rename: dict[str, str] | None = None
) -> None:
    rename = rename or {}
    assert len(table) == len(expected) == 100
    for column in expected.columns:
        ours = rename.get(column, column)
        if ours is None:
            continue
        if not pd.api.types.is_numeric_dtype(expected[column]):
            assert (table[ours] == expected[column]).all(), column
        elif column.endswith("_count"):
            # ratio − 1 is near 0 for some points: compare the ratio itself
            assert_close(table[ours] + 1, expected[column] + 1, rtol=RTOL)
        else:
            assert_close(table[ours], expected[column], rtol=RTOL, atol=1e-9)


def test_proportion_limits(folder: Path) -> None:
    data = pd.read_csv(folder / "proportion_input.csv")
    table = calculate_funnel_limits(
        data["numerator"],
        data["denominator"],
        statistic="proportion",
        multiplier=100,
        full=False,
    )
    assert list(table.columns) == list(
        pd.read_csv(folder / "proportion_limits_expected.csv").columns
    )
    _compare(table, pd.read_csv(folder / "proportion_limits_expected.csv"))


def test_proportion_limits_axis_variation(folder: Path) -> None:
    data = pd.read_csv(folder / "proportion_input.csv")
    data = data[data["denominator"] < 31000]
    table = calculate_funnel_limits(
        data["numerator"], data["denominator"], statistic="proportion", multiplier=100
    )
    _compare(
        table, pd.read_csv(folder / "proportion_limits_axis_variation_expected.csv")
    )


@pytest.mark.parametrize("ratio_type", ["count", "isr"])
def test_ratio_limits(folder: Path, ratio_type: str) -> None:
    data = pd.read_csv(folder / "ratio_input.csv")
    table = calculate_funnel_limits(
        data["obs"],
        data["expected"],
        statistic="ratio",
        multiplier=100,
        ratio_type=ratio_type,
    )  # type: ignore[arg-type]
    expected = pd.read_csv(folder / "ratio_limits_expected.csv")
    other = "isr" if ratio_type == "count" else "count"
    keep = [c for c in expected.columns if not c.endswith(f"_{other}")]
    expected = expected[keep]
    rename = {c: c.replace(f"_{ratio_type}", "_limit") for c in keep}
    _compare(table, expected, rename)
    assert (table["statistic"] == f"ratio ({ratio_type})").all()
    assert (table["method"] == "Poisson").all()


def test_rate_limits(folder: Path) -> None:
    data = pd.read_csv(folder / "rate_input.csv")
    table = calculate_funnel_limits(
        data["ev"],
        rate=data["rate"],
        statistic="rate",
        rate_type="dsr",
        multiplier=1e5,
        years_of_data=3,
    )
    _compare(table, pd.read_csv(folder / "rate_limits_expected_1.csv"))
    ev = data["ev"].where(data["ev"] != data["ev"].max(), 5)
    table = calculate_funnel_limits(
        ev,
        rate=data["rate"],
        statistic="rate",
        rate_type="crude",
        multiplier=1e5,
        years_of_data=3,
    )
    _compare(table, pd.read_csv(folder / "rate_limits_expected_2.csv"))
    d = data[["ev", "rate"]].astype(float).copy()
    d["pop"] = 1e5 * d["ev"] / d["rate"]
    top = d["ev"] == d["ev"].max()
    d.loc[top, ["ev", "rate"]] = 0.0
    d = d[d["pop"] > d["pop"].max() / 2]
    table = calculate_funnel_limits(
        d["ev"],
        d["pop"],
        rate=d["rate"],
        statistic="rate",
        rate_type="crude",
        multiplier=1e5,
        years_of_data=3,
    )
    _compare(table, pd.read_csv(folder / "rate_limits_expected_3.csv"))


def test_proportion_and_ratio_significance(folder: Path) -> None:
    data = pd.read_csv(folder / "proportion_input.csv")
    got = assign_funnel_significance(
        data["numerator"], data["denominator"], statistic="proportion"
    )
    assert (got == data["expected_significance"].to_numpy()).all()
    data = pd.read_csv(folder / "ratio_input.csv")
    got = assign_funnel_significance(data["obs"], data["expected"], statistic="ratio")
    assert (got == data["expected_significance"].to_numpy()).all()


@pytest.mark.parametrize("rate_type", ["dsr", "crude"])
@pytest.mark.parametrize("multiplier", [100000, 100])
@pytest.mark.parametrize("zeros", ["with", "without"])
def test_rate_significance(
    folder: Path, rate_type: str, multiplier: int, zeros: str
) -> None:
    data = pd.read_csv(folder / "rate_significance_input_expected.csv")
    if zeros == "without":
        data = data[data["count"] != 0]
    rate = (
        data["rate_dsr"] if rate_type == "dsr" else data[f"rate_crude_per_{multiplier}"]
    )
    got = assign_funnel_significance(
        data["count"],
        data["pop"],
        rate=rate,
        statistic="rate",
        rate_type=rate_type,
        multiplier=multiplier,
    )  # type: ignore[arg-type]
    expected = data[f"expected_significance_{rate_type}_per_{multiplier}_{zeros}_0"]
    assert (got == expected.to_numpy()).all()


def test_funnel_points(folder: Path) -> None:
    data = pd.read_csv(folder / "rate_input.csv")
    top = data["ev"] == data["ev"].max()
    rate_chart, denom = calculate_funnel_points(
        data["ev"].where(~top, 5),
        data["rate"],
        rate_type="dsr",
        years_of_data=3,
        multiplier=1e5,
    )
    assert_close(rate_chart, data["expected_points_rate_chart"], rtol=1e-9)
    assert_close(denom, data["expected_points_denominator_derived"], rtol=1e-9)
    rate_chart, denom = calculate_funnel_points(
        data["ev"], data["rate"], rate_type="crude", years_of_data=3, multiplier=1e5
    )
    assert_close(denom, data["expected_points_denominator_derived_crude"], rtol=1e-9)
    rate_chart, denom = calculate_funnel_points(
        data["ev"].where(~top, 0),
        data["rate"],
        denominator=data["pop"],
        rate_type="crude",
        years_of_data=5,
        multiplier=1e5,
    )
    assert_close(
        rate_chart, data["expected_points_rate_chart_crude_with_denom"], rtol=1e-9
    )
    assert_close(
        denom, data["expected_points_denominator_derived_crude_with_denom"], rtol=1e-9
    )


def test_funnel_input_errors() -> None:
    with pytest.raises(InputDataError, match="greater than zero"):
        assign_funnel_significance([1, 2], [10, 0], statistic="proportion")
    with pytest.raises(InputDataError, match="less than or equal"):
        assign_funnel_significance([11], [10], statistic="proportion")
    with pytest.raises(InputDataError, match="0 events"):
        calculate_funnel_points(
            np.array([0, 5]),
            [0.0, 10.0],
            rate_type="crude",
            years_of_data=1,
            multiplier=1e5,
        )
