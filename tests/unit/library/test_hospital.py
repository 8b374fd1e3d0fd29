"""Hand-worked fixtures for hospital use and integration indicators.

Period: March 2024 (end 2024-03-31); `last_12_months` windows run from
2023-04-01. Rates count events per patient (numerator) over registered patients
(denominator 1 each); expected rows are (num, den, exc).
"""

from __future__ import annotations

import datetime as dt

from carepilot.indicators.periods import Period
from tests.unit.library.fixtures import LibraryRunner, code, merge, person, row, totals

RUN = LibraryRunner()
YEAR = [Period(dt.date(2023, 4, 1), dt.date(2024, 3, 31))]


def spell(
    pid: int, admitted: str, method: str, discharged: str | None = None, **kw: object
):
    diag = kw.pop("diag", code("emergency_icd10"))
    return row(
        "apcs",
        pid,
        admission_date=admitted,
        discharge_date=discharged,
        admission_method=method,
        primary_diagnosis=diag,
        **kw,
    )


def test_emergency_admissions_rate() -> None:
    tables = merge(
        # 1 two emergency spells on the window edges + one elective -> 2 events
        person(1),
        spell(1, "2023-04-01", "emergency", "2023-04-03"),
        spell(1, "2024-03-31", "emergency"),
        spell(1, "2023-06-01", "elective", "2023-06-01"),
        person(2),  # none -> 0
        person(3),
        spell(3, "2023-03-31", "emergency", "2023-04-02"),  # admitted before
        # 4 registered mid-year (2024-02-01); counted: registered at the period end
        person(4, reg=("2024-02-01", None)),
        spell(4, "2024-02-10", "emergency", "2024-02-12"),
        # 5 died 2024-01-01 -> not in the registered population at the period end
        person(5, reg=("2000-01-01", "2024-01-01")),
        spell(5, "2023-12-20", "emergency"),
    )
    rows = RUN.rows("emergency-admissions-rate", tables)
    assert rows == {
        1: (2.0, 1.0, 0.0),
        2: (0.0, 1.0, 0.0),
        3: (0.0, 1.0, 0.0),
        4: (1.0, 1.0, 0.0),
    }
    assert totals(rows)[:2] == (3.0, 4.0)  # 750 per 1,000


def test_acsc_admissions_only_emergency_acsc() -> None:
    acsc = code("acsc_icd10")
    tables = merge(
        person(1),
        spell(1, "2023-05-01", "emergency", "2023-05-03", diag=acsc),  # 1
        person(2),
        spell(2, "2023-05-01", "emergency", "2023-05-03"),  # not ACSC: 0
        person(3),
        spell(3, "2023-05-01", "elective", "2023-05-03", diag=acsc),  # elective: 0
    )
    assert RUN.rows("acsc-admissions-dsr", tables) == {
        1: (1.0, 1.0, 0.0),
        2: (0.0, 1.0, 0.0),
        3: (0.0, 1.0, 0.0),
    }


def test_emergency_readmissions_30_days() -> None:
    # 30-day window: 2024-03-02..2024-03-31.
    tables = merge(
        # 1 elective discharged 03-05, emergency admission 03-20 -> readmitted
        person(1),
        spell(1, "2024-03-01", "elective", "2024-03-05"),
        spell(1, "2024-03-20", "emergency", "2024-03-25"),
        # 2 emergency admitted 02-20 (before window), discharged 03-03; no readmission
        person(2),
        spell(2, "2024-02-20", "emergency", "2024-03-03"),
        # 3 discharged 03-01 (day before window); emergency 03-10..03-15: its own
        #   discharge is the first in the window and nothing follows -> (0, 1, 0)
        person(3),
        spell(3, "2024-02-25", "elective", "2024-03-01"),
        spell(3, "2024-03-10", "emergency", "2024-03-15"),
        # 4 maternity discharge only, emergency admission still in hospital -> out
        person(4),
        spell(4, "2024-03-08", "maternity", "2024-03-10"),
        spell(4, "2024-03-12", "emergency"),
        person(5),  # no hospital use -> out
    )
    assert RUN.rows("emergency-readmissions-30-days", tables) == {
        1: (1.0, 1.0, 0.0),
        2: (0.0, 1.0, 0.0),
        3: (0.0, 1.0, 0.0),
    }


def test_ae_attendances_rate() -> None:
    tables = merge(
        person(1),
        row("ec", 1, arrival_date="2023-06-01", department_type="type_1"),
        row("ec", 1, arrival_date="2024-03-31", department_type="type_3"),
        person(2),
        person(3),
        row("ec", 3, arrival_date="2023-03-31"),
    )
    assert RUN.rows("ae-attendances-rate", tables) == {
        1: (2.0, 1.0, 0.0),
        2: (0.0, 1.0, 0.0),
        3: (0.0, 1.0, 0.0),
    }


def test_elective_spells_rate() -> None:
    tables = merge(
        person(1),
        spell(1, "2023-06-01", "elective", "2023-06-01"),
        spell(1, "2023-07-01", "emergency", "2023-07-02"),
        person(2),
    )
    assert RUN.rows("elective-spells-rate", tables) == {
        1: (1.0, 1.0, 0.0),
        2: (0.0, 1.0, 0.0),
    }


def _opa(pid: int, date: str, kind: str, status: str):
    return row(
        "opa",
        pid,
        appointment_date=date,
        attendance_type=kind,
        attendance_status=status,
    )


OUTPATIENTS = merge(
    # 1: two attended firsts, one missed first, one attended follow-up
    person(1),
    _opa(1, "2023-05-01", "first", "attended"),
    _opa(1, "2023-06-01", "first", "attended"),
    _opa(1, "2023-07-01", "first", "dna"),
    _opa(1, "2023-08-01", "follow_up", "attended"),
    # 2: one attended follow-up
    person(2),
    _opa(2, "2023-09-01", "follow_up", "attended"),
    # 3: cancelled only; 4: none
    person(3),
    _opa(3, "2023-09-01", "first", "cancelled"),
    person(4),
)


def test_outpatient_first_and_follow_up_rates() -> None:
    assert RUN.rows("outpatient-first-rate", OUTPATIENTS) == {
        1: (2.0, 1.0, 0.0),
        2: (0.0, 1.0, 0.0),
        3: (0.0, 1.0, 0.0),
        4: (0.0, 1.0, 0.0),
    }
    assert RUN.rows("outpatient-follow-up-rate", OUTPATIENTS) == {
        1: (1.0, 1.0, 0.0),
        2: (1.0, 1.0, 0.0),
        3: (0.0, 1.0, 0.0),
        4: (0.0, 1.0, 0.0),
    }


def test_outpatient_dna_patients() -> None:
    # 1 attended and missed -> (1, 1, 0); 2 attended only -> (0, 1, 0);
    # 3 cancelled only and 4 no appointments -> not in the population.
    assert RUN.rows("outpatient-dna", OUTPATIENTS) == {
        1: (1.0, 1.0, 0.0),
        2: (0.0, 1.0, 0.0),
    }


def test_community_contacts_dna_patients() -> None:
    def contact(pid: int, day: str, status: str):
        return row(
            "community_contacts",
            pid,
            contact_date=day,
            service="district_nursing",
            attendance_status=status,
        )

    tables = merge(
        person(1),  # attended then missed -> (1, 1, 0)
        contact(1, "2023-05-01", "attended"),
        contact(1, "2023-06-01", "dna"),
        person(2),  # attended only -> (0, 1, 0)
        contact(2, "2023-09-01", "attended"),
        person(3),  # cancelled only -> not in the population
        contact(3, "2023-09-01", "cancelled"),
        person(4),  # missed before the 12-month window -> not in the population
        contact(4, "2022-01-10", "dna"),
    )
    assert RUN.rows("community-contacts-dna", tables) == {
        1: (1.0, 1.0, 0.0),
        2: (0.0, 1.0, 0.0),
    }


def test_delayed_discharge_days_mean() -> None:
    tables = merge(
        # 1 two discharges in the window with 3 and 0 delayed days -> 3
        person(1),
        spell(1, "2023-05-01", "emergency", "2023-05-10", delayed_discharge_days=3),
        spell(1, "2023-08-01", "elective", "2023-08-02", delayed_discharge_days=0),
        person(2),
        spell(2, "2023-05-01", "emergency", "2023-05-10", delayed_discharge_days=0),
        person(3),  # no discharge: no value, dropped from the mean
        # 4 discharged 2023-03-31, before the window -> dropped
        person(4),
        spell(4, "2023-03-20", "emergency", "2023-03-31", delayed_discharge_days=5),
    )
    rows = RUN.rows("delayed-discharge-days", tables)
    assert rows == {1: (3.0, 1.0, 0.0), 2: (0.0, 1.0, 0.0)}
    assert totals(rows)[0] / totals(rows)[1] == 1.5  # mean days per discharged patient


def test_social_care_after_discharge() -> None:
    def pkg(pid: int, start: str):
        return row(
            "social_care_packages", pid, start_date=start, package_type="reablement"
        )

    tables = merge(
        person(1, "1950-01-01"),
        spell(1, "2023-06-01", "emergency", "2023-06-10"),
        pkg(1, "2023-06-12"),  # after discharge -> (1, 1, 0)
        person(2, "1950-01-01"),
        spell(2, "2023-06-01", "emergency", "2023-06-10"),
        pkg(2, "2023-05-01"),  # package before the admission -> (0, 1, 0)
        person(3, "1964-01-01"),
        spell(3, "2023-06-01", "emergency", "2023-06-10"),  # aged 60
        person(4, "1950-01-01"),
        spell(4, "2023-06-01", "elective", "2023-06-10"),  # elective
        person(5, "1950-01-01"),
        spell(5, "2023-06-01", "emergency", "2023-06-10"),
        pkg(5, "2023-06-10"),  # same day as discharge counts -> (1, 1, 0)
    )
    assert RUN.rows("social-care-after-discharge", tables) == {
        1: (1.0, 1.0, 0.0),
        2: (0.0, 1.0, 0.0),
        5: (1.0, 1.0, 0.0),
    }


def test_deaths_in_usual_place_of_residence_year() -> None:
    # Yearly period 2023-04-01..2024-03-31.
    def died(pid: int, date: str, place: str):
        return merge(
            person(pid, "1940-01-01", reg=("2000-01-01", date)),
            row(
                "ons_deaths",
                pid,
                date=date,
                place_of_death=place,
                underlying_cause_of_death=code("cancer_icd10"),
            ),
        )

    tables = merge(
        died(1, "2023-06-01", "home"),  # (1, 1, 0)
        died(2, "2023-07-01", "hospital"),  # (0, 1, 0)
        died(3, "2024-03-31", "care_home"),  # last day of the period (1, 1, 0)
        died(4, "2023-03-31", "hospice"),  # died before the period: not in the data
        person(5),  # alive: not in the population
    )
    rows = RUN.rows("deaths-usual-residence", tables, YEAR)
    assert rows == {1: (1.0, 1.0, 0.0), 2: (0.0, 1.0, 0.0), 3: (1.0, 1.0, 0.0)}
