from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from carepilot.stats.means import mean_interval, phe_mean

from .conftest import assert_close

COLUMNS = ["value", "lower95_0cl", "upper95_0cl", "lower99_8cl", "upper99_8cl"]


def test_phe_mean_grouped_and_ungrouped_oracle(phe_oracles: Path) -> None:
    data = pd.read_csv(phe_oracles / "phe_mean" / "input.csv")
    expected = pd.read_csv(phe_oracles / "phe_mean" / "expected.csv")
    grouped = phe_mean(data, "values", group_by="area")
    ungrouped = phe_mean(data, "values")
    out = pd.concat(
        [grouped.rename(columns={"area": "group"}), ungrouped], ignore_index=True
    )
    assert len(out) == len(expected) == 3
    for col in ["value_sum", "value_count", "stdev", *COLUMNS]:
        assert_close(out[col], expected[col])
    assert (out["method"] == expected["method"]).all()


def test_mean_interval_from_sums_matches_oracle(phe_oracles: Path) -> None:
    data = pd.read_csv(phe_oracles / "phe_mean" / "input.csv")
    expected = pd.read_csv(phe_oracles / "phe_mean" / "expected.csv").iloc[:2]
    sums = data.groupby("area")["values"].agg(
        total="sum", total_sq=lambda v: float((v * v).sum()), n="count"
    )
    for level, suffix in [(0.95, "95_0cl"), (0.998, "99_8cl")]:
        value, lo, hi = mean_interval(sums["total"], sums["total_sq"], sums["n"], level)
        assert_close(value, expected["value"])
        assert_close(lo, expected[f"lower{suffix}"], rtol=1e-9)
        assert_close(hi, expected[f"upper{suffix}"], rtol=1e-9)


def test_mean_edge_cases() -> None:
    value, lo, hi = mean_interval([0.0, 5.0], [0.0, 25.0], [0, 1])
    assert np.isnan(value[0]) and np.isnan(lo[0])
    assert value[1] == 5.0 and np.isnan(lo[1]) and np.isnan(hi[1])
    # constant values: zero variance, limits collapse onto the mean
    value, lo, hi = mean_interval([30.0], [300.0], [3])
    assert value[0] == lo[0] == hi[0] == 10.0
