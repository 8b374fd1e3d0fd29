"""Reporting periods and the date windows expressions look back over.

One module of date arithmetic shared by the Ibis compiler (which puts these dates
into a small periods table) and the reference evaluator, so both use exactly the
same boundaries. All windows are inclusive at both ends and end on the period
end (the last day of the period, as ehrQL measures report it). Pure module.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

from carepilot.errors import UserError
from carepilot.indicators.expr import Window, WindowKind

ONE_DAY = dt.timedelta(days=1)


class Frequency(StrEnum):
    """How often an indicator is reported."""

    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"

    @property
    def months(self) -> int:
        return {"month": 1, "quarter": 3, "year": 12}[self.value]


class PeriodRuleKind(StrEnum):
    """Which events count towards a period (the indicator's reporting window)."""

    AS_AT_END = "as_at_end"
    """The period itself: from period start to period end."""
    LAST_N_MONTHS = "last_n_months"
    """A rolling window of N months ending at the period end."""
    FINANCIAL_YEAR_TO_DATE = "financial_year_to_date"
    """From 1 April of the financial year containing the period end."""


@dataclass(frozen=True, slots=True)
class PeriodRule:
    """The reporting window rule of an indicator."""

    kind: PeriodRuleKind = PeriodRuleKind.AS_AT_END
    months: int = 0

    @staticmethod
    def parse(text: str) -> PeriodRule:
        """Read `as_at_end`, `last_12_months` or `financial_year_to_date`.

        Raises:
            ValueError: with the accepted spellings.
        """
        if text in (PeriodRuleKind.AS_AT_END, PeriodRuleKind.FINANCIAL_YEAR_TO_DATE):
            return PeriodRule(PeriodRuleKind(text))
        match = re.fullmatch(r"last_(\d+)_months?", text)
        if match and int(match.group(1)) > 0:
            return PeriodRule(PeriodRuleKind.LAST_N_MONTHS, int(match.group(1)))
        raise ValueError(
            f"unknown period rule `{text}`; use `as_at_end`, `last_12_months` "
            "(any N) or `financial_year_to_date`"
        )

    def __str__(self) -> str:
        if self.kind is PeriodRuleKind.LAST_N_MONTHS:
            return f"last_{self.months}_months"
        return self.kind.value


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """A reporting period: first and last day (both inclusive)."""

    start: dt.date
    end: dt.date


def add_months(day: dt.date, months: int) -> dt.date:
    """Shift `day` by whole months, clamping to the month's last day.

    >>> add_months(dt.date(2024, 3, 31), -1)
    datetime.date(2024, 2, 29)
    """
    index = day.year * 12 + day.month - 1 + months
    year, month0 = divmod(index, 12)
    first_next = dt.date(year + (month0 + 1) // 12, (month0 + 1) % 12 + 1, 1)
    last = (first_next - ONE_DAY).day
    return dt.date(year, month0 + 1, min(day.day, last))


def parse_month(text: str, what: str = "month") -> dt.date:
    """Parse ``YYYY-MM`` into the first day of that month.

    Raises:
        UserError: naming the option and the expected format.
    """
    match = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise UserError(f"{what} `{text}` is not a month like 2024-04 (YYYY-MM)")
    return dt.date(int(match.group(1)), int(match.group(2)), 1)


def make_periods(
    first_month: dt.date, last_month: dt.date, frequency: Frequency
) -> list[Period]:
    """Consecutive periods from `first_month` whose start is not after `last_month`.

    Args:
        first_month: first day of the first period.
        last_month: any day in the month of the last period's start.
        frequency: period length.

    Raises:
        UserError: if the range is empty.
    """
    if last_month < first_month:
        raise UserError(
            f"--to ({last_month:%Y-%m}) is before --from ({first_month:%Y-%m})"
        )
    periods: list[Period] = []
    start = first_month.replace(day=1)
    while start <= last_month:
        nxt = add_months(start, frequency.months)
        periods.append(Period(start, nxt - ONE_DAY))
        start = nxt
    return periods


def rule_window_start(period: Period, rule: PeriodRule) -> dt.date:
    """First day of the indicator's reporting window for `period`."""
    after_end = period.end + ONE_DAY
    if rule.kind is PeriodRuleKind.LAST_N_MONTHS:
        return add_months(after_end, -rule.months)
    if rule.kind is PeriodRuleKind.FINANCIAL_YEAR_TO_DATE:
        year = period.end.year if period.end.month >= 4 else period.end.year - 1
        return dt.date(year, 4, 1)
    return period.start


def window_start(period: Period, window: Window, rule: PeriodRule) -> dt.date | None:
    """First day of `window` for `period` (None: no lower bound)."""
    if window.kind is WindowKind.EVER:
        return None
    if window.kind is WindowKind.PERIOD:
        return rule_window_start(period, rule)
    if window.kind is WindowKind.DAYS:
        return period.end - dt.timedelta(days=window.length - 1)
    return add_months(period.end + ONE_DAY, -window.length)


def registered_since(period: Period, months: int, at: str) -> dt.date:
    """Latest registration start that counts as registered `months` before `at`."""
    anchor = period.end if at == "period_end" else period.start
    if months == 0:
        return anchor
    return add_months(anchor + ONE_DAY, -months)


def age_at(date_of_birth: dt.date, on: dt.date) -> int:
    """Whole years between `date_of_birth` and `on`.

    >>> age_at(dt.date(2000, 3, 1), dt.date(2024, 2, 29))
    23
    """
    before_birthday = (on.month, on.day) < (date_of_birth.month, date_of_birth.day)
    return on.year - date_of_birth.year - int(before_birthday)
