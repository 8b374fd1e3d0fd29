"""Spec: registration, attribution to a practice, age and patient attributes."""

from tests.spec.harness import evaluate, merge, patient


def test_registered_at_period_end(engine: str) -> None:
    tables = merge(
        patient(1, reg=("2000-01-01", None)),
        patient(2, reg=("2000-01-01", "2024-03-15")),  # left during March
        patient(3, reg=("2024-03-31", None)),  # joined on the last day
        patient(4, reg=("2024-04-01", None)),  # joined after: not on the grid
    )
    assert evaluate(engine, "registered", tables) == {1: True, 2: False, 3: True}


def test_registered_continuously_for_n_months(engine: str) -> None:
    # 3 months up to 31 March 2024: registered on or before 1 January 2024.
    tables = merge(
        patient(1, reg=("2024-01-01", None)),
        patient(2, reg=("2024-01-02", None)),
        patient(3, reg=("2023-01-01", "2024-03-30")),
    )
    got = evaluate(engine, "registered(months=3)", tables)
    assert got == {1: True, 2: False, 3: False}


def test_registered_at_period_start(engine: str) -> None:
    tables = merge(
        patient(1, reg=("2024-03-01", None)),
        patient(2, reg=("2024-03-02", None)),
        patient(3, reg=("2020-01-01", "2024-03-10")),
    )
    got = evaluate(engine, "registered(at=period_start)", tables)
    assert got == {1: True, 2: False, 3: True}


def test_attribution_prefers_registration_current_at_end(engine: str) -> None:
    tables = merge(
        patient(1, reg=("2000-01-01", "2024-03-10"), practice=1),
        {
            "practice_registrations": [
                dict(
                    patient_id=1,
                    start_date="2024-03-11",
                    end_date=None,
                    practice_pseudo_id=2,
                )
            ]
        },
    )
    # registered(months=1) uses the attributed (new) registration: too recent.
    assert evaluate(engine, "registered(months=1)", tables) == {1: False}
    assert evaluate(engine, "registered", tables) == {1: True}


def test_age_at_period_end_and_start(engine: str) -> None:
    tables = merge(
        patient(1, dob="2000-03-01"),  # birthday in the period
        patient(2, dob="2000-04-01"),
    )
    assert evaluate(engine, "age", tables) == {1: 24, 2: 23}
    assert evaluate(engine, "age_at_start", tables) == {1: 24, 2: 23}
    tables = merge(patient(3, dob="2000-03-01"))
    got = evaluate(
        engine, "age_at_start", tables, periods=_feb_to_march(), period_index=0
    )
    assert got == {3: 23}


def _feb_to_march():  # type: ignore[no-untyped-def]
    from tests.spec.harness import months

    return months("2024-02", "2024-03")


def test_age_comparisons(engine: str) -> None:
    tables = merge(patient(1, dob="2007-03-01"), patient(2, dob="2007-04-01"))
    assert evaluate(engine, "age >= 17", tables) == {1: True, 2: False}
    assert evaluate(engine, "age >= 17 and age <= 79", tables) == {1: True, 2: False}


def test_sex_and_categorical_attributes(engine: str) -> None:
    tables = merge(
        patient(1, sex="female", ethnicity="Asian: Indian"),
        patient(2, sex="male"),  # ethnicity defaults to "Not stated"
    )
    assert evaluate(engine, 'sex == "female"', tables) == {1: True, 2: False}
    assert evaluate(engine, 'sex != "female"', tables) == {1: False, 2: True}
    got = evaluate(engine, 'ethnicity in ["Asian: Indian", "Asian: Pakistani"]', tables)
    assert got == {1: True, 2: False}


def test_missing_attribute_is_unknown(engine: str) -> None:
    tables = merge(patient(1, imd_decile=2), patient(2))
    assert evaluate(engine, "imd_decile <= 2", tables) == {1: True, 2: None}
    assert evaluate(engine, "imd_decile in [1, 2]", tables) == {1: True, 2: None}
    assert evaluate(engine, "imd_decile is null", tables) == {1: False, 2: True}
    assert evaluate(engine, "coalesce(imd_decile, 5)", tables) == {1: 2, 2: 5}


def test_practice_organisation_attributes(engine: str) -> None:
    from tests.spec.harness import PRACTICES

    tables = merge(
        patient(1, practice=1), patient(2, practice=3), {"practices": PRACTICES}
    )
    assert evaluate(engine, 'pcn_code == "PCN1"', tables) == {1: True, 2: False}
    assert evaluate(engine, "practice_code", tables) == {1: "A00001", 2: "A00003"}
