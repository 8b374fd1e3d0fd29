"""The dashboard view: chart spec + the rows it shows + accessible table + CSV.

A `View` always carries the exact frame its chart draws, so the accessible table
and the CSV download can never disagree with the chart. Views are cached by the
content checksum of the results table (plus the view's arguments), so a page
that is requested again does no computation.
"""

from __future__ import annotations

import functools
import html
import io
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

import pandas as pd

from carepilot.publication.charts import Spec, to_svg
from carepilot.publication.colours import TEXT_COLOURS, colour, label
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

        A ``comparison`` column is shown as a coloured label so colour is never
        the only carrier of meaning.
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
    if name in ("comparison", "significance") and isinstance(value, str):
        style = f"background:{colour(value)};color:{TEXT_COLOURS.get(value, '#000')}"
        return (
            f'<td class="nhsuk-table__cell" style="{style}">'
            f"{html.escape(label(value))}</td>"
        )
    text = html.escape(_format(value, name))
    if first:
        return f'<th scope="row" class="nhsuk-table__header">{text}</th>'
    return f'<td class="nhsuk-table__cell">{text}</td>'


P = ParamSpec("P")
R = TypeVar("R")

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


_PREPARED: dict[tuple[int, bool, str], tuple[pd.DataFrame, pd.DataFrame]] = {}
MEMO = True
"""Remember prepared tables per results object (False: recompute every view, the
previous behaviour; `benchmarks/pages.py` uses it as its baseline)."""


def _memo(
    results: pd.DataFrame, public: bool, step: str, build: Callable[[], pd.DataFrame]
) -> pd.DataFrame:
    """`build()` once per results object (kept referenced so its id stays unique).

    Every view of a page starts from the same 600k-row table; checking the release
    and blanking suppressed rows once instead of per view is most of a first load.
    Callers treat results as immutable (as `frame_checksum` already assumes).
    """
    if not MEMO:
        return build()
    key = (id(results), public, step)
    known = _PREPARED.get(key)
    if known is not None and known[0] is results:
        return known[1]
    value = build()
    if len(_PREPARED) > 32:
        _PREPARED.clear()
    _PREPARED[key] = (results, value)
    return value


def prepare(results: pd.DataFrame, public: bool) -> pd.DataFrame:
    """The rows a view may use: for the public, released and suppressed-blank only.

    Computed once per results object (see `_memo`).

    Raises:
        PermissionDenied: ``public`` and the table is not disclosure controlled.
    """

    def build() -> pd.DataFrame:
        if public:
            verify_released(results)
            return public_rows(results)
        return results

    return _memo(results, public, "prepare", build)


def totals(results: pd.DataFrame, public: bool) -> pd.DataFrame:
    """`prepare` restricted to the ``total`` breakdown (what most views draw),
    computed once per results object."""
    frame = prepare(results, public)
    return _memo(
        results, public, "totals", lambda: frame[frame["breakdown"] == "total"]
    )
