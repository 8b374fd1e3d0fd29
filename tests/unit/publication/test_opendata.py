"""Fingertips-format open data: table, files, checksums and the JSON query."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carepilot.errors import PermissionDenied, UserError
from carepilot.publication.opendata import COLUMNS, export, query, to_fingertips

from .builders import META

FINGERTIPS_CORE = [
    "Indicator ID",
    "Indicator Name",
    "Parent Code",
    "Parent Name",
    "Area Code",
    "Area Name",
    "Area Type",
    "Sex",
    "Age",
    "Category Type",
    "Category",
    "Time period",
    "Value",
    "Lower CI 95.0 limit",
    "Upper CI 95.0 limit",
    "Lower CI 99.8 limit",
    "Upper CI 99.8 limit",
    "Count",
    "Denominator",
    "Value note",
    "Recent Trend",
    "Compared to England value or percentiles",
]


@pytest.fixture(scope="module")
def table(released: pd.DataFrame) -> pd.DataFrame:
    return to_fingertips(released, META)


def test_columns_follow_fingertips(table: pd.DataFrame) -> None:
    assert list(table.columns) == list(COLUMNS)
    assert list(table.columns)[: len(FINGERTIPS_CORE)] == FINGERTIPS_CORE


def test_one_row_per_results_row_with_the_same_figures(
    released: pd.DataFrame, table: pd.DataFrame
) -> None:
    assert len(table) == len(released)
    row = released[
        (released["area_code"] == "A81002")
        & (released["indicator_id"] == "bp-control")
        & (released["breakdown"] == "total")
    ].iloc[-1]
    got = table[
        (table["Area Code"] == "A81002")
        & (table["Indicator ID"] == "bp-control")
        & (table["Sex"] == "Persons")
        & (table["Category Type"] == "")
        & (table["Period start"] == row["period_start"].isoformat())
    ]
    assert len(got) == 1
    g = got.iloc[0]
    assert g["Value"] == pytest.approx(row["value"])
    assert g["Count"] == row["numerator"] and g["Denominator"] == row["denominator"]
    assert g["Lower CI 99.8 limit"] == pytest.approx(row["lower_ci_99_8"])
    assert g["Parent Code"] == "P1" and g["Parent Name"] == "West PCN"
    assert g["Time period"] == "2023 Q3"
    assert g["Indicator Name"] == META["bp-control"].title


def test_breakdowns_map_to_sex_and_category_columns(table: pd.DataFrame) -> None:
    sexes = set(table["Sex"])
    assert sexes == {"Persons", "Female", "Male"}
    deciles = table[table["Category Type"].str.startswith("Deprivation decile")]
    assert set(deciles["Category"]) == {str(i) for i in range(1, 11)}
    assert (table.loc[table["Category Type"] == "", "Category"] == "").all()


def test_suppressed_rows_have_no_figures_and_a_note(
    released: pd.DataFrame,
) -> None:
    frame = released.copy()
    frame.loc[5, ["suppressed", "suppression_reason"]] = [True, "numerator <= 7"]
    out = to_fingertips(frame, META)
    noted = out[out["Value note"] != ""]
    assert len(noted) == int(frame["suppressed"].sum())
    assert noted["Value"].isna().all() and noted["Count"].isna().all()
    assert noted["Value note"].str.contains("disclosure control").all()


def test_england_and_parent_comparisons(table: pd.DataFrame) -> None:
    labels = {"Better", "Similar", "Worse", "Higher", "Lower", "Not compared"}
    assert set(table["Compared to England value or percentiles"]) <= labels
    nat = table[table["Area Type"] == "national"]
    assert (nat["Compared to parent value or percentiles"] == "Not compared").all()
    # the pilot's bp-control improves steadily: its latest total row has a trend
    trend = table[
        (table["Area Code"] == "5J9")
        & (table["Indicator ID"] == "bp-control")
        & (table["Sex"] == "Persons")
        & (table["Category Type"] == "")
    ]
    assert trend["Recent Trend"].iloc[-1] == "Increasing and getting better"
    assert (trend["Recent Trend"].iloc[:-1] == "Cannot be calculated").all()


def test_export_writes_files_metadata_and_checksums(
    released: pd.DataFrame, tmp_path: Path
) -> None:
    result = export(released, tmp_path, META)
    assert result.policy == "opensafely"
    csv = pd.read_csv(
        tmp_path / "indicators.csv", keep_default_na=False, na_values=[""]
    )
    parquet = pd.read_parquet(tmp_path / "indicators.parquet")
    assert list(csv.columns) == list(COLUMNS) == list(parquet.columns)
    assert len(csv) == len(parquet) == len(released)
    assert np.allclose(
        csv["Value"].to_numpy(float),
        parquet["Value"].to_numpy(float),
        equal_nan=True,
        rtol=1e-9,
    )
    meta = json.loads((tmp_path / "metadata.json").read_text())
    assert meta["disclosure_policy"]["name"] == "opensafely"
    assert meta["licence"]["id"] == "OGL-UK-3.0"
    assert {i["id"] for i in meta["indicators"]} == {"bp-control", "ae-rate"}
    assert [c["name"] for c in meta["columns"]] == list(COLUMNS)
    lines = (tmp_path / "SHA256SUMS").read_text().splitlines()
    assert len(lines) == 3
    for line in lines:
        digest, name = line.split("  ")
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == digest
    check = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout


def test_export_refuses_unreleased_results(raw: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(PermissionDenied):
        export(raw, tmp_path)
    assert not (tmp_path / "indicators.csv").exists()


def test_query_pages_and_filters(released: pd.DataFrame) -> None:
    first = query(released, {"Area Code": "A81001"}, page=1, page_size=50, meta=META)
    expected = int((released["area_code"] == "A81001").sum())
    assert first["total"] == expected
    assert first["pages"] == -(-expected // 50)
    assert len(first["rows"]) == 50
    last = query(
        released, {"Area Code": "A81001"}, page=first["pages"], page_size=50, meta=META
    )
    assert len(last["rows"]) == expected - 50 * (first["pages"] - 1)
    both = query(
        released,
        {
            "Area Code": ["A81001", "A81002"],
            "Indicator ID": "ae-rate",
            "Sex": "Persons",
            "Category Type": "",
        },
        page_size=1000,
        meta=META,
    )
    assert both["total"] == 2 * 6
    assert all(r["Indicator ID"] == "ae-rate" for r in both["rows"])
    json.dumps(both)  # NaN became null: valid JSON


def test_query_rejects_bad_arguments(released: pd.DataFrame, raw: pd.DataFrame) -> None:
    with pytest.raises(UserError, match="cannot filter on `nope`"):
        query(released, {"nope": "x"})
    with pytest.raises(UserError, match="page_size"):
        query(released, page_size=5000)
    with pytest.raises(PermissionDenied):
        query(raw)


def test_vectorised_trend_matches_the_scalar_test(
    released: pd.DataFrame, table: pd.DataFrame
) -> None:
    from carepilot.publication.periods import recent_trend

    keys = ["indicator_id", "area_code", "breakdown", "category"]
    checked = 0
    for key, rows in released.groupby(keys):
        rows = rows.sort_values("period_start")
        m = META[str(key[0])]
        want = recent_trend(
            rows["numerator"].to_numpy(float),
            rows["denominator"].to_numpy(float),
            m.polarity,
            m.value_type,
        )
        got = table[
            (table["Indicator ID"] == key[0])
            & (table["Area Code"] == key[1])
            & (table["Period start"] == rows["period_start"].iloc[-1].isoformat())
        ]
        got = (
            got[(got["Sex"] == "Persons") & (got["Category Type"] == "")]
            if key[2] == "total"
            else got[got["Category"] == key[3]]
            if key[2] != "sex"
            else (got[got["Sex"] == str(key[3]).capitalize()])
        )
        assert got["Recent Trend"].tolist() == [want], key
        checked += 1
    assert checked > 100


def test_trend_does_not_depend_on_row_order(released: pd.DataFrame) -> None:
    from carepilot.publication.opendata import _trends
    from carepilot.publication.results import public_rows

    frame = public_rows(released).reset_index(drop=True)
    want = _trends(frame, META)
    assert (want != "Cannot be calculated").sum() > 10
    shuffled = frame.sample(frac=1.0, random_state=7)
    got = _trends(shuffled, META)
    assert list(got.index) == list(shuffled.index)
    pd.testing.assert_series_equal(got.sort_index(), want)


@settings(max_examples=60, deadline=None)
@given(
    series=st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=8),  # periods in the series
            st.integers(min_value=0, max_value=10_000),  # seed for its counts
            st.booleans(),  # one point suppressed
        ),
        min_size=1,
        max_size=6,
    )
)
def test_vectorised_trend_equals_scalar_test_on_random_series(
    series: list[tuple[int, int, bool]],
) -> None:
    """Each series' latest row carries `recent_trend` of its last five points;
    every other row says it cannot be calculated."""
    import datetime as dt

    from carepilot.publication.opendata import _trends
    from carepilot.publication.periods import recent_trend

    rows = []
    for s, (length, seed, hole) in enumerate(series):
        rng = np.random.default_rng(seed)
        n = rng.integers(20, 400, size=length).astype(float)
        o = np.floor(n * rng.uniform(0.2, 0.9, size=length))
        if hole:
            o[int(rng.integers(0, length))] = np.nan
        for i in range(length):
            rows.append(
                {
                    "indicator_id": "bp-control" if s % 2 else "ae-rate",
                    "area_code": f"A{s}",
                    "breakdown": "total",
                    "category": "all",
                    "period_start": dt.date(2020 + i, 4, 1),
                    "numerator": o[i],
                    "denominator": n[i],
                }
            )
    frame = pd.DataFrame(rows).sample(frac=1.0, random_state=3)
    got = _trends(frame, META)
    for s, (length, _, _) in enumerate(series):
        part = frame[frame["area_code"] == f"A{s}"].sort_values("period_start")
        m = META[str(part["indicator_id"].iloc[0])]
        want = recent_trend(
            part["numerator"].to_numpy(float),
            part["denominator"].to_numpy(float),
            m.polarity,
            m.value_type,
        )
        assert got[part.index[-1]] == want
        assert (got[part.index[:-1]] == "Cannot be calculated").all()
