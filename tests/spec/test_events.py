"""Spec: events in windows, counts, latest/earliest dates and values."""

import datetime as dt

from tests.spec.harness import evaluate, merge, months, patient, sct

DM, DM_RES, HBA1C = sct(1), sct(2), sct(3)
CODELISTS = {
    "dm": ("snomedct", [DM]),
    "dm_res": ("snomedct", [DM_RES]),
    "hba1c": ("snomedct", [HBA1C]),
}


def ev(pid: int, date: str, code: str, value: float | None = None) -> dict:
    return dict(patient_id=pid, date=date, snomedct_code=code, numeric_value=value)


def events(*rows: dict) -> dict:
    return {"clinical_events": list(rows)}


def test_has_within_months_is_inclusive_at_both_ends(engine: str) -> None:
    # 12 months to 31 March 2024 = 1 April 2023 .. 31 March 2024.
    tables = merge(
        patient(1),
        patient(2),
        patient(3),
        patient(4),
        events(
            ev(1, "2023-04-01", HBA1C),
            ev(2, "2023-03-31", HBA1C),
            ev(3, "2024-03-31", HBA1C),
            ev(4, "2024-04-01", HBA1C),
        ),
    )
    got = evaluate(engine, "has(hba1c, within=12 months)", tables, CODELISTS)
    assert got == {1: True, 2: False, 3: True, 4: False}


def test_has_ever_and_days(engine: str) -> None:
    tables = merge(
        patient(1),
        patient(2),
        events(ev(1, "1990-01-01", DM), ev(2, "2024-03-02", DM)),
    )
    assert evaluate(engine, "has(dm, within=ever)", tables, CODELISTS) == {
        1: True,
        2: True,
    }
    # 30 days to 31 March: 2 March .. 31 March.
    assert evaluate(engine, "has(dm, within=30 days)", tables, CODELISTS) == {
        1: False,
        2: True,
    }


def test_codelist_filters_codes(engine: str) -> None:
    tables = merge(patient(1), events(ev(1, "2024-01-01", DM_RES)))
    assert evaluate(engine, "has(dm, within=ever)", tables, CODELISTS) == {1: False}


def test_count(engine: str) -> None:
    tables = merge(
        patient(1),
        patient(2),
        events(
            ev(1, "2024-01-01", HBA1C),
            ev(1, "2024-01-01", HBA1C),
            ev(1, "2022-01-01", HBA1C),
        ),
    )
    got = evaluate(engine, "count(hba1c, within=12 months)", tables, CODELISTS)
    assert got == {1: 2, 2: 0}


def test_latest_and_earliest_date(engine: str) -> None:
    tables = merge(
        patient(1),
        patient(2),
        events(ev(1, "2020-05-01", DM), ev(1, "2010-01-01", DM)),
    )
    assert evaluate(engine, "latest_date(dm, within=ever)", tables, CODELISTS) == {
        1: dt.date(2020, 5, 1),
        2: None,
    }
    assert evaluate(engine, "earliest_date(dm, within=ever)", tables, CODELISTS) == {
        1: dt.date(2010, 1, 1),
        2: None,
    }


def test_latest_value_takes_lowest_on_the_latest_day(engine: str) -> None:
    tables = merge(
        patient(1),
        patient(2),
        patient(3),
        events(
            ev(1, "2024-01-01", HBA1C, 70),
            ev(1, "2024-02-01", HBA1C, 60),
            ev(1, "2024-02-01", HBA1C, 50),
            ev(2, "2024-01-01", HBA1C, 40),
            ev(2, "2024-02-01", HBA1C, None),  # no value: ignored by value summaries
            ev(3, "2022-01-01", HBA1C, 40),  # outside the window
        ),
    )
    got = evaluate(engine, "latest_value(hba1c, within=12 months)", tables, CODELISTS)
    assert got == {1: 50.0, 2: 40.0, 3: None}
    got = evaluate(engine, "earliest_value(hba1c, within=12 months)", tables, CODELISTS)
    assert got == {1: 70.0, 2: 40.0, 3: None}


def test_value_summaries(engine: str) -> None:
    tables = merge(
        patient(1),
        events(
            ev(1, "2024-01-01", HBA1C, 40),
            ev(1, "2024-02-01", HBA1C, 60),
            ev(1, "2024-02-02", HBA1C, 80),
        ),
    )
    cl = CODELISTS
    assert evaluate(engine, "mean_value(hba1c, within=12 months)", tables, cl) == {
        1: 60.0
    }
    assert evaluate(engine, "min_value(hba1c, within=12 months)", tables, cl) == {
        1: 40.0
    }
    assert evaluate(engine, "max_value(hba1c, within=12 months)", tables, cl) == {
        1: 80.0
    }
    assert evaluate(engine, "sum_value(hba1c, within=12 months)", tables, cl) == {
        1: 180.0
    }


def test_value_comparison(engine: str) -> None:
    tables = merge(
        patient(1),
        patient(2),
        patient(3),
        events(ev(1, "2024-01-01", HBA1C, 58), ev(2, "2024-01-01", HBA1C, 58.5)),
    )
    got = evaluate(
        engine, "latest_value(hba1c, within=12 months) <= 58", tables, CODELISTS
    )
    assert got == {1: True, 2: False, 3: None}


def test_diagnosed_and_not_resolved(engine: str) -> None:
    tables = merge(
        patient(1),
        patient(2),
        patient(3),
        patient(4),
        patient(5),
        events(
            ev(1, "2010-01-01", DM),  # diagnosed, never resolved
            ev(2, "2010-01-01", DM),
            ev(2, "2015-01-01", DM_RES),  # resolved
            ev(3, "2010-01-01", DM),
            ev(3, "2015-01-01", DM_RES),
            ev(3, "2018-01-01", DM),
            ev(4, "2015-01-01", DM),
            ev(4, "2015-01-01", DM_RES),  # same day: stays on
            ev(5, "2024-04-01", DM),  # after the period end
        ),
    )
    got = evaluate(engine, "diagnosed(dm, resolved=dm_res)", tables, CODELISTS)
    assert got == {1: True, 2: False, 3: True, 4: True, 5: False}


def test_period_window_follows_the_period_rule(engine: str) -> None:
    tables = merge(
        patient(1),
        patient(2),
        patient(3),
        events(
            ev(1, "2024-03-05", HBA1C),
            ev(2, "2023-05-01", HBA1C),
            ev(3, "2023-03-31", HBA1C),
        ),
    )
    expr = "has(hba1c, within=period)"
    assert evaluate(engine, expr, tables, CODELISTS, period="as_at_end") == {
        1: True,
        2: False,
        3: False,
    }
    assert evaluate(engine, expr, tables, CODELISTS, period="last_12_months") == {
        1: True,
        2: True,
        3: False,
    }
    # Financial year to date for March 2024: 1 April 2023 .. 31 March 2024.
    got = evaluate(engine, expr, tables, CODELISTS, period="financial_year_to_date")
    assert got == {1: True, 2: True, 3: False}


def test_every_period_in_one_query(engine: str) -> None:
    tables = merge(patient(1), events(ev(1, "2024-02-10", HBA1C)))
    periods = months("2024-01", "2024-04")
    got = [
        evaluate(
            engine,
            "has(hba1c, within=2 months)",
            tables,
            CODELISTS,
            periods=periods,
            period_index=i,
        )
        for i in range(4)
    ]
    assert got == [{1: False}, {1: True}, {1: True}, {1: False}]


def test_hospital_spells_by_method_and_diagnosis(engine: str) -> None:
    spells = {
        "apcs": [
            dict(
                spell_id=1,
                patient_id=1,
                admission_date="2024-03-02",
                admission_method="emergency",
                primary_diagnosis="J44.1",
            ),
            dict(
                spell_id=2,
                patient_id=1,
                admission_date="2024-03-05",
                admission_method="elective",
                primary_diagnosis="J44.1",
            ),
            dict(
                spell_id=3,
                patient_id=1,
                admission_date="2024-03-09",
                admission_method="emergency",
                primary_diagnosis="I21",
            ),
            dict(
                spell_id=4,
                patient_id=2,
                admission_date="2024-03-09",
                admission_method="emergency",
                primary_diagnosis="J44.0",
            ),
        ]
    }
    tables = merge(patient(1), patient(2), spells)
    cl = {"copd": ("icd10", ["J44.1", "J44.0"])}
    got = evaluate(
        engine, 'count(copd, admission_method="emergency", within=period)', tables, cl
    )
    assert got == {1: 1, 2: 1}
    got = evaluate(
        engine,
        'count(table=apcs, admission_method=["emergency", "elective"], within=period)',
        tables,
        cl,
    )
    assert got == {1: 3, 2: 1}


def test_medications_outpatients_and_ae(engine: str) -> None:
    statin = sct(9)
    tables = merge(
        patient(1),
        patient(2),
        {
            "medications": [dict(patient_id=1, date="2024-03-01", dmd_code=statin)],
            "opa": [
                dict(
                    appointment_id=1,
                    patient_id=2,
                    appointment_date="2024-03-03",
                    attendance_type="first",
                    attendance_status="dna",
                )
            ],
            "ec": [
                dict(
                    attendance_id=1,
                    patient_id=2,
                    arrival_date="2024-03-04",
                    department_type="type_3",
                )
            ],
        },
    )
    cl = {"statins": ("dmd", [statin])}
    assert evaluate(engine, "has(statins, within=period)", tables, cl) == {
        1: True,
        2: False,
    }
    got = evaluate(
        engine, 'count(table=opa, attendance_status="dna", within=period)', tables, cl
    )
    assert got == {1: 0, 2: 1}
    got = evaluate(
        engine, 'count(table=ec, department_type="type_1", within=period)', tables, cl
    )
    assert got == {1: 0, 2: 0}


def test_deaths(engine: str) -> None:
    tables = merge(
        patient(1, reg=("2000-01-01", "2024-03-10")),
        patient(2),
        patient(3),
        {
            "ons_deaths": [
                dict(patient_id=1, date="2024-03-10", underlying_cause_of_death="I21"),
                dict(patient_id=3, date="2024-04-10", underlying_cause_of_death="C34"),
            ]
        },
    )
    cl = {"cvd": ("icd10", ["I21"])}
    assert evaluate(engine, "died(within=period)", tables, cl) == {
        1: True,
        2: False,
        3: False,
    }
    assert evaluate(engine, "died(cvd, within=period)", tables, cl) == {
        1: True,
        2: False,
        3: False,
    }
    assert evaluate(engine, "alive", tables, cl) == {1: False, 2: True, 3: True}
