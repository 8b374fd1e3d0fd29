"""Inequality views: an indicator by a protected characteristic or deprivation.

`breakdown_view` shows the categories of one breakdown (IMD decile or quintile,
ethnicity, sex, age, disability, religion, sexual orientation, rural/urban) for an
area and period, each compared with the area's own total, and for deprivation the
slope and relative index of inequality (`carepilot.stats.inequality`).
`gap_over_time` follows the gap between the most and least deprived (or, for
other breakdowns, the highest and lowest category) across periods.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from carepilot.errors import InputDataError, InsufficientDataError
from carepilot.publication import charts
from carepilot.publication.periods import period_label
from carepilot.publication.results import IndicatorMeta, meta_for_ids
from carepilot.publication.views import Partitioned, View, cached, partitioned
from carepilot.stats.inequality import gap, slope_index_of_inequality
from carepilot.stats.significance import compare_to_benchmark

Meta = Mapping[str, IndicatorMeta] | None

BREAKDOWN_LABELS: dict[str, str] = {
    "imd_decile": "deprivation decile (1 = most deprived)",
    "imd_quintile": "deprivation quintile (1 = most deprived)",
    "ethnicity_5": "ethnic group",
    "ethnicity_16": "ethnic group (16 groups)",
    "sex": "sex",
    "age_band": "age band",
    "disability": "disability",
    "religion": "religion",
    "sexual_orientation": "sexual orientation",
    "rural_urban": "rural or urban",
}
"""Plain-English name of each breakdown."""

DEPRIVATION = ("imd_decile", "imd_quintile")

_SII_VALUE_TYPE = {"proportion": "proportion", "crude_rate": "rate", "dsr": "rate"}


def _rows(
    idx: Partitioned, indicator_id: str, area_code: str, breakdown: str
) -> pd.DataFrame:
    rows = idx.area(area_code, indicator_id)
    rows = rows[rows["breakdown"].isin([breakdown, "total"])]
    if rows[rows["breakdown"] == breakdown].empty:
        raise InputDataError(
            f"no `{breakdown}` breakdown of `{indicator_id}` for area `{area_code}`; "
            f"breakdowns available: {', '.join(idx.breakdowns())}"
        )
    return rows


def _order(categories: pd.Series, breakdown: str) -> pd.Series:
    if breakdown in DEPRIVATION:
        return pd.to_numeric(categories, errors="coerce").fillna(99)
    if breakdown == "age_band":
        return pd.to_numeric(categories.str.extract(r"^(\d+)")[0], errors="coerce")
    return categories.rank(method="dense")


def sii(part: pd.DataFrame, m: IndicatorMeta) -> dict[str, float]:
    """SII/RII over the deprivation quantiles of one area and period.

    Quantiles with a suppressed value or no denominator are left out (PHE needs
    every quantile; with fewer than all the result is flagged ``complete = 0``).
    Values are passed on the 0-1 scale for proportions and divided by the
    multiplier for rates, and the SII is scaled back (Low & Low 2004 via
    `slope_index_of_inequality`).
    """
    use = part.dropna(subset=["value", "lower_ci_95", "upper_ci_95", "denominator"])
    use = use[use["denominator"] > 0]
    if len(use) < 3:
        raise InsufficientDataError(
            "SII needs at least three deprivation quantiles with published values"
        )
    scale = m.multiplier if m.value_type in _SII_VALUE_TYPE else 1.0
    res = slope_index_of_inequality(
        use["value"].to_numpy(float) / scale,
        use["denominator"].to_numpy(float),
        lower_cl=use["lower_ci_95"].to_numpy(float) / scale,
        upper_cl=use["upper_ci_95"].to_numpy(float) / scale,
        value_type=_SII_VALUE_TYPE.get(m.value_type, "normal"),
        multiplier=scale,
        repetitions=10_000,
        rng=20_250_401,
    )
    return {
        "sii": res.sii,
        "sii_lower": res.sii_lower.get(0.95, math.nan),
        "sii_upper": res.sii_upper.get(0.95, math.nan),
        "rii": res.rii,
        "rii_lower": res.rii_lower.get(0.95, math.nan),
        "rii_upper": res.rii_upper.get(0.95, math.nan),
        "quantiles_used": float(len(use)),
        "complete": float(len(use) == len(part)),
    }


@cached
def breakdown_view(
    results: pd.DataFrame,
    indicator_id: str,
    area_code: str,
    breakdown: str = "imd_decile",
    period: dt.date | None = None,
    meta: Meta = None,
    public: bool = True,
) -> View:
    """One breakdown of an indicator for an area, compared with the area total."""
    idx = partitioned(results, public)
    m = meta_for_ids(idx.indicators, meta)[indicator_id]
    rows = _rows(idx, indicator_id, area_code, breakdown)
    when = period or max(rows.loc[rows["breakdown"] == breakdown, "period_start"])
    rows = rows[rows["period_start"] == when]
    total = rows[rows["breakdown"] == "total"]
    part = rows[rows["breakdown"] == breakdown].copy()
    part = part.assign(_o=_order(part["category"], breakdown)).sort_values("_o")
    bench = float(total["value"].iloc[0]) if len(total) else math.nan
    part["benchmark"] = bench
    part["comparison"] = compare_to_benchmark(
        part["value"], part["lower_ci_95"], part["upper_ci_95"], bench, m.polarity
    )
    part = part.drop(columns="_o").reset_index(drop=True)
    name = str(rows["area_name"].iloc[0])
    what = BREAKDOWN_LABELS.get(breakdown, breakdown)
    extra: dict[str, object] = {
        "period": period_label(when, part["period_end"].iloc[0])
    }
    if breakdown in DEPRIVATION:
        try:
            extra.update(sii(part, m))
        except InsufficientDataError as exc:
            extra["sii_note"] = str(exc)
    return View(
        key=f"inequality-{indicator_id}-{area_code}-{breakdown}",
        title=f"{m.title}: {name} by {what}",
        summary=f"Each bar is one {what} group, with its 95% confidence interval; "
        f"the dashed line is {name} as a whole. Colour compares each group with "
        "the whole area.",
        data=part,
        columns={
            "category": what.capitalize(),
            "numerator": "Count",
            "denominator": "Denominator",
            "value": "Value",
            "lower_ci_95": "Lower 95% CI",
            "upper_ci_95": "Upper 95% CI",
            "comparison": "Compared with area",
        },
        spec=charts.breakdown_chart(part, f"{m.title} by {what}", m.unit),
        extra=extra,
    )


@cached
def gap_over_time(
    results: pd.DataFrame,
    indicator_id: str,
    area_code: str,
    breakdown: str = "imd_decile",
    meta: Meta = None,
    public: bool = True,
) -> View:
    """Gap per period between the extreme groups of a breakdown, with 95 % CI.

    Deprivation: most minus least deprived quantile (`carepilot.stats.inequality.
    gap`); other breakdowns: highest minus lowest published category value.
    """
    idx = partitioned(results, public)
    m = meta_for_ids(idx.indicators, meta)[indicator_id]
    rows = _rows(idx, indicator_id, area_code, breakdown)
    rows = rows[rows["breakdown"] == breakdown]
    out = []
    for key, part in rows.groupby("period_start"):
        start: dt.date = key  # type: ignore[assignment]
        part = part.dropna(subset=["value"])
        if len(part) < 2:
            continue
        if breakdown in DEPRIVATION:
            q = pd.to_numeric(part["category"], errors="coerce")
            part = part[q.notna()]
            g = gap(
                part["value"],
                pd.to_numeric(part["category"]),
                lower_cl=part["lower_ci_95"],
                upper_cl=part["upper_ci_95"],
            )
            first, second = "most deprived", "least deprived"
        else:
            ranked = part.sort_values("value")
            hi, lo = ranked.iloc[-1], ranked.iloc[0]
            g = gap(
                [hi["value"], lo["value"]],
                [1, 2],
                lower_cl=[hi["lower_ci_95"], lo["lower_ci_95"]],
                upper_cl=[hi["upper_ci_95"], lo["upper_ci_95"]],
            )
            first, second = str(hi["category"]), str(lo["category"])
        end = part["period_end"].iloc[0]
        out.append(
            {
                "period_start": start,
                "period_end": end,
                "period": period_label(start, end),
                "series": "gap",
                "kind": "area",
                "comparison": "not compared",
                "value": g.difference,
                "lower_ci_95": g.lower,
                "upper_ci_95": g.upper,
                "ratio": g.ratio,
                "groups": f"{first} - {second}",
            }
        )
    if not out:
        raise InsufficientDataError(
            f"no period has two published `{breakdown}` groups for `{indicator_id}`"
        )
    data = pd.DataFrame(out)
    data["significant"] = np.where(
        (data["lower_ci_95"] > 0) | (data["upper_ci_95"] < 0), "yes", "no"
    )
    what = BREAKDOWN_LABELS.get(breakdown, breakdown)
    return View(
        key=f"gap-{indicator_id}-{area_code}-{breakdown}",
        title=f"{m.title}: gap by {what} over time",
        summary="The difference between the extreme groups in each period, with "
        "its 95% confidence interval; an interval that excludes 0 is a "
        "significant gap.",
        data=data,
        columns={
            "period": "Period",
            "groups": "Groups",
            "value": "Gap",
            "lower_ci_95": "Lower 95% CI",
            "upper_ci_95": "Upper 95% CI",
            "ratio": "Ratio",
            "significant": "Significant",
        },
        spec=charts.trend_chart(data, f"Gap by {what}", m.unit),
    )
