"""Derived breakdowns from raw-attribute aggregates."""

import pandas as pd

from carepilot.engine.breakdowns import (
    AGE_BAND_LABELS,
    age_band_label,
    derive_breakdowns,
)


def test_age_band_labels() -> None:
    assert len(AGE_BAND_LABELS) == 19
    assert age_band_label(0) == "0-4" and age_band_label(17) == "85-89"
    assert age_band_label(18) == "90+" and age_band_label(25) == "90+"


def raw() -> pd.DataFrame:
    rows = [
        ("sex", "female", 3, 10),
        ("sex", "male", 1, 5),
        ("ethnicity", "White: Irish", 1, 4),
        ("ethnicity", "White: Roma", 1, 3),
        ("ethnicity", "Asian: Indian", 2, 8),
        ("imd_decile", "1", 1, 6),
        ("imd_decile", "2", 2, 6),
        ("imd_decile", "Unknown", 1, 3),
    ]
    df = pd.DataFrame(rows, columns=["attribute", "value", "num", "den"])
    df["period_id"] = 0
    return df


def test_total_and_derived_categories() -> None:
    out = derive_breakdowns(
        raw(),
        ["period_id"],
        ["num", "den"],
        ("total", "ethnicity_5", "ethnicity_16", "imd_quintile"),
    )
    got = {(r.breakdown, r.category): (r.num, r.den) for r in out.itertuples()}
    assert got[("total", "all")] == (4, 15)
    assert got[("ethnicity_5", "White")] == (2, 7)
    assert got[("ethnicity_5", "Asian")] == (2, 8)
    assert got[("ethnicity_16", "Irish")] == (1, 4)
    assert got[("ethnicity_16", "Any other White background")] == (1, 3)
    assert got[("imd_quintile", "1")] == (3, 12)
    assert got[("imd_quintile", "Unknown")] == (1, 3)
