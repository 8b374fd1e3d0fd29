"""The engine end to end on a synthetic population: backends agree, the reference
evaluator agrees, the results contract holds, disclosure control is applied."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from carepilot.disclosure import OPENSAFELY, ROW_LEVEL_ACCESS, SUPPRESS_1_TO_7
from carepilot.engine.output import RESULT_SCHEMA, write_results
from carepilot.engine.run import RESULT_COLUMNS, Engine, run_indicators
from carepilot.errors import UserError
from carepilot.indicators.model import IndicatorDefinition, ValueType
from carepilot.indicators.periods import Period
from carepilot.indicators.reference import evaluate_indicator

KEY = [
    "indicator_id",
    "period_start",
    "area_type",
    "area_code",
    "breakdown",
    "category",
]


@pytest.fixture(scope="module")
def duck_results(duck_tables: dict[str, Any], examples, periods) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return run_indicators(Engine(duck_tables, periods), examples, ROW_LEVEL_ACCESS)


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(KEY).reset_index(drop=True)


@pytest.mark.slow
def test_sqlite_gives_identical_numbers(
    duck_results: pd.DataFrame,
    sqlite_tables: dict[str, Any],
    examples,
    periods,  # type: ignore[no-untyped-def]
) -> None:
    lite = run_indicators(Engine(sqlite_tables, periods), examples, ROW_LEVEL_ACCESS)
    a, b = _sorted(duck_results), _sorted(lite)
    assert len(a) == len(b) > 1000
    pd.testing.assert_frame_equal(a[KEY], b[KEY])
    for col in (
        "numerator",
        "denominator",
        "exceptions",
        "value",
        "lower_ci_95",
        "upper_ci_99_8",
    ):
        np.testing.assert_allclose(
            a[col].to_numpy(float), b[col].to_numpy(float), rtol=1e-9, equal_nan=True
        )
    assert (a["comparison"] == b["comparison"]).all()


def test_every_value_type_produced_values(duck_results: pd.DataFrame, examples) -> None:  # type: ignore[no-untyped-def]
    national = duck_results[
        (duck_results.area_type == "national") & (duck_results.breakdown == "total")
    ]
    for d in examples:
        rows = national[national.indicator_id == d.id]
        assert len(rows) == 6, d.id
        assert rows["denominator"].gt(0).all(), d.id
        if d.value_type not in (
            ValueType.DSR,
            ValueType.ISR,
        ):  # need events (>= 10 for DSR)
            assert rows["value"].notna().all(), d.id


def test_reference_evaluator_agrees_on_synthetic_data(
    synth_data: dict[str, pa.Table],
    duck_tables: dict[str, Any],
    examples,
    periods,  # type: ignore[no-untyped-def]
) -> None:
    rows = {name: t.to_pylist() for name, t in synth_data.items()}
    engine = Engine(duck_tables, periods)
    for d in examples:
        ref = pd.DataFrame(evaluate_indicator(d, rows, periods))
        got = engine.patient_level(d).to_pandas()
        cols = ["patient_id", "period_id", "practice_pseudo_id", "num", "den", "exc"]
        ref = ref[cols].sort_values(cols[:2]).reset_index(drop=True)
        got = got[cols].sort_values(cols[:2]).reset_index(drop=True)
        assert len(ref) == len(got) > 0, d.id
        pd.testing.assert_frame_equal(ref, got, check_dtype=False, rtol=1e-9, obj=d.id)


def test_categories_add_up_to_total(duck_results: pd.DataFrame) -> None:
    df = duck_results
    group = ["indicator_id", "period_start", "area_type", "area_code"]
    totals = df[df.breakdown == "total"].set_index(group)[["numerator", "denominator"]]
    for breakdown, part in df[df.breakdown != "total"].groupby("breakdown"):
        sums = part.groupby(group)[["numerator", "denominator"]].sum()
        joined = sums.join(totals.add_suffix("_total"))
        np.testing.assert_allclose(
            joined["numerator"], joined["numerator_total"], err_msg=str(breakdown)
        )
        np.testing.assert_allclose(
            joined["denominator"], joined["denominator_total"], err_msg=str(breakdown)
        )


def test_child_areas_add_up_to_parent(duck_results: pd.DataFrame) -> None:
    df = duck_results[duck_results.breakdown == "sex"]
    keys = ["indicator_id", "period_start", "breakdown", "category"]
    for child, parent in (
        ("practice", "pcn"),
        ("pcn", "commissioner"),
        ("commissioner", "national"),
    ):
        kids = (
            df[df.area_type == child]
            .groupby([*keys, "parent_area_code"])[["numerator", "denominator"]]
            .sum()
        )
        parents = df[df.area_type == parent].set_index([*keys, "area_code"])[
            ["numerator", "denominator"]
        ]
        parents.index = parents.index.set_names([*keys, "parent_area_code"])
        joined = kids.join(parents.add_suffix("_p"), how="outer")
        np.testing.assert_allclose(
            joined["numerator"], joined["numerator_p"], err_msg=child
        )


def test_pilot_rows_exist_and_point_to_national(duck_results: pd.DataFrame) -> None:
    pilot = duck_results[duck_results.area_type == "pilot"]
    assert not pilot.empty
    assert (pilot.parent_area_code == "national").all()


def test_pilot_area_is_its_member_practices_in_every_period(
    duck_tables: dict[str, Any],
    synth_data: dict[str, Any],
    examples,  # type: ignore[no-untyped-def]
    periods: list[Period],
) -> None:
    """Before and after each practice's start date (baselines need the former)."""
    members = synth_data["pilot_site_members"].to_pandas()
    members["start_date"] = periods[3].start  # joins mid-run
    practices = synth_data["practices"].to_pandas()
    code_of = dict(
        zip(practices.practice_pseudo_id, practices.practice_code, strict=True)
    )
    tables = {**duck_tables, "pilot_site_members": ibis.memtable(members)}
    out = run_indicators(Engine(tables, periods), examples[:2], ROW_LEVEL_ACCESS)
    df = out[out.breakdown == "total"]
    practice_members = members[members.member_type == "practice"]
    for pilot_id, group in practice_members.groupby("pilot_id"):
        codes = {code_of[p] for p in group.practice_pseudo_id}
        kids = (
            df[(df.area_type == "practice") & df.area_code.isin(codes)]
            .groupby(["indicator_id", "period_start"])[["numerator", "denominator"]]
            .sum()
        )
        mine = df[(df.area_type == "pilot") & (df.area_code == pilot_id)]
        mine = mine.set_index(["indicator_id", "period_start"])[
            ["numerator", "denominator"]
        ].sort_index()
        assert len(mine.index.get_level_values(1).unique()) == len(periods)
        pd.testing.assert_frame_equal(mine, kids.loc[mine.index], check_dtype=False)


def test_practice_benchmark_comparison(duck_results: pd.DataFrame) -> None:
    df = duck_results
    allowed = {"better", "similar", "worse", "higher", "lower", "not compared"}
    assert set(df.comparison) <= allowed
    assert (df[df.area_type == "national"].comparison == "not compared").all()
    nj = df[df.indicator_id == "dm-prevalence"].comparison
    assert not ({"better", "worse"} & set(nj))


def test_opensafely_disclosure(duck_tables: dict[str, Any], examples, periods) -> None:  # type: ignore[no-untyped-def]
    out = run_indicators(Engine(duck_tables, periods), examples[:3], OPENSAFELY)
    counts = out[["numerator", "denominator"]].to_numpy(float).ravel()
    shown = counts[~np.isnan(counts)]
    assert (shown % 5 == 0).all() and (shown > 7).all()
    assert out.loc[out.suppressed, "value"].isna().all()
    assert out.suppressed.any() and (~out.suppressed).any()


def test_suppress_policy(duck_tables: dict[str, Any], examples, periods) -> None:  # type: ignore[no-untyped-def]
    out = run_indicators(Engine(duck_tables, periods), examples[:2], SUPPRESS_1_TO_7)
    assert out.loc[out.suppressed, "numerator"].isna().all()


def test_write_parquet_and_csv(duck_results: pd.DataFrame, tmp_path: Path) -> None:
    write_results(duck_results, tmp_path / "r.parquet")
    table = pq.read_table(tmp_path / "r.parquet")
    assert table.schema.equals(RESULT_SCHEMA)
    assert table.column_names == list(RESULT_COLUMNS)
    write_results(duck_results, tmp_path / "r.csv")
    assert (
        (tmp_path / "r.csv")
        .read_text()
        .startswith('"indicator_id","indicator_version"')
    )


def test_isr_national_is_100(duck_results: pd.DataFrame) -> None:
    rows = duck_results[
        (duck_results.indicator_id == "cvd-mortality-isr")
        & (duck_results.area_type == "national")
        & (duck_results.breakdown == "total")
    ]
    np.testing.assert_allclose(rows["value"].dropna(), 100.0)


def test_standardised_indicators_have_age_specific_band_rows(
    duck_results: pd.DataFrame,
) -> None:
    """DSR age band rows are crude rates per band; ISR ones the band's ratio
    (so the national row of every band is 100)."""
    bands = duck_results[duck_results.breakdown == "age_band"]
    dsr = bands[bands.indicator_id == "emergency-admissions-dsr"]
    assert len(dsr) and set(dsr.area_type) >= {"national", "commissioner", "pilot"}
    rated = dsr[dsr.denominator > 0]
    np.testing.assert_allclose(
        rated["value"], rated["numerator"] / rated["denominator"] * 100_000
    )
    isr = bands[
        (bands.indicator_id == "cvd-mortality-isr") & (bands.area_type == "national")
    ]
    assert len(isr)
    np.testing.assert_allclose(isr["value"].dropna(), 100.0)


def test_proportion_value_uses_denominator_minus_exceptions(
    duck_results: pd.DataFrame,
) -> None:
    rows = duck_results[
        (duck_results.indicator_id == "dm-hba1c-58") & (duck_results.denominator > 0)
    ]
    np.testing.assert_allclose(
        rows["value"], rows["numerator"] / rows["denominator"] * 100
    )
    assert rows["exceptions"].notna().all()


def _unused(
    d: IndicatorDefinition, p: Period
) -> None:  # keeps imports honest for pyright
    del d, p


def test_practice_breakdowns_keep_practice_totals_only(
    duck_tables: dict[str, Any],
    duck_results: pd.DataFrame,
    examples,  # type: ignore[no-untyped-def]
    periods,  # type: ignore[no-untyped-def]
) -> None:
    """Practice and PCN rows drop the other breakdowns; every other row is the
    same as in the full run."""
    engine = Engine(duck_tables, periods, practice_breakdowns=("total", "sex"))
    out = run_indicators(engine, examples[:3], ROW_LEVEL_ACCESS)
    small = out.area_type.isin(["practice", "pcn"])
    assert set(out.loc[small, "breakdown"]) == {"total", "sex"}
    assert set(out.loc[~small, "breakdown"]) > {"total", "sex", "imd_quintile"}
    full = duck_results[
        duck_results.indicator_id.isin([d.id for d in examples[:3]])
        & (
            ~duck_results.area_type.isin(["practice", "pcn"])
            | duck_results.breakdown.isin(["total", "sex"])
        )
    ]
    pd.testing.assert_frame_equal(_sorted(out), _sorted(full), check_dtype=False)


def test_definition_breakdowns_narrow_the_run(
    duck_tables: dict[str, Any],
    examples,  # type: ignore[no-untyped-def]
    periods,  # type: ignore[no-untyped-def]
) -> None:
    narrowed = dataclasses.replace(examples[0], breakdowns=("total", "imd_quintile"))
    engine = Engine(duck_tables, periods)
    out = engine.results(narrowed)
    assert set(out.breakdown) == {"total", "imd_quintile"}
    full = engine.results(examples[0])
    keep = full.breakdown.isin(["total", "imd_quintile"])
    pd.testing.assert_frame_equal(_sorted(out), _sorted(full[keep]), check_dtype=False)


def test_unknown_practice_breakdown_is_a_clear_error(
    duck_tables: dict[str, Any],
    periods,  # type: ignore[no-untyped-def]
) -> None:
    with pytest.raises(UserError, match="unknown practice breakdown.*imd_quintel"):
        Engine(duck_tables, periods, practice_breakdowns=("total", "imd_quintel"))
