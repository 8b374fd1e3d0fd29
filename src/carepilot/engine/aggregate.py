"""The one aggregation of a patient-level indicator table.

`aggregate_expr` groups the patient-level rows by period, practice and each raw
breakdown attribute: one GROUP BY GROUPING SETS on DuckDB (a single scan of the
patient-level rows), else one GROUP BY per attribute combined with UNION ALL. The result is small (periods x practices x
categories) and everything after it - derived breakdowns, area roll-ups,
statistics - runs on that small table.
"""

# Ibis's static types are coarser than its runtime API (columns from `t[...]` are
# typed `Column`, which lacks the operators and methods of the concrete value
# types), so pyright cannot check expression building here; the spec, property and
# integration tests check it on two backends instead.
# pyright: reportOperatorIssue=false, reportAttributeAccessIssue=false, reportArgumentType=false, reportCallIssue=false

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from carepilot.engine.breakdowns import MISSING_LABEL, N_AGE_BANDS, RAW_ATTRIBUTES

MEASURES = ("num", "den", "exc", "num_sq")


def aggregate(patient_level: ir.Table, *, by_age_band: bool) -> pd.DataFrame:
    """Run the aggregation and return it as a DataFrame (see `aggregate_expr`).

    On DuckDB this is ONE `GROUP BY GROUPING SETS` over the patient-level rows, so
    the patient-level query (feature joins and all) is evaluated and scanned once
    instead of once per attribute (about 1.5-2x faster); other backends (SQLite
    has no GROUPING SETS) run the UNION ALL form of `aggregate_expr`. Both give
    the same rows (tested).
    """
    keys = ["period_id", "practice_pseudo_id", *(["sband"] if by_age_band else [])]
    categories = categories_expr(patient_level, keys, RAW_ATTRIBUTES)
    on_spark = _spark_grouping_sets(categories, keys)
    if on_spark is not None:
        return on_spark
    relation = _duckdb_relation(categories)
    if relation is None:
        return aggregate_expr(patient_level, by_age_band=by_age_band).to_pandas()
    return relation.query("_patient_level", grouping_sets_sql(keys)).df()


def grouping_sets_sql(
    keys: list[str], attributes: tuple[str, ...] = RAW_ATTRIBUTES
) -> str:
    """The GROUPING SETS query over `_patient_level` (columns from `_categories`).

    In each grouping set the other attributes' category columns are NULL, so
    COALESCE picks the set's category and GROUPING() names its attribute.
    """
    k = ", ".join(keys)
    sets = ", ".join(f"({k}, v_{a})" for a in attributes)
    attribute = " ".join(f"WHEN grouping(v_{a}) = 0 THEN '{a}'" for a in attributes)
    value = ", ".join(f"v_{a}" for a in attributes)
    sums = ", ".join(f"sum({m}) AS {m}" for m in MEASURES)
    return (
        f"SELECT {k}, CASE {attribute} END AS attribute, coalesce({value}) AS value, "
        f"{sums}, count(*) AS n FROM _patient_level GROUP BY GROUPING SETS ({sets})"
    )


def categories_expr(
    patient_level: ir.Table,
    keys: list[str],
    attributes: tuple[str, ...] = RAW_ATTRIBUTES,
) -> ir.Table:
    """Keys, measures and one category text column `v_<attr>` per attribute.

    The text (with the missing label) is computed by Ibis exactly as in the
    UNION ALL form, so both forms give identical categories.
    """
    band = ibis.least(patient_level.age // 5, N_AGE_BANDS - 1).cast("int64")
    t = patient_level.mutate(age_band=band, sband=band)
    cols = {
        f"v_{a}": t[a].cast("string").fill_null(MISSING_LABEL[a]) for a in attributes
    }
    return t.select(*keys, *MEASURES, **cols)


def _duckdb_relation(expr: ir.Table) -> Any | None:
    """The expression as a DuckDB relation (in-memory tables registered), or None.

    Uses the DuckDB backend's own compile-and-register step (not part of Ibis's
    documented API; if it goes away the UNION ALL path is used).
    """
    try:
        backend = expr._find_backend()  # pyright: ignore[reportPrivateUsage]
    except Exception:  # noqa: BLE001 - unbound expression: no backend
        return None
    if getattr(backend, "name", None) != "duckdb":
        return None
    to_relation = getattr(backend, "_to_duckdb_relation", None)
    if to_relation is None:  # pragma: no cover - depends on the Ibis version
        return None
    return to_relation(expr)


def _spark_grouping_sets(expr: ir.Table, keys: list[str]) -> pd.DataFrame | None:
    """The GROUPING SETS query run by Spark SQL, or None on other backends.

    Spark SQL has GROUPING SETS too; there the UNION ALL form re-plans and
    re-runs the whole patient-level query once per attribute, which made each
    indicator several times slower (measured in benchmarks/scale.py's notes).
    Uses the backend's compile step and Spark session (Ibis internals, as above).
    """
    try:
        backend = expr._find_backend()  # pyright: ignore[reportPrivateUsage]
    except Exception:  # noqa: BLE001 - unbound expression: no backend
        return None
    if getattr(backend, "name", None) != "pyspark":
        return None
    backend._run_pre_execute_hooks(expr)  # registers in-memory tables
    inner = backend.compile(expr)
    query = f"WITH _patient_level AS ({inner}) {grouping_sets_sql(keys)}"
    return backend._session.sql(query).toPandas()


def aggregate_expr(
    patient_level: ir.Table,
    *,
    by_age_band: bool,
    attributes: tuple[str, ...] = RAW_ATTRIBUTES,
) -> ir.Table:
    """UNION ALL of one GROUP BY per raw attribute (portable form).

    Args:
        patient_level: `CompiledIndicator.patient_level`.
        by_age_band: also group by the 19 age bands (`sband`), for standardised
            rates and ratios.
        attributes: raw attributes to group by.

    Returns:
        Columns `period_id`, `practice_pseudo_id`, [`sband`], `attribute`,
        `value` (category as text), `num`, `den`, `exc`, `num_sq`, `n`.
    """
    band = ibis.least(patient_level.age // 5, N_AGE_BANDS - 1).cast("int64")
    t = patient_level.mutate(age_band=band, sband=band)
    parts: list[ir.Table] = []
    keys = ["period_id", "practice_pseudo_id", *(["sband"] if by_age_band else [])]
    for attr in attributes:
        value = t[attr].cast("string").fill_null(MISSING_LABEL[attr])
        part = (
            t.mutate(value=value)
            .group_by([*keys, "value"])
            .aggregate(
                num=ibis._.num.sum(),
                den=ibis._.den.sum(),
                exc=ibis._.exc.sum(),
                num_sq=ibis._.num_sq.sum(),
                n=ibis._.count(),
            )
            .mutate(attribute=ibis.literal(attr))
        )
        parts.append(part.select(*keys, "attribute", "value", *MEASURES, "n"))
    return ibis.union(*parts, distinct=False)
