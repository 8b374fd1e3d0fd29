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
YEAR_END_MARCH = [Period(dt.date(2024, 3, 1), dt.date(2024, 3, 31))]
"""March 2024; `last_12_months` covers 2023-04-01..2024-03-31."""


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
    # One row per discharge (elective or emergency) in the 12 months to the period
    # end, excluding discharges after 2024-03-01 (follow-up incomplete) and deaths.
    tables = merge(
        # 1 elective discharged 2023-06-05; emergency admission on day 30
        #   (2023-07-05) -> readmitted; that spell's own discharge 2023-07-08 is
        #   followed by an emergency admission on day 31 (2023-08-08) -> not;
        #   and the 2023-08-08 spell (discharged 2023-08-09) by nothing -> (1, 3, 0)
        person(1),
        spell(1, "2023-06-01", "elective", "2023-06-05"),
        spell(1, "2023-07-05", "emergency", "2023-07-08"),
        spell(1, "2023-08-08", "emergency", "2023-08-09"),
        # 2 same-day emergency spell is not its own readmission; readmitted the
        #   same day by another spell (day 0) -> first counts; second not (1, 2, 0)
        person(2),
        spell(2, "2023-09-01", "emergency", "2023-09-01"),
        spell(2, "2023-09-01", "emergency", "2023-09-03"),
        # 3 discharged 2024-03-01 (exactly 30 days before the end: in) and
        #   2024-03-02 (follow-up incomplete: out); readmission 2024-03-20 -> (1, 1, 0)
        person(3),
        spell(3, "2024-02-25", "elective", "2024-03-01"),
        spell(3, "2024-02-27", "elective", "2024-03-02"),
        spell(3, "2024-03-20", "emergency"),
        # 4 maternity discharge only, emergency admission still in hospital -> out
        person(4),
        spell(4, "2023-10-08", "maternity", "2023-10-10"),
        spell(4, "2023-10-12", "emergency"),
        # 5 died in hospital: excluded; 6 discharged before the window: out
        person(5),
        spell(5, "2023-10-01", "emergency", "2023-10-05", discharge_destination="died"),
        person(6),
        spell(6, "2023-03-01", "emergency", "2023-03-31"),
        spell(6, "2023-04-10", "emergency"),
        # 7 discharged 2024-02-28, emergency admission 2024-03-29 (day 30, inside
        #   the period) -> (1, 1, 0); the 2024-03-29 spell is not discharged
        person(7),
        spell(7, "2024-02-10", "elective", "2024-02-28"),
        spell(7, "2024-03-29", "emergency"),
    )
    rows = RUN.rows("emergency-readmissions-30-days", tables, YEAR_END_MARCH)
    assert rows == {
        1: (1.0, 3.0, 0.0),
        2: (1.0, 2.0, 0.0),
        3: (1.0, 1.0, 0.0),
        7: (1.0, 1.0, 0.0),
    }
    assert totals(rows) == (4.0, 7.0, 0.0)  # 4 of 7 discharges readmitted


def test_emergency_bed_days_rate() -> None:
    tables = merge(
        # 1 stays of 4 days and a 0-day case -> 4 bed days
        person(1),
        spell(1, "2023-05-01", "emergency", "2023-05-05"),
        spell(1, "2023-06-01", "emergency", "2023-06-01"),
        spell(1, "2023-07-01", "elective", "2023-07-20"),  # elective: not counted
        # 2 admitted 2023-03-25, discharged 2023-04-02 (in the window): 8 days
        person(2),
        spell(2, "2023-03-25", "emergency", "2023-04-02"),
        # 3 still in hospital (no discharge): no bed days yet -> 0
        person(3),
        spell(3, "2024-03-01", "emergency"),
        person(4),
    )
    rows = RUN.rows("emergency-bed-days-rate", tables)
    assert rows == {
        1: (4.0, 1.0, 0.0),
        2: (8.0, 1.0, 0.0),
        3: (0.0, 1.0, 0.0),
        4: (0.0, 1.0, 0.0),
    }
    assert totals(rows)[0] / totals(rows)[1] * 1000 == 3000.0  # per 1,000


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


def test_outpatient_dna_per_appointment() -> None:
    # One row per attended or missed appointment: 1 has 3 attended + 1 missed
    # -> (1, 4, 0); 2 one attended -> (0, 1, 0); 3 cancelled only and 4 no
    # appointments -> no rows. DNA rate = 1 / 5 appointments = 20 %.
    rows = RUN.rows("outpatient-dna", OUTPATIENTS)
    assert rows == {1: (1.0, 4.0, 0.0), 2: (0.0, 1.0, 0.0)}
    assert totals(rows) == (1.0, 5.0, 0.0)


def test_community_contacts_dna_patients() -> None:
    def contact(pid: int, day: str, status: str):
        return row(
            "community_contacts",
            pid,
            contact_date=day,
            service="district_nursing",
            attendance_status=status,
        )

    # One row per attended or missed contact in the 12 months.
    tables = merge(
        person(1),  # attended, missed, missed -> (2, 3, 0)
        contact(1, "2023-05-01", "attended"),
        contact(1, "2023-06-01", "dna"),
        contact(1, "2023-04-01", "dna"),  # first day of the window
        person(2),  # attended only -> (0, 1, 0)
        contact(2, "2023-09-01", "attended"),
        person(3),  # cancelled only -> not in the population
        contact(3, "2023-09-01", "cancelled"),
        person(4),  # missed before the 12-month window -> not in the population
        contact(4, "2022-01-10", "dna"),
    )
    rows = RUN.rows("community-contacts-dna", tables)
    assert rows == {1: (2.0, 3.0, 0.0), 2: (0.0, 1.0, 0.0)}
    assert totals(rows) == (2.0, 4.0, 0.0)  # 50 % of contacts missed


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
    # One row per emergency discharge (alive) of a patient aged 65+ in the 12
    # months to 2024-03-31; in the numerator if a package is linked to the spell
    # through `after_discharge_spell_id`, whatever its date.
    def pkg(pid: int, start: str, spell_id: int | None):
        return row(
            "social_care_packages",
            pid,
            start_date=start,
            package_type="reablement",
            after_discharge_spell_id=spell_id,
        )

    tables = merge(
        person(1, "1950-01-01"),
        spell(1, "2023-06-01", "emergency", "2023-06-10", spell_id=101),
        pkg(1, "2023-06-12", 101),  # linked -> (1, 1, 0)
        # 2 package after the discharge but not linked to it (e.g. a package
        # arranged from the community): a date match is not enough -> (0, 1, 0)
        person(2, "1950-01-01"),
        spell(2, "2023-06-01", "emergency", "2023-06-10", spell_id=102),
        pkg(2, "2023-06-12", None),
        person(3, "1964-01-01"),
        spell(3, "2023-06-01", "emergency", "2023-06-10", spell_id=103),  # aged 60
        pkg(3, "2023-06-11", 103),
        person(4, "1950-01-01"),
        spell(4, "2023-06-01", "elective", "2023-06-10", spell_id=104),  # elective
        pkg(4, "2023-06-11", 104),
        # 5 two emergency discharges; the package is linked to the first only,
        # and starts after the second -> (1, 2, 0), where date matching would
        # have credited both
        person(5, "1950-01-01"),
        spell(5, "2023-06-01", "emergency", "2023-06-10", spell_id=105),
        spell(5, "2023-08-01", "emergency", "2023-08-05", spell_id=106),
        pkg(5, "2023-09-01", 105),
        # 6 died in hospital: excluded
        person(6, "1950-01-01"),
        spell(
            6,
            "2023-06-01",
            "emergency",
            "2023-06-10",
            spell_id=107,
            discharge_destination="died",
        ),
        # 7 discharged 2024-03-25, linked package starts 2024-04-02 (after the
        # period end): not yet -> (0, 1, 0)
        person(7, "1950-01-01"),
        spell(7, "2024-03-20", "emergency", "2024-03-25", spell_id=108),
        pkg(7, "2024-04-02", 108),
        # 8 discharged before the window (2023-03-31), linked package in it: out
        person(8, "1950-01-01"),
        spell(8, "2023-03-20", "emergency", "2023-03-31", spell_id=109),
        pkg(8, "2023-04-02", 109),
    )
    assert RUN.rows("social-care-after-discharge", tables) == {
        1: (1.0, 1.0, 0.0),
        2: (0.0, 1.0, 0.0),
        5: (1.0, 2.0, 0.0),
        7: (0.0, 1.0, 0.0),
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
