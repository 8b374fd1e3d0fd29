"""The one aggregation of a patient-level indicator table.

`aggregate_expr` groups the patient-level rows by period, practice and each raw
breakdown attribute (one GROUP BY per attribute, combined with UNION ALL in a
single query, GROUPING SETS-style). The result is small (periods x practices x
categories) and everything after it - derived breakdowns, area roll-ups,
statistics - runs on that small table.
"""

# Ibis's static types are coarser than its runtime API (columns from `t[...]` are
# typed `Column`, which lacks the operators and methods of the concrete value
# types), so pyright cannot check expression building here; the spec, property and
# integration tests check it on two backends instead.
# pyright: reportOperatorIssue=false, reportAttributeAccessIssue=false, reportArgumentType=false, reportCallIssue=false

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from carepilot.engine.breakdowns import MISSING_LABEL, N_AGE_BANDS, RAW_ATTRIBUTES

MEASURES = ("num", "den", "exc", "num_sq")


def aggregate_expr(
    patient_level: ir.Table,
    *,
    by_age_band: bool,
    attributes: tuple[str, ...] = RAW_ATTRIBUTES,
) -> ir.Table:
    """UNION ALL of one GROUP BY per raw attribute.

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
