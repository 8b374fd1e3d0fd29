"""Periods, windows and ages: the date arithmetic both engines share."""

import datetime as dt

import pytest

from carepilot.errors import UserError
from carepilot.indicators.expr import Window, WindowKind
from carepilot.indicators.periods import (
    Frequency,
    Period,
    PeriodRule,
    add_months,
    age_at,
    make_periods,
    parse_month,
    registered_since,
    rule_window_start,
    window_start,
)

D = dt.date


def test_monthly_quarterly_yearly_periods_end_on_last_day() -> None:
    months = make_periods(D(2024, 1, 1), D(2024, 3, 1), Frequency.MONTH)
    assert months == [
        Period(D(2024, 1, 1), D(2024, 1, 31)),
        Period(D(2024, 2, 1), D(2024, 2, 29)),
        Period(D(2024, 3, 1), D(2024, 3, 31)),
    ]
    quarters = make_periods(D(2024, 4, 1), D(2025, 3, 1), Frequency.QUARTER)
    assert len(quarters) == 4 and quarters[-1].end == D(2025, 3, 31)
    years = make_periods(D(2021, 4, 1), D(2023, 4, 1), Frequency.YEAR)
    assert [p.end for p in years] == [D(2022, 3, 31), D(2023, 3, 31), D(2024, 3, 31)]


def test_empty_range_is_an_error() -> None:
    with pytest.raises(UserError, match="before --from"):
        make_periods(D(2024, 2, 1), D(2024, 1, 1), Frequency.MONTH)


def test_parse_month() -> None:
    assert parse_month("2024-04") == D(2024, 4, 1)
    with pytest.raises(UserError, match="YYYY-MM"):
        parse_month("2024-13")


def test_add_months_clamps() -> None:
    assert add_months(D(2024, 3, 31), -1) == D(2024, 2, 29)
    assert add_months(D(2024, 1, 31), 13) == D(2025, 2, 28)
    assert add_months(D(2024, 12, 1), 1) == D(2025, 1, 1)


def test_windows() -> None:
    p = Period(D(2024, 3, 1), D(2024, 3, 31))
    rule = PeriodRule()
    assert window_start(p, Window(WindowKind.MONTHS, 12), rule) == D(2023, 4, 1)
    assert window_start(p, Window(WindowKind.DAYS, 1), rule) == D(2024, 3, 31)
    assert window_start(p, Window(WindowKind.EVER), rule) is None
    assert window_start(p, Window(WindowKind.PERIOD), rule) == D(2024, 3, 1)


def test_period_rules() -> None:
    p = Period(D(2024, 3, 1), D(2024, 3, 31))
    assert rule_window_start(p, PeriodRule.parse("last_3_months")) == D(2024, 1, 1)
    fy = PeriodRule.parse("financial_year_to_date")
    assert rule_window_start(p, fy) == D(2023, 4, 1)
    assert rule_window_start(Period(D(2024, 4, 1), D(2024, 4, 30)), fy) == D(2024, 4, 1)
    assert str(PeriodRule.parse("last_12_months")) == "last_12_months"
    with pytest.raises(ValueError, match="as_at_end"):
        PeriodRule.parse("last_0_months")


def test_registered_since_and_age() -> None:
    p = Period(D(2024, 3, 1), D(2024, 3, 31))
    assert registered_since(p, 3, "period_end") == D(2024, 1, 1)
    assert registered_since(p, 0, "period_start") == D(2024, 3, 1)
    assert age_at(D(2000, 4, 1), D(2024, 3, 31)) == 23
    assert age_at(D(2000, 3, 1), D(2024, 3, 1)) == 24
