"""Spec: windows relative to another event, row conditions, arithmetic and
event-level indicators (`unit: event`), on reference, DuckDB and SQLite."""

import datetime as dt

from tests.spec.harness import (
    definition,
    evaluate,
    indicator_rows,
    merge,
    months,
    patient,
    sct,
)

DEP, REV = sct(21), sct(22)
CODELISTS = {"dep": ("snomedct", [DEP]), "rev": ("snomedct", [REV])}


def ev(pid: int, date: str, code: str, value: float | None = None) -> dict:
    return dict(patient_id=pid, date=date, snomedct_code=code, numeric_value=value)


def spell(
    sid: int, pid: int, admitted: str, discharged: str | None, method: str = "emergency"
) -> dict:
    return dict(
        spell_id=sid,
        patient_id=pid,
        admission_date=admitted,
        discharge_date=discharged,
        admission_method=method,
        primary_diagnosis="I21",
    )


def test_review_10_to_56_days_after_diagnosis_is_inclusive(engine: str) -> None:
    # Diagnosis 1 Jan 2024: day 10 = 11 Jan, day 56 = 26 Feb.
    reviews = {1: "2024-01-11", 2: "2024-01-10", 3: "2024-02-26", 4: "2024-02-27"}
    tables = merge(
        *[patient(p) for p in (1, 2, 3, 4, 5)],
        {
            "clinical_events": [ev(p, "2024-01-01", DEP) for p in reviews]
            + [ev(p, d, REV) for p, d in reviews.items()]
            + [ev(5, "2024-01-20", REV)]  # no diagnosis: missing anchor
        },
    )
    expr = "has(rev, within=10 to 56 days after earliest_date(dep, within=12 months))"
    got = evaluate(engine, expr, tables, CODELISTS)
    assert got == {1: True, 2: False, 3: True, 4: False, 5: False}


def test_relative_window_never_looks_past_the_period_end(engine: str) -> None:
    # Diagnosis 20 March; review 5 April is within 90 days but after 31 March.
    tables = merge(
        patient(1),
        {"clinical_events": [ev(1, "2024-03-20", DEP), ev(1, "2024-04-05", REV)]},
    )
    expr = "count(rev, within=90 days after latest_date(dep, within=ever))"
    assert evaluate(engine, expr, tables, CODELISTS) == {1: 0}
    april = months("2024-04", "2024-04")
    assert evaluate(engine, expr, tables, CODELISTS, periods=april) == {1: 1}


def test_window_before_an_anchor(engine: str) -> None:
    tables = merge(
        patient(1),
        patient(2),
        {
            "clinical_events": [
                ev(1, "2024-03-01", DEP),
                ev(1, "2024-02-01", REV),  # 29 days before
                ev(2, "2024-03-01", DEP),
                ev(2, "2024-01-30", REV),  # 31 days before
            ]
        },
    )
    expr = "has(rev, within=30 days before latest_date(dep, within=ever))"
    assert evaluate(engine, expr, tables, CODELISTS) == {1: True, 2: False}


def test_date_difference_and_shift(engine: str) -> None:
    tables = merge(
        patient(1),
        patient(2),
        {
            "clinical_events": [
                ev(1, "2024-02-28", DEP),
                ev(1, "2024-03-01", REV),  # across 29 Feb 2024: 2 days
                ev(2, "2023-12-31", DEP),
            ]
        },
    )
    diff = "latest_date(rev, within=ever) - latest_date(dep, within=ever)"
    assert evaluate(engine, diff, tables, CODELISTS) == {1: 2, 2: None}
    shifted = 'latest_date(dep, within=ever) + 2 days == date("2024-03-01")'
    assert evaluate(engine, shifted, tables, CODELISTS) == {1: True, 2: False}
    weeks = 'latest_date(dep, within=ever) - 1 weeks < date("2023-12-25")'
    assert evaluate(engine, weeks, tables, CODELISTS) == {1: False, 2: True}


def test_value_arithmetic_and_division_by_zero(engine: str) -> None:
    tables = merge(
        patient(1),
        patient(2),
        patient(3),
        {
            "clinical_events": [
                ev(1, "2024-01-01", DEP, 10.0),
                ev(1, "2024-03-01", REV, 4.0),
                ev(2, "2024-01-01", DEP, 3.0),
                ev(2, "2024-03-01", REV, 0.0),
            ]
        },
    )
    gain = "latest_value(rev, within=ever) - latest_value(dep, within=ever)"
    assert evaluate(engine, gain, tables, CODELISTS) == {1: -6.0, 2: -3.0, 3: None}
    ratio = "latest_value(dep, within=ever) / latest_value(rev, within=ever)"
    assert evaluate(engine, ratio, tables, CODELISTS) == {1: 2.5, 2: None, 3: None}
    ints = "count(dep, within=ever) * 3 + -1"
    assert evaluate(engine, ints, tables, CODELISTS) == {1: 2, 2: 2, 3: -1}


def req(rid: int, pid: int, asked: str, answered: str | None) -> dict:
    return dict(
        request_id=rid, patient_id=pid, request_date=asked, response_date=answered
    )


def test_where_with_null_filter_and_date_arithmetic(engine: str) -> None:
    tables = merge(
        patient(1),
        patient(2),
        patient(3),
        {
            "record_access_requests": [
                req(1, 1, "2024-03-01", "2024-03-31"),  # 30 days: in time
                req(2, 2, "2024-03-01", "2024-04-01"),  # 31 days: late
                req(3, 3, "2024-03-01", None),  # not answered
            ]
        },
    )
    late = (
        "count(table=record_access_requests, within=period, "
        "where=response_date is null or response_date - request_date > 30)"
    )
    assert evaluate(engine, late, tables) == {1: 0, 2: 1, 3: 1}
    shifted = (
        "has(table=record_access_requests, within=period, "
        "where=response_date <= request_date + 30 days)"
    )
    assert evaluate(engine, shifted, tables) == {1: True, 2: False, 3: False}


def test_value_expression_sums_length_of_stay(engine: str) -> None:
    tables = merge(
        patient(1),
        patient(2),
        {
            "apcs": [
                spell(1, 1, "2024-03-01", "2024-03-04"),  # 3 days
                spell(2, 1, "2024-03-10", "2024-03-10"),  # day case: 0
                spell(3, 2, "2024-03-20", None),  # still in hospital: no value
            ]
        },
    )
    beds = "sum_value(table=apcs, value=discharge_date - admission_date, within=period)"
    assert evaluate(engine, beds, tables) == {1: 3.0, 2: None}


READMISSION = definition(
    unit="event",
    events="table=apcs, date=discharge_date, within=3 months",
    numerator=(
        'has(table=apcs, admission_method="emergency", '
        "within=0 to 30 days after discharge_date)"
    ),
    exclusions="discharge_date > period_end - 30 days",
)


def test_readmission_per_discharge_day_30_counts_day_31_does_not(engine: str) -> None:
    # Period: March 2024; discharges 1 Jan - 31 March, follow-up complete by
    # 1 March (31 March - 30 days).
    tables = merge(
        patient(1),
        patient(2, practice=2),
        {
            "apcs": [
                spell(1, 1, "2024-01-01", "2024-01-05", "elective"),
                # day 30 after spell 1's discharge; same-day spell: it is not
                # its own readmission
                spell(2, 1, "2024-02-04", "2024-02-04"),
                # day 31 after spell 2's discharge
                spell(3, 1, "2024-03-06", "2024-03-08"),
                spell(4, 2, "2024-01-10", "2024-01-12"),
                spell(5, 2, "2024-01-12", "2024-01-13"),  # day 0 readmission
                spell(6, 2, "2024-03-01", None),  # not discharged
            ]
        },
    )
    rows = indicator_rows(engine, READMISSION, tables)
    # patient, period, practice, num, den, exc: one row per discharge
    assert rows == [
        (1, 0, 1, 0.0, 1.0, 0.0),  # spell 2: next admission on day 31
        (1, 0, 1, 1.0, 1.0, 0.0),  # spell 1: readmitted on day 30
        (2, 0, 2, 0.0, 1.0, 0.0),  # spell 5: no readmission
        (2, 0, 2, 1.0, 1.0, 0.0),  # spell 4: readmitted on day 0
    ]


def test_event_level_rows_per_period_and_mean(engine: str) -> None:
    defn = definition(
        value_type="mean",
        unit="event",
        events="table=apcs, within=period",
        numerator="discharge_date - admission_date",
    )
    tables = merge(
        patient(1, reg=("2024-02-01", None)),
        {
            "apcs": [
                spell(1, 1, "2024-01-01", "2024-01-05"),  # before registration
                spell(2, 1, "2024-02-01", "2024-02-05"),
                spell(3, 1, "2024-03-01", "2024-03-03"),
                spell(4, 1, "2024-03-10", None),  # no value: left out
            ]
        },
    )
    rows = indicator_rows(engine, defn, tables, months("2024-01", "2024-03"))
    assert rows == [(1, 1, 1, 4.0, 1.0, 0.0), (1, 2, 1, 2.0, 1.0, 0.0)]


def test_dna_rate_per_appointment(engine: str) -> None:
    def appt(aid: int, pid: int, day: str, status: str) -> dict:
        return dict(
            appointment_id=aid,
            patient_id=pid,
            appointment_date=day,
            attendance_type="first",
            attendance_status=status,
        )

    defn = definition(
        unit="event",
        population="registered and age >= 18",
        events='table=opa, attendance_status=["attended", "dna"], within=period',
        numerator='attendance_status == "dna"',
    )
    tables = merge(
        patient(1),
        patient(2, dob="2010-01-01"),
        {
            "opa": [
                appt(1, 1, "2024-03-01", "dna"),
                appt(2, 1, "2024-03-02", "attended"),
                appt(3, 1, "2024-03-03", "attended"),
                appt(4, 1, "2024-03-04", "cancelled"),
                appt(5, 2, "2024-03-04", "dna"),  # under 18: not in population
            ]
        },
    )
    rows = indicator_rows(engine, defn, tables)
    assert sum(r[3] for r in rows) == 1.0 and sum(r[4] for r in rows) == 3.0


def test_shifted_dates_are_inclusive_across_month_ends(engine: str) -> None:
    tables = merge(
        patient(1),
        {"clinical_events": [ev(1, "2024-01-31", DEP), ev(1, "2024-03-01", REV)]},
    )
    expr = "latest_date(rev, within=ever) <= latest_date(dep, within=ever) + 30 days"
    assert evaluate(engine, expr, tables, CODELISTS) == {1: True}
    assert dt.date(2024, 1, 31) + dt.timedelta(days=30) == dt.date(2024, 3, 1)


# -- calendar months ------------------------------------------------------------------


def test_date_plus_calendar_months_clamps_to_the_month_end(engine: str) -> None:
    # Days from X to X + 1 month: 31 Jan 2024 -> 29 Feb (leap), 31 Jan 2023 ->
    # 28 Feb, 15 Dec 2023 -> 15 Jan 2024, 30 Apr -> 30 May, 29 Feb -> 29 Mar,
    # 31 Mar -> 30 Apr; 29 Feb 2024 + 1 year -> 28 Feb 2025.
    latest = {
        1: "2024-01-31",
        2: "2023-01-31",
        3: "2023-12-15",
        4: "2023-04-30",
        5: "2024-02-29",
        6: "2024-03-31",
    }
    tables = merge(
        *[patient(p) for p in latest],
        patient(7),  # no event: missing
        {"clinical_events": [ev(p, d, DEP) for p, d in latest.items()]},
    )
    plus = "latest_date(dep, within=ever) + 1 month - latest_date(dep, within=ever)"
    got = evaluate(engine, plus, tables, CODELISTS)
    assert got == {1: 29, 2: 28, 3: 31, 4: 30, 5: 29, 6: 30, 7: None}
    year = "latest_date(dep, within=ever) + 1 year - latest_date(dep, within=ever)"
    assert evaluate(engine, year, tables, CODELISTS)[5] == 365  # to 28 Feb 2025
    minus = "latest_date(dep, within=ever) - 1 month - latest_date(dep, within=ever)"
    got = evaluate(engine, minus, tables, CODELISTS)
    # 31 Mar 2024 - 1 month = 29 Feb 2024 (31 days earlier); 31 Jan -> 31 Dec;
    # 15 Dec -> 15 Nov (30 days).
    assert (got[6], got[1], got[2], got[3]) == (-31, -31, -31, -30)
    # Compared with a date literal, a literal operand and a period date.
    cmp = 'latest_date(dep, within=ever) + 1 month == date("2024-02-29")'
    assert evaluate(engine, cmp, tables, CODELISTS) == {
        1: True,
        2: False,
        3: False,
        4: False,
        5: False,
        6: False,
        7: None,
    }
    lit = 'period_end >= date("2024-01-31") + 1 month'
    assert set(evaluate(engine, lit, tables, CODELISTS).values()) == {True}


def test_record_access_within_one_calendar_month(engine: str) -> None:
    # Received 31 Jan 2024: due 29 Feb; received 31 Jan 2023: due 28 Feb 2023;
    # received 1 Mar: due 1 Apr (31 days), received 30 Apr: due 30 May.
    reqs = [
        req(1, 1, "2024-01-31", "2024-02-29"),  # last day: in time
        req(2, 1, "2024-01-31", "2024-03-01"),  # late
        req(3, 2, "2023-01-31", "2023-02-28"),  # in time (not a leap year)
        req(4, 2, "2023-01-31", "2023-03-01"),  # late
        req(5, 3, "2024-03-01", "2024-04-01"),  # 31 days, still in time
        req(6, 3, "2024-04-30", "2024-05-31"),  # one day late
        req(7, 3, "2024-04-30", None),  # unanswered: never in time
    ]
    tables = merge(patient(1), patient(2), patient(3), {"record_access_requests": reqs})
    in_time = (
        "count(table=record_access_requests, within=ever, "
        "where=response_date <= request_date + 1 month)"
    )
    periods = months("2024-06", "2024-06")
    got = evaluate(engine, in_time, tables, periods=periods)
    assert got == {1: 1, 2: 1, 3: 1}


def test_relative_window_in_calendar_months(engine: str) -> None:
    # Diagnosis 31 Jan 2024: "within 1 month after" is 31 Jan .. 29 Feb.
    reviews = {1: "2024-02-29", 2: "2024-03-01", 3: "2024-01-31", 4: "2024-01-30"}
    tables = merge(
        *[patient(p) for p in reviews],
        {
            "clinical_events": [ev(p, "2024-01-31", DEP) for p in reviews]
            + [ev(p, d, REV) for p, d in reviews.items()]
        },
    )
    after = "has(rev, within=1 month after earliest_date(dep, within=ever))"
    got = evaluate(engine, after, tables, CODELISTS)
    assert got == {1: True, 2: False, 3: True, 4: False}
    # 1 to 2 months before 31 Mar 2024: 31 Jan .. 29 Feb.
    tables = merge(
        *[patient(p) for p in (1, 2, 3, 4)],
        {
            "clinical_events": [ev(p, "2024-03-31", DEP) for p in (1, 2, 3, 4)]
            + [
                ev(1, "2024-01-31", REV),
                ev(2, "2024-01-30", REV),
                ev(3, "2024-02-29", REV),
                ev(4, "2024-03-01", REV),
            ]
        },
    )
    before = "has(rev, within=1 to 2 months before latest_date(dep, within=ever))"
    got = evaluate(engine, before, tables, CODELISTS)
    assert got == {1: True, 2: False, 3: True, 4: False}


EVENT_MONTH = definition(
    unit="event",
    events="table=record_access_requests, within=period",
    period="last_12_months",
    numerator=(
        "has(table=record_access_requests, within=0 to 1 months after request_date)"
    ),
)


def test_event_level_relative_window_in_months_never_matches_itself(
    engine: str,
) -> None:
    # Request 10 Jan has another request on 10 Feb (exactly one month later);
    # request 10 Feb has none within a month after it (itself excluded).
    tables = merge(
        patient(1),
        {
            "record_access_requests": [
                req(1, 1, "2024-01-10", None),
                req(2, 1, "2024-02-10", None),
            ]
        },
    )
    rows = indicator_rows(engine, EVENT_MONTH, tables)
    assert sorted((r[3], r[4]) for r in rows) == [(0.0, 1.0), (1.0, 1.0)]


LINKED = definition(
    unit="event",
    events='table=apcs, date=discharge_date, admission_method="emergency", within=period',
    period="last_12_months",
    numerator=(
        "count(table=social_care_packages, link=after_discharge_spell_id, "
        "within=0 to 7 days after discharge_date) >= 1"
    ),
    exceptions=(
        "has(table=social_care_packages, link=after_discharge_spell_id, within=ever)"
    ),
)


def pkg(pid_: int, package_id: int, start: str, spell_id: int | None) -> dict:
    return dict(
        package_id=package_id,
        patient_id=pid_,
        start_date=start,
        package_type="home_care",
        after_discharge_spell_id=spell_id,
    )


def test_link_matches_rows_to_the_counted_event(engine: str) -> None:
    tables = merge(
        patient(1),
        patient(2),
        {
            "apcs": [
                spell(11, 1, "2024-01-01", "2024-01-10"),
                spell(12, 1, "2024-02-01", "2024-02-05"),
                spell(21, 2, "2024-01-01", "2024-01-10"),
            ],
            "social_care_packages": [
                pkg(1, 1, "2024-03-01", 11),  # linked to 11, 51 days later
                pkg(1, 2, "2024-02-06", None),  # after spell 12 but unlinked
                pkg(2, 3, "2024-01-12", 21),  # linked to 21 within 7 days
                pkg(2, 4, "2024-04-10", 21),  # after the period end: ignored
            ],
        },
    )
    rows = indicator_rows(engine, LINKED, tables)
    # (pid, num, den, exc): spell 11 has a linked package, but 51 days later ->
    # exception; spell 12 none linked (the unlinked one does not count); spell 21
    # linked within 7 days -> numerator (the later linked package is ignored).
    assert sorted((r[0], r[3], r[4], r[5]) for r in rows) == [
        (1, 0.0, 0.0, 1.0),
        (1, 0.0, 1.0, 0.0),
        (2, 1.0, 1.0, 0.0),
    ]
