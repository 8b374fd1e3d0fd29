"""Settle a contract year (or its quarters) from the analytics database and results.

Ties the pieces together: fit the cost model on the commissioner's baseline
population (`capitation`), measure the contract population's exposure, spend and
tariff-priced activity (`data`), read indicator achievement (`results`) and settle
each period (`settlement`). Quarterly statements are year-to-date: Q1, Q1-Q2,
Q1-Q3 and the full year (the last equals the annual statement).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd

from carepilot.contracts import capitation, data
from carepilot.contracts.capitation import CostModel, net_of_pooling
from carepilot.contracts.model import Contract, Setting
from carepilot.contracts.results import check_indicators_present, indicator_observations
from carepilot.contracts.rules import round_money, to_decimal
from carepilot.contracts.settlement import Settlement, SettlementInputs, settle
from carepilot.errors import DefinitionError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodMeasures:
    """Measured population of one period: the per-patient frame and its inputs."""

    frame: pd.DataFrame
    inputs: SettlementInputs


@dataclass(frozen=True)
class SettlementRun:
    """The cost model, the scale factor and the settled periods of one contract year."""

    contract: Contract
    year: int
    model: CostModel
    scale: Decimal
    periods: tuple[PeriodMeasures, ...]
    settlements: tuple[Settlement, ...]


def year_label(year: int) -> str:
    """Financial-year style label, e.g. 2021 -> ``2021/22``."""
    return f"{year}/{(year + 1) % 100:02d}"


def period_bounds(
    contract: Contract, year: int, quarterly: bool
) -> list[tuple[str, date, date]]:
    """(label, start, end exclusive) of each settlement period of contract year `year`."""
    if year not in contract.term.years():
        years = ", ".join(str(y) for y in contract.term.years())
        raise DefinitionError(
            f"contract `{contract.id}`: {year} is not a contract year of the term "
            f"{contract.term.start}..{contract.term.end}; years are {years}"
        )
    start = contract.term.year_start(year)
    end = contract.term.year_end_exclusive(year)
    if not quarterly:
        return [(year_label(year), start, end)]
    out: list[tuple[str, date, date]] = []
    for q in range(1, 5):
        month = start.month - 1 + 3 * q
        q_end = (
            date(start.year + month // 12, month % 12 + 1, start.day) if q < 4 else end
        )
        out.append(
            (
                f"{year_label(year)} Q1-Q{q} (year to date)"
                if q > 1
                else f"{year_label(year)} Q1",
                start,
                q_end,
            )
        )
    return out


def fit_baseline(con: duckdb.DuckDBPyConnection, contract: Contract) -> CostModel:
    """Fit the expected-cost model on the commissioner's whole baseline-year population."""
    spec = contract.capitation
    start = contract.term.year_start(spec.baseline_year)
    end = contract.term.year_end_exclusive(spec.baseline_year)
    practices = data.commissioner_practices(con, contract)
    frame = data.population_frame(
        con, practices, start, end, (end - start).days, spec, as_of=start
    )
    net, _ = net_of_pooling(frame["gross_cost"].to_numpy(dtype=float), spec.high_cost)
    frame["net_cost"] = net
    return capitation.fit_cost_model(frame, spec)


def measure_period(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    model: CostModel,
    scale: Decimal,
    practices: Sequence[int] | Mapping[int, date],
    year: int,
    bounds: tuple[str, date, date],
    results: pd.DataFrame,
) -> PeriodMeasures:
    """Measure one (year-to-date) period and assemble its settlement inputs."""
    spec = contract.capitation
    label, start, end = bounds
    year_days = (
        contract.term.year_end_exclusive(year) - contract.term.year_start(year)
    ).days
    frame = data.population_frame(
        con, practices, start, end, year_days, spec, as_of=start
    )
    _, pooled = net_of_pooling(
        frame["gross_cost"].to_numpy(dtype=float), spec.high_cost
    )
    base_start = contract.term.year_start(spec.baseline_year)
    base_end = contract.term.year_end_exclusive(spec.baseline_year) - timedelta(days=1)
    indicators, gaps = indicator_observations(
        contract, results, (start, end - timedelta(days=1)), (base_start, base_end)
    )
    inputs = SettlementInputs(
        period_label=label,
        period_start=start,
        period_end=end - timedelta(days=1),
        budget=capitation.build_up(model, frame, spec, year, scale),
        gross_spend={s: _money(frame[f"cost_{s.value}"].sum()) for s in spec.settings},
        pooled_excess=_money(pooled.sum()),
        pooled_patients=int((pooled > 0).sum()),
        tariff_base={
            s: _money(frame[f"tariff_{s.value}"].sum()) for s in spec.settings
        },
        community_attended_contacts=int(frame["community_attended"].sum())
        if Setting.COMMUNITY in spec.settings
        else 0,
        indicators=indicators,
        inequalities=gaps,
    )
    return PeriodMeasures(frame, inputs)


def _money(value: float) -> Decimal:
    return round_money(to_decimal(float(value), 4))


def run_settlement(
    contract: Contract,
    db_path: Path,
    results: pd.DataFrame,
    year: int,
    *,
    quarterly: bool = False,
    results_source: str = "results",
) -> SettlementRun:
    """Settle contract year `year` (annual, or year-to-date quarters)."""
    from carepilot.store import open_database

    check_indicators_present(contract, results, results_source)
    bounds = period_bounds(contract, year, quarterly)
    con = open_database(db_path, read_only=True)
    try:
        model = fit_baseline(con, contract)
        log.info("cost model: out-of-sample R2 %.3f", model.r2_out_of_sample)
        start, end = (
            contract.term.year_start(year),
            contract.term.year_end_exclusive(year),
        )
        scale = Decimal(1)
        if contract.capitation.commissioner_total is not None:
            whole = data.population_frame(
                con,
                data.commissioner_practices(con, contract),
                start,
                end,
                (end - start).days,
                contract.capitation,
                as_of=start,
            )
            scale = capitation.scale_factor(model, whole, contract.capitation, year)
        practices = data.pilot_practices(con, contract, end)
        periods = tuple(
            measure_period(con, contract, model, scale, practices, year, b, results)
            for b in bounds
        )
    finally:
        con.close()
    settlements = tuple(settle(contract, p.inputs) for p in periods)
    return SettlementRun(contract, year, model, scale, periods, settlements)
