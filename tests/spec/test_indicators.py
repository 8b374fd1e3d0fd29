"""Spec: whole indicators at patient level (population, exclusions, exceptions)."""

from tests.spec.harness import definition, indicator_rows, merge, months, patient, sct

DM, HBA1C, PCA = sct(1), sct(3), sct(4)
CL = {
    "dm": ("snomedct", [DM]),
    "hba1c": ("snomedct", [HBA1C]),
    "pca": ("snomedct", [PCA]),
}


def ev(pid: int, date: str, code: str, value: float | None = None) -> dict:
    return dict(patient_id=pid, date=date, snomedct_code=code, numeric_value=value)


def test_proportion_with_exceptions_counted_separately(engine: str) -> None:
    tables = merge(
        patient(1),
        patient(2),
        patient(3),
        patient(4),
        patient(5, practice=2),
        {
            "clinical_events": [
                ev(1, "2010-01-01", DM),
                ev(1, "2024-01-01", HBA1C, 50),  # achieved
                ev(2, "2010-01-01", DM),
                ev(2, "2024-01-01", HBA1C, 70),  # not achieved
                ev(3, "2010-01-01", DM),
                ev(3, "2024-01-01", PCA),  # exception
                ev(4, "2010-01-01", DM),
                ev(4, "2024-01-01", HBA1C, 50),
                ev(4, "2024-01-02", PCA),
                ev(5, "2010-01-01", DM),
            ]
        },
    )
    defn = definition(
        CL,
        population="registered and diagnosed(dm)",
        numerator="latest_value(hba1c, within=12 months) <= 58",
        exceptions="has(pca, within=12 months)",
    )
    # achieved patients stay in the numerator even with an adjustment (QOF).
    assert indicator_rows(engine, defn, tables) == [
        (1, 0, 1, 1.0, 1.0, 0.0),
        (2, 0, 1, 0.0, 1.0, 0.0),
        (3, 0, 1, 0.0, 0.0, 1.0),
        (4, 0, 1, 1.0, 1.0, 0.0),
        (5, 0, 2, 0.0, 1.0, 0.0),
    ]


def test_exclusions_remove_from_population(engine: str) -> None:
    tables = merge(patient(1), patient(2, dob="1930-01-01"))
    defn = definition(
        population="registered", numerator="age >= 80", exclusions="age >= 90"
    )
    assert indicator_rows(engine, defn, tables) == [(1, 0, 1, 0.0, 1.0, 0.0)]


def test_rate_numerator_counts_events(engine: str) -> None:
    tables = merge(
        patient(1),
        patient(2),
        {
            "ec": [
                dict(attendance_id=i, patient_id=1, arrival_date=d)
                for i, d in enumerate(
                    ["2024-01-05", "2024-02-05", "2024-02-06"], start=1
                )
            ]
        },
    )
    defn = definition(
        value_type="crude_rate",
        polarity="lower_is_better",
        period="last_2_months",
        numerator="count(table=ec, within=period)",
    )
    rows = indicator_rows(engine, defn, tables, months("2024-01", "2024-03"))
    assert [(p, i, n) for p, i, _, n, _, _ in rows] == [
        (1, 0, 1.0),
        (1, 1, 3.0),
        (1, 2, 2.0),
        (2, 0, 0.0),
        (2, 1, 0.0),
        (2, 2, 0.0),
    ]


def test_mean_drops_patients_without_a_value(engine: str) -> None:
    tables = merge(
        patient(1), patient(2), {"clinical_events": [ev(1, "2024-01-01", HBA1C, 48)]}
    )
    defn = definition(
        CL,
        value_type="mean",
        polarity="lower_is_better",
        numerator="latest_value(hba1c, within=12 months)",
    )
    assert indicator_rows(engine, defn, tables) == [(1, 0, 1, 48.0, 1.0, 0.0)]
