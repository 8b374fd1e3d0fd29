"""Calculate a local QOF scheme per practice with the indicator engine.

For the QOF year starting 1 April `year` (achievement date 31 March `year`+1)
the scheme's indicators are run as one yearly period; per practice the rules in
`carepilot.qof.rules` turn achievement into points and pounds, and report how
many more patients must achieve to reach each upper threshold.

Figures here are unsuppressed practice counts, as used by payment systems (CQRS):
they are for the commissioner and the practice (row-level access), not for
publication. Publish through `carepilot.disclosure.release`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

import ibis.expr.types as ir
import pandas as pd

from carepilot.errors import InsufficientDataError
from carepilot.indicators.load import load_definition
from carepilot.indicators.model import IndicatorDefinition
from carepilot.indicators.periods import Period
from carepilot.qof import rules
from carepilot.qof.model import GapIndicator, Scheme, SchemeIndicator

LIST_SIZE_YAML = """
id: qof-list-size
version: 1
title: Registered list size
domain: qof
value_type: count
polarity: no_judgement
population: registered
numerator: registered
"""

RESULT_COLUMNS = (
    "practice_code",
    "practice_name",
    "scheme_indicator",
    "indicator_id",
    "kind",
    "numerator",
    "denominator",
    "exceptions",
    "achievement",
    "lower",
    "upper",
    "max_points",
    "points",
    "list_size",
    "cpi",
    "apdf",
    "payment",
    "patients_needed",
)


def qof_period(year: int) -> Period:
    """The QOF year 1 April `year` .. 31 March `year`+1."""
    return Period(dt.date(year, 4, 1), dt.date(year + 1, 3, 31))


def _definition(source: str, base: Path) -> IndicatorDefinition:
    from carepilot.engine.definitions import load_file
    from carepilot.library import get_definition

    path = Path(source)
    if path.suffix in (".yaml", ".yml"):
        return load_file(path if path.is_absolute() else base / path)
    return get_definition(source)


def _practice_rows(results: pd.DataFrame, breakdown: str = "total") -> pd.DataFrame:
    rows = results[
        (results["area_type"] == "practice") & (results["breakdown"] == breakdown)
    ]
    return (
        rows.set_index(["area_code", "category"])
        if breakdown != "total"
        else (rows.set_index("area_code"))
    )


def calculate(
    tables: Mapping[str, ir.Table],
    scheme: Scheme,
    year: int,
    base: Path = Path("."),
) -> pd.DataFrame:
    """Per practice and scheme indicator: achievement, points, payment, gap to upper.

    Args:
        tables: the data-model tables (e.g. `tables_from_connection(con)`).
        scheme: the parsed scheme.
        year: first calendar year of the QOF year (2024 = 2024/25).
        base: folder that relative `definition:` paths are resolved against.

    Returns:
        A frame with `RESULT_COLUMNS`; money columns hold `Decimal`.

    Raises:
        InsufficientDataError: no practice has registered patients in the year.
    """
    from carepilot.engine.run import Engine

    period = qof_period(year)
    needs_breakdown = tuple(sorted({g.breakdown for g in scheme.inequality}))
    engine = Engine(tables, [period], breakdowns=("total", *needs_breakdown))
    practices = engine.organisations.practices
    names = dict(
        zip(practices["practice_code"], practices["practice_name"], strict=False)
    )

    list_def = load_definition(LIST_SIZE_YAML, "<qof list size>", lambda _: None)
    lists = _practice_rows(engine.results(list_def))["numerator"].astype(float)
    if lists.empty or lists.sum() <= 0:
        raise InsufficientDataError(
            f"no registered patients on 31 March {year + 1}; check --year and the data"
        )
    national_list = scheme.national_average_list_size or float(lists.mean())
    cache: dict[str, pd.DataFrame] = {}

    def results_of(source: str) -> pd.DataFrame:
        if source not in cache:
            cache[source] = engine.results(_definition(source, base))
        return cache[source]

    out: list[dict[str, object]] = []
    for ind in scheme.indicators:
        out += _standard_rows(ind, results_of, lists, national_list, scheme, names)
    for gap in scheme.inequality:
        out += _gap_rows(gap, results_of, lists, national_list, scheme, names)
    frame = pd.DataFrame(out, columns=list(RESULT_COLUMNS))
    return frame.sort_values(["practice_code", "scheme_indicator"]).reset_index(
        drop=True
    )


def _standard_rows(
    ind: SchemeIndicator,
    results_of,  # noqa: ANN001 - local callable
    lists: pd.Series,
    national_list: float,
    scheme: Scheme,
    names: Mapping[str, str],
) -> list[dict[str, object]]:
    res = results_of(ind.source)
    practice = _practice_rows(res)
    prevalence: pd.Series | None = None
    national_prev: Decimal | None = ind.national_prevalence
    if ind.prevalence is not None:
        prev_res = results_of(ind.prevalence)
        prevalence = _practice_rows(prev_res)["value"].astype(float)
        if national_prev is None:
            nat = prev_res[
                (prev_res["area_type"] == "national")
                & (prev_res["breakdown"] == "total")
            ]
            national_prev = (
                Decimal(str(float(nat["value"].iloc[0]))) if len(nat) else None
            )
    rows: list[dict[str, object]] = []
    for code, list_size in lists.items():
        num = float(practice["numerator"].get(code, 0.0))
        den = float(practice["denominator"].get(code, 0.0))
        exc = float(practice["exceptions"].get(code, 0.0) or 0.0)
        ach = rules.achievement(num, den)
        pts = rules.points(ach, ind.points, ind.lower, ind.upper)
        cpi = rules.contractor_population_index(list_size, national_list)
        factor = Decimal(1)
        if prevalence is not None:
            p = prevalence.get(code)
            factor = rules.apdf(
                None if p is None or pd.isna(p) else Decimal(str(p)), national_prev
            )
        rows.append(
            dict(
                practice_code=code,
                practice_name=names.get(str(code), str(code)),
                scheme_indicator=ind.id,
                indicator_id=ind.source,
                kind="standard",
                numerator=num,
                denominator=den,
                exceptions=exc,
                achievement=None if ach is None else float(ach),
                lower=float(ind.lower),
                upper=float(ind.upper),
                max_points=ind.points,
                points=pts,
                list_size=int(list_size),
                cpi=cpi,
                apdf=factor,
                payment=rules.payment(pts, scheme.pounds_per_point, cpi, factor),
                patients_needed=rules.patients_needed(num, den, float(ind.upper)),
            )
        )
    return rows


def _gap_rows(
    gap: GapIndicator,
    results_of,  # noqa: ANN001 - local callable
    lists: pd.Series,
    national_list: float,
    scheme: Scheme,
    names: Mapping[str, str],
) -> list[dict[str, object]]:
    res = results_of(gap.source)
    by = res[(res["area_type"] == "practice") & (res["breakdown"] == gap.breakdown)]
    by = by.set_index(["area_code", "category"])
    rows: list[dict[str, object]] = []
    for code, list_size in lists.items():

        def val(cat: str, code: str = str(code)) -> float | None:
            key = (code, cat)
            if key not in by.index:
                return None
            v = by.loc[key, "value"]
            return None if pd.isna(v) else float(v)

        hi, lo = val(gap.reference), val(gap.group)
        diff = None if hi is None or lo is None else Decimal(str(hi)) - Decimal(str(lo))
        pts = rules.gap_points(diff, gap.points, gap.full_at, gap.zero_at)
        cpi = rules.contractor_population_index(list_size, national_list)
        rows.append(
            dict(
                practice_code=code,
                practice_name=names.get(str(code), str(code)),
                scheme_indicator=gap.id,
                indicator_id=gap.source,
                kind="inequality_gap",
                numerator=lo,
                denominator=hi,
                exceptions=None,
                achievement=None if diff is None else float(diff),
                lower=float(gap.zero_at),
                upper=float(gap.full_at),
                max_points=gap.points,
                points=pts,
                list_size=int(list_size),
                cpi=cpi,
                apdf=Decimal(1),
                payment=rules.payment(pts, scheme.pounds_per_point, cpi),
                patients_needed=None,
            )
        )
    return rows


def practice_summary(results: pd.DataFrame) -> pd.DataFrame:
    """Total points and payment per practice."""
    grouped = results.groupby(["practice_code", "practice_name"], sort=True)
    return grouped.agg(
        points=("points", lambda s: sum(s, Decimal(0))),
        max_points=("max_points", lambda s: sum(s, Decimal(0))),
        payment=("payment", lambda s: sum(s, Decimal(0))),
    ).reset_index()
