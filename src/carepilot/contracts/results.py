"""Read indicator achievement for a contract from the indicator RESULTS file.

The results table (Parquet or CSV) is the shared contract between the indicator
engine and its consumers: one row per indicator x period x area x breakdown
category, with ``period_end`` the LAST day of the period (inclusive). A contract
reads its area's rows: ``area_type = pilot`` and ``area_code = pilot_id``, or the
``practice`` rows of its practice codes, added up (numerators and denominators
summed; the value rescaled by the rows' common value / (numerator / denominator)
multiplier, which is only possible for proportions and crude rates).

For a period the row ending on the period's last day and starting on its first
day is used; failing that, the longest period ending on that day (e.g. a rolling
12 months for a quarter-end). Suppressed rows count as missing.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from carepilot.contracts.model import Contract, InequalityTarget
from carepilot.contracts.rules import measure_gap, to_decimal
from carepilot.contracts.settlement import IndicatorObservation, InequalityObservation
from carepilot.errors import DefinitionError, InputDataError, InsufficientDataError

REQUIRED_COLUMNS: tuple[str, ...] = (
    "indicator_id",
    "period_start",
    "period_end",
    "area_type",
    "area_code",
    "breakdown",
    "category",
    "numerator",
    "denominator",
    "value",
    "suppressed",
)


def read_results(path: Path) -> pd.DataFrame:
    """Read and check an indicator results file (``.parquet`` or ``.csv``).

    Raises:
        InputDataError: unreadable file or missing columns (named).
    """
    try:
        if path.suffix.lower() == ".parquet":
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(path, dtype={"area_code": str, "category": str})
    except (OSError, ValueError) as exc:
        raise InputDataError(
            f"{path}: cannot read the indicator results ({exc})"
        ) from None
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise InputDataError(
            f"{path}: the indicator results have no column(s) {', '.join(missing)}; "
            "expected the shared results table (indicator_id, period_start, "
            "period_end, area_type, area_code, breakdown, category, numerator, "
            "denominator, value, suppressed, ...)"
        )
    df = df.copy()
    for col in ("period_start", "period_end"):
        df[col] = pd.to_datetime(df[col]).dt.date
    for col in ("area_code", "category", "indicator_id", "breakdown", "area_type"):
        df[col] = df[col].astype(str)
    df["suppressed"] = df["suppressed"].astype(str).str.lower().isin(["true", "1"])
    return df


def check_indicators_present(
    contract: Contract, results: pd.DataFrame, source: str
) -> None:
    """Raise DefinitionError if the contract names an indicator the results lack."""
    present = set(results["indicator_id"].unique())
    absent = [i for i in contract.indicator_ids if i not in present]
    if absent:
        raise DefinitionError(
            f"contract `{contract.id}`: unknown indicator(s) {', '.join(absent)}: not in "
            f"the results file {source}; fix: run the indicator engine for them or "
            "correct the ids in the contract"
        )


def _area_rows(contract: Contract, results: pd.DataFrame) -> pd.DataFrame:
    pop = contract.population
    if pop.pilot_id is not None:
        mask = (results["area_type"] == "pilot") & (
            results["area_code"] == pop.pilot_id
        )
    else:
        mask = (results["area_type"] == "practice") & results["area_code"].isin(
            pop.practice_codes
        )
    return results[mask]


def _period_rows(rows: pd.DataFrame, start: date, end_incl: date) -> pd.DataFrame:
    ending = rows[rows["period_end"] == end_incl]
    if ending.empty:
        return ending
    exact = ending[ending["period_start"] == start]
    if not exact.empty:
        return exact
    earliest = ending["period_start"].min()
    return ending[ending["period_start"] == earliest]


def _combine(rows: pd.DataFrame) -> tuple[float, float, float] | None:
    """(numerator, denominator, value) of unsuppressed rows of one category."""
    rows = rows[~rows["suppressed"]]
    if rows.empty:
        return None
    if len(rows) == 1:
        r = rows.iloc[0]
        return float(r["numerator"]), float(r["denominator"]), float(r["value"])
    num, den = float(rows["numerator"].sum()), float(rows["denominator"].sum())
    ratio = rows["value"] / (rows["numerator"] / rows["denominator"])
    ratio = ratio.dropna()
    if (
        den == 0
        or ratio.empty
        or (ratio.max() - ratio.min()) > 1e-6 * abs(ratio.mean())
    ):
        raise InsufficientDataError(
            "practice-level results cannot be added up for this indicator (its value "
            "is not a proportion or crude rate); give the contract a `pilot_id` so the "
            "pilot-level result is used"
        )
    return num, den, num / den * float(ratio.mean())


def indicator_observations(
    contract: Contract,
    results: pd.DataFrame,
    period: tuple[date, date],
    baseline: tuple[date, date],
) -> tuple[dict[str, IndicatorObservation], dict[str, InequalityObservation]]:
    """Observations of every contract indicator and inequality gap.

    Args:
        period: (first day, last day inclusive) of the settlement period.
        baseline: the same for the baseline year.
    """
    rows = _area_rows(contract, results)
    indicators: dict[str, IndicatorObservation] = {}
    for target in contract.quality.indicators:
        mine = rows[
            (rows["indicator_id"] == target.indicator_id)
            & (rows["breakdown"] == "total")
        ]
        now = _combine(_period_rows(mine, *period))
        base = _combine(_period_rows(mine, *baseline))
        note = (
            ""
            if now is not None
            else f"no unsuppressed result for the period ending {period[1]}"
        )
        indicators[target.indicator_id] = IndicatorObservation(
            value=None if now is None else to_decimal(now[2]),
            baseline=None if base is None else to_decimal(base[2]),
            numerator=None if now is None else now[0],
            denominator=None if now is None else now[1],
            note=note,
        )
    gaps = {
        t.name: _gap_observation(t, rows, period, baseline)
        for t in contract.quality.inequality_targets
    }
    return indicators, gaps


def _categories(
    target: InequalityTarget, rows: pd.DataFrame, start: date, end: date
) -> dict[str, tuple[float, float]]:
    mine = rows[
        (rows["indicator_id"] == target.indicator_id)
        & (rows["breakdown"] == target.breakdown)
    ]
    mine = _period_rows(mine, start, end)
    out: dict[str, tuple[float, float]] = {}
    for category, group in mine.groupby("category"):
        combined = _combine(group)
        if combined is not None:
            out[str(category)] = (combined[1], combined[2])
    return out


def _gap_observation(
    target: InequalityTarget,
    rows: pd.DataFrame,
    period: tuple[date, date],
    baseline: tuple[date, date],
) -> InequalityObservation:
    try:
        now = measure_gap(target, _categories(target, rows, *period))
        base = measure_gap(target, _categories(target, rows, *baseline))
    except InsufficientDataError as exc:
        return InequalityObservation(None, None, note=str(exc))
    return InequalityObservation(now, base)
