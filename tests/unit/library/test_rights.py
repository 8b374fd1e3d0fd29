"""Hand-worked fixtures for the NHS Constitution rights indicators.

Period: March 2024 (end 2024-03-31). Windows: 120 days from 2023-12-03;
90 days from 2024-01-01; 3 months from 2024-01-01. Rows are (num, den, exc),
summed over a patient's events for the event-level indicators (RTT pathways,
record access requests).
"""

from __future__ import annotations

import datetime as dt

from carepilot.indicators.periods import Period
from tests.unit.library.fixtures import (
    LibraryRunner,
    ev,
    med,
    merge,
    person,
    row,
    totals,
)

RUN = LibraryRunner()


def _rtt(pid: int, start: str, stop: str | None = None):
    return row(
        "referrals",
        pid,
        referral_date=start,
        clock_start_date=start,
        clock_stop_date=stop,
    )


def test_rtt_incomplete_pathways_18_weeks() -> None:
    # One row per pathway open at the period end; in time if waited < 126 days.
    tables = merge(
        person(1),
        _rtt(1, "2023-11-27"),  # waited 125 days: within 18 weeks (1, 1, 0)
        person(2),
        _rtt(2, "2023-11-26"),  # waited 126 days: over (0, 1, 0)
        person(3),
        _rtt(3, "2023-06-01", "2023-09-01"),  # treated: not waiting
        person(4),
        _rtt(4, "2023-06-01", "2024-04-15"),  # stops after the period end (0, 1, 0)
        # 5 old pathway complete, new one open since 2024-01-10 -> (1, 1, 0)
        person(5),
        _rtt(5, "2022-01-01", "2022-03-01"),
        _rtt(5, "2024-01-10"),
        person(6),
        _rtt(6, "2024-04-02"),  # clock starts after the period: out
        # 7 two open pathways, one within and one over 18 weeks: both count
        person(7),
        _rtt(7, "2024-03-01"),
        _rtt(7, "2023-01-01"),
        # 8 clock stopped on the period end: complete, out
        person(8),
        _rtt(8, "2024-01-01", "2024-03-31"),
    )
    rows = RUN.rows("rtt-incomplete-18-weeks", tables)
    assert rows == {
        1: (1.0, 1.0, 0.0),
        2: (0.0, 1.0, 0.0),
        4: (0.0, 1.0, 0.0),
        5: (1.0, 1.0, 0.0),
        7: (1.0, 2.0, 0.0),
    }
    assert totals(rows) == (3.0, 6.0, 0.0)  # 50 % of pathways within 18 weeks


def test_nice_ta_within_90_days() -> None:
    # cohort: AF first recorded 2023-12-03..2023-12-31 (91-120 days before the end)
    tables = merge(
        person(1),
        ev(1, "2023-12-10", "atrial_fibrillation"),
        med(1, "2024-01-05", "nice_ta_medicines"),  # 26 days after: (1, 1, 0)
        person(2),
        ev(2, "2023-12-10", "atrial_fibrillation"),  # untreated (0, 1, 0)
        # 3 first issue 2024-03-15: 96 days after diagnosis, too late (0, 1, 0)
        person(3),
        ev(3, "2023-12-10", "atrial_fibrillation"),
        med(3, "2024-03-15", "nice_ta_medicines"),
        # 8 issued on day 90 (2024-03-09) -> (1, 1, 0); 9 on day 91 -> (0, 1, 0)
        person(8),
        ev(8, "2023-12-10", "atrial_fibrillation"),
        med(8, "2024-03-09", "nice_ta_medicines"),
        person(9),
        ev(9, "2023-12-10", "atrial_fibrillation"),
        med(9, "2024-03-10", "nice_ta_medicines"),
        # 4 issued 2023-12-05, before the diagnosis -> not a response to it (0, 1, 0)
        person(4),
        ev(4, "2023-12-10", "atrial_fibrillation"),
        med(4, "2023-12-05", "nice_ta_medicines"),
        person(5),
        ev(5, "2024-01-05", "atrial_fibrillation"),  # < 90 days: not yet due
        person(6),
        ev(6, "2023-11-30", "atrial_fibrillation"),  # earlier cohort: out
        # 7 diagnosed on the cohort's first day, treated the same day -> (1, 1, 0)
        person(7),
        ev(7, "2023-12-03", "atrial_fibrillation"),
        med(7, "2023-12-03", "nice_ta_medicines"),
    )
    assert RUN.rows("nice-ta-doac-90-days", tables) == {
        1: (1.0, 1.0, 0.0),
        2: (0.0, 1.0, 0.0),
        3: (0.0, 1.0, 0.0),
        4: (0.0, 1.0, 0.0),
        7: (1.0, 1.0, 0.0),
        8: (1.0, 1.0, 0.0),
        9: (0.0, 1.0, 0.0),
    }


def test_record_access_within_one_month() -> None:
    def req(pid: int, date: str, response: str | None = None):
        return row(
            "record_access_requests", pid, request_date=date, response_date=response
        )

    # Cohort: requests whose deadline (request date + 1 calendar month, clamped to
    # the month end) falls in March 2024, i.e. received 2024-02-01..2024-02-29.
    # One row per request.
    tables = merge(
        person(1),
        req(1, "2024-02-10", "2024-02-20"),  # answered (1, 1, 0)
        person(2),
        req(2, "2024-02-10"),  # never answered: null response (0, 1, 0)
        person(3),
        req(3, "2024-03-05"),  # deadline 5 April, not reached: out
        person(4),
        req(4, "2024-01-31", "2024-02-02"),  # deadline 29 Feb: earlier cohort, out
        # 5 two requests in the cohort, one in time one late -> (1, 2, 0)
        person(5),
        req(5, "2024-02-10", "2024-02-11"),
        req(5, "2024-02-12", "2024-03-13"),  # deadline 12 March: a day late
        person(6),
        req(6, "2024-02-29", "2024-03-29"),  # on the deadline: in time (1, 1, 0)
        # 7 an old answered request does not count for the new one (0, 1, 0)
        person(7),
        req(7, "2023-05-01", "2023-05-10"),
        req(7, "2024-02-15"),
        # 8 first and last days of the cohort, both answered a day late -> (0, 2, 0)
        person(8),
        req(8, "2024-02-01", "2024-03-02"),
        req(8, "2024-02-29", "2024-03-30"),
        # 9 answered 1 March for a 1 February request: 29 days, in time (1, 1, 0)
        person(9),
        req(9, "2024-02-01", "2024-03-01"),
    )
    rows = RUN.rows("record-access-one-month", tables)
    assert rows == {
        1: (1.0, 1.0, 0.0),
        2: (0.0, 1.0, 0.0),
        5: (1.0, 2.0, 0.0),
        6: (1.0, 1.0, 0.0),
        7: (0.0, 1.0, 0.0),
        8: (0.0, 2.0, 0.0),
        9: (1.0, 1.0, 0.0),
    }
    # February 2024 (29 days): 29, 30 and 31 January are all due on 29 February.
    feb = [Period(dt.date(2024, 2, 1), dt.date(2024, 2, 29))]
    tables = merge(
        person(1),
        req(1, "2024-01-31", "2024-02-29"),  # due 29 Feb, answered then (1, 1, 0)
        person(2),
        req(2, "2024-01-30", "2024-03-01"),  # due 29 Feb, late (0, 1, 0)
        person(3),
        req(3, "2024-01-29", "2024-02-28"),  # due 29 Feb (1, 1, 0)
        person(4),
        req(4, "2024-01-01", "2024-01-31"),  # due 1 Feb, first day (1, 1, 0)
        person(5),
        req(5, "2023-12-31", "2024-01-31"),  # due 31 Jan: January's cohort, out
    )
    assert RUN.rows("record-access-one-month", tables, periods=feb) == {
        1: (1.0, 1.0, 0.0),
        2: (0.0, 1.0, 0.0),
        3: (1.0, 1.0, 0.0),
        4: (1.0, 1.0, 0.0),
    }
