"""Hand-worked tables for `carepilot.disclosure.release`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carepilot.disclosure import (
    NHS_DIGITAL_2018,
    NHS_DIGITAL_SUPPRESS_1_TO_5,
    OPENSAFELY,
    ROW_LEVEL_ACCESS,
    blank_statistics,
    release,
)
from carepilot.errors import InputDataError


def row(
    area_type: str,
    code: str,
    parent: str | None,
    breakdown: str,
    category: str,
    num: float,
    den: float,
    **extra: object,
) -> dict[str, object]:
    base: dict[str, object] = {
        "indicator_id": "ind-001",
        "indicator_version": 1,
        "period_start": "2024-04-01",
        "period_end": "2025-03-31",
        "area_type": area_type,
        "area_code": code,
        "parent_area_code": parent,
        "breakdown": breakdown,
        "category": category,
        "numerator": num,
        "denominator": den,
        "value": 100 * num / den if den else np.nan,
        "lower_ci_95": 1.0,
        "upper_ci_95": 2.0,
        "comparison": "similar",
        "suppressed": False,
        "suppression_reason": None,
    }
    base.update(extra)
    return base


def sex_table(female: tuple[float, float], male: tuple[float, float]) -> pd.DataFrame:
    """One area: total = female + male."""
    total = (female[0] + male[0], female[1] + male[1])
    return pd.DataFrame(
        [
            row("practice", "P1", None, "total", "all", *total),
            row("practice", "P1", None, "sex", "female", *female),
            row("practice", "P1", None, "sex", "male", *male),
        ]
    )


def grid() -> pd.DataFrame:
    """pcn U1 with practices P1, P2, P3 × sex; P1 female numerator 3 is small.

    numerators (denominators):      female     male     total
        P1                          3 (40)    20 (50)   23 (90)
        P2                         30 (60)    12 (30)   42 (90)
        P3                         25 (70)    40 (80)   65 (150)
        U1                         58 (170)   72 (160) 130 (330)
    """
    cells = {
        "P1": ((3, 40), (20, 50)),
        "P2": ((30, 60), (12, 30)),
        "P3": ((25, 70), (40, 80)),
    }
    rows = []
    sums = {"female": [0, 0], "male": [0, 0]}
    for code, (f, m) in cells.items():
        rows.append(
            row("practice", code, "U1", "total", "all", f[0] + m[0], f[1] + m[1])
        )
        rows.append(row("practice", code, "U1", "sex", "female", *f))
        rows.append(row("practice", code, "U1", "sex", "male", *m))
        for k, v in (("female", f), ("male", m)):
            sums[k][0] += v[0]
            sums[k][1] += v[1]
    tot = (sums["female"][0] + sums["male"][0], sums["female"][1] + sums["male"][1])
    rows.append(row("pcn", "U1", "C1", "total", "all", *tot))
    rows.append(row("pcn", "U1", "C1", "sex", "female", *sums["female"]))
    rows.append(row("pcn", "U1", "C1", "sex", "male", *sums["male"]))
    return pd.DataFrame(rows)


def hidden(out: pd.DataFrame) -> set[tuple[str, str]]:
    sub = out.loc[out["suppressed"]]
    return {(a, c) for a, c in zip(sub["area_code"], sub["category"], strict=True)}


def test_opensafely_redacts_rounds_and_recomputes_from_rounded_counts() -> None:
    table = sex_table((3, 12), (42, 88))
    out = release(table, OPENSAFELY)
    assert out["numerator"].tolist()[1:] == [pytest.approx(np.nan, nan_ok=True), 40.0]
    assert out["denominator"].tolist() == [100.0, 10.0, 90.0]
    assert out["suppressed"].tolist() == [False, True, False]
    # percentage scale inferred (value = 100 * n / d), recomputed from 40 / 90
    assert out.loc[2, "value"] == pytest.approx(100 * 40 / 90)
    assert out.loc[0, "value"] == pytest.approx(100 * 45 / 100)
    # CIs blanked by default (cannot be recomputed without the stats method)
    assert out[["lower_ci_95", "upper_ci_95"]].isna().all().all()
    assert out.loc[1, "comparison"] == "not compared"
    assert "numerator <= 7" in out.loc[1, "suppression_reason"]


def test_opensafely_zero_is_redacted_but_nhs_digital_keeps_it() -> None:
    table = sex_table((0, 20), (42, 88))
    assert np.isnan(release(table, OPENSAFELY).loc[1, "numerator"])
    out = release(table, NHS_DIGITAL_2018)
    assert out.loc[1, "numerator"] == 0.0 and not out.loc[1, "suppressed"]


def test_value_fn_receives_rounded_counts_and_can_return_cis() -> None:
    seen: list[float] = []

    def stats(rows: pd.DataFrame) -> pd.DataFrame:
        seen.extend(rows["numerator"].tolist())
        p = rows["numerator"] / rows["denominator"]
        return pd.DataFrame({"value": p, "lower_ci_95": p - 0.1}, index=rows.index)

    out = release(sex_table((13, 40), (42, 88)), OPENSAFELY, value_fn=stats)
    assert seen == [55.0, 15.0, 40.0]
    assert out.loc[1, "value"] == pytest.approx(15 / 40)
    assert out.loc[1, "lower_ci_95"] == pytest.approx(15 / 40 - 0.1)
    assert np.isnan(out.loc[1, "upper_ci_95"])
    blank = release(
        sex_table((13, 40), (42, 88)), OPENSAFELY, value_fn=blank_statistics
    )
    assert blank["value"].isna().all()


def test_inconsistent_scale_blanks_value() -> None:
    table = sex_table((13, 40), (42, 88))
    table.loc[1, "value"] = 55.5  # e.g. a standardised rate: not n/d times a constant
    out = release(table, OPENSAFELY)
    assert out["value"].isna().all()


def test_suppress_breakdown_pair_hides_sibling_not_total() -> None:
    out = release(sex_table((3, 40), (42, 88)), NHS_DIGITAL_SUPPRESS_1_TO_5)
    assert out["suppressed"].tolist() == [False, True, True]
    assert out.loc[2, "suppression_reason"].startswith("secondary")
    assert out.loc[1, "suppression_reason"].startswith("primary: numerator < 6")
    assert (
        out.loc[[1, 2], ["numerator", "denominator", "value", "lower_ci_95"]]
        .isna()
        .all()
        .all()
    )
    assert out.loc[0, "numerator"] == 45.0


def test_complement_disclosure_is_suppressed() -> None:
    out = release(sex_table((38, 40), (42, 88)), NHS_DIGITAL_SUPPRESS_1_TO_5)
    assert out.loc[1, "suppressed"]
    assert "denominator - numerator" in out.loc[1, "suppression_reason"]


def test_small_total_forces_one_category_per_breakdown() -> None:
    table = sex_table((2, 3), (1, 2))
    table = pd.concat(
        [
            table,
            pd.DataFrame(
                [
                    row("practice", "P1", None, "age_band", "0-39", 1, 1),
                    row("practice", "P1", None, "age_band", "40+", 2, 4),
                ]
            ),
        ],
        ignore_index=True,
    )
    out = release(table, NHS_DIGITAL_SUPPRESS_1_TO_5)
    assert out["suppressed"].all()


def test_secondary_suppression_forms_the_smallest_rectangle() -> None:
    out = release(grid(), NHS_DIGITAL_SUPPRESS_1_TO_5)
    # P1 female is primary; P1 male (same breakdown) and the smallest other
    # practice's female and male cells close the rectangle; U1 and totals stay.
    assert hidden(out) == {
        ("P1", "female"),
        ("P1", "male"),
        ("P2", "female"),
        ("P2", "male"),
    }
    shown = out.loc[~out["suppressed"]]
    assert (shown["breakdown"] == "total").sum() == 4


def test_release_does_not_mutate_and_keeps_order() -> None:
    table = grid()
    before = table.copy(deep=True)
    out = release(table, NHS_DIGITAL_SUPPRESS_1_TO_5)
    pd.testing.assert_frame_equal(table, before)
    assert out["area_code"].tolist() == table["area_code"].tolist()


def test_upstream_suppressed_rows_keep_their_reason() -> None:
    table = sex_table((30, 40), (42, 88))
    table.loc[2, "suppressed"] = True
    table.loc[2, "suppression_reason"] = "fewer than 10 events (reliability)"
    out = release(table, NHS_DIGITAL_SUPPRESS_1_TO_5)
    assert out.loc[2, "suppressed"]
    assert out.loc[2, "suppression_reason"] == "fewer than 10 events (reliability)"
    assert np.isnan(out.loc[2, "value"])
    assert out.loc[2, "numerator"] == 42.0


def test_row_level_access_changes_nothing() -> None:
    table = sex_table((3, 40), (42, 88))
    out = release(table, ROW_LEVEL_ACCESS)
    pd.testing.assert_frame_equal(out, table, check_dtype=False)


def test_bad_tables_are_rejected_with_helpful_errors() -> None:
    table = sex_table((3, 40), (42, 88))
    with pytest.raises(InputDataError, match="area_code"):
        release(table.drop(columns=["area_code"]), NHS_DIGITAL_SUPPRESS_1_TO_5)
    neg = table.copy()
    neg.loc[1, "numerator"] = -1.0
    with pytest.raises(InputDataError, match="negative count at row 1"):
        release(neg, OPENSAFELY)
    dup = pd.concat([table, table.iloc[[1]]], ignore_index=True)
    with pytest.raises(InputDataError, match="more than one row"):
        release(dup, NHS_DIGITAL_SUPPRESS_1_TO_5)


def _means_table() -> pd.DataFrame:
    """Sums of a health gain (negative allowed) over 30 / 5 / 25 people."""
    rows = [
        row("practice", "P1", None, "total", "all", -3.0, 30.0, value=-0.1),
        row("practice", "P1", None, "sex", "female", 1.5, 5.0, value=0.3),
        row("practice", "P1", None, "sex", "male", -4.5, 25.0, value=-0.18),
    ]
    return pd.DataFrame(rows)


def test_means_check_the_denominator_and_never_publish_the_sum() -> None:
    table = _means_table()
    with pytest.raises(InputDataError, match="negative count"):
        release(table, OPENSAFELY)
    out = release(table, OPENSAFELY, blank_statistics, numerator_is_count=False)
    assert out["denominator"].tolist()[0] == 30.0
    assert np.isnan(out["denominator"].tolist()[1])  # 5 people <= 7: redacted
    assert out["suppressed"].tolist() == [False, True, False]
    assert out["numerator"].isna().all()
    out = release(table, NHS_DIGITAL_SUPPRESS_1_TO_5, numerator_is_count=False)
    # 5 people < 6: primary; the male cell would give it away: secondary.
    assert out["suppressed"].tolist() == [False, True, True]
    assert out["suppression_reason"][1].startswith("primary: denominator")
    assert out["numerator"].isna().all()
    shown = ~out["suppressed"]
    assert (out.loc[shown, "value"] == table.loc[shown, "value"]).all()
    unchanged = release(table, ROW_LEVEL_ACCESS, numerator_is_count=False)
    assert unchanged["numerator"].tolist() == [-3.0, 1.5, -4.5]
    assert table["numerator"].tolist() == [-3.0, 1.5, -4.5]  # input untouched
