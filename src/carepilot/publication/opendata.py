"""Open data for patient choice: the Fingertips-format export and the JSON query.

`to_fingertips` turns a released results table into the columns of Fingertips'
data downloads (one row per indicator x area x breakdown category x period), so
anyone who reads Fingertips CSVs can read ours. `export` writes it as CSV and
Parquet with ``metadata.json`` (indicator definitions, column dictionary, licence,
disclosure policy) and a ``SHA256SUMS`` manifest (``sha256sum -c SHA256SUMS``).
`query` serves the same rows as JSON pages with filters, for the web API.

Only disclosure-controlled tables are exported: `verify_released` refuses output of
``--disclosure none``, and suppressed rows carry no figures.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import stats as sps

from carepilot.errors import UserError
from carepilot.publication import colours, goals
from carepilot.publication.goals import goals_by_indicator
from carepilot.publication.periods import (
    period_label,
    period_range,
    sortable,
)
from carepilot.publication.results import (
    IndicatorMeta,
    frame_checksum,
    meta_for,
    public_rows,
    verify_released,
)
from carepilot.stats.significance import compare_to_benchmark

LICENCE = {
    "name": "Open Government Licence v3.0",
    "id": "OGL-UK-3.0",
    "path": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
}
"""Licence of the published data (public sector information in England)."""

COLUMNS: dict[str, str] = {
    "Indicator ID": "Identifier of the indicator (carepilot indicator id).",
    "Indicator Name": "Title of the indicator.",
    "Parent Code": "Code of the area this area is compared with (its parent).",
    "Parent Name": "Name of the parent area.",
    "Area Code": "Code of the area (ODS code for practices and providers).",
    "Area Name": "Name of the area.",
    "Area Type": "national, commissioner, pcn, practice or pilot.",
    "Sex": "Persons, Male or Female (Persons unless broken down by sex).",
    "Age": "Age band, or 'All ages' for the indicator's whole population.",
    "Category Type": "Breakdown the category belongs to (blank for the total).",
    "Category": "Category of the breakdown, e.g. an ethnic group or IMD decile.",
    "Time period": "Period in Fingertips style: 2023/24, 2023, 2023 Q2, Apr 2023.",
    "Value": "Indicator value (units in metadata.json; blank when suppressed).",
    "Lower CI 95.0 limit": "Lower 95 % confidence limit.",
    "Upper CI 95.0 limit": "Upper 95 % confidence limit.",
    "Lower CI 99.8 limit": "Lower 99.8 % confidence limit.",
    "Upper CI 99.8 limit": "Upper 99.8 % confidence limit.",
    "Count": "Numerator after disclosure control (rounded or blank).",
    "Denominator": "Denominator after disclosure control (rounded or blank).",
    "Value note": "Why a value is missing (disclosure control), else blank.",
    "Recent Trend": "Chi-squared test for trend over the last 5 periods "
    "(proportions only), Fingertips wording.",
    "Compared to England value or percentiles": "Better/Similar/Worse (or "
    "Higher/Lower) than England by the 95 % interval; Not compared if undefined.",
    "Compared to parent value or percentiles": "The same comparison against the "
    "parent area's value.",
    "Compared to goal": "Better (the value meets the indicator's goal, its "
    "`target` in metadata.json, in the direction of its polarity), Similar (it "
    "meets the `target_minimum` but not the goal, where there is one) or Worse; "
    "Not compared when the value is missing; blank for indicators without a goal.",
    "Time period Sortable": "YYYYMMDD of the period start, for sorting.",
    "Time period range": "Length of the period: 1m, 3m, 1y.",
    "Indicator version": "Version of the indicator definition.",
    "Period start": "First day of the period (ISO date).",
    "Period end": "Last day of the period, inclusive (ISO date).",
}
"""Column dictionary of the export, in column order."""

CATEGORY_TYPES: dict[str, str] = {
    "ethnicity_5": "Ethnic groups (5 groups)",
    "ethnicity_16": "Ethnic groups (16 groups)",
    "imd_quintile": "Deprivation quintile (IMD, 1 = most deprived)",
    "imd_decile": "Deprivation decile (IMD, 1 = most deprived)",
    "religion": "Religion",
    "disability": "Disability",
    "sexual_orientation": "Sexual orientation",
    "rural_urban": "Rural/urban classification",
}
"""Fingertips "Category Type" wording per breakdown (sex and age have columns)."""

TREND_POINTS = 5
"""Fingertips tests the trend over the most recent five data points."""

TREND_ALPHA = 0.05
"""Significance level of the recent-trend test."""

MAX_PAGE_SIZE = 1000
"""Largest page `query` serves."""


def _sex(breakdown: str, category: str) -> str:
    if breakdown != "sex":
        return "Persons"
    return category.capitalize()


def _age(breakdown: str, category: str) -> str:
    return f"{category} yrs" if breakdown == "age_band" else "All ages"


def _codes(*columns: pd.Series) -> tuple[np.ndarray, list[np.ndarray]]:
    """One integer code per distinct combination of `columns`, and the values of
    each column per code (a multi-column factorize without building strings)."""
    key = np.zeros(len(columns[0]), dtype=np.int64)
    uniques: list[np.ndarray] = []
    for col in columns:
        codes, u = pd.factorize(col, use_na_sentinel=False)
        key = key * max(len(u), 1) + codes
        uniques.append(np.asarray(u, dtype=object))
    distinct, inverse = np.unique(key, return_inverse=True)
    values: list[np.ndarray] = []
    rest = distinct
    for u in reversed(uniques):
        n = max(len(u), 1)
        values.append(u[rest % n] if len(u) else np.zeros(0, dtype=object))
        rest = rest // n
    values.reverse()
    return inverse.astype(np.int64), values


def _parent_comparison(
    frame: pd.DataFrame, meta: Mapping[str, IndicatorMeta]
) -> np.ndarray:
    """Each row against its parent area's row of the same indicator, period,
    breakdown and category (Fingertips' "compared to parent").

    The parent row is found with integer codes (no multi-key merge): rows are
    keyed by (indicator, period, breakdown, category) x area, and a child looks
    up the key of its parent code.
    """
    group, _ = _codes(
        frame["indicator_id"],
        frame["period_start"],
        frame["breakdown"],
        frame["category"],
    )
    areas = pd.Index(pd.unique(frame["area_code"].to_numpy(dtype=object)))
    area = areas.get_indexer(frame["area_code"].to_numpy(dtype=object))
    parent = areas.get_indexer(frame["parent_area_code"].to_numpy(dtype=object))
    n_areas = max(len(areas), 1)
    own_key = pd.Index(group * n_areas + area)
    has_parent = parent >= 0
    pos = np.full(len(frame), -1, dtype=np.int64)
    # Duplicate area codes across area types keep the first row, as the merge did
    # for the common case; codes are unique per area in released tables.
    lookup = own_key.drop_duplicates(keep="first") if not own_key.is_unique else own_key
    first_pos = (
        np.arange(len(frame))
        if own_key.is_unique
        else np.flatnonzero(~own_key.duplicated(keep="first"))
    )
    hit = lookup.get_indexer(pd.Index(group[has_parent] * n_areas + parent[has_parent]))
    pos[has_parent] = np.where(hit >= 0, first_pos[np.maximum(hit, 0)], -1)
    values = frame["value"].to_numpy(float)
    parent_value = np.where(pos >= 0, values[np.maximum(pos, 0)], np.nan)
    out = np.full(len(frame), "not compared", dtype=object)
    lower = frame["lower_ci_95"].to_numpy(float)
    upper = frame["upper_ci_95"].to_numpy(float)
    ind_codes, ind_values = pd.factorize(frame["indicator_id"])
    for code, indicator_id in enumerate(ind_values):
        idx = np.flatnonzero(ind_codes == code)
        out[idx] = compare_to_benchmark(
            values[idx],
            lower[idx],
            upper[idx],
            parent_value[idx],
            meta[str(indicator_id)].polarity,
        )
    return out


TREND_LABELS: tuple[str, ...] = (
    "Cannot be calculated",
    "No significant change",
    "Increasing",
    "Decreasing",
    "Increasing and getting better",
    "Increasing and getting worse",
    "Decreasing and getting better",
    "Decreasing and getting worse",
)
"""Fingertips "Recent Trend" wording; `_trend_codes` returns indexes into it."""


def _trends(frame: pd.DataFrame, meta: Mapping[str, IndicatorMeta]) -> pd.Series:
    """`recent_trend` for every series at once (vectorised: the export is large).

    Filled on the latest row of each series (indicator, area, breakdown,
    category) with at least five periods; other rows "Cannot be calculated".
    """
    ind_codes, ind_values = pd.factorize(frame["indicator_id"])
    series, _ = _codes(
        frame["indicator_id"], frame["area_code"], frame["breakdown"], frame["category"]
    )
    period = pd.factorize(frame["period_start"], sort=True)[0]
    codes = _trend_codes(
        ind_codes,
        [meta[str(i)] for i in ind_values],
        series,
        period,
        frame["numerator"].to_numpy(float),
        frame["denominator"].to_numpy(float),
    )
    labels = np.asarray(TREND_LABELS, dtype=object)
    return pd.Series(labels[codes], index=frame.index, dtype=object)


def _trend_codes(
    indicator: np.ndarray,
    metas: Sequence[IndicatorMeta],
    series: np.ndarray,
    period: np.ndarray,
    numerator: np.ndarray,
    denominator: np.ndarray,
) -> np.ndarray:
    """Index into `TREND_LABELS` for every row, from integer codes only.

    Same chi-squared test for trend as `periods.trend_test`, from sums of O, N,
    N·t, N·t² and t·O over each series' last 5 periods: one `np.lexsort` of the
    tested rows by (series, period), run boundaries and `np.bincount` sums - no
    sort or group-by on strings (that took about 2 s per 450k rows).

    Args:
        indicator: Indicator code per row (index into `metas`).
        metas: Metadata per indicator code (proportions are tested).
        series: Code per (indicator, area, breakdown, category) per row.
        period: Code per row that sorts like the period start.
        numerator, denominator: Counts per row (NaN where suppressed).
    """
    out = np.zeros(len(series), dtype=np.int8)
    tested = np.asarray([m.value_type == "proportion" for m in metas], dtype=bool)
    rows = np.flatnonzero(tested[indicator]) if len(metas) else indicator[:0]
    if len(rows) == 0:
        return out
    order = np.lexsort((period[rows], series[rows]))
    ordered = series[rows][order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    stops = np.r_[starts[1:], len(ordered)]
    size_of_run = stops - starts
    run = np.repeat(np.arange(len(starts)), size_of_run)
    from_end = stops[run] - 1 - np.arange(len(ordered))
    keep = (from_end < TREND_POINTS) & (size_of_run[run] >= TREND_POINTS)
    t = (TREND_POINTS - 1 - from_end[keep]).astype(float)
    picked = rows[order][keep]
    o = numerator[picked]
    n = denominator[picked]
    groups = run[keep]
    k = len(starts)

    def total(weights: np.ndarray) -> np.ndarray:
        return np.bincount(groups, weights=weights, minlength=k)

    bad = total((np.isnan(o) | np.isnan(n)).astype(float))
    o_sum, n_sum, nt, nt2, to = (
        total(o), total(n), total(n * t), total(n * t * t), total(t * o)
    )  # fmt: skip
    with np.errstate(divide="ignore", invalid="ignore"):
        p = o_sum / n_sum
        stat = to - p * nt
        var = p * (1 - p) * (nt2 - nt**2 / n_sum)
        pval = sps.chi2.sf(stat**2 / var, 1)
    valid = (bad == 0) & (var > 0) & ~np.isnan(pval)
    polarity = np.asarray([m.polarity for m in metas], dtype=object)[
        indicator[rows[order[starts]]]
    ]
    up = stat > 0
    # 2/3: Increasing/Decreasing; 4..7: ... and getting better/worse.
    code = np.where(up, 2, 3)
    judged = polarity != "no_judgement"
    good = up == (polarity == "higher_is_better")
    code = np.where(judged, np.where(up, 4, 6) + np.where(good, 0, 1), code)
    code = np.where(pval >= TREND_ALPHA, 1, code)
    code = np.where(valid, code, 0)
    enough = size_of_run >= TREND_POINTS
    out[rows[order[stops[enough] - 1]]] = code[enough]
    return out


def _series_codes(
    indicator: np.ndarray, area_code: pd.Series, pair: np.ndarray
) -> np.ndarray:
    """One code per (indicator, area, breakdown/category pair) from codes already
    computed for the export (the area codes are factorised once here)."""
    area = pd.factorize(area_code)[0].astype(np.int64)
    n_area = int(area.max()) + 1 if len(area) else 1
    n_pair = int(pair.max()) + 1 if len(pair) else 1
    return (indicator.astype(np.int64) * n_area + area) * n_pair + pair


def _goal_codes(
    frame: pd.DataFrame,
    ind_codes: np.ndarray,
    ind_values: pd.Index,
    info: Mapping[str, IndicatorMeta],
) -> tuple[np.ndarray, list[str]]:
    """ "Compared to goal" code per row and the label of each code: blank where
    the indicator has no goal, else Better/Worse/Not compared (`goals`)."""
    compared = goals_by_indicator(frame["indicator_id"], frame["value"], info)
    has_goal = np.asarray(
        [info[str(i)].target is not None for i in ind_values], dtype=bool
    )
    names = list(goals.OPEN_DATA_LABELS)
    codes = pd.Index(names).get_indexer(pd.Index(compared)) + 1
    codes = np.where(has_goal[ind_codes] if len(ind_values) else False, codes, 0)
    return codes, ["", *(goals.OPEN_DATA_LABELS[k] for k in names)]


def _label_codes(comparison: pd.Series | np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Integer code per row and the Fingertips label of each code."""
    codes, uniques = pd.factorize(pd.Series(comparison).astype(str))
    return codes, [colours.label(str(c)) for c in uniques]


def to_fingertips(
    results: pd.DataFrame, meta: Mapping[str, IndicatorMeta] | None = None
) -> pd.DataFrame:
    """Released results → Fingertips data-download columns (see `COLUMNS`).

    "Recent Trend" is filled on the latest period of each series only (as
    Fingertips does). Suppressed rows keep their labels with blank figures and
    a "Value note".

    Every label depends on a handful of distinct keys (indicators, periods,
    breakdown/category pairs, parent codes): each key column is factorised once,
    labels are computed per distinct key and taken back by integer code, and the
    rows are ordered with one `np.lexsort` on sorted codes - no per-row Python,
    no string concatenation and no multi-key merge on the full table
    (`benchmarks/opendata.py` measures it against the previous version).
    """
    frame = public_rows(results).reset_index(drop=True)
    info = meta_for(frame, meta)
    pair, (breakdowns, categories) = _codes(frame["breakdown"], frame["category"])
    b_text = [str(b) for b in breakdowns]
    c_text = [str(c) for c in categories]
    sex = [_sex(b, c) for b, c in zip(b_text, c_text, strict=True)]
    age = [_age(b, c) for b, c in zip(b_text, c_text, strict=True)]
    cat = [
        c if b in CATEGORY_TYPES else "" for b, c in zip(b_text, c_text, strict=True)
    ]
    cat_type = [CATEGORY_TYPES.get(b, "") for b in b_text]

    period, (starts, ends) = _codes(frame["period_start"], frame["period_end"])
    label = [period_label(a, b) for a, b in zip(starts, ends, strict=True)]
    sortable_key = np.asarray([sortable(a) for a in starts], dtype=np.int64)[period]
    range_text = [period_range(a, b) for a, b in zip(starts, ends, strict=True)]
    start_text = [a.isoformat() for a in starts]
    end_text = [b.isoformat() for b in ends]

    ind_codes, ind_values = pd.factorize(frame["indicator_id"])
    titles_per_code = [info[str(i)].title for i in ind_values]

    # Parent code and name: one lookup per distinct parent code.
    parent_codes, parent_values = pd.factorize(
        frame["parent_area_code"], use_na_sentinel=False
    )
    parent_text = [
        "" if v is None or v is pd.NA or v != v or str(v) in ("None", "nan") else str(v)
        for v in parent_values
    ]
    areas = frame.drop_duplicates("area_code", keep="first")
    name_of = dict(
        zip(areas["area_code"].tolist(), areas["area_name"].tolist(), strict=True)
    )
    parent_name = [name_of.get(t, "") if t else "" for t in parent_text]

    suppressed = frame["suppressed"].to_numpy(bool)
    reason_codes, reasons = pd.factorize(
        frame["suppression_reason"], use_na_sentinel=False
    )
    reason_text = [
        "small numbers" if r is None or r is pd.NA or r != r else str(r)
        for r in reasons
    ]
    note_labels = [""] + [
        "Value suppressed for disclosure control: " + r for r in reason_text
    ]
    note_codes = np.where(suppressed, reason_codes + 1, 0)

    # Row order: indicator, area type, area code (text order), then period.
    order = np.lexsort(
        (
            sortable_key,
            pd.factorize(frame["area_code"], sort=True)[0],
            pd.factorize(frame["area_type"], sort=True)[0],
            pd.factorize(frame["indicator_id"], sort=True)[0],
        )
    )
    trend = _trend_codes(
        ind_codes,
        [info[str(i)] for i in ind_values],
        _series_codes(ind_codes, frame["area_code"], pair),
        sortable_key,
        frame["numerator"].to_numpy(float),
        frame["denominator"].to_numpy(float),
    )
    england_codes, england = _label_codes(frame["comparison"])
    parent_cmp_codes, parent_cmp = _label_codes(_parent_comparison(frame, info))
    goal_codes, goal_labels = _goal_codes(frame, ind_codes, ind_values, info)

    def labels(codes: np.ndarray, values: Sequence[object]) -> pd.Series:
        """Per-row text from per-code labels, gathered in Arrow (no Python loop)."""
        dictionary = pa.array([str(v) for v in values], type=pa.large_string())
        return pd.Series(
            dictionary.take(pa.array(np.asarray(codes, dtype=np.int64)[order])),
            dtype="str",
        )

    def column(name: str) -> pd.Series:
        return frame[name].take(order).reset_index(drop=True)

    def number(name: str) -> np.ndarray:
        return frame[name].to_numpy()[order]

    out = pd.DataFrame(
        {
            "Indicator ID": column("indicator_id"),
            "Indicator Name": labels(ind_codes, titles_per_code),
            "Parent Code": labels(parent_codes, parent_text),
            "Parent Name": labels(parent_codes, parent_name),
            "Area Code": column("area_code"),
            "Area Name": column("area_name"),
            "Area Type": column("area_type"),
            "Sex": labels(pair, sex),
            "Age": labels(pair, age),
            "Category Type": labels(pair, cat_type),
            "Category": labels(pair, cat),
            "Time period": labels(period, label),
            "Value": number("value"),
            "Lower CI 95.0 limit": number("lower_ci_95"),
            "Upper CI 95.0 limit": number("upper_ci_95"),
            "Lower CI 99.8 limit": number("lower_ci_99_8"),
            "Upper CI 99.8 limit": number("upper_ci_99_8"),
            "Count": number("numerator"),
            "Denominator": number("denominator"),
            "Value note": labels(note_codes, note_labels),
            "Recent Trend": pd.Series(
                np.asarray(TREND_LABELS, dtype=object)[trend[order]], dtype=object
            ),
            "Compared to England value or percentiles": labels(england_codes, england),
            "Compared to parent value or percentiles": labels(
                parent_cmp_codes, parent_cmp
            ),
            "Compared to goal": labels(goal_codes, goal_labels),
            "Time period Sortable": sortable_key[order],
            "Time period range": labels(period, range_text),
            "Indicator version": frame["indicator_version"]
            .astype(int)
            .to_numpy()[order],
            "Period start": labels(period, start_text),
            "Period end": labels(period, end_text),
        }
    )
    return out


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What `export` wrote."""

    files: dict[str, Path]
    rows: int
    policy: str
    checksums: dict[str, str]


def _sha256(path: Path) -> str:
    from carepilot.publication.results import file_checksum

    return file_checksum(path)


def metadata(
    meta: Mapping[str, IndicatorMeta],
    policy_name: str,
    policy_source: str,
    source_checksum: str,
    rows: int,
) -> dict[str, Any]:
    """The ``metadata.json`` document (pure, so tests can inspect it)."""
    return {
        "title": "carepilot indicators: open data for patient choice",
        "format": "Fingertips data download columns; CSV (UTF-8) and Parquet",
        "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "licence": LICENCE,
        "disclosure_policy": {"name": policy_name, "source": policy_source},
        "source_results_sha256": source_checksum,
        "rows": rows,
        "columns": [{"name": k, "description": v} for k, v in COLUMNS.items()],
        "indicators": [
            {
                "id": m.id,
                "name": m.title,
                "domain": m.domain,
                "definition": m.description,
                "polarity": m.polarity,
                "value_type": m.value_type,
                "unit": m.unit,
                "multiplier": m.multiplier,
                "target": m.target,
                "target_minimum": m.target_minimum,
                "reference": m.reference,
            }
            for m in sorted(meta.values(), key=lambda m: m.id)
        ],
    }


def export(
    results: pd.DataFrame,
    out_dir: Path,
    meta: Mapping[str, IndicatorMeta] | None = None,
    policy: str | None = None,
    stem: str = "indicators",
) -> ExportResult:
    """Write the open-data export of a released results table.

    Args:
        results: Results table after `carepilot.disclosure.release`.
        out_dir: Folder to write into (created).
        meta: Indicator metadata (titles, definitions); inferred if missing.
        policy: Name of the public policy applied, if known (checked).
        stem: File name stem.

    Raises:
        PermissionDenied: the table is not disclosure controlled.
    """
    applied = verify_released(results, policy)
    info = meta_for(results, meta)
    info = {k: v for k, v in info.items() if k in set(results["indicator_id"])}
    table = to_fingertips(results, info)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "csv": out_dir / f"{stem}.csv",
        "parquet": out_dir / f"{stem}.parquet",
        "metadata": out_dir / "metadata.json",
    }
    table.to_csv(files["csv"], index=False, float_format="%.10g")
    table.to_parquet(files["parquet"], index=False)
    doc = metadata(
        info, applied.name, applied.source, frame_checksum(results), len(table)
    )
    files["metadata"].write_text(json.dumps(doc, indent=2), encoding="utf-8")
    sums = {p.name: _sha256(p) for p in files.values()}
    manifest = out_dir / "SHA256SUMS"
    manifest.write_text(
        "".join(f"{digest}  {name}\n" for name, digest in sorted(sums.items())),
        encoding="utf-8",
    )
    files["manifest"] = manifest
    return ExportResult(
        files=files, rows=len(table), policy=applied.name, checksums=sums
    )


_TABLE_CACHE: dict[str, pd.DataFrame] = {}


def _cached_table(
    results: pd.DataFrame, meta: Mapping[str, IndicatorMeta] | None
) -> pd.DataFrame:
    key = frame_checksum(results)
    if key not in _TABLE_CACHE:
        if len(_TABLE_CACHE) > 8:
            _TABLE_CACHE.clear()
        _TABLE_CACHE[key] = to_fingertips(results, meta)
    return _TABLE_CACHE[key]


def _json_value(value: object) -> object:
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def query(
    results: pd.DataFrame,
    filters: Mapping[str, str | Sequence[str]] | None = None,
    page: int = 1,
    page_size: int = 100,
    meta: Mapping[str, IndicatorMeta] | None = None,
) -> dict[str, Any]:
    """One page of the open-data rows as JSON-ready data, for the public API.

    Args:
        results: Released results table (checked with `verify_released`).
        filters: Column name (of `COLUMNS`) → value or list of values; rows
            match when the column equals any value (compared as text).
        page: 1-based page number.
        page_size: Rows per page (1..`MAX_PAGE_SIZE`).
        meta: Indicator metadata.

    Returns:
        ``{"page", "page_size", "total", "pages", "columns", "rows"}`` with rows
        as objects keyed by column name (NaN → null).

    Raises:
        UserError: unknown filter column or bad paging arguments.
        PermissionDenied: the table is not disclosure controlled.
    """
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise UserError(
            f"page must be >= 1 and page_size 1..{MAX_PAGE_SIZE}; got page={page}, "
            f"page_size={page_size}"
        )
    verify_released(results)
    table = _cached_table(results, meta)
    mask = np.ones(len(table), dtype=bool)
    for column, wanted in (filters or {}).items():
        if column not in COLUMNS:
            raise UserError(
                f"cannot filter on `{column}`; filter columns are: {', '.join(COLUMNS)}"
            )
        values = [wanted] if isinstance(wanted, str) else list(wanted)
        mask &= table[column].astype(str).isin([str(v) for v in values]).to_numpy()
    selected = table.loc[mask]
    total = int(mask.sum())
    chunk = selected.iloc[(page - 1) * page_size : page * page_size]
    rows = [
        {k: _json_value(v) for k, v in record.items()}
        for record in chunk.to_dict(orient="records")
    ]
    return {
        "page": page,
        "page_size": page_size,
        "total": total,
        "pages": max(1, -(-total // page_size)),
        "columns": list(COLUMNS),
        "rows": rows,
    }
