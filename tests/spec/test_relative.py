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


def test_where_with_null_filter_and_date_arithmetic(engine: str) -> None:
    def req(rid: int, pid: int, asked: str, answered: str | None) -> dict:
        return dict(
            request_id=rid, patient_id=pid, request_date=asked, response_date=answered
        )

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
