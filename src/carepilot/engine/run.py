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
from carepilot.engine.areas import roll_up
from carepilot.engine.breakdowns import (
    BREAKDOWNS,
    DERIVED,
    RAW_ATTRIBUTES,
    derive_breakdowns,
)
from carepilot.engine.columnar import PatientCategories, aggregate_columnar
from carepilot.engine.dense import DenseEvaluator
from carepilot.engine.providers import (
    ProviderIndex,
    attributed_patient_level,
    attributing_event,
    attribution,
    provider_areas,
)
from carepilot.engine.statistics import (
    add_comparison,
    add_statistics,
    simple_statistics,
)
from carepilot.errors import UserError
from carepilot.indicators.compile import build_grid, compile_indicator, periods_table
from carepilot.indicators.model import IndicatorDefinition, ValueType
from carepilot.indicators.periods import Period

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

        Age band is dropped for standardised indicators (they are age-adjusted).
        """
        wanted = definition.breakdowns
        standardised = definition.value_type in (ValueType.DSR, ValueType.ISR)
        return tuple(
            b
            for b in self.breakdowns
            if (wanted is None or b in wanted or b == "total")
            and not (standardised and b == "age_band")
        )

    def raw_attributes(self, definition: IndicatorDefinition) -> tuple[str, ...]:
        """Raw attributes the aggregation must group by for the breakdowns."""
        needed = {"sex"}  # the `total` rows are the sum of the sex categories
        for b in self.breakdowns_for(definition):
            if b != "total":
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
        start = time.perf_counter()
        standardised = definition.value_type in (ValueType.DSR, ValueType.ISR)
        keys = ["period_id", "practice_pseudo_id", *(["sband"] if standardised else [])]
        measures: list[str] = list(MEASURES)
        breakdowns = self.breakdowns_for(definition)
        if raw.empty:
            out = pd.DataFrame(columns=list(RESULT_COLUMNS))
            self.timings.post[definition.id] = time.perf_counter() - start
            return out
        derived = derive_breakdowns(raw, keys, measures, breakdowns)
        orgs = self.organisations
        other_keys = [k for k in keys if k != "practice_pseudo_id"]
        rolled = roll_up(
            derived,
            [*other_keys, "breakdown", "category"],
            measures,
            orgs.practices,
            orgs.commissioners,
            orgs.pilot_sites,
            orgs.pilot_members,
            small_areas=self._practice_rows(derived),
        )
        if provider_raw is not None and not provider_raw.empty:
            provider_raw["value"] = provider_raw["value"].astype(str)
            by_provider = derive_breakdowns(provider_raw, keys, measures, breakdowns)
            rolled = pd.concat(
                [rolled, provider_areas(by_provider, self.provider_index)],
                ignore_index=True,
            )
        with_stats = add_statistics(rolled, definition)
        with_cmp = add_comparison(with_stats, definition)
        out = self._format(with_cmp, definition)
        self.timings.post[definition.id] = time.perf_counter() - start
        return out

    def _practice_rows(self, rows: pd.DataFrame) -> np.ndarray | None:
        """Practice rows whose breakdown practices and PCNs report (None: all).

        Chosen before the roll-up, statistics and disclosure: practice x
        category rows are most rows of a run, and (for standardised indicators,
        x 19 age bands) most of the roll-up's work.
        """
        if set(self.practice_breakdowns) >= set(self.breakdowns):
            return None
        return rows["breakdown"].isin(list(self.practice_breakdowns)).to_numpy()

    def _format(
        self, rows: pd.DataFrame, definition: IndicatorDefinition
    ) -> pd.DataFrame:
        starts = [p.start for p in self.periods]
        ends = [p.end for p in self.periods]
        pid = rows["period_id"].to_numpy(int)
        exceptions = rows["exc"].astype(float)
        if definition.value_type is not ValueType.PROPORTION:
            exceptions = pd.Series(np.nan, index=rows.index)
        out = pd.DataFrame(
            {
                "indicator_id": definition.id,
                "indicator_version": definition.version,
                "period_start": [starts[i] for i in pid],
                "period_end": [ends[i] for i in pid],
                "area_type": rows["area_type"].astype(str),
                "area_code": rows["area_code"].astype(str),
                "area_name": rows["area_name"].astype(str),
                "parent_area_code": _text_or_none(rows["parent_area_code"]),
                "breakdown": rows["breakdown"].astype(str),
                "category": rows["category"].astype(str),
                "numerator": rows["num"].astype(float),
                "denominator": rows["den"].astype(float),
                "exceptions": exceptions,
                "value": rows["value"].astype(float),
                "lower_ci_95": rows["lower_ci_95"].astype(float),
                "upper_ci_95": rows["upper_ci_95"].astype(float),
                "lower_ci_99_8": rows["lower_ci_99_8"].astype(float),
                "upper_ci_99_8": rows["upper_ci_99_8"].astype(float),
                "comparison": rows["comparison"].astype(str),
                "suppressed": False,
                "suppression_reason": None,
            }
        )
        order = {
            a: i
            for i, a in enumerate(
                ("national", "commissioner", "pcn", "practice", "pilot", "provider")
            )
        }
        border = {b: i for i, b in enumerate(BREAKDOWNS)}
        out = out.assign(
            _a=out["area_type"].map(order), _b=out["breakdown"].map(border)
        ).sort_values(
            ["period_start", "_a", "area_code", "_b", "category"], kind="stable"
        )
        return out.drop(columns=["_a", "_b"]).reset_index(drop=True)

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


def _text_or_none(column: pd.Series) -> np.ndarray:
    """A (possibly categorical) text column as plain objects, missing as None."""
    values = np.array(column.astype(object), dtype=object, copy=True)
    values[pd.isna(values)] = None
    return values


def value_fn_for(
    definition: IndicatorDefinition,
) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """Recompute statistics from rounded counts (OpenSAFELY-style policies).

    Proportions, crude rates and counts are recomputed with their own methods
    from the rounded numerator and denominator; means and standardised values
    cannot be recomputed from rounded totals, so their statistics are blanked.
    """

    def recompute(rows: pd.DataFrame) -> pd.DataFrame:
        if definition.value_type in (ValueType.MEAN, ValueType.DSR, ValueType.ISR):
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
