"""Hand-worked fixtures for register prevalence and recorded-vs-expected ratios.

Period: March 2024 (end 2024-03-31). The pattern, per register:

===  ==================================================  ===============
pid  situation                                           (num, den, exc)
===  ==================================================  ===============
1    diagnosed 2010                                      (1, 1, 0)
2    never diagnosed                                     (0, 1, 0)
3    diagnosed 2010, resolved 2015 (if a resolved list)  (0, 1, 0)
     (no resolved list: the code is ignored)             (1, 1, 0)
4    registered mid-year (2024-02-01), diagnosed 2023    (1, 1, 0)  no 3-month rule
5    died 2024-03-10, diagnosed 2010                     not in population
6    first code 2024-04-01, after the period end         (0, 1, 0)
7    first code ON the period end 2024-03-31             (1, 1, 0)
8    below the register's minimum age, diagnosed         not in population
===  ==================================================  ===============

Recorded prevalence = (4 or 5) / 6 -- the ratio indicators share the same
patient-level rows (observed = numerator; the expected count is the engine's
indirect standardisation).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.unit.library.fixtures import (
    LibraryRunner,
    Tables,
    ev,
    med,
    merge,
    person,
    row,
)

RUN = LibraryRunner()


@dataclass(frozen=True)
class RegisterCase:
    indicator: str
    codelist: str
    resolved: str | None = None
    min_age: int = 0
    inhaler: bool = False


CASES = [
    RegisterCase("prevalence-hypertension", "hypertension", "hypertension_resolved"),
    RegisterCase("prevalence-diabetes", "diabetes", "diabetes_resolved", 17),
    RegisterCase("prevalence-af", "atrial_fibrillation"),
    RegisterCase("prevalence-chd", "chd"),
    RegisterCase("prevalence-stroke-tia", "stroke_tia"),
    RegisterCase("prevalence-asthma", "asthma", "asthma_resolved", 6, inhaler=True),
    RegisterCase("prevalence-copd", "copd"),
    RegisterCase("prevalence-smi", "smi"),
    RegisterCase("prevalence-dementia", "dementia"),
    RegisterCase("prevalence-depression", "depression", "depression_resolved", 18),
    RegisterCase("prevalence-ckd", "ckd", None, 18),
    RegisterCase("prevalence-cancer", "cancer"),
    RegisterCase(
        "prevalence-ratio-hypertension", "hypertension", "hypertension_resolved"
    ),
    RegisterCase("prevalence-ratio-diabetes", "diabetes", "diabetes_resolved", 17),
    RegisterCase("prevalence-ratio-copd", "copd"),
    RegisterCase("prevalence-ratio-dementia", "dementia", None, 65),
    RegisterCase("prevalence-ratio-af", "atrial_fibrillation"),
]


def pattern(case: RegisterCase) -> Tables:
    dob = "1940-01-01"  # aged 84: above every minimum age
    young = {
        0: None,
        6: "2018-06-01",
        17: "2007-06-01",
        18: "2006-06-01",
        65: "1959-06-01",
    }
    parts = [
        merge(person(1, dob), ev(1, "2010-01-01", case.codelist)),
        person(2, dob),
        merge(person(3, dob), ev(3, "2010-01-01", case.codelist)),
        merge(
            person(4, dob, reg=("2024-02-01", None)), ev(4, "2023-01-01", case.codelist)
        ),
        merge(
            person(5, dob, reg=("2000-01-01", "2024-03-10")),
            ev(5, "2010-01-01", case.codelist),
            row("ons_deaths", 5, date="2024-03-10", underlying_cause_of_death="I21.9"),
        ),
        merge(person(6, dob), ev(6, "2024-04-01", case.codelist)),
        merge(person(7, dob), ev(7, "2024-03-31", case.codelist)),
    ]
    if case.resolved:
        parts.append(ev(3, "2015-01-01", case.resolved))
    if young[case.min_age] is not None:
        # one month short of the minimum age on 2024-03-31
        parts.append(
            merge(person(8, young[case.min_age]), ev(8, "2023-01-01", case.codelist))
        )
    if case.inhaler:
        parts += [med(p, "2024-01-15", "inhalers") for p in range(1, 9)]
    return merge(*parts)


@pytest.mark.parametrize("case", CASES, ids=[c.indicator for c in CASES])
def test_register_pattern(case: RegisterCase) -> None:
    expected = {
        1: (1.0, 1.0, 0.0),
        2: (0.0, 1.0, 0.0),
        3: (0.0, 1.0, 0.0) if case.resolved else (1.0, 1.0, 0.0),
        4: (1.0, 1.0, 0.0),
        6: (0.0, 1.0, 0.0),
        7: (1.0, 1.0, 0.0),
    }
    assert RUN.rows(case.indicator, pattern(case)) == expected


def test_ckd_register_age_boundary() -> None:
    # Born 2006-03-01: 18 on 2024-03-01 -> on the adult CKD register.
    tables = merge(person(1, "2006-03-01"), ev(1, "2023-01-01", "ckd"))
    assert RUN.rows("prevalence-ckd", tables) == {1: (1.0, 1.0, 0.0)}
