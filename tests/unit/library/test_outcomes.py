"""Hand-worked fixtures for mortality, PROMs and patient-experience indicators.

Mortality uses a yearly period 2023-04-01..2024-03-31 (ages at its start);
PROMs and experience use March 2024 with a 12-month window from 2023-04-01.
Expected rows are (num, den, exc).
"""

from __future__ import annotations

import datetime as dt

import pytest

from carepilot.indicators.periods import Period
from tests.unit.library.fixtures import (
    LibraryRunner,
    code,
    merge,
    person,
    row,
    totals,
)

RUN = LibraryRunner()
YEAR = [Period(dt.date(2023, 4, 1), dt.date(2024, 3, 31))]


def _death(pid: int, dob: str, date: str, cause: str, reg_start: str = "2000-01-01"):
    return merge(
        person(pid, dob, reg=(reg_start, date)),
        row("ons_deaths", pid, date=date, underlying_cause_of_death=code(cause)),
    )


MORTALITY = merge(
    _death(1, "1963-01-01", "2023-10-01", "cvd_icd10"),  # aged 60, CVD death
    person(2, "1963-01-01"),  # alive
    _death(3, "1943-01-01", "2023-10-01", "cvd_icd10"),  # aged 80 at start: out
    _death(4, "1963-01-01", "2023-10-01", "cancer_icd10"),  # cancer death
    _death(
        5, "1963-01-01", "2023-10-01", "cvd_icd10", "2023-06-01"
    ),  # joined after start
    _death(
        6, "1948-06-01", "2024-03-31", "cvd_icd10"
    ),  # 74 at start, dies on the last day
    _death(7, "1963-01-01", "2023-03-31", "cvd_icd10"),  # died before the period
)


def test_cvd_mortality_under_75() -> None:
    # population: registered on 2023-04-01 and under 75 then -> 1, 2, 4, 6
    assert RUN.rows("cvd-mortality-under-75-dsr", MORTALITY, YEAR) == {
        1: (1.0, 1.0, 0.0),
        2: (0.0, 1.0, 0.0),
        4: (0.0, 1.0, 0.0),
        6: (1.0, 1.0, 0.0),
    }


def test_cancer_mortality_under_75() -> None:
    assert RUN.rows("cancer-mortality-under-75-dsr", MORTALITY, YEAR) == {
        1: (0.0, 1.0, 0.0),
        2: (0.0, 1.0, 0.0),
        4: (1.0, 1.0, 0.0),
        6: (0.0, 1.0, 0.0),
    }


def _proms(pid: int, proc: str, pre: float, post: float | None, post_date: str | None):
    return row(
        "proms",
        pid,
        instrument="EQ-5D-5L",
        procedure=proc,
        pre_date="2023-01-01",
        post_date=post_date,
        pre_eq5d_index=pre,
        post_eq5d_index=post,
    )


PROMS = merge(
    person(1),
    _proms(1, "hip_replacement", 0.3, 0.8, "2023-10-01"),  # improved
    person(2),
    _proms(2, "hip_replacement", 0.5, 0.4, "2023-10-01"),  # worse
    person(3),
    _proms(3, "hip_replacement", 0.5, None, None),  # not returned: out
    person(4),
    _proms(4, "knee_replacement", 0.4, 0.7, "2023-10-01"),  # knee
    person(5),
    _proms(5, "hip_replacement", 0.2, 0.9, "2023-03-31"),  # before window
    person(6),
    _proms(6, "hip_replacement", 0.6, 0.6, "2024-03-31"),  # no change
    person(7),
    _proms(7, "long_term_condition", 0.6, 0.65, "2023-12-01"),  # LTC improved
    person(8),
    _proms(8, "long_term_condition", 0.7, 0.6, "2023-12-01"),  # LTC worse
)


def test_proms_hip() -> None:
    assert RUN.rows("proms-hip-eq5d-improved", PROMS) == {
        1: (1.0, 1.0, 0.0),
        2: (0.0, 1.0, 0.0),
        6: (0.0, 1.0, 0.0),
    }


def test_proms_knee() -> None:
    assert RUN.rows("proms-knee-eq5d-improved", PROMS) == {4: (1.0, 1.0, 0.0)}


def test_proms_health_gain_per_episode() -> None:
    # Mean post - pre per episode returned in the window (both scores recorded):
    # hip: 1 +0.5, 2 -0.1, 6 0.0 (3 not returned, 5 before the window).
    hip = RUN.rows("proms-hip-eq5d-gain", PROMS)
    assert {k: (round(v[0], 9), v[1], v[2]) for k, v in hip.items()} == {
        1: (0.5, 1.0, 0.0),
        2: (-0.1, 1.0, 0.0),
        6: (0.0, 1.0, 0.0),
    }
    assert round(totals(hip)[0] / totals(hip)[1], 9) == round(0.4 / 3, 9)
    knee_one = RUN.rows("proms-knee-eq5d-gain", PROMS)
    assert knee_one.keys() == {4} and round(knee_one[4][0], 9) == 0.3
    ltc = RUN.rows("proms-ltc-eq5d-gain", PROMS)
    assert {k: round(v[0], 9) for k, v in ltc.items()} == {7: 0.05, 8: -0.1}
    two = merge(
        person(9),
        _proms(9, "knee_replacement", 0.2, 0.6, "2023-10-01"),
        _proms(9, "knee_replacement", 0.5, None, "2023-11-01"),  # post missing: out
        _proms(9, "knee_replacement", 0.3, 0.4, "2023-12-01"),
    )
    knee = RUN.rows("proms-knee-eq5d-gain", two)
    assert knee.keys() == {9} and knee[9][1] == 2.0  # two episodes, one patient
    assert round(knee[9][0], 9) == 0.5  # 0.4 + 0.1


def test_proms_ltc() -> None:
    assert RUN.rows("proms-ltc-eq5d-improved", PROMS) == {
        7: (1.0, 1.0, 0.0),
        8: (0.0, 1.0, 0.0),
    }


QUESTIONS = [
    "overall_experience",
    "ease_of_getting_through",
    "involved_in_decisions",
    "confidence_and_trust",
    "support_managing_conditions",
]


@pytest.mark.parametrize("question", QUESTIONS)
def test_experience_question(question: str) -> None:
    other = next(q for q in QUESTIONS if q != question)

    def answer(
        pid: int, q: str, response: str, date: str = "2024-02-01", survey: str = "gpps"
    ):
        return row(
            "patient_experience",
            pid,
            survey=survey,
            survey_date=date,
            question=q,
            response=response,
        )

    tables = merge(
        person(1),
        answer(1, question, "positive"),  # (1, 1, 0)
        person(2),
        answer(2, question, "neutral"),  # (0, 1, 0)
        # 3 negative here, positive to another question -> (0, 1, 0)
        person(3),
        answer(3, question, "negative"),
        answer(3, other, "positive"),
        person(4),
        answer(4, other, "positive"),  # did not answer: out
        person(5),
        answer(5, question, "positive", "2023-03-31"),  # before window: out
        person(6),
        answer(6, question, "positive", survey="inpatient"),  # not the GP survey
    )
    indicator = "experience-" + question.replace("_", "-")
    assert RUN.rows(indicator, tables) == {
        1: (1.0, 1.0, 0.0),
        2: (0.0, 1.0, 0.0),
        3: (0.0, 1.0, 0.0),
    }


def test_experience_inpatient_overall_counts_only_the_inpatient_survey() -> None:
    def answer(pid: int, survey: str, response: str, date: str = "2024-02-01"):
        return row(
            "patient_experience",
            pid,
            survey=survey,
            survey_date=date,
            question="overall_experience",
            response=response,
        )

    tables = merge(
        person(1),
        answer(1, "inpatient", "positive"),  # (1, 1, 0)
        person(2),
        answer(2, "inpatient", "negative"),  # (0, 1, 0)
        person(3),
        answer(3, "gpps", "positive"),  # GP survey: out
        person(4),
        answer(4, "inpatient", "positive", "2023-03-31"),  # before window: out
        person(5),
        answer(5, "community", "positive"),  # another survey: out
    )
    assert RUN.rows("experience-inpatient-overall", tables) == {
        1: (1.0, 1.0, 0.0),
        2: (0.0, 1.0, 0.0),
    }
