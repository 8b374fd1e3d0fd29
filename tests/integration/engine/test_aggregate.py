"""The DuckDB GROUPING SETS pass and the NumPy columnar pass give exactly the rows
of the portable UNION ALL form."""

from __future__ import annotations

from typing import Any

import pandas as pd

from carepilot.engine.aggregate import MEASURES, aggregate, aggregate_expr
from carepilot.engine.breakdowns import RAW_ATTRIBUTES
from carepilot.engine.columnar import aggregate_columnar
from carepilot.engine.run import Engine
from carepilot.indicators.compile import compile_indicator
from carepilot.indicators.model import IndicatorDefinition, ValueType
from carepilot.indicators.periods import Period


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c in frame.columns if c not in (*MEASURES, "n")]
    frame = frame.astype({"value": str, "attribute": str})
    return frame.sort_values(keys).reset_index(drop=True)


def test_grouping_sets_match_union_all(
    duck_tables: dict[str, Any],
    examples: list[IndicatorDefinition],
    periods: list[Period],
) -> None:
    engine = Engine(duck_tables, periods)
    for definition in examples:
        standardised = definition.value_type in (ValueType.DSR, ValueType.ISR)
        patient_level = engine.patient_level(definition)
        union = aggregate_expr(patient_level, by_age_band=standardised).to_pandas()
        sets = aggregate(patient_level, by_age_band=standardised)
        assert len(sets) > 0
        want = _sorted(union)
        got = _sorted(sets[union.columns])
        pd.testing.assert_frame_equal(got, want, check_dtype=False, rtol=1e-9)


def test_explain_sql_shows_the_grouping_sets_pass(
    duck_tables: dict[str, Any],
    examples: list[IndicatorDefinition],
    periods: list[Period],
) -> None:
    from carepilot.engine.run import explain_sql

    duck = explain_sql(examples[0], duck_tables, periods, dialect="duckdb")
    assert "GROUPING SETS" in duck and "_patient_level" in duck
    sqlite = explain_sql(examples[0], duck_tables, periods, dialect="sqlite")
    assert "GROUPING SETS" not in sqlite and "UNION ALL" in sqlite


def test_columnar_pass_matches_union_all(
    duck_tables: dict[str, Any],
    examples: list[IndicatorDefinition],
    periods: list[Period],
) -> None:
    """The NumPy aggregation on integer codes gives the rows of the SQL form."""
    engine = Engine(duck_tables, periods)
    for definition in examples:
        standardised = definition.value_type in (ValueType.DSR, ValueType.ISR)
        compiled = compile_indicator(definition, duck_tables, periods, grid=engine.grid)
        assert compiled.population is not None
        union = aggregate_expr(
            compiled.patient_level, by_age_band=standardised
        ).to_pandas()
        columnar = aggregate_columnar(
            compiled.population,
            engine.categories,
            by_age_band=standardised,
            attributes=RAW_ATTRIBUTES,
            constants=compiled.constants,
            aliases=compiled.aliases,
        )
        assert len(columnar) > 0
        want = _sorted(union)
        got = _sorted(columnar[union.columns])
        pd.testing.assert_frame_equal(got, want, check_dtype=False, rtol=1e-9)


def test_columnar_and_sql_engines_give_identical_results(
    duck_tables: dict[str, Any],
    examples: list[IndicatorDefinition],
    periods: list[Period],
) -> None:
    """End to end, forcing either aggregation on the same backend."""
    fast = Engine(duck_tables, periods, columnar=True)
    sql = Engine(duck_tables, periods, columnar=False)
    for definition in examples:
        a = fast.results(definition)
        b = sql.results(definition)
        assert len(a) > 0
        pd.testing.assert_frame_equal(a, b, check_dtype=False, rtol=1e-9)
