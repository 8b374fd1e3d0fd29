from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carepilot.errors import InputDataError
from carepilot.stats.dsr import calculate_dsr, directly_standardised_rate
from carepilot.stats.standard_populations import ESP1976, ESP2013

from .conftest import assert_close

LIMITS = ["lower95_0cl", "upper95_0cl", "lower99_8cl", "upper99_8cl"]


@pytest.fixture()
def expected(phe_oracles: Path) -> pd.DataFrame:
    return pd.read_csv(phe_oracles / "calculate_dsr" / "expected.csv")


def _check(out: pd.DataFrame, exp: pd.DataFrame, atol: float = 0.0) -> None:
    merged = exp.merge(out, on="area", suffixes=("_exp", ""), validate="one_to_one")
    assert len(merged) == len(exp)
    assert_close(merged["total_count"], merged["total_count_exp"])
    assert_close(merged["total_pop"], merged["total_pop_exp"])
    for col in ["value", *LIMITS]:
        present = merged[f"{col}_exp"].notna() | merged["value_exp"].isna()
        assert_close(
            merged.loc[present, col], merged.loc[present, f"{col}_exp"], atol=atol
        )
    assert (merged["statistic"] == merged["statistic_exp"]).all()
    assert (merged["method"] == merged["method_exp"]).all()


@pytest.mark.parametrize("multiplier", [10000, 100000])
def test_dsr_esp2013_oracle(
    phe_oracles: Path, expected: pd.DataFrame, multiplier: int
) -> None:
    data = pd.read_csv(phe_oracles / "calculate_dsr" / "input_multiarea.csv")
    exp = expected[
        (expected["input_file"] == "input_multiarea.csv")
        & (expected["multiplier"] == multiplier)
    ]
    # the standard as a constant (rows in ESP2013 order) and as a column agree
    _check(
        calculate_dsr(data, "count", "pop", group_by="area", multiplier=multiplier), exp
    )
    _check(
        calculate_dsr(
            data,
            "count",
            "pop",
            stdpop="esp2013",
            group_by="area",
            multiplier=multiplier,
        ),
        exp,
    )


@pytest.mark.parametrize("multiplier", [10000, 100000])
def test_dsr_esp1976_oracle(
    phe_oracles: Path, expected: pd.DataFrame, multiplier: int
) -> None:
    data = pd.read_csv(phe_oracles / "calculate_dsr" / "input_esp1976.csv")
    exp = expected[
        (expected["input_file"] == "input_esp1976.csv")
        & (expected["multiplier"] == multiplier)
    ]
    out = calculate_dsr(
        data,
        "count",
        "pop",
        stdpop=ESP1976,
        group_by="area",
        multiplier=multiplier,
        confidence=(0.95, 0.998),
    )
    assert_close(data["esp1976"], ESP1976.array)
    _check(out, exp)


def test_dsr_nonindependent_oracle(phe_oracles: Path, expected: pd.DataFrame) -> None:
    data = pd.read_csv(phe_oracles / "calculate_dsr" / "input_nonindependent.csv")
    exp = expected[expected["input_file"] == "input_nonindependent.csv"]
    out = calculate_dsr(
        data,
        "persons",
        "pop",
        stdpop="esp2013",
        group_by="area",
        independent_events=False,
        eventfreq="freq",
        ageband="ageband",
    )
    _check(out, exp, atol=1e-8)


def test_vectorised_matches_dataframe(phe_oracles: Path) -> None:
    data = pd.read_csv(phe_oracles / "calculate_dsr" / "input_multiarea.csv")
    counts = data.pivot(index="area", columns="ageband", values="count")
    pops = data.pivot(index="area", columns="ageband", values="pop")
    order = list(dict.fromkeys(data["ageband"]))
    res = directly_standardised_rate(
        counts[order].to_numpy(), pops[order].to_numpy(), ESP2013
    )
    out = calculate_dsr(data, "count", "pop", group_by="area").set_index("area")
    assert_close(res.value, out.loc[counts.index, "value"])
    assert_close(res.lower, out.loc[counts.index, "lower95_0cl"])


def test_dsr_edge_cases() -> None:
    w = ESP2013.array
    pops = w.copy()
    pops[0] = 0.0
    counts = np.full(19, 5.0)
    counts[0] = 0.0
    res = directly_standardised_rate(counts, pops)  # empty band with no events is fine
    assert np.isfinite(res.value)
    counts[0] = 1.0
    with pytest.raises(InputDataError, match="population of 0"):
        directly_standardised_rate(counts, pops)
    with pytest.raises(InputDataError, match="19"):
        directly_standardised_rate(np.ones(18), np.ones(18) * 100)
    few = directly_standardised_rate(np.r_[np.ones(9), np.zeros(10)], w)
    assert np.isnan(few.value) and few.total_count == 9
