"""Hand-worked fixtures for the clinical (QOF-style) indicators.

Period: March 2024 (period end 2024-03-31). Each QOF indicator is checked on the
same ten-patient pattern, with the expected rows worked out below, and then on
its own edge cases (threshold values, age boundaries, latest reading decides).

The QOF pattern (register code on 2010-01-01 unless stated; numerator events on
2024-02-01 unless stated):

====  =====================================================  ==================
pid   situation                                              (num, den, exc)
====  =====================================================  ==================
1     on register, achieves                                  (1, 1, 0)
2     on register, fails the target                          (0, 1, 0)
3     on register, no numerator event, PCA declined 2023-06  (0, 0, 1)
4     achieves and also has a PCA: achievers stay in (QOF)   (1, 1, 0)
5     registered 2024-02-01 (mid-year, < 3 months), no event (0, 0, 1)
6     first diagnosed 2024-02-15 (< 3 months), no event      (0, 0, 1)
7     diagnosis resolved 2015 (if the register has a         not in population
      resolved list; otherwise still on the register, fails) (0, 1, 0)
8     died 2024-03-10 (registration ended): off the register not in population
9     achieving event one day BEFORE the window start        (0, 1, 0)
10    achieving event ON the window start (inclusive)        (1, 1, 0)
11    not on the register                                    not in population
====  =====================================================  ==================

So achievement = A / (B - C) = 3 / 5 (4 more denominator with the unresolved 7:
3 / 6) and exceptions C = 3.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.unit.library.fixtures import (
    LibraryRunner,
    Tables,
    bp,
    code,
    ev,
    med,
    merge,
    person,
    row,
    totals,
)

RUN = LibraryRunner()

Builder = Callable[[int, str], Tables]


@dataclass(frozen=True)
class QofCase:
    indicator: str
    register: str
    resolved: str | None
    achieve: Builder
    fail: Builder
    window_start: str = "2023-04-01"
    day_before: str = "2023-03-31"
    dob: str = "1960-01-01"
    base: Callable[[int], Tables] | None = None


def _nothing(pid: int, date: str) -> Tables:
    return {}


def _all_six(pid: int, date: str, audit: bool = True) -> Tables:
    parts = [
        ev(pid, date, "systolic_bp", 120),
        ev(pid, date, "bmi", 25),
        ev(pid, date, "cholesterol", 4.5),
        ev(pid, date, "hba1c", 40),
        ev(pid, date, "smoking_never"),
    ]
    if audit:
        parts.append(ev(pid, date, "audit_c", 2))
    return merge(*parts)


CASES = [
    # HbA1c exactly 58 achieves (<= 58); the fail case has an earlier good value
    # (50) but the LATEST value (59) decides.
    QofCase(
        "diabetes-hba1c-58",
        "diabetes",
        "diabetes_resolved",
        lambda p, d: ev(p, d, "hba1c", 58),
        lambda p, d: merge(ev(p, "2023-05-01", "hba1c", 50), ev(p, d, "hba1c", 59)),
    ),
    # DM021: everyone has moderate frailty coded 2023-01-01; 75 achieves, the
    # latest 76 fails despite an earlier 70.
    QofCase(
        "diabetes-hba1c-75-frail",
        "diabetes",
        "diabetes_resolved",
        lambda p, d: ev(p, d, "hba1c", 75),
        lambda p, d: merge(ev(p, "2023-05-01", "hba1c", 70), ev(p, d, "hba1c", 76)),
        base=lambda p: ev(p, "2023-01-01", "frailty_moderate_severe"),
    ),
    QofCase(
        "diabetes-bp-140-90",
        "diabetes",
        "diabetes_resolved",
        lambda p, d: bp(p, d, 140, 90),
        lambda p, d: bp(p, d, 141, 80),
    ),
    QofCase(
        "diabetes-cholesterol-5",
        "diabetes",
        "diabetes_resolved",
        lambda p, d: ev(p, d, "cholesterol", 5.0),
        lambda p, d: ev(p, d, "cholesterol", 5.1),
    ),
    # statin window is 6 months: 2023-10-01..2024-03-31.
    QofCase(
        "diabetes-statin",
        "diabetes",
        "diabetes_resolved",
        lambda p, d: med(p, d, "statins"),
        _nothing,
        window_start="2023-10-01",
        day_before="2023-09-30",
    ),
    QofCase(
        "hypertension-bp-140-90-under-80",
        "hypertension",
        "hypertension_resolved",
        lambda p, d: bp(p, d, 140, 90),
        lambda p, d: bp(p, d, 120, 91),
    ),
    QofCase(
        "hypertension-bp-150-90-80-plus",
        "hypertension",
        "hypertension_resolved",
        lambda p, d: bp(p, d, 150, 90),
        lambda p, d: bp(p, d, 151, 70),
        dob="1940-01-01",
    ),
    # AF008 population needs a CHA2DS2-VASc score >= 2 recorded on or after the
    # first AF code: everyone gets exactly 2 on 2024-03-01 (after patient 6's
    # diagnosis on 2024-02-15, before patient 8's death).
    QofCase(
        "af-anticoagulation",
        "atrial_fibrillation",
        None,
        lambda p, d: med(p, d, "anticoagulants"),
        _nothing,
        window_start="2023-10-01",
        day_before="2023-09-30",
        base=lambda p: ev(p, "2024-03-01", "cha2ds2_vasc", 2),
    ),
    QofCase(
        "chd-bp-140-90",
        "chd",
        None,
        lambda p, d: bp(p, d, 140, 90),
        lambda p, d: bp(p, d, 145, 85),
    ),
    QofCase(
        "stroke-bp-140-90",
        "stroke_tia",
        None,
        lambda p, d: bp(p, d, 140, 90),
        lambda p, d: bp(p, d, 138, 95),
    ),
    QofCase(
        "cvd-statin",
        "chd",
        None,
        lambda p, d: med(p, d, "statins"),
        _nothing,
        window_start="2023-10-01",
        day_before="2023-09-30",
    ),
    # asthma register needs an inhaler issued in the last 12 months: every
    # patient gets one on 2024-01-15.
    QofCase(
        "asthma-review",
        "asthma",
        "asthma_resolved",
        lambda p, d: ev(p, d, "asthma_review"),
        _nothing,
        dob="1990-01-01",
        base=lambda p: med(p, "2024-01-15", "inhalers"),
    ),
    QofCase(
        "copd-review", "copd", None, lambda p, d: ev(p, d, "copd_review"), _nothing
    ),
    # all six components achieve; five of six (no AUDIT-C) fails.
    QofCase(
        "smi-physical-health-check",
        "smi",
        None,
        _all_six,
        lambda p, d: _all_six(p, d, audit=False),
        dob="1980-01-01",
    ),
    QofCase(
        "dementia-care-plan-review",
        "dementia",
        None,
        lambda p, d: ev(p, d, "dementia_review"),
        _nothing,
        dob="1940-01-01",
    ),
]


def qof_pattern(case: QofCase) -> Tables:
    """The eleven patients of the module docstring for one indicator."""
    dx = lambda p, d="2010-01-01": ev(p, d, case.register)  # noqa: E731
    on = "2024-02-01"
    parts: list[Tables] = [
        merge(person(1, case.dob), dx(1), case.achieve(1, on)),
        merge(person(2, case.dob), dx(2), case.fail(2, on)),
        merge(person(3, case.dob), dx(3), ev(3, "2023-06-01", "qof_pca_declined")),
        merge(
            person(4, case.dob),
            dx(4),
            case.achieve(4, on),
            ev(4, on, "qof_pca_unsuitable"),
        ),
        merge(person(5, case.dob, reg=("2024-02-01", None)), dx(5)),
        merge(person(6, case.dob), dx(6, "2024-02-15")),
        merge(person(7, case.dob), dx(7)),
        merge(
            person(8, case.dob, reg=("2000-01-01", "2024-03-10")),
            dx(8),
            case.achieve(8, on),
            row("ons_deaths", 8, date="2024-03-10", underlying_cause_of_death="I21.9"),
        ),
        merge(person(9, case.dob), dx(9), case.achieve(9, case.day_before)),
        merge(person(10, case.dob), dx(10), case.achieve(10, case.window_start)),
        merge(person(11, case.dob), case.achieve(11, on)),
    ]
    if case.resolved is not None:
        parts.append(ev(7, "2015-01-01", case.resolved))
    if case.base is not None:
        parts += [case.base(p) for p in range(1, 12)]
    return merge(*parts)


@pytest.mark.parametrize("case", CASES, ids=[c.indicator for c in CASES])
def test_qof_pattern(case: QofCase) -> None:
    rows = RUN.rows(case.indicator, qof_pattern(case))
    expected = {
        1: (1.0, 1.0, 0.0),
        2: (0.0, 1.0, 0.0),
        3: (0.0, 0.0, 1.0),
        4: (1.0, 1.0, 0.0),
        5: (0.0, 0.0, 1.0),
        6: (0.0, 0.0, 1.0),
        9: (0.0, 1.0, 0.0),
        10: (1.0, 1.0, 0.0),
    }
    if case.resolved is None:
        expected[7] = (0.0, 1.0, 0.0)  # no resolved list: still on the register
    assert rows == expected
    # A = 3; B - C = 5 (or 6 with patient 7); C = 3.
    assert totals(rows) == (3.0, 5.0 if case.resolved else 6.0, 3.0)


def test_hypertension_age_split_at_80() -> None:
    # Patient 1 is 79 on 2024-03-31 (born 1944-04-01): HYP008 only.
    # Patient 2 turns 80 on 2024-03-01 (born 1944-03-01): HYP009 only.
    # Both have BP 145/85: fails 140/90, achieves 150/90.
    tables = merge(
        person(1, "1944-04-01"),
        ev(1, "2010-01-01", "hypertension"),
        bp(1, "2024-01-10", 145, 85),
        person(2, "1944-03-01"),
        ev(2, "2010-01-01", "hypertension"),
        bp(2, "2024-01-10", 145, 85),
    )
    assert RUN.rows("hypertension-bp-140-90-under-80", tables) == {1: (0.0, 1.0, 0.0)}
    assert RUN.rows("hypertension-bp-150-90-80-plus", tables) == {2: (1.0, 1.0, 0.0)}


def test_bp_needs_both_readings_in_window() -> None:
    # Patient 1: systolic in window, diastolic only before the window -> the
    # diastolic is unknown, so the target is not met (0, 1, 0).
    # Patient 2: a resolved hypertension code AFTER which hypertension is coded
    # again (2020) -> back on the register; BP 130/80 achieves (1, 1, 0).
    tables = merge(
        person(1),
        ev(1, "2010-01-01", "hypertension"),
        ev(1, "2024-01-10", "systolic_bp", 130),
        ev(1, "2023-03-01", "diastolic_bp", 80),
        person(2),
        ev(2, "2010-01-01", "hypertension"),
        ev(2, "2015-01-01", "hypertension_resolved"),
        ev(2, "2020-01-01", "hypertension"),
        bp(2, "2024-01-10", 130, 80),
    )
    assert RUN.rows("hypertension-bp-140-90-under-80", tables) == {
        1: (0.0, 1.0, 0.0),
        2: (1.0, 1.0, 0.0),
    }


def test_diabetes_age_17_and_statin_age_40() -> None:
    # Born 2007-04-01: aged 16 on 2024-03-31 -> not in DM020 (age >= 17).
    # Born 2007-03-01: aged 17 -> in DM020, HbA1c 48 achieves; not in the statin
    # indicator (age >= 40).
    # Born 1984-03-01: aged 40 -> in both; no statin (0, 1, 0); HbA1c 70 fails.
    tables = merge(
        person(1, "2007-04-01"),
        ev(1, "2020-01-01", "diabetes"),
        ev(1, "2024-01-01", "hba1c", 48),
        person(2, "2007-03-01"),
        ev(2, "2020-01-01", "diabetes"),
        ev(2, "2024-01-01", "hba1c", 48),
        person(3, "1984-03-01"),
        ev(3, "2020-01-01", "diabetes"),
        ev(3, "2024-01-01", "hba1c", 70),
    )
    assert RUN.rows("diabetes-hba1c-58", tables) == {
        2: (1.0, 1.0, 0.0),
        3: (0.0, 1.0, 0.0),
    }
    assert RUN.rows("diabetes-statin", tables) == {3: (0.0, 1.0, 0.0)}


def test_cvd_statin_register_union() -> None:
    # CHOL003 population: CHD or stroke/TIA, or CKD in adults.
    # 1 stroke only, statin 2024-03-31 (period end, inclusive) -> (1, 1, 0)
    # 2 CKD aged 30, no statin -> (0, 1, 0); 3 CKD aged 17 -> not in population
    # 4 CHD and stroke (counted once), statin 2023-12-01 -> (1, 1, 0)
    tables = merge(
        person(1),
        ev(1, "2015-01-01", "stroke_tia"),
        med(1, "2024-03-31", "statins"),
        person(2, "1994-01-01"),
        ev(2, "2015-01-01", "ckd"),
        person(3, "2007-01-01"),
        ev(3, "2020-01-01", "ckd"),
        person(4),
        ev(4, "2015-01-01", "chd"),
        ev(4, "2016-01-01", "stroke_tia"),
        med(4, "2023-12-01", "statins"),
    )
    assert RUN.rows("cvd-statin", tables) == {
        1: (1.0, 1.0, 0.0),
        2: (0.0, 1.0, 0.0),
        4: (1.0, 1.0, 0.0),
    }


def test_depression_review_new_diagnoses_only() -> None:
    # Population: adults whose FIRST depression code is in the last 12 months.
    # Numerator: review 10-56 days after the diagnosis (both ends inclusive).
    # 1 diagnosed 2023-09-01, reviewed 2023-10-01 (day 30) -> (1, 1, 0)
    # 2 diagnosed 2023-09-01, review 2023-08-01 (before diagnosis) -> (0, 1, 0)
    # 3 diagnosed 2019 and again 2023-09-01: not new -> not in population
    # 4 diagnosed 2023-09-01, resolved 2023-12-01 -> off the register
    # 5 diagnosed 2024-02-15, not yet reviewed, < 3 months -> exception (0, 0, 1)
    # 6 diagnosed 2023-05-01, reviewed same day (day 0) -> (0, 1, 0)
    # 7 reviewed on day 10 (2023-09-11) -> (1, 1, 0); 8 on day 9 -> (0, 1, 0)
    # 9 reviewed on day 56 (2023-10-27) -> (1, 1, 0); 10 on day 57 -> (0, 1, 0)
    # 11 diagnosed 2023-09-01 and again 2023-11-01 (both new in 12 months):
    #    review 2023-11-20 is 80 days after the FIRST diagnosis -> (0, 1, 0)
    day_reviews = {7: "2023-09-11", 8: "2023-09-10", 9: "2023-10-27", 10: "2023-10-28"}
    tables = merge(
        person(1),
        ev(1, "2023-09-01", "depression"),
        ev(1, "2023-10-01", "depression_review"),
        person(2),
        ev(2, "2023-09-01", "depression"),
        ev(2, "2023-08-01", "depression_review"),
        person(3),
        ev(3, "2019-01-01", "depression"),
        ev(3, "2023-09-01", "depression"),
        person(4),
        ev(4, "2023-09-01", "depression"),
        ev(4, "2023-12-01", "depression_resolved"),
        person(5),
        ev(5, "2024-02-15", "depression"),
        person(6),
        ev(6, "2023-05-01", "depression"),
        ev(6, "2023-05-01", "depression_review"),
        *[
            merge(
                person(p),
                ev(p, "2023-09-01", "depression"),
                ev(p, d, "depression_review"),
            )
            for p, d in day_reviews.items()
        ],
        person(11),
        ev(11, "2023-09-01", "depression"),
        ev(11, "2023-11-01", "depression"),
        ev(11, "2023-11-20", "depression_review"),
    )
    assert RUN.rows("depression-review", tables) == {
        1: (1.0, 1.0, 0.0),
        2: (0.0, 1.0, 0.0),
        5: (0.0, 0.0, 1.0),
        6: (0.0, 1.0, 0.0),
        7: (1.0, 1.0, 0.0),
        8: (0.0, 1.0, 0.0),
        9: (1.0, 1.0, 0.0),
        10: (0.0, 1.0, 0.0),
        11: (0.0, 1.0, 0.0),
    }


def test_asthma_register_needs_recent_inhaler_and_age_6() -> None:
    # 1 asthma, inhaler 2023-03-31 (outside 12 months) -> not on the register
    # 2 asthma aged 5 with inhaler -> not on the register (age >= 6)
    # 3 asthma aged 6 with inhaler 2023-04-01 and review 2024-03-31 -> (1, 1, 0)
    tables = merge(
        person(1),
        ev(1, "2010-01-01", "asthma"),
        med(1, "2023-03-31", "inhalers"),
        person(2, "2018-06-01"),
        ev(2, "2020-01-01", "asthma"),
        med(2, "2024-01-01", "inhalers"),
        person(3, "2018-03-01"),
        ev(3, "2020-01-01", "asthma"),
        med(3, "2023-04-01", "inhalers"),
        ev(3, "2024-03-31", "asthma_review"),
    )
    assert RUN.rows("asthma-review", tables) == {3: (1.0, 1.0, 0.0)}


def test_af_anticoagulation_needs_a_latest_cha2ds2_vasc_of_2_after_diagnosis() -> None:
    # AF coded 2015-01-01 for everyone; anticoagulant issued 2024-02-01 for the
    # odd patients (so a patient in the population is (1, 1, 0) or (0, 1, 0)).
    # 1 score 3 in 2020 (after diagnosis), treated                  -> (1, 1, 0)
    # 2 score 2 exactly, untreated                                  -> (0, 1, 0)
    # 3 score 1 (< 2), treated                                      -> out
    # 4 score 4 only in 2014, before the first AF code              -> out
    # 5 scores 3 (2016) then latest 1 (2022): latest decides        -> out
    # 6 scores 1 (2016) then latest 2 (2022), untreated             -> (0, 1, 0)
    # 7 score 5 on the day of the first AF code, treated            -> (1, 1, 0)
    # 8 no score recorded, treated                                  -> out
    # 9 score 3 recorded after the period end (2024-04-02), treated -> out
    # 10 latest score 2 recorded before a later, second AF code
    #    (first AF code 2015), untreated                            -> (0, 1, 0)
    def af(pid: int, *scores: tuple[str, float]) -> Tables:
        parts = [person(pid), ev(pid, "2015-01-01", "atrial_fibrillation")]
        parts += [ev(pid, d, "cha2ds2_vasc", v) for d, v in scores]
        if pid % 2:
            parts.append(med(pid, "2024-02-01", "anticoagulants"))
        return merge(*parts)

    tables = merge(
        af(1, ("2020-01-01", 3)),
        af(2, ("2020-01-01", 2)),
        af(3, ("2020-01-01", 1)),
        af(4, ("2014-06-01", 4)),
        af(5, ("2016-01-01", 3), ("2022-01-01", 1)),
        af(6, ("2016-01-01", 1), ("2022-01-01", 2)),
        af(7, ("2015-01-01", 5)),
        af(8),
        af(9, ("2024-04-02", 3)),
        af(10, ("2018-01-01", 2)),
        ev(10, "2020-01-01", "atrial_fibrillation"),
    )
    assert RUN.rows("af-anticoagulation", tables) == {
        1: (1.0, 1.0, 0.0),
        2: (0.0, 1.0, 0.0),
        6: (0.0, 1.0, 0.0),
        7: (1.0, 1.0, 0.0),
        10: (0.0, 1.0, 0.0),
    }


def test_diabetes_hba1c_split_by_latest_frailty() -> None:
    # Diabetes since 2010, HbA1c 66 on 2024-02-01 for everyone: fails DM020
    # (<= 58), achieves DM021 (<= 75). So every patient is (0, 1, 0) in DM020
    # or (1, 1, 0) in DM021, never both.
    # 1 no frailty code                                   -> DM020
    # 2 moderate frailty 2023                             -> DM021
    # 3 severe frailty 2023                               -> DM021
    # 4 moderate 2022, then mild 2023 (frailty resolved)  -> DM020
    # 5 mild 2022, then moderate 2023                     -> DM021
    # 6 mild and moderate on the same day                 -> DM021 (stays frail)
    # 7 moderate coded after the period end (2024-04-01)  -> DM020
    # 8 only mild frailty                                 -> DM020
    def dm(pid: int, *frailty: tuple[str, str]) -> Tables:
        parts = [
            person(pid),
            ev(pid, "2010-01-01", "diabetes"),
            ev(pid, "2024-02-01", "hba1c", 66),
        ]
        for date, grade in frailty:
            if grade == "mild":
                parts.append(ev(pid, date, "frailty_mild"))
            else:  # moderate is the list's first code, severe its second
                sct = code("frailty_moderate_severe", 1 if grade == "severe" else 0)
                parts.append(
                    {
                        "clinical_events": [
                            dict(patient_id=pid, date=date, snomedct_code=sct)
                        ]
                    }
                )
        return merge(*parts)

    tables = merge(
        dm(1),
        dm(2, ("2023-06-01", "moderate")),
        dm(3, ("2023-06-01", "severe")),
        dm(4, ("2022-06-01", "moderate"), ("2023-06-01", "mild")),
        dm(5, ("2022-06-01", "mild"), ("2023-06-01", "moderate")),
        dm(6, ("2023-06-01", "mild"), ("2023-06-01", "moderate")),
        dm(7, ("2024-04-01", "moderate")),
        dm(8, ("2023-06-01", "mild")),
    )
    fit = {p: (0.0, 1.0, 0.0) for p in (1, 4, 7, 8)}
    frail = {p: (1.0, 1.0, 0.0) for p in (2, 3, 5, 6)}
    assert RUN.rows("diabetes-hba1c-58", tables) == fit
    assert RUN.rows("diabetes-hba1c-75-frail", tables) == frail
