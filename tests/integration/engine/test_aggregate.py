"""The DuckDB GROUPING SETS pass gives exactly the rows of the portable UNION ALL form."""

from __future__ import annotations

from typing import Any

import pandas as pd

from carepilot.engine.aggregate import MEASURES, aggregate, aggregate_expr
from carepilot.engine.run import Engine
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
