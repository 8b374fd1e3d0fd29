from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from carepilot.stats.quantiles import assign_quantiles, phe_quantile

from .conftest import assert_close


def test_phe_quantile_oracle(phe_oracles: Path) -> None:
    cases = pd.read_csv(phe_oracles / "phe_quantile" / "cases.csv")
    assert len(cases) == 982
    for group_set, rows in cases.groupby("GroupSet"):
        by = str(rows["grouped_by"].iloc[0])
        group_by = (
            None
            if by in ("(ungrouped)", "(none)", "None", "", "nan")
            else by.split(",")
        )
        got = phe_quantile(
            rows,
            "Value",
            group_by=group_by,
            nquantiles=int(rows["nquantiles"].iloc[0]),
            invert="invert_used",
        )
        assert_close(got, rows["expected_quantile"]), group_set


def test_too_few_values_gives_nan() -> None:
    assert np.isnan(assign_quantiles([1.0, 2.0], 5)).all()
    out = assign_quantiles([1.0, np.nan, 3.0, 2.0], 3, invert=False)
    assert np.isnan(out[1]) and out[0] == 1 and out[2] == 3
