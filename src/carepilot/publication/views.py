"""The dashboard view: chart spec + the rows it shows + accessible table + CSV.

A `View` always carries the exact frame its chart draws, so the accessible table
and the CSV download can never disagree with the chart. Views are cached by the
content checksum of the results table (plus the view's arguments), so a page
that is requested again does no computation.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import io
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar, cast

import numpy as np
import pandas as pd

from carepilot.errors import InputDataError
from carepilot.publication.charts import Spec, to_svg
from carepilot.publication.colours import TEXT_COLOURS, colour, label
from carepilot.publication.goals import GOAL_LABELS
from carepilot.publication.results import (
    frame_checksum,
    public_rows,
    verify_released,
)


@dataclass(frozen=True)
class View:
    """One dashboard block, ready for a thin web route.

    Attributes:
        key: Stable identifier (used for file names and caching).
        title: Heading.
        summary: One or two plain-English sentences saying what it shows.
        data: Exactly the rows the chart shows (the CSV and the table).
        columns: Column of `data` → header shown in the table and CSV.
        spec: Vega-Lite spec (None for table-only views).
        extra: Additional figures (e.g. SII/RII) for the page.
    """

    key: str
    title: str
    summary: str
    data: pd.DataFrame
    columns: Mapping[str, str]
    spec: Spec | None = None
    extra: Mapping[str, Any] = field(default_factory=dict[str, Any])

    def table(self) -> pd.DataFrame:
        """The data with readable headers, in column order."""
        return self.data.loc[:, list(self.columns)].rename(columns=dict(self.columns))

    def csv(self) -> str:
        """CSV of exactly what the chart shows (readable headers)."""
        buffer = io.StringIO()
        self.table().to_csv(buffer, index=False, float_format="%.6g")
        return buffer.getvalue()

    def table_html(self, caption: str | None = None) -> str:
        """Accessible HTML table (NHS.UK table classes, caption, scoped headers).

        ``comparison`` and ``goal`` columns are shown as coloured labels so
        colour is never the only carrier of meaning.
        """
        head = "".join(
            f'<th scope="col" class="nhsuk-table__header">{html.escape(h)}</th>'
            for h in self.columns.values()
        )
        body: list[str] = []
        for record in self.data.to_dict(orient="records"):
            cells = [
                _cell(name, record.get(name), first=i == 0)
                for i, name in enumerate(self.columns)
            ]
            body.append(f'<tr class="nhsuk-table__row">{"".join(cells)}</tr>')
        cap = html.escape(caption or self.title)
        return (
            '<table class="nhsuk-table" role="table">'
            f'<caption class="nhsuk-table__caption">{cap}</caption>'
            f'<thead class="nhsuk-table__head"><tr class="nhsuk-table__row">{head}'
            f'</tr></thead><tbody class="nhsuk-table__body">{"".join(body)}'
            "</tbody></table>"
        )

    def svg(self) -> str:
        """Server-side SVG of the chart ("" for table-only views), rendered once."""
        return self._svg

    @functools.cached_property
    def _svg(self) -> str:
        return to_svg(self.spec) if self.spec is not None else ""


COUNT_COLUMNS = frozenset({"numerator", "denominator", "areas"})


def _format(value: object, name: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float) and name in COUNT_COLUMNS:
        return f"{value:,.0f}"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) < 1e6 else f"{value:,.0f}"
    return str(value)


def _cell(name: str, value: object, first: bool) -> str:
    if name in ("comparison", "significance", "goal") and isinstance(value, str):
        style = f"background:{colour(value)};color:{TEXT_COLOURS.get(value, '#000')}"
        text = GOAL_LABELS.get(value, value) if name == "goal" else label(value)
        return f'<td class="nhsuk-table__cell" style="{style}">{html.escape(text)}</td>'
    text = html.escape(_format(value, name))
    if first:
        return f'<th scope="row" class="nhsuk-table__header">{text}</th>'
    return f'<td class="nhsuk-table__cell">{text}</td>'


P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

_CACHE: dict[tuple[Any, ...], Any] = {}
CACHE_SIZE = 512
"""Most views kept; the cache is cleared when full (views are cheap to rebuild)."""

cache_stats = {"hits": 0, "misses": 0}
"""Counters for tests and monitoring."""


def _freeze(value: object) -> object:
    if isinstance(value, pd.DataFrame):
        return ("frame", frame_checksum(value))
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple | set | frozenset):
        return tuple(_freeze(v) for v in value)
    return value


def cached(fn: Callable[P, R]) -> Callable[P, R]:
    """Cache a view function by the checksum of its results table and arguments."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        key = (fn.__qualname__, _freeze(args), _freeze(kwargs))
        if key in _CACHE:
            cache_stats["hits"] += 1
            return _CACHE[key]
        cache_stats["misses"] += 1
        if len(_CACHE) >= CACHE_SIZE:
            _CACHE.clear()
        value = fn(*args, **kwargs)
        _CACHE[key] = value
        return value

    return wrapper


def clear_cache() -> None:
    """Forget every cached view (e.g. after a new results file is loaded)."""
    _CACHE.clear()
    _PREPARED.clear()


_PREPARED: dict[tuple[int, bool, str], tuple[pd.DataFrame, Any]] = {}


def _memo(results: pd.DataFrame, public: bool, step: str, build: Callable[[], T]) -> T:
    """`build()` once per results object (kept referenced so its id stays unique).

    Every view of a page starts from the same 600k-row table; checking the release
    and blanking suppressed rows once instead of per view is most of a first load.
    Callers treat results as immutable (as `frame_checksum` already assumes).
    """
    key = (id(results), public, step)
    known = _PREPARED.get(key)
    if known is not None and known[0] is results:
        return known[1]
    with _BUILD_LOCK:  # a request during the start-up warm-up waits, not rebuilds
        known = _PREPARED.get(key)
        if known is not None and known[0] is results:
            return known[1]
        value = build()
        if len(_PREPARED) > 32:
            _PREPARED.clear()
        _PREPARED[key] = (results, value)
    return value


_BUILD_LOCK = threading.RLock()


def prepare(results: pd.DataFrame, public: bool) -> pd.DataFrame:
    """The rows a view may use: for the public, released and suppressed-blank only.

    Computed once per results object (see `_memo`). This is the WHOLE table: views
    use `partitioned` instead so that a page touches only its slice; every call
    counts the whole table in `rows_touched`.

    Raises:
        PermissionDenied: ``public`` and the table is not disclosure controlled.
    """
    frame = _prepared(results, public)
    rows_touched["rows"] += len(frame)
    return frame


def _prepared(results: pd.DataFrame, public: bool) -> pd.DataFrame:
    def build() -> pd.DataFrame:
        if public:
            verify_released(results)
            return public_rows(results)
        return results

    return _memo(results, public, "prepare", build)


def totals(results: pd.DataFrame, public: bool) -> pd.DataFrame:
    """`prepare` restricted to the ``total`` breakdown, computed once per results
    object (counted in `rows_touched` like `prepare`)."""
    frame = _prepared(results, public)
    out = _memo(results, public, "totals", lambda: frame[frame["breakdown"] == "total"])
    rows_touched["rows"] += len(out)
    return out


rows_touched = {"rows": 0}
"""Rows of the prepared results handed to views since the last reset.

Regression guard for page speed: a view that slices `partitioned` adds only its
slice; one that goes back to `prepare`/`totals` adds the whole table."""

Ranges = tuple[tuple[int, int], ...]


class Partitioned:
    """The prepared results sorted and indexed once, so each view reads a slice.

    Sorted by (breakdown, indicator, area type, period start, area code, category):
    every (breakdown, indicator, area type, period) is one contiguous run of rows,
    found in a dict. A second index gives the rows of one area for one indicator
    (all breakdowns and periods) and the ``total`` rows of one area. Building it
    costs about as much as one full-table filter (seconds at 600k rows, done once
    per results table, in the start-up warm-up); after that a view's cost scales
    with the rows it shows, not with the table.

    Every slice handed out is counted in `rows_touched`.
    """

    KEYS = ("breakdown", "indicator_id", "area_type", "period_start")

    def __init__(self, frame: pd.DataFrame) -> None:
        order_keys = [*self.KEYS, "area_code", "category"]
        codes = [pd.factorize(frame[k], sort=True) for k in order_keys]
        order = np.lexsort(tuple(c for c, _ in reversed(codes)))
        self.frame = frame.take(order).reset_index(drop=True)
        self.size = len(self.frame)
        key_codes = np.stack([codes[i][0][order] for i in range(len(self.KEYS))])
        uniques = [codes[i][1] for i in range(len(self.KEYS))]
        if self.size:
            change = np.any(key_codes[:, 1:] != key_codes[:, :-1], axis=0)
            starts = np.concatenate([[0], np.flatnonzero(change) + 1])
        else:
            starts = np.zeros(0, dtype=np.int64)
        stops = np.append(starts[1:], self.size)
        self._ranges: dict[tuple[str, str, str, dt.date], tuple[int, int]] = {}
        periods: dict[tuple[str, str, str], list[dt.date]] = {}
        for start, stop in zip(starts.tolist(), stops.tolist(), strict=True):
            b, i, a, p = (uniques[k][key_codes[k, start]] for k in range(4))
            key = (str(b), str(i), str(a), cast(dt.date, p))
            self._ranges[key] = (start, stop)
            periods.setdefault(key[:3], []).append(key[3])
        self._periods = {k: tuple(sorted(v)) for k, v in periods.items()}
        self.indicators: tuple[str, ...] = tuple(sorted({k[1] for k in self._periods}))
        self.area_types: dict[str, tuple[str, ...]] = {}
        for b, i, a in self._periods:
            if b == "total":
                self.area_types[i] = (*self.area_types.get(i, ()), a)
        area_codes, area_uniques = pd.factorize(self.frame["area_code"])
        ind_codes = codes[1][0][order]
        n_ind = max(len(uniques[1]), 1)
        pair = area_codes.astype(np.int64) * n_ind + ind_codes
        by_pair = np.argsort(pair, kind="stable")
        cuts = np.flatnonzero(np.diff(pair[by_pair])) + 1
        self._area: dict[tuple[str, str], np.ndarray] = {}
        for chunk in np.split(by_pair, cuts) if self.size else []:
            code = int(pair[chunk[0]])
            area = str(area_uniques[code // n_ind])
            self._area[(area, str(uniques[1][code % n_ind]))] = chunk
        total = self.frame["breakdown"].to_numpy() == "total"
        positions = np.flatnonzero(total)
        grouped = pd.Series(positions).groupby(area_codes[positions]).indices
        self._area_totals: dict[str, np.ndarray] = {
            str(area_uniques[cast(int, code)]): positions[idx]
            for code, idx in grouped.items()
        }
        self._area_counts: dict[str, int] = {
            str(k): int(v)
            for k, v in self.frame.iloc[positions]
            .groupby("indicator_id")["area_code"]
            .nunique()
            .items()
        }
        self._numeric: dict[str, np.ndarray] = {
            "value": self.frame["value"].to_numpy(float)
        }
        first_rows = self.frame.drop_duplicates("area_code")
        self.area_type_of: dict[str, str] = dict(
            zip(first_rows["area_code"], first_rows["area_type"], strict=True)
        )

    def _take(self, ranges: Ranges) -> pd.DataFrame:
        rows_touched["rows"] += sum(b - a for a, b in ranges)
        if len(ranges) == 1:
            return self.frame.iloc[ranges[0][0] : ranges[0][1]]
        positions = [np.arange(a, b) for a, b in ranges]
        return self.frame.take(
            np.concatenate(positions) if positions else np.zeros(0, dtype=np.int64)
        )

    def _ranges_of(
        self,
        indicator_id: str,
        area_type: str,
        period: dt.date | None,
        breakdown: str,
    ) -> Ranges:
        chosen = (
            [period]
            if period is not None
            else self.periods(indicator_id, area_type, breakdown)
        )
        return tuple(
            r
            for p in chosen
            if (r := self._ranges.get((breakdown, indicator_id, area_type, p)))
            is not None
        )

    def values(
        self,
        indicator_id: str,
        area_type: str,
        period: dt.date,
        column: str = "value",
        breakdown: str = "total",
    ) -> np.ndarray:
        """One numeric column of `rows` as floats, without building a frame
        (e.g. the values of every area of a type, for a spine chart's range)."""
        found = self._ranges.get((breakdown, indicator_id, area_type, period))
        if found is None:
            return np.zeros(0)
        rows_touched["rows"] += found[1] - found[0]
        if column not in self._numeric:
            self._numeric[column] = self.frame[column].to_numpy(float)
        return self._numeric[column][found[0] : found[1]]

    def periods(
        self, indicator_id: str, area_type: str | None = None, breakdown: str = "total"
    ) -> tuple[dt.date, ...]:
        """Period starts with rows, ascending (any area type when None)."""
        if area_type is not None:
            return self._periods.get((breakdown, indicator_id, area_type), ())
        found = {
            p
            for a in self.area_types.get(indicator_id, ())
            for p in self._periods.get((breakdown, indicator_id, a), ())
        }
        return tuple(sorted(found))

    def rows(
        self,
        indicator_id: str,
        area_type: str,
        period: dt.date | None = None,
        breakdown: str = "total",
    ) -> pd.DataFrame:
        """One indicator's rows for one area type (one period, or all periods)."""
        return self._take(self._ranges_of(indicator_id, area_type, period, breakdown))

    def rows_many(
        self, keys: Sequence[tuple[str, str, dt.date]], breakdown: str = "total"
    ) -> pd.DataFrame:
        """The rows of several (indicator, area type, period) keys in one frame."""
        return self._take(
            tuple(r for i, a, p in keys for r in self._ranges_of(i, a, p, breakdown))
        )

    def area(self, area_code: str, indicator_id: str | None = None) -> pd.DataFrame:
        """An area's rows: for one indicator every breakdown and period, or
        (``indicator_id=None``) the ``total`` rows of every indicator."""
        if indicator_id is None:
            positions = self._area_totals.get(area_code, np.zeros(0, dtype=np.int64))
        else:
            positions = self._area.get(
                (area_code, indicator_id), np.zeros(0, dtype=np.int64)
            )
        rows_touched["rows"] += len(positions)
        return self.frame.take(positions)

    def area_count(self, indicator_id: str) -> int:
        """How many areas have ``total`` rows of the indicator (any period)."""
        return self._area_counts.get(indicator_id, 0)

    def period_end(self, indicator_id: str, period: dt.date) -> dt.date:
        """End of the indicator's period starting `period` (latest across area
        types, read from the first row of each run)."""
        ends: list[dt.date] = [
            self.frame["period_end"].iat[r[0]]  # pyright: ignore[reportAssignmentType]
            for a in self.area_types.get(indicator_id, ())
            if (r := self._ranges.get(("total", indicator_id, a, period))) is not None
        ]
        if not ends:
            raise InputDataError(
                f"no `{indicator_id}` results for the period starting {period}"
            )
        return max(ends)

    def breakdowns(self) -> tuple[str, ...]:
        """Breakdowns with rows."""
        return tuple(sorted({k[0] for k in self._periods}))


def partitioned(results: pd.DataFrame, public: bool) -> Partitioned:
    """The prepared rows (`prepare`) partitioned for views, once per results object.

    Raises:
        PermissionDenied: ``public`` and the table is not disclosure controlled.
    """
    return _memo(
        results, public, "partitioned", lambda: Partitioned(_prepared(results, public))
    )
