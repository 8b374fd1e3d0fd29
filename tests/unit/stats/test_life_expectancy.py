from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carepilot.stats.life_expectancy import life_expectancy, phe_life_expectancy

from .conftest import assert_close

DP4 = 0.5e-4  # the package test compares at 4 decimal places


@pytest.fixture()
def folder(phe_oracles: Path) -> Path:
    return phe_oracles / "phe_life_expectancy"


def test_life_expectancy_oracle(folder: Path) -> None:
    data = pd.read_csv(folder / "input.csv")
    expected = pd.read_csv(folder / "expected.csv")
    out = phe_life_expectancy(
        data.sample(frac=1, random_state=1), "deaths", "pops", "startage"
    )
    assert_close(out["value"], expected["value"], atol=DP4, rtol=0)
    assert_close(out["lower95_0cl"], expected["lowercl"], atol=DP4, rtol=0)
    assert_close(out["upper95_0cl"], expected["uppercl"], atol=DP4, rtol=0)
    assert_close(out["pops_used"], expected["pops_used"])
    assert_close(out["dths_used"], expected["dths_used"])
    assert (out["statistic"] == expected["statistic"]).all()
    assert (out["method"] == expected["method"]).all()


def test_wide_ci_and_whole_area_suppression_oracle(folder: Path) -> None:
    data = pd.read_csv(folder / "input_widecis.csv")
    expected = pd.read_csv(folder / "expected_widecis.csv")
    out = phe_life_expectancy(
        data, "deaths", "pops", "startage", group_by="area", confidence=(0.95, 0.998)
    )
    merged = expected.merge(out, on=["area", "startage"], suffixes=("_exp", ""))
    assert len(merged) == 40
    for col in ["value", "lower95_0cl", "upper95_0cl"]:
        assert_close(merged[col], merged[f"{col}_exp"], atol=DP4, rtol=0)
    single = phe_life_expectancy(
        data, "deaths", "pops", "startage", group_by="area", confidence=0.998
    )
    assert_close(single["upper99_8cl"], out["upper99_8cl"])


def test_suppression_cases_oracle(folder: Path) -> None:
    cases = pd.read_csv(folder / "suppression_cases.csv")
    assert cases["case"].nunique() == 5
    for name, rows in cases.groupby("case"):
        table = life_expectancy(rows["deaths"], rows["pops"], confidence=0.95)
        assert rows["expected_all_na"].all()
        assert np.isnan(table.value).all() and np.isnan(table.lower[0.95]).all(), name
        assert table.suppressed


def test_le_age_filter(folder: Path) -> None:
    data = pd.read_csv(folder / "input.csv")
    out = phe_life_expectancy(data, "deaths", "pops", "startage", le_age=[5, 25])
    assert out["startage"].tolist() == [5, 25]
