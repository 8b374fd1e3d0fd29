"""Reading results and checking they are disclosure controlled."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carepilot.errors import InputDataError, PermissionDenied
from carepilot.publication.results import (
    public_rows,
    read_results,
    verify_released,
)


def test_opensafely_output_is_recognised(released: pd.DataFrame) -> None:
    assert verify_released(released).name == "opensafely"


def test_suppress_output_is_recognised(suppressed: pd.DataFrame) -> None:
    assert verify_released(suppressed).kind == "suppress"


def test_unreleased_table_is_refused(raw: pd.DataFrame) -> None:
    with pytest.raises(PermissionDenied, match="--disclosure none"):
        verify_released(raw)


def test_one_small_count_is_enough_to_refuse(released: pd.DataFrame) -> None:
    leaky = released.copy()
    row = leaky.index[~leaky["suppressed"]][0]
    leaky.loc[row, "numerator"] = 3.0
    with pytest.raises(PermissionDenied):
        verify_released(leaky)


def test_claimed_policy_is_checked(
    released: pd.DataFrame, suppressed: pd.DataFrame
) -> None:
    with pytest.raises(PermissionDenied, match="not a public policy"):
        verify_released(released, "row-level-access")
    assert verify_released(released, "opensafely").name == "opensafely"
    # exact (unrounded) counts are fine for cell suppression, not for rounding
    with pytest.raises(PermissionDenied):
        verify_released(suppressed, "opensafely")


def test_public_rows_blank_suppressed_figures(released: pd.DataFrame) -> None:
    frame = released.copy()
    frame.loc[0, "suppressed"] = True
    out = public_rows(frame)
    assert np.isnan(out.loc[0, "value"]) and np.isnan(out.loc[0, "numerator"])
    assert out.loc[0, "comparison"] == "not compared"
    assert out.loc[1:, "value"].equals(frame.loc[1:, "value"])


def test_read_results_round_trips_csv_and_parquet(
    released: pd.DataFrame, tmp_path: Path
) -> None:
    released.to_parquet(tmp_path / "r.parquet")
    released.to_csv(tmp_path / "r.csv", index=False)
    a = read_results(tmp_path / "r.parquet")
    b = read_results(tmp_path / "r.csv")
    assert len(a) == len(b) == len(released)
    assert a["period_start"].iloc[0] == released["period_start"].iloc[0]
    assert a["suppressed"].tolist() == b["suppressed"].tolist()


def test_missing_columns_are_named(tmp_path: Path, released: pd.DataFrame) -> None:
    released.drop(columns=["upper_ci_99_8"]).to_parquet(tmp_path / "r.parquet")
    with pytest.raises(InputDataError, match="upper_ci_99_8"):
        read_results(tmp_path / "r.parquet")
