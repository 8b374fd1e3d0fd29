"""The previous `opendata.to_fingertips` (before integer-code labels), kept only as
the benchmark baseline so `benchmarks/opendata.py` can report a ratio measured in
the same process. Not used by the package.
"""

# ruff: noqa: E501
# pyright: basic

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import scipy.stats as sps

from carepilot.publication import colours
from carepilot.publication.opendata import (
    CATEGORY_TYPES,
    TREND_ALPHA,
    TREND_POINTS,
    _age,
    _sex,
)
from carepilot.publication.periods import period_label, period_range, sortable
from carepilot.publication.results import IndicatorMeta, meta_for, public_rows
from carepilot.stats.significance import compare_to_benchmark


def _parent_comparison(
    frame: pd.DataFrame, meta: Mapping[str, IndicatorMeta]
) -> np.ndarray:
    keys = ["indicator_id", "period_start", "breakdown", "category"]
    parents = frame[[*keys, "area_code", "value"]].rename(
        columns={"area_code": "parent_area_code", "value": "_parent_value"}
    )
    merged = frame.merge(parents, on=[*keys, "parent_area_code"], how="left")
    out = np.full(len(frame), "not compared", dtype=object)
    for indicator_id, idx in merged.groupby("indicator_id").indices.items():
        rows = merged.iloc[idx]
        out[idx] = compare_to_benchmark(
            rows["value"].to_numpy(float),
            rows["lower_ci_95"].to_numpy(float),
            rows["upper_ci_95"].to_numpy(float),
            rows["_parent_value"].to_numpy(float),
            meta[str(indicator_id)].polarity,
        )
    return out


def _labels(comparison: pd.Series) -> pd.Series:
    """Fingertips significance labels, computed once per distinct comparison."""
    text = comparison.astype(str)
    return text.map({c: colours.label(c) for c in text.unique()})


def _trends(frame: pd.DataFrame, meta: Mapping[str, IndicatorMeta]) -> pd.Series:
    """Previous "Recent Trend": pandas sort and group-by on the string keys.

    Same chi-squared test for trend as `periods.trend_test`, computed from
    grouped sums of O, N, N·t, N·t² and t·O over each series' last 5 periods.
    """
    keys = ["indicator_id", "area_code", "breakdown", "category"]
    out = pd.Series("Cannot be calculated", index=frame.index, dtype=object)
    tested = [k for k, m in meta.items() if m.value_type == "proportion"]
    sub = frame[frame["indicator_id"].isin(tested)].sort_values([*keys, "period_start"])
    if sub.empty:
        return out
    groups = sub.groupby(keys, sort=False)
    from_end = groups.cumcount(ascending=False).to_numpy()
    size = groups["period_start"].transform("size").to_numpy()
    keep = (from_end < TREND_POINTS) & (size >= TREND_POINTS)
    last = sub.loc[keep, keys].copy()
    t = (TREND_POINTS - 1 - from_end[keep]).astype(float)
    o = sub.loc[keep, "numerator"].to_numpy(float)
    n = sub.loc[keep, "denominator"].to_numpy(float)
    last = last.assign(
        o=o, n=n, nt=n * t, nt2=n * t * t, to=t * o, bad=np.isnan(o) | np.isnan(n)
    )
    sums = last.groupby(keys, sort=False).sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        p = sums["o"] / sums["n"]
        stat = sums["to"] - p * sums["nt"]
        var = p * (1 - p) * (sums["nt2"] - sums["nt"] ** 2 / sums["n"])
        pval = pd.Series(sps.chi2.sf(stat**2 / var, 1), index=sums.index)
    valid = (sums["bad"] == 0) & (var > 0) & pval.notna()
    polarity = sums.index.get_level_values(0).map(lambda i: meta[str(i)].polarity)
    direction = np.where(stat > 0, "Increasing", "Decreasing")
    good = (stat > 0) == (np.asarray(polarity) == "higher_is_better")
    judged = np.where(good, " and getting better", " and getting worse")
    text = np.where(
        np.asarray(polarity) == "no_judgement",
        direction,
        np.char.add(direction.astype(str), judged.astype(str)),
    )
    text = np.where(pval >= TREND_ALPHA, "No significant change", text)
    text = np.where(valid, text, "Cannot be calculated")
    latest = sub.loc[(from_end == 0) & (size >= TREND_POINTS), keys]
    lookup = pd.Series(text, index=sums.index)
    out.loc[latest.index] = lookup.reindex(pd.MultiIndex.from_frame(latest)).to_numpy()
    return out


def to_fingertips(
    results: pd.DataFrame, meta: Mapping[str, IndicatorMeta] | None = None
) -> pd.DataFrame:
    """Released results → Fingertips data-download columns (see `COLUMNS`).

    "Recent Trend" is filled on the latest period of each series only (as
    Fingertips does). Suppressed rows keep their labels with blank figures and
    a "Value note".
    """
    frame = public_rows(results).reset_index(drop=True)
    info = meta_for(frame, meta)
    names = dict(zip(frame["area_code"], frame["area_name"], strict=False))
    # Labels depend on a handful of distinct keys (indicators, periods,
    # breakdown/category pairs): compute them once per key and map back, so a
    # multi-million-row release is converted in seconds, not minutes.
    breakdown = frame["breakdown"].astype(str)
    category = frame["category"].astype(str)
    pair = breakdown + "\x1f" + category
    pairs = pd.Series(pair.unique(), dtype=str)
    split = pairs.str.split("\x1f", n=1, expand=True)
    sex_of = dict(
        zip(
            pairs,
            [_sex(b, c) for b, c in zip(split[0], split[1], strict=True)],
            strict=True,
        )
    )
    age_of = dict(
        zip(
            pairs,
            [_age(b, c) for b, c in zip(split[0], split[1], strict=True)],
            strict=True,
        )
    )
    cat_of = dict(
        zip(
            pairs,
            [
                c if b in CATEGORY_TYPES else ""
                for b, c in zip(split[0], split[1], strict=True)
            ],
            strict=True,
        )
    )
    period_key = (
        frame["period_start"].astype(str) + "/" + frame["period_end"].astype(str)
    )
    distinct = frame.loc[~period_key.duplicated(), ["period_start", "period_end"]]
    keys = period_key.loc[distinct.index]
    label_of: dict[str, str] = {}
    sortable_of: dict[str, int] = {}
    range_of: dict[str, str] = {}
    start_of: dict[str, str] = {}
    end_of: dict[str, str] = {}
    for key, s, e in zip(
        keys.astype(str),
        distinct["period_start"],
        distinct["period_end"],
        strict=True,
    ):
        label_of[key] = period_label(s, e)
        sortable_of[key] = sortable(s)
        range_of[key] = period_range(s, e)
        start_of[key] = s.isoformat()
        end_of[key] = e.isoformat()
    titles = {str(i): info[str(i)].title for i in frame["indicator_id"].unique()}
    note = np.where(
        frame["suppressed"].to_numpy(bool),
        "Value suppressed for disclosure control: "
        + frame["suppression_reason"].fillna("small numbers").astype(str),
        "",
    )
    parent = frame["parent_area_code"].where(frame["parent_area_code"].notna(), "")
    parent = parent.astype(str).replace({"None": "", "nan": ""})
    names[""] = ""
    out = pd.DataFrame(
        {
            "Indicator ID": frame["indicator_id"],
            "Indicator Name": frame["indicator_id"].astype(str).map(titles),
            "Parent Code": parent,
            "Parent Name": parent.map(names).fillna(""),
            "Area Code": frame["area_code"],
            "Area Name": frame["area_name"],
            "Area Type": frame["area_type"],
            "Sex": pair.map(sex_of),
            "Age": pair.map(age_of),
            "Category Type": breakdown.map(CATEGORY_TYPES).fillna(""),
            "Category": pair.map(cat_of),
            "Time period": period_key.map(label_of),
            "Value": frame["value"],
            "Lower CI 95.0 limit": frame["lower_ci_95"],
            "Upper CI 95.0 limit": frame["upper_ci_95"],
            "Lower CI 99.8 limit": frame["lower_ci_99_8"],
            "Upper CI 99.8 limit": frame["upper_ci_99_8"],
            "Count": frame["numerator"],
            "Denominator": frame["denominator"],
            "Value note": note,
            "Recent Trend": _trends(frame, info),
            "Compared to England value or percentiles": _labels(frame["comparison"]),
            "Compared to parent value or percentiles": _labels(
                pd.Series(_parent_comparison(frame, info), index=frame.index)
            ),
            "Time period Sortable": period_key.map(sortable_of),
            "Time period range": period_key.map(range_of),
            "Indicator version": frame["indicator_version"].astype(int),
            "Period start": period_key.map(start_of),
            "Period end": period_key.map(end_of),
        }
    )
    return out.sort_values(
        ["Indicator ID", "Area Type", "Area Code", "Time period Sortable"],
        kind="stable",
    ).reset_index(drop=True)
