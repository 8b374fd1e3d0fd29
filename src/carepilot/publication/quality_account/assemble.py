"""Assemble a provider's quality account from released results and its inputs.

The reporting year is the financial year ``YYYY/YY+1`` (1 April to 31 March). A
figure "for a year" is the provider's total row whose period ends inside that
year, preferring the longest period (an annual figure over a quarter) and then
the latest. Priorities show the previous and the reporting year's result and the
aim for the coming year; core indicators are chosen by provider type
(`CORE_INDICATORS`, or the inputs' ``core_indicators``); Part 3 charts every
priority and core indicator with at least two periods (`dashboards.trends`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
from markdown_it import MarkdownIt

from carepilot.errors import InputDataError
from carepilot.publication import dashboards
from carepilot.publication.periods import months_between, period_label
from carepilot.publication.quality_account.model import (
    CoreIndicator,
    Figure,
    PriorityResult,
    ProviderInputs,
    QualityAccount,
    TrendSection,
)
from carepilot.publication.results import (
    IndicatorMeta,
    frame_checksum,
    meta_for,
    public_rows,
    verify_released,
)

CORE_INDICATORS: dict[str, tuple[str, ...]] = {
    "gp": (
        "diabetes-hba1c-58",
        "dm-hba1c-58",
        "hypertension-bp-140-90-under-80",
        "hyp-bp-140-90",
        "flu-vaccination-65-plus",
        "flu-vaccination-65",
        "cervical-screening-25-49",
        "smoking-status-recorded-ltc",
        "experience-overall-experience",
        "acsc-emergency-admissions",
    ),
    "pilot": (
        "emergency-admissions-dsr",
        "emergency-admissions-rate",
        "acsc-emergency-admissions",
        "acsc-admissions-dsr",
        "emergency-readmissions-30-days",
        "dm-hba1c-58",
        "diabetes-hba1c-58",
        "hyp-bp-140-90",
        "experience-overall-experience",
    ),
    # Providers: indicators attributed to the provider of the denominator event
    # (provider rows of the results table, `carepilot.engine.providers`).
    "acute": (
        "emergency-readmissions-30-days",
        "outpatient-dna",
        "rtt-incomplete-18-weeks",
        "proms-hip-eq5d-improved",
        "proms-knee-eq5d-improved",
        "social-care-after-discharge",
    ),
    "community": (
        "community-contacts-dna",
        "proms-ltc-eq5d-improved",
    ),
    "mental_health": ("community-contacts-dna",),
    # A provider whose type is unknown (no providers table at hand).
    "provider": (
        "emergency-readmissions-30-days",
        "outpatient-dna",
        "community-contacts-dna",
        "rtt-incomplete-18-weeks",
        "proms-hip-eq5d-improved",
        "proms-knee-eq5d-improved",
        "proms-ltc-eq5d-improved",
    ),
}
"""Provider type → core indicator ids (the engine's ids; absent ones are listed)."""


def financial_year(year: int) -> tuple[dt.date, dt.date]:
    """1 April `year` to 31 March `year + 1`."""
    return dt.date(year, 4, 1), dt.date(year + 1, 3, 31)


def year_label(year: int) -> str:
    """``2023`` → ``2023/24``."""
    return f"{year}/{(year + 1) % 100:02d}"


def provider_identity(db: Path, provider: str) -> tuple[str, str]:
    """(name, provider type) of a practice, provider or pilot in the database.

    Raises:
        InputDataError: `provider` is not a practice code, provider code or pilot.
    """
    from carepilot.store import open_database

    con = open_database(db, read_only=True)
    try:
        queries = (
            ("SELECT practice_name, 'gp' FROM practices WHERE practice_code = ?"),
            (
                "SELECT provider_name, provider_type FROM providers "
                "WHERE provider_code = ?"
            ),
            ("SELECT pilot_name, 'pilot' FROM pilot_sites WHERE pilot_id = ?"),
        )
        for sql in queries:
            row = con.execute(sql, [provider]).fetchone()
            if row is not None:
                return str(row[0]), str(row[1])
    finally:
        con.close()
    raise InputDataError(
        f"{db}: `{provider}` is not a practice code, provider code or pilot id; "
        "use the ODS code from the practices/providers tables"
    )


def _num(value: object) -> float | None:
    number = float(value) if value is not None else math.nan  # type: ignore[arg-type]
    return None if math.isnan(number) else number


def figure_for(
    rows: pd.DataFrame,
    m: IndicatorMeta,
    start: dt.date,
    end: dt.date,
    england: pd.DataFrame,
) -> Figure | None:
    """The indicator's figure for the year `start..end` (see module docstring)."""
    inside = rows[(rows["period_end"] >= start) & (rows["period_end"] <= end)]
    if inside.empty:
        return None
    months = [
        months_between(s, e)
        for s, e in zip(inside["period_start"], inside["period_end"], strict=True)
    ]
    inside = inside.assign(_m=months).sort_values(["_m", "period_end"])
    row = inside.iloc[-1]
    nat = england[england["period_start"] == row["period_start"]]
    suppressed = bool(row["suppressed"])
    return Figure(
        indicator_id=m.id,
        title=m.title,
        unit=m.unit,
        period=period_label(row["period_start"], row["period_end"]),
        value=_num(row["value"]),
        lower=_num(row["lower_ci_95"]),
        upper=_num(row["upper_ci_95"]),
        numerator=_num(row["numerator"]),
        denominator=_num(row["denominator"]),
        england=_num(nat["value"].iloc[0]) if len(nat) else None,
        comparison=str(row["comparison"]),
        note="suppressed (small numbers)" if suppressed else "",
    )


def _markdown(text: str) -> str:
    return MarkdownIt("commonmark", {"html": False}).render(text)


def assemble(
    results: pd.DataFrame,
    provider_code: str,
    provider_name: str,
    provider_type: str,
    year: int,
    inputs: ProviderInputs,
    meta: Mapping[str, IndicatorMeta] | None = None,
) -> QualityAccount:
    """Build the quality account for `provider_code` and reporting year `year`.

    Raises:
        PermissionDenied: the results are not disclosure controlled.
        InputDataError: no results for the provider, or a priority names an
            indicator that is not in the results.
    """
    policy = verify_released(results)
    frame = public_rows(results)
    total = frame[frame["breakdown"] == "total"]
    info = meta_for(total, meta)
    own = total[total["area_code"] == provider_code]
    if own.empty:
        raise InputDataError(
            f"results table has no rows for area `{provider_code}`; run "
            "`carepilot indicators run` over a database that includes it"
        )
    nat = total[total["area_type"] == "national"]
    this, last = financial_year(year), financial_year(year - 1)

    def figures(indicator_id: str) -> tuple[Figure | None, Figure | None]:
        rows = own[own["indicator_id"] == indicator_id]
        england = nat[nat["indicator_id"] == indicator_id]
        m = info.get(indicator_id) or IndicatorMeta(id=indicator_id, title=indicator_id)
        return (
            figure_for(rows, m, *last, england),
            figure_for(rows, m, *this, england),
        )

    available = set(own["indicator_id"])
    priorities = []
    for p in inputs.priorities:
        unknown = [i for i in p.indicators if i not in available]
        if unknown:
            raise InputDataError(
                f"priorities.yaml: priority `{p.title}` names indicator(s) "
                f"{', '.join(unknown)} with no results for `{provider_code}`; "
                f"available: {', '.join(sorted(available))}"
            )
        priorities.append(
            PriorityResult(
                title=p.title,
                domain=p.domain,
                why=p.why,
                aim=p.aim,
                target=p.target,
                figures=tuple(figures(i) for i in p.indicators),
            )
        )
    wanted = inputs.core_indicators or list(CORE_INDICATORS.get(provider_type, ()))
    core = []
    for indicator_id in wanted:
        if indicator_id in available:
            previous, current = figures(indicator_id)
            core.append(
                CoreIndicator(
                    current=current,
                    previous=previous,
                    indicator_id=indicator_id,
                    title=info[indicator_id].title,
                )
            )
    missing = tuple(i for i in wanted if i not in available)
    charted = dict.fromkeys(
        [i for p in inputs.priorities for i in p.indicators]
        + [c.indicator_id for c in core]
    )
    sections = []
    for indicator_id in charted:
        if own.loc[own["indicator_id"] == indicator_id, "period_start"].nunique() < 2:
            continue
        target = next(
            (
                p.target
                for p in inputs.priorities
                if indicator_id in p.indicators and p.target is not None
            ),
            None,
        )
        view = dashboards.trends(
            results, indicator_id, provider_code, target=target, meta=info
        )
        sections.append(
            TrendSection(
                title=view.title,
                svg=view.svg(),
                table_html=view.table_html(),
                summary=view.summary,
            )
        )
    return QualityAccount(
        provider_code=provider_code,
        provider_name=inputs.provider_name or provider_name,
        provider_type=provider_type,
        year_label=year_label(year),
        next_year_label=year_label(year + 1),
        previous_year_label=year_label(year - 1),
        ceo_name=inputs.ceo_name,
        ceo_statement_html=_markdown(inputs.ceo_statement),
        priorities=tuple(priorities),
        assurance=inputs.assurance,
        core=tuple(core),
        missing_core=missing,
        trends=tuple(sections),
        annex=tuple(inputs.annex),
        disclosure_policy=policy.name,
        results_checksum=frame_checksum(results),
    )
