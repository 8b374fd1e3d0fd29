"""Run indicators on an Ibis backend and produce the results table.

Per run: the patient x period grid is built once (and cached on the backend).
Per indicator: one patient-level query aggregated in the database to
(period, practice, category) - the only big pass - then, in pandas on that small
table: derived breakdowns, area roll-ups, statistics, benchmark comparison, and
disclosure control through `carepilot.disclosure.release` (the only way figures
leave the engine).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from carepilot.disclosure import DisclosurePolicy, release
from carepilot.engine.aggregate import (
    MEASURES,
    aggregate,
    aggregate_expr,
    backend_name,
    categories_expr,
    grouping_sets_sql,
)
from carepilot.engine.areas import (
    AreaTable,
    first_seen,
    pack,
    packed_sum,
    roll_up_codes,
    unpack,
    zero_missing,
)
from carepilot.engine.breakdowns import (
    BREAKDOWNS,
    DERIVED,
    RAW_ATTRIBUTES,
    CategoryIndex,
    DerivedCells,
    category_codes,
    derive_cells,
)
from carepilot.engine.columnar import PatientCategories, aggregate_columnar
from carepilot.engine.dense import DenseEvaluator
from carepilot.engine.frames import categorical
from carepilot.engine.providers import (
    PROVIDER_AREA_TYPE,
    ProviderIndex,
    attributed_patient_level,
    attributing_event,
    attribution,
)
from carepilot.engine.statistics import (
    CONFIDENCE,
    STAT_NAMES,
    StatRows,
    result_rows,
    simple_statistics,
)
from carepilot.errors import UserError
from carepilot.indicators.compile import build_grid, compile_indicator, periods_table
from carepilot.indicators.model import IndicatorDefinition, ValueType
from carepilot.indicators.periods import Period
from carepilot.stats.rates import rate_interval

log = logging.getLogger(__name__)

RESULT_COLUMNS = (
    "indicator_id",
    "indicator_version",
    "period_start",
    "period_end",
    "area_type",
    "area_code",
    "area_name",
    "parent_area_code",
    "breakdown",
    "category",
    "numerator",
    "denominator",
    "exceptions",
    "value",
    "lower_ci_95",
    "upper_ci_95",
    "lower_ci_99_8",
    "upper_ci_99_8",
    "comparison",
    "suppressed",
    "suppression_reason",
)
"""Columns of the results table, in order (shared results contract)."""

_FLOAT_COLUMNS = (
    "numerator",
    "denominator",
    "exceptions",
    "value",
    "lower_ci_95",
    "upper_ci_95",
    "lower_ci_99_8",
    "upper_ci_99_8",
)

Progress = Callable[[str, str], None]
"""Called with (indicator id, step) as a run advances."""


@dataclass
class RunTimings:
    """Seconds spent per indicator (database pass and post-processing)."""

    grid: float = 0.0
    database: dict[str, float] = field(default_factory=dict[str, float])
    post: dict[str, float] = field(default_factory=dict[str, float])
    post_cpu: dict[str, float] = field(default_factory=dict[str, float])
    """CPU seconds of the post-processing (single-threaded), per indicator: wall
    time is unreliable on a shared machine."""


@dataclass
class Organisations:
    """Small organisation tables, read once per run."""

    practices: pd.DataFrame
    commissioners: pd.DataFrame
    pilot_sites: pd.DataFrame
    pilot_members: pd.DataFrame

    @staticmethod
    def read(tables: Mapping[str, ir.Table]) -> Organisations:
        return Organisations(
            tables["practices"].to_pandas(),
            tables["commissioners"].to_pandas(),
            tables["pilot_sites"].to_pandas(),
            tables["pilot_site_members"].to_pandas(),
        )


class Engine:
    """Runs indicators over one backend for one set of periods."""

    def __init__(
        self,
        tables: Mapping[str, ir.Table],
        periods: Sequence[Period],
        *,
        cache_grid: bool = True,
        breakdowns: tuple[str, ...] = BREAKDOWNS,
        practice_breakdowns: tuple[str, ...] | None = None,
        columnar: bool | None = None,
        providers: bool = True,
        dense: bool | None = None,
    ) -> None:
        """
        Args:
            tables: data-model tables on one backend.
            periods: reporting periods (all evaluated in one pass).
            cache_grid: materialise the patient x period grid once per run.
            breakdowns: breakdowns reported (national, commissioner and pilot
                rows; also practice and PCN rows unless `practice_breakdowns`).
            practice_breakdowns: breakdowns reported for practice and PCN rows
                (None: the same as `breakdowns`). Fingertips publishes practices
                as totals only; the `indicators run` CLI defaults to that.
            columnar: aggregate on integer codes in NumPy
                (`carepilot.engine.columnar`); None: on in-process backends
                (DuckDB), else in SQL.
            providers: also report provider rows (`carepilot.engine.providers`)
                when the database has providers.
            dense: evaluate the patient-level indicators it supports on dense
                NumPy arrays (`carepilot.engine.dense`; the rest use SQL); None:
                whenever the columnar aggregation is used.
        """
        if not periods:
            raise UserError("no periods to report on; check --from and --to")
        for option, chosen in (
            ("breakdown", breakdowns),
            ("practice breakdown", practice_breakdowns or ()),
        ):
            unknown = [b for b in chosen if b not in BREAKDOWNS]
            if unknown:
                raise UserError(
                    f"unknown {option}(s) {', '.join(unknown)}; "
                    f"choose from {', '.join(BREAKDOWNS)}"
                )
        self.tables = tables
        self.periods = list(periods)
        self.breakdowns = breakdowns
        self.practice_breakdowns = (
            breakdowns
            if practice_breakdowns is None
            else tuple(b for b in breakdowns if b in practice_breakdowns)
        )
        self.timings = RunTimings()
        self._grid_periods = periods_table(self.periods)
        self._cache_grid = cache_grid
        self._columnar = columnar
        self._dense = dense
        self._dense_evaluator: DenseEvaluator | None = None
        self._grid: ir.Table | None = None
        self._orgs: Organisations | None = None
        self._categories: PatientCategories | None = None
        self.providers = providers and "providers" in tables
        self._provider_index: ProviderIndex | None = None
        self.category_index = CategoryIndex()

    @property
    def grid(self) -> ir.Table:
        """The patient x period grid, built (and cached) on first use."""
        if self._grid is None:
            start = time.perf_counter()
            uploaded = None
            if self._cache_grid and self._use_dense():
                # The dense grid (already built for the patient-level indicators)
                # written as a table: cheaper than the range join, same rows.
                uploaded = self.dense.grid_table()
            if uploaded is not None:
                self._grid = uploaded
            else:
                grid = build_grid(self.tables, self._grid_periods)
                self._grid = grid.cache() if self._cache_grid else grid
            self.timings.grid = time.perf_counter() - start
        return self._grid

    @property
    def organisations(self) -> Organisations:
        if self._orgs is None:
            self._orgs = Organisations.read(self.tables)
        return self._orgs

    def breakdowns_for(self, definition: IndicatorDefinition) -> tuple[str, ...]:
        """The run's breakdowns that the indicator reports (its YAML may narrow them).

        Standardised indicators' `age_band` rows are age-specific: a DSR's are
        the band's crude rate, an ISR's the ratio within the band (see
        `statistics.result_rows`).
        """
        wanted = definition.breakdowns
        return tuple(
            b for b in self.breakdowns if wanted is None or b in wanted or b == "total"
        )

    def raw_attributes(self, definition: IndicatorDefinition) -> tuple[str, ...]:
        """Raw attributes the aggregation must group by for the breakdowns."""
        needed = {"sex"}  # the `total` rows are the sum of the sex categories
        standardised = definition.value_type in (ValueType.DSR, ValueType.ISR)
        for b in self.breakdowns_for(definition):
            # standardised indicators are aggregated by age band already: their
            # age band rows are the sex rows summed per band
            if b != "total" and not (standardised and b == "age_band"):
                needed.add(DERIVED[b][0])
        return tuple(a for a in RAW_ATTRIBUTES if a in needed)

    @property
    def categories(self) -> PatientCategories:
        """Every patient's category codes (columnar aggregation), read once."""
        if self._categories is None:
            attrs = tuple(a for a in RAW_ATTRIBUTES if a != "age_band")
            self._categories = PatientCategories.read(self.tables["patients"], attrs)
        return self._categories

    def _use_dense(self) -> bool:
        if self._dense is not None:
            return self._dense
        return self._use_columnar(self.tables["patients"])

    @property
    def dense(self) -> DenseEvaluator:
        """The dense evaluator of this run (grid and events read on first use)."""
        if self._dense_evaluator is None:
            self._dense_evaluator = DenseEvaluator(self.tables, self.periods)
        return self._dense_evaluator

    def _use_columnar(self, expr: ir.Table) -> bool:
        if self._columnar is not None:
            return self._columnar
        return backend_name(expr) == "duckdb"

    @property
    def provider_index(self) -> ProviderIndex:
        if self._provider_index is None:
            self._provider_index = ProviderIndex.from_frame(
                self.tables["providers"].to_pandas()
            )
        return self._provider_index

    def provider_aggregate(
        self, definition: IndicatorDefinition
    ) -> pd.DataFrame | None:
        """The database pass for provider rows (see `engine.providers`), or None.

        None when provider rows are off, there are no providers, or the
        indicator's population has no event on a provider table.
        """
        agg = attributing_event(definition)
        if agg is None or not self.providers or len(self.provider_index.codes) == 0:
            return None
        start = time.perf_counter()
        if self._use_dense():
            dense = self.dense.provider_aggregate(
                definition,
                self.categories,
                by_age_band=definition.value_type in (ValueType.DSR, ValueType.ISR),
                attributes=self.raw_attributes(definition),
                providers=self.provider_index.codes,
            )
            if dense is not None:
                self.timings.database[definition.id] = (
                    self.timings.database.get(definition.id, 0.0)
                    + time.perf_counter()
                    - start
                )
                return dense
        compiled = compile_indicator(
            definition, self.tables, self.periods, grid=self.grid
        )
        attributed = attribution(
            agg, definition, self.tables, self.periods, self.provider_index
        )
        standardised = definition.value_type in (ValueType.DSR, ValueType.ISR)
        raw = aggregate(
            attributed_patient_level(compiled.patient_level, attributed),
            by_age_band=standardised,
            attributes=self.raw_attributes(definition),
        )
        self.timings.database[definition.id] = (
            self.timings.database.get(definition.id, 0.0) + time.perf_counter() - start
        )
        return raw

    def patient_level(self, definition: IndicatorDefinition) -> ir.Table:
        """The compiled patient-level expression (for tests and `explain`)."""
        return compile_indicator(
            definition, self.tables, self.periods, grid=self.grid
        ).patient_level

    def aggregate(self, definition: IndicatorDefinition) -> pd.DataFrame:
        """Run the single database pass: (period, practice, attribute) sums."""
        start = time.perf_counter()
        if self._use_dense():
            dense = self.dense.aggregate(
                definition,
                self.categories,
                by_age_band=definition.value_type in (ValueType.DSR, ValueType.ISR),
                attributes=self.raw_attributes(definition),
            )
            if dense is not None:
                self.timings.database[definition.id] = time.perf_counter() - start
                return dense
        compiled = compile_indicator(
            definition, self.tables, self.periods, grid=self.grid
        )
        standardised = definition.value_type in (ValueType.DSR, ValueType.ISR)
        attributes = self.raw_attributes(definition)
        if compiled.population is not None and self._use_columnar(compiled.population):
            raw = aggregate_columnar(
                compiled.population,
                self.categories,
                by_age_band=standardised,
                attributes=attributes,
                constants=compiled.constants,
                aliases=compiled.aliases,
            )
        else:
            raw = aggregate(
                compiled.patient_level,
                by_age_band=standardised,
                attributes=attributes,
            )
        self.timings.database[definition.id] = time.perf_counter() - start
        return raw

    def results(self, definition: IndicatorDefinition) -> pd.DataFrame:
        """Unsuppressed results (row-level-access view) for one indicator."""
        raw = self.aggregate(definition)
        provider_raw = self.provider_aggregate(definition)
        return self.results_from(raw, definition, provider_raw)

    def results_from(
        self,
        raw: pd.DataFrame,
        definition: IndicatorDefinition,
        provider_raw: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """Results from the database pass's aggregates (see `aggregate`).

        Derived breakdowns, area roll-ups, statistics and comparisons; the
        post-processing half of `results`, usable on aggregates computed
        elsewhere (tests, benchmarks).
        """
        start, cpu = time.perf_counter(), time.thread_time()
        if raw.empty:
            out = pd.DataFrame(columns=list(RESULT_COLUMNS))
        else:
            rows, areas = self._rows(raw, provider_raw, definition)
            out = self._format(rows, areas, definition)
        self.timings.post[definition.id] = time.perf_counter() - start
        self.timings.post_cpu[definition.id] = time.thread_time() - cpu
        return out

    def _rows(
        self,
        raw: pd.DataFrame,
        provider_raw: pd.DataFrame | None,
        definition: IndicatorDefinition,
    ) -> tuple[StatRows, AreaTable]:
        """Derived breakdowns, area roll-ups and statistics, on integer codes.

        Nothing here builds a frame or touches text per row: keys, areas and
        categories stay integer codes (`CategoryIndex`, `AreaTable`) until
        `_format`. Every sum adds the same numbers in the same order as a pandas
        group-by of the practice rows would (`_practices_first`), or is exact in
        any order (`_areas_first`, whole-number measures only).
        """
        standardised = definition.value_type in (ValueType.DSR, ValueType.ISR)
        band = "sband" if standardised else None
        keys = ["period_id", "practice_pseudo_id", *([band] if band else [])]
        measures: list[str] = list(MEASURES)
        breakdowns = self.breakdowns_for(definition)
        index = self.category_index
        narrow = not set(self.practice_breakdowns) >= set(self.breakdowns)
        if narrow and _exact_in_any_order([raw[m].to_numpy(float) for m in measures]):
            rolled = self._areas_first(raw, keys, measures, breakdowns, band)
        else:
            rolled = self._practices_first(raw, keys, measures, breakdowns, band)
        area, period, bands, cats, sums, areas = rolled
        if provider_raw is not None and not provider_raw.empty:
            provider_raw["value"] = provider_raw["value"].astype(str)
            by_provider = derive_cells(
                provider_raw, keys, measures, breakdowns, index, band=band
            )
            area, period, bands, cats, sums, areas = _with_providers(
                (area, period, bands, cats, sums, areas),
                by_provider,
                self.provider_index,
                band,
            )
        national = int(np.flatnonzero(areas.area_type == "national")[0])
        rows = result_rows(
            area,
            period,
            bands,
            cats,
            sums,
            national=national,
            breakdown_of=index.breakdowns,
            definition=definition,
        )
        return rows, areas

    def _practices_first(
        self,
        raw: pd.DataFrame,
        keys: list[str],
        measures: list[str],
        breakdowns: tuple[str, ...],
        band: str | None,
    ) -> _Rolled:
        """Breakdowns derived per practice, then every level summed from the
        practice rows (each sum in the order a pandas group-by would add)."""
        index = self.category_index
        orgs = self.organisations
        derived = derive_cells(raw, keys, measures, breakdowns, index, band=band)
        used = np.flatnonzero(np.bincount(derived.category, minlength=len(index)))
        rank = np.zeros(len(index), dtype=np.int64)
        rank[used] = np.arange(len(used))
        category = rank[derived.category]
        codes = [derived.keys["period_id"]]
        values = [derived.key_values["period_id"]]
        if band is not None:
            # bands coded in order of first appearance in the derived rows, so
            # each area's bands are summed in that order (as a group-by would)
            order = first_seen(derived.keys[band])
            band_rank = np.zeros(len(derived.key_values[band]), dtype=np.int64)
            band_rank[order] = np.arange(len(order))
            codes.append(band_rank[derived.keys[band]])
            values.append(derived.key_values[band][order])
        rolled = roll_up_codes(
            derived.keys["practice_pseudo_id"],
            derived.key_values["practice_pseudo_id"],
            [*codes, category],
            [*(len(v) for v in values), len(used)],
            [derived.measures[m] for m in measures],
            orgs.practices,
            orgs.commissioners,
            orgs.pilot_sites,
            orgs.pilot_members,
            small_areas=self._practice_rows(derived),
        )
        return (
            rolled.area,
            np.asarray(values[0], dtype=np.int64)[rolled.codes[0]],
            np.asarray(values[1], dtype=np.int64)[rolled.codes[1]] if band else None,
            used[rolled.codes[-1]],
            dict(zip(measures, rolled.sums, strict=True)),
            rolled.areas,
        )

    def _areas_first(
        self,
        raw: pd.DataFrame,
        keys: list[str],
        measures: list[str],
        breakdowns: tuple[str, ...],
        band: str | None,
    ) -> _Rolled:
        """Raw categories summed to commissioners, national and pilots first,
        breakdowns derived there; practices and PCNs get only their breakdowns.

        Much less work than deriving every breakdown for every practice (most
        of the rows, x 19 age bands for standardised indicators) when practices
        report fewer breakdowns. Used only when every measure is a whole number
        (`_exact_in_any_order`): such sums are exact in any order, so the rows
        are identical to `_practices_first`'s (tested).
        """
        index = self.category_index
        orgs = self.organisations
        org_tables = (
            orgs.practices,
            orgs.commissioners,
            orgs.pilot_sites,
            orgs.pilot_members,
        )
        small = tuple(b for b in breakdowns if b in self.practice_breakdowns)
        derived = derive_cells(raw, keys, measures, small, index, band=band)
        codes: list[np.ndarray] = []
        values: list[np.ndarray] = []
        for k in keys:
            c, uniques = pd.factorize(raw[k].to_numpy(), use_na_sentinel=False)
            codes.append(np.asarray(c, dtype=np.int64))
            values.append(np.asarray(uniques))
        unit, units = codes[1], values[1]  # the codes `derive_cells` uses
        first = first_seen(derived.keys["practice_pseudo_id"] if len(derived) else unit)
        # practice and PCN rows from the practice rows of their breakdowns
        used = np.flatnonzero(np.bincount(derived.category, minlength=len(index)))
        rank = np.zeros(len(index), dtype=np.int64)
        rank[used] = np.arange(len(used))
        other = [k for k in keys if k != "practice_pseudo_id"]
        local = roll_up_codes(
            derived.keys["practice_pseudo_id"],
            units,
            [*(derived.keys[k] for k in other), rank[derived.category]],
            [*(len(derived.key_values[k]) for k in other), len(used)],
            [derived.measures[m] for m in measures],
            *org_tables,
            levels=("practice", "pcn"),
            first_practices=first,
        )
        # commissioner, national and pilot rows of every raw category
        attr, attr_labels = category_codes(raw["attribute"])
        value, value_labels = category_codes(raw["value"])
        raw_codes = [codes[0], *codes[2:], attr, value]
        sizes = [
            len(values[0]),
            *(len(v) for v in values[2:]),
            len(attr_labels),
            len(value_labels),
        ]
        wide = roll_up_codes(
            unit,
            units,
            raw_codes,
            sizes,
            [raw[m].to_numpy(float) for m in measures],
            *org_tables,
            levels=("commissioner", "pilot"),
            first_practices=first,
        )
        # national = the sum of the commissioners (every practice has one)
        is_commissioner = wide.areas.area_type[wide.area] == "commissioner"
        key, space = pack([c[is_commissioner] for c in wide.codes], sizes)
        uniq, national_sums = packed_sum(
            key, space, [v[is_commissioner] for v in wide.sums]
        )
        national = int(np.flatnonzero(wide.areas.area_type == "national")[0])
        area_codes = [
            np.concatenate([c, n])
            for c, n in zip(wide.codes, unpack(uniq, sizes), strict=True)
        ]
        frame: dict[str, object] = {
            "period_id": values[0][area_codes[0]],
            "practice_pseudo_id": np.concatenate(
                [wide.area, np.full(len(uniq), national, dtype=np.int64)]
            ),
        }
        if band is not None:
            frame[band] = values[2][area_codes[1]]
        frame["attribute"] = categorical(attr_labels, area_codes[-2])
        frame["value"] = categorical(value_labels, area_codes[-1])
        frame.update(
            (m, np.concatenate([w, n]))
            for m, w, n in zip(measures, wide.sums, national_sums, strict=True)
        )
        by_area = derive_cells(
            pd.DataFrame(frame), keys, measures, breakdowns, index, band=band
        )
        area = np.concatenate(
            [local.area, np.asarray(by_area.values("practice_pseudo_id"), np.int64)]
        )
        period = np.concatenate(
            [
                np.asarray(derived.key_values["period_id"], np.int64)[local.codes[0]],
                np.asarray(by_area.values("period_id"), np.int64),
            ]
        )
        bands = (
            None
            if band is None
            else np.concatenate(
                [
                    np.asarray(derived.key_values[band], np.int64)[local.codes[1]],
                    np.asarray(by_area.values(band), np.int64),
                ]
            )
        )
        cats = np.concatenate([used[local.codes[-1]], by_area.category])
        sums = {
            m: np.concatenate([local.sums[i], by_area.measures[m]])
            for i, m in enumerate(measures)
        }
        return area, period, bands, cats, sums, local.areas

    def _practice_rows(self, derived: DerivedCells) -> np.ndarray | None:
        """Practice rows whose breakdown practices and PCNs report (None: all).

        Chosen before the roll-up, statistics and disclosure: practice x
        category rows are most rows of a run, and (for standardised indicators,
        x 19 age bands) most of the roll-up's work.
        """
        if set(self.practice_breakdowns) >= set(self.breakdowns):
            return None
        wanted = np.isin(self.category_index.breakdowns, list(self.practice_breakdowns))
        return wanted[derived.category]

    def _format(
        self, rows: StatRows, areas: AreaTable, definition: IndicatorDefinition
    ) -> pd.DataFrame:
        """The results table: text columns from the small area and category
        tables, rows in results-contract order (period, area level, area code,
        breakdown, category)."""
        index = self.category_index
        type_rank = _rank_of(areas.area_type, AREA_ORDER)
        breakdown_rank = _rank_of(index.breakdowns, BREAKDOWNS)
        starts = np.empty(len(self.periods), dtype=object)
        ends = np.empty(len(self.periods), dtype=object)
        starts[:] = [p.start for p in self.periods]
        ends[:] = [p.end for p in self.periods]
        order = np.lexsort(
            (
                rows.area,
                _sort_rank(index.labels)[rows.category],
                breakdown_rank[rows.category],
                _sort_rank(areas.code)[rows.area],
                type_rank[rows.area],
                _sort_rank(starts)[rows.period],
            )
        )
        area = rows.area[order]
        category = rows.category[order]
        pid = rows.period[order]
        m = {k: v[order] for k, v in rows.measures.items()}
        stats = {k: v[order] for k, v in rows.stats.items()}
        exceptions = (
            m["exc"].astype(float)
            if definition.value_type is ValueType.PROPORTION
            else np.full(len(order), np.nan)
        )
        parent = areas.parent[area]
        return pd.DataFrame(
            {
                "indicator_id": definition.id,
                "indicator_version": definition.version,
                "period_start": starts[pid],
                "period_end": ends[pid],
                "area_type": _text(areas.area_type, area),
                "area_code": _text(areas.code, area),
                "area_name": _text(areas.name, area),
                "parent_area_code": parent,
                "breakdown": _text(index.breakdowns, category),
                "category": _text(index.labels, category),
                "numerator": m["num"].astype(float),
                "denominator": m["den"].astype(float),
                "exceptions": exceptions,
                "value": stats["value"],
                "lower_ci_95": stats["lower_ci_95"],
                "upper_ci_95": stats["upper_ci_95"],
                "lower_ci_99_8": stats["lower_ci_99_8"],
                "upper_ci_99_8": stats["upper_ci_99_8"],
                "comparison": pd.Series(rows.comparison[order]).astype(str),
                "suppressed": False,
                "suppression_reason": None,
            }
        )

    def release(
        self, definition: IndicatorDefinition, policy: DisclosurePolicy
    ) -> pd.DataFrame:
        """Results after disclosure control: what may leave the engine."""
        results = self.results(definition)
        released = release(
            results,
            policy,
            value_fn=value_fn_for(definition),
            numerator_is_count=definition.value_type is not ValueType.MEAN,
        )
        floats = [c for c in _FLOAT_COLUMNS if c in released.columns]
        return released.astype(dict.fromkeys(floats, "float64"))


AREA_ORDER = ("national", "commissioner", "pcn", "practice", "pilot", "provider")
"""Area levels in results-contract order."""


def _rank_of(values: np.ndarray, order: Sequence[str]) -> np.ndarray:
    """Position of each value in `order` (values not in it last)."""
    position = {v: i for i, v in enumerate(order)}
    return np.array([position.get(v, len(order)) for v in values], dtype=np.int64)


def _sort_rank(values: np.ndarray) -> np.ndarray:
    """Rank of each value in sorted order (equal values share a rank)."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    _, inverse = np.unique(values, return_inverse=True)
    return np.asarray(inverse, dtype=np.int64).reshape(-1)


def _text(labels: np.ndarray, codes: np.ndarray) -> pd.Series:
    """`labels[codes]` as a text column (the results' string dtype)."""
    return pd.Series(labels[codes]).astype(str)


_Rolled = tuple[
    np.ndarray,
    np.ndarray,
    np.ndarray | None,
    np.ndarray,
    dict[str, np.ndarray],
    AreaTable,
]
"""Rolled-up rows: area, period id, age band (standardised) and category code
per row, the measures, and the area table."""


def _exact_in_any_order(values: Sequence[np.ndarray]) -> bool:
    """Whether sums of `values` are exact whatever the order of addition.

    True when every value is a whole number (missing counts as 0, as the sums
    treat it) and the absolute total stays below 2**53: every partial sum is
    then an integer that float64 holds exactly.
    """
    for v in values:
        clean = zero_missing(v)
        if not np.array_equal(clean, np.trunc(clean)):
            return False
        if float(np.abs(clean).sum()) >= 2.0**53:
            return False
    return True


def _with_providers(
    rolled: tuple[
        np.ndarray,
        np.ndarray,
        np.ndarray | None,
        np.ndarray,
        dict[str, np.ndarray],
        AreaTable,
    ],
    cells: DerivedCells,
    providers: ProviderIndex,
    band: str | None,
) -> tuple[
    np.ndarray,
    np.ndarray,
    np.ndarray | None,
    np.ndarray,
    dict[str, np.ndarray],
    AreaTable,
]:
    """Rolled rows followed by provider rows (see `engine.providers`).

    Provider rows carry the provider index + 1 in `practice_pseudo_id`; they are
    areas of their own (parent national), not rolled up.
    """
    area, period, bands, cats, sums, areas = rolled
    codes = providers.codes
    table = AreaTable(
        np.full(len(codes), PROVIDER_AREA_TYPE, dtype=object),
        np.asarray(codes, dtype=object),
        np.asarray(providers.names, dtype=object),
        np.full(len(codes), "national", dtype=object),
    )
    provider = np.asarray(cells.values("practice_pseudo_id"), dtype=np.int64) - 1
    return (
        np.concatenate([area, provider + len(areas)]),
        np.concatenate([period, np.asarray(cells.values("period_id"), np.int64)]),
        None
        if bands is None or band is None
        else np.concatenate([bands, np.asarray(cells.values(band), np.int64)]),
        np.concatenate([cats, cells.category]),
        {m: np.concatenate([v, cells.measures[m]]) for m, v in sums.items()},
        AreaTable.concat([areas, table]),
    )


def value_fn_for(
    definition: IndicatorDefinition,
) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """Recompute statistics from rounded counts (OpenSAFELY-style policies).

    Proportions, crude rates and counts are recomputed with their own methods
    from the rounded numerator and denominator, and so are a DSR's age band rows
    (crude rates); means and standardised values cannot be recomputed from
    rounded totals, so their statistics are blanked.
    """

    def recompute(rows: pd.DataFrame) -> pd.DataFrame:
        vt = definition.value_type
        if vt is ValueType.DSR and "breakdown" in rows:
            crude = (rows["breakdown"] == "age_band").to_numpy(dtype=bool)
            out = {c: np.full(len(rows), np.nan) for c in STAT_NAMES}
            if crude.any():
                num = rows["numerator"].to_numpy(float)[crude]
                den = rows["denominator"].to_numpy(float)[crude]
                for suffix, conf in CONFIDENCE.items():
                    value, lower, upper = rate_interval(
                        num, den, definition.multiplier, conf
                    )
                    out["value"][crude] = value
                    out[f"lower_ci_{suffix}"][crude] = lower
                    out[f"upper_ci_{suffix}"][crude] = upper
            return pd.DataFrame(out, index=rows.index)
        if vt in (ValueType.MEAN, ValueType.DSR, ValueType.ISR):
            return pd.DataFrame(index=rows.index)
        num = rows["numerator"].to_numpy(float)
        den = rows["denominator"].to_numpy(float)
        stats = simple_statistics(num, den, np.zeros_like(num), definition)
        return pd.DataFrame(stats, index=rows.index)

    return recompute


def run_indicators(
    engine: Engine,
    definitions: Sequence[IndicatorDefinition],
    policy: DisclosurePolicy,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Run every definition and return one released results table."""
    frames: list[pd.DataFrame] = []
    for definition in definitions:
        if progress is not None:
            progress(definition.id, "running")
        frames.append(engine.release(definition, policy))
        if progress is not None:
            progress(definition.id, "done")
    if not frames:
        return pd.DataFrame(columns=list(RESULT_COLUMNS))
    return pd.concat(frames, ignore_index=True)[list(RESULT_COLUMNS)]


def explain_sql(
    definition: IndicatorDefinition,
    tables: Mapping[str, ir.Table],
    periods: Sequence[Period],
    dialect: str = "duckdb",
) -> str:
    """The SQL of the indicator's single database pass (grid included)."""
    compiled = compile_indicator(definition, tables, periods)
    standardised = definition.value_type in (ValueType.DSR, ValueType.ISR)
    if dialect == "duckdb":
        keys = ["period_id", "practice_pseudo_id", *(["sband"] if standardised else [])]
        base = categories_expr(compiled.patient_level, keys)
        inner = str(ibis.to_sql(base, dialect=dialect))
        return f"WITH _patient_level AS (\n{inner}\n)\n{grouping_sets_sql(keys)}"
    expr = aggregate_expr(compiled.patient_level, by_age_band=standardised)
    return str(ibis.to_sql(expr, dialect=dialect))
