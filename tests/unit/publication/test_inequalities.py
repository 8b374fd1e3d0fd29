"""Inequality views: breakdown bars, SII/RII and the gap over time."""

from __future__ import annotations

import pandas as pd
import pytest

from carepilot.errors import InputDataError
from carepilot.publication.inequalities import breakdown_view, gap_over_time

from .builders import META


def test_deprivation_breakdown_with_sii(released: pd.DataFrame) -> None:
    view = breakdown_view(released, "bp-control", "5J9", "imd_decile", meta=META)
    assert view.data["category"].tolist() == [str(i) for i in range(1, 11)]
    total = released[
        (released["area_code"] == "5J9")
        & (released["indicator_id"] == "bp-control")
        & (released["breakdown"] == "total")
    ].iloc[-1]["value"]
    assert view.data["benchmark"].to_numpy() == pytest.approx(total)
    # built with BP control rising by ~2 points per decile (1 = most deprived)
    extra = view.extra
    assert extra["complete"] == 1.0
    assert 10 < extra["sii"] < 30
    assert extra["sii_lower"] < extra["sii"] < extra["sii_upper"]
    assert extra["rii"] > 1


def test_other_breakdowns(released: pd.DataFrame) -> None:
    view = breakdown_view(released, "ae-rate", "A81001", "sex", meta=META)
    assert set(view.data["category"]) == {"female", "male"}
    assert "sii" not in view.extra
    with pytest.raises(InputDataError, match="ethnicity_5"):
        breakdown_view(released, "ae-rate", "A81001", "ethnicity_5", meta=META)


def test_gap_over_time(released: pd.DataFrame) -> None:
    view = gap_over_time(released, "bp-control", "E92000001", "imd_decile", meta=META)
    assert len(view.data) == 6
    rows = released[
        (released["area_code"] == "E92000001")
        & (released["indicator_id"] == "bp-control")
        & (released["breakdown"] == "imd_decile")
    ]
    first = rows[rows["period_start"] == rows["period_start"].min()]
    by = first.set_index("category")["value"]
    assert view.data.sort_values("period_start")["value"].iloc[0] == pytest.approx(
        by["1"] - by["10"]
    )
    assert (view.data["value"] < 0).all()
    assert (view.data["significant"] == "yes").all()
