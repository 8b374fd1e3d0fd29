"""Hand-worked fixtures for the prevention and health-promotion indicators.

Period: March 2024 (end 2024-03-31). Windows: 12 months from 2023-04-01,
24 months from 2022-04-01, 42 months from 2020-10-01, 5 years (60 months) from
2019-04-01, 66 months from 2018-10-01; the financial year to date from
2023-04-01. Ages are on 2024-03-31. Each expected row is (num, den, exc).
"""

from __future__ import annotations

from tests.unit.library.fixtures import LibraryRunner, ev, merge, person, row, totals

RUN = LibraryRunner()
DIED = dict(underlying_cause_of_death="I21.9")


def test_smoking_status_recorded_ltc() -> None:
    tables = merge(
        # 1 hypertension, never-smoker recorded 2024-01-01 -> (1, 1, 0)
        person(1),
        ev(1, "2010-01-01", "hypertension"),
        ev(1, "2024-01-01", "smoking_never"),
        # 2 diabetes, status only on 2023-03-31 (day before window) -> (0, 1, 0)
        person(2),
        ev(2, "2010-01-01", "diabetes"),
        ev(2, "2023-03-31", "smoking_ex"),
        # 3 no long-term condition -> not in population
        person(3),
        ev(3, "2024-01-01", "smoking_never"),
        # 4 asthma resolved in 2015 -> not in population
        person(4),
        ev(4, "2010-01-01", "asthma"),
        ev(4, "2015-01-01", "asthma_resolved"),
        # 5 COPD, registered 2024-02-01, no status -> exception (0, 0, 1)
        person(5, reg=("2024-02-01", None)),
        ev(5, "2010-01-01", "copd"),
        # 6 SMI, declined 2023-06-01 -> exception (0, 0, 1)
        person(6),
        ev(6, "2010-01-01", "smi"),
        ev(6, "2023-06-01", "qof_pca_declined"),
        # 7 CKD and CHD (one patient), current smoker on 2023-04-01 -> (1, 1, 0)
        person(7),
        ev(7, "2010-01-01", "ckd"),
        ev(7, "2011-01-01", "chd"),
        ev(7, "2023-04-01", "smoking_current"),
    )
    rows = RUN.rows("smoking-status-recorded-ltc", tables)
    assert rows == {
        1: (1.0, 1.0, 0.0),
        2: (0.0, 1.0, 0.0),
        5: (0.0, 0.0, 1.0),
        6: (0.0, 0.0, 1.0),
        7: (1.0, 1.0, 0.0),
    }
    assert totals(rows) == (2.0, 3.0, 2.0)  # 2 / (5 - 2) = 66.7 %


def test_smoking_prevalence_latest_status_decides() -> None:
    tables = merge(
        # 1 current 2020 then ex 2022 -> ex-smoker (0, 1, 0)
        person(1),
        ev(1, "2020-01-01", "smoking_current"),
        ev(1, "2022-01-01", "smoking_ex"),
        # 2 ex 2020 then current 2023 -> current (1, 1, 0)
        person(2),
        ev(2, "2020-01-01", "smoking_ex"),
        ev(2, "2023-01-01", "smoking_current"),
        # 3 never -> (0, 1, 0)
        person(3),
        ev(3, "2020-01-01", "smoking_never"),
        # 4 no status recorded -> not in population
        person(4),
        # 5 aged 14 (born 2009-06-01), current -> not in population
        person(5, "2009-06-01"),
        ev(5, "2023-01-01", "smoking_current"),
        # 6 current and never on the same day -> current wins the tie (1, 1, 0)
        person(6),
        ev(6, "2023-01-01", "smoking_current"),
        ev(6, "2023-01-01", "smoking_never"),
    )
    assert RUN.rows("smoking-prevalence", tables) == {
        1: (0.0, 1.0, 0.0),
        2: (1.0, 1.0, 0.0),
        3: (0.0, 1.0, 0.0),
        6: (1.0, 1.0, 0.0),
    }


def test_smoking_cessation_offered() -> None:
    tables = merge(
        # 1 current 2023-06-01, offered 2023-07-01 -> (1, 1, 0)
        person(1),
        ev(1, "2023-06-01", "smoking_current"),
        ev(1, "2023-07-01", "smoking_cessation_offered"),
        # 2 current 2023-06-01, offer 2021-01-01 is outside 24 months -> (0, 1, 0)
        person(2),
        ev(2, "2023-06-01", "smoking_current"),
        ev(2, "2021-01-01", "smoking_cessation_offered"),
        # 3 current status only in 2021 (outside 24 months) -> not in population
        person(3),
        ev(3, "2021-01-01", "smoking_current"),
        # 4 current 2023-06-01 then ex 2023-09-01 -> quit, not in population
        person(4),
        ev(4, "2023-06-01", "smoking_current"),
        ev(4, "2023-09-01", "smoking_ex"),
        # 5 current, declined support 2023-08-01 -> exception (0, 0, 1)
        person(5),
        ev(5, "2023-06-01", "smoking_current"),
        ev(5, "2023-08-01", "qof_pca_declined"),
        # 6 registered 2024-02-01 -> recently registered exception (0, 0, 1)
        person(6, reg=("2024-02-01", None)),
        ev(6, "2024-02-10", "smoking_current"),
    )
    assert RUN.rows("smoking-cessation-offered", tables) == {
        1: (1.0, 1.0, 0.0),
        2: (0.0, 1.0, 0.0),
        5: (0.0, 0.0, 1.0),
        6: (0.0, 0.0, 1.0),
    }


def test_bmi_recorded_five_years() -> None:
    tables = merge(
        person(1),
        ev(1, "2019-04-01", "bmi", 24),  # window start: (1, 1, 0)
        person(2),
        ev(2, "2019-03-31", "bmi", 24),  # day before: (0, 1, 0)
        person(3, "2006-06-01"),
        ev(3, "2023-01-01", "bmi", 24),  # aged 17: out
    )
    assert RUN.rows("bmi-recorded", tables) == {1: (1.0, 1.0, 0.0), 2: (0.0, 1.0, 0.0)}


def test_obesity_prevalence() -> None:
    tables = merge(
        person(1),
        ev(1, "2024-01-01", "bmi", 30),  # exactly 30 -> obese (1, 1, 0)
        # 2 BMI 35 in 2023-06 but latest 29.9 -> (0, 1, 0)
        person(2),
        ev(2, "2023-06-01", "bmi", 35),
        ev(2, "2024-01-01", "bmi", 29.9),
        person(3),  # no BMI: counted in the denominator (0, 1, 0)
        person(4),
        ev(4, "2023-03-31", "bmi", 40),  # outside 12 months (0, 1, 0)
    )
    rows = RUN.rows("obesity-prevalence", tables)
    assert rows == {
        1: (1.0, 1.0, 0.0),
        2: (0.0, 1.0, 0.0),
        3: (0.0, 1.0, 0.0),
        4: (0.0, 1.0, 0.0),
    }


def test_alcohol_screening_and_risk() -> None:
    tables = merge(
        person(1),
        ev(1, "2022-04-01", "audit_c", 5),  # window start; score 5
        person(2),
        ev(2, "2022-03-31", "audit_c", 9),  # outside 24 months
        person(3, "2006-06-01"),
        ev(3, "2023-06-01", "audit_c", 2),  # aged 17
        person(4),
        ev(4, "2023-06-01", "audit_c", 4),  # screened, lower risk
        # 5 score 8 in 2022-06, latest 3 in 2023-06 -> lower risk now
        person(5),
        ev(5, "2022-06-01", "audit_c", 8),
        ev(5, "2023-06-01", "audit_c", 3),
    )
    # screened: 1, 4, 5 of adults 1, 2, 4, 5
    assert RUN.rows("alcohol-audit-c-screened", tables) == {
        1: (1.0, 1.0, 0.0),
        2: (0.0, 1.0, 0.0),
        4: (1.0, 1.0, 0.0),
        5: (1.0, 1.0, 0.0),
    }
    # increasing risk (latest >= 5) among the screened: only patient 1
    assert RUN.rows("alcohol-increasing-risk", tables) == {
        1: (1.0, 1.0, 0.0),
        4: (0.0, 1.0, 0.0),
        5: (0.0, 1.0, 0.0),
    }


def test_drug_misuse_recorded() -> None:
    tables = merge(
        person(1),
        ev(1, "2023-05-01", "drug_misuse"),  # (1, 1, 0)
        person(2),
        ev(2, "2022-05-01", "drug_misuse"),  # older than 12 months
        person(3, "2008-06-01"),
        ev(3, "2023-05-01", "drug_misuse"),  # aged 15
    )
    assert RUN.rows("drug-misuse-recorded", tables) == {
        1: (1.0, 1.0, 0.0),
        2: (0.0, 1.0, 0.0),
    }


def test_flu_65_plus_financial_year() -> None:
    tables = merge(
        person(1, "1959-03-01"),
        ev(1, "2023-10-01", "flu_vaccination"),  # 65: (1, 1, 0)
        person(2, "1959-04-01"),
        ev(2, "2023-10-01", "flu_vaccination"),  # 64: out
        person(3, "1950-01-01"),
        ev(3, "2023-03-31", "flu_vaccination"),  # last year (0, 1, 0)
        # 4 vaccinated, died 2024-01-01 -> not registered at the period end
        person(4, "1940-01-01", reg=("2000-01-01", "2024-01-01")),
        ev(4, "2023-10-01", "flu_vaccination"),
        row("ons_deaths", 4, date="2024-01-01", **DIED),
    )
    assert RUN.rows("flu-vaccination-65-plus", tables) == {
        1: (1.0, 1.0, 0.0),
        3: (0.0, 1.0, 0.0),
    }


def test_flu_at_risk_under_65() -> None:
    tables = merge(
        person(1, "1974-01-01"),
        ev(1, "2010-01-01", "diabetes"),
        ev(1, "2023-11-01", "flu_vaccination"),  # (1, 1, 0)
        # 2 asthma resolved -> not at risk
        person(2, "1974-01-01"),
        ev(2, "2010-01-01", "asthma"),
        ev(2, "2012-01-01", "asthma_resolved"),
        ev(2, "2023-11-01", "flu_vaccination"),
        person(3, "1954-01-01"),
        ev(3, "2010-01-01", "copd"),  # aged 70: out
        person(4, "1984-01-01"),
        ev(4, "2010-01-01", "chd"),  # no vaccine (0, 1, 0)
        person(5, "1974-01-01"),  # no risk condition: out
    )
    assert RUN.rows("flu-vaccination-at-risk", tables) == {
        1: (1.0, 1.0, 0.0),
        4: (0.0, 1.0, 0.0),
    }


def test_cervical_screening_25_49() -> None:
    tables = merge(
        person(1, "1994-01-01"),
        ev(1, "2020-10-01", "cervical_screening"),  # (1, 1, 0)
        person(2, "1994-01-01"),
        ev(2, "2020-09-30", "cervical_screening"),  # (0, 1, 0)
        person(3, "1994-01-01", sex="male"),  # men are not in the population
        person(4, "1994-01-01"),
        ev(4, "2023-06-01", "qof_pca_declined"),  # (0, 0, 1)
        person(5, "1974-01-01"),
        ev(5, "2022-01-01", "cervical_screening"),  # aged 50
    )
    assert RUN.rows("cervical-screening-25-49", tables) == {
        1: (1.0, 1.0, 0.0),
        2: (0.0, 1.0, 0.0),
        4: (0.0, 0.0, 1.0),
    }


def test_cervical_screening_50_64() -> None:
    tables = merge(
        person(1, "1969-01-01"),
        ev(1, "2018-10-01", "cervical_screening"),  # (1, 1, 0)
        person(2, "1969-01-01"),
        ev(2, "2018-09-30", "cervical_screening"),  # (0, 1, 0)
        person(3, "1959-01-01"),
        ev(3, "2022-01-01", "cervical_screening"),  # 65: out
        person(4, "1974-03-01"),  # turned 50 on 2024-03-01, never screened (0, 1, 0)
    )
    assert RUN.rows("cervical-screening-50-64", tables) == {
        1: (1.0, 1.0, 0.0),
        2: (0.0, 1.0, 0.0),
        4: (0.0, 1.0, 0.0),
    }


def test_chlamydia_testing_15_24() -> None:
    tables = merge(
        person(1, "2009-03-01"),
        ev(1, "2024-03-31", "chlamydia_test"),  # 15, end day
        person(2, "1999-04-01"),  # 24 (25 tomorrow), untested (0, 1, 0)
        person(3, "1999-03-01", sex="male"),
        ev(3, "2024-01-01", "chlamydia_test"),  # 25
        person(4, "2004-01-01", sex="male"),
        ev(4, "2023-03-31", "chlamydia_test"),
    )
    assert RUN.rows("chlamydia-testing-15-24", tables) == {
        1: (1.0, 1.0, 0.0),
        2: (0.0, 1.0, 0.0),
        4: (0.0, 1.0, 0.0),
    }


def test_nhs_health_check_eligible_population() -> None:
    tables = merge(
        person(1, "1974-01-01"),
        ev(1, "2019-04-01", "nhs_health_check"),  # (1, 1, 0)
        person(2, "1974-01-01"),  # eligible, no check (0, 1, 0)
        # 3 hypertension: excluded from the eligible population
        person(3, "1974-01-01"),
        ev(3, "2015-01-01", "hypertension"),
        ev(3, "2020-01-01", "nhs_health_check"),
        person(4, "1985-01-01"),  # aged 39: out
        person(5, "1949-06-01"),
        ev(5, "2020-01-01", "nhs_health_check"),  # 74: (1, 1, 0)
        person(6, "1949-01-01"),  # aged 75: out
    )
    assert RUN.rows("nhs-health-check-5-year", tables) == {
        1: (1.0, 1.0, 0.0),
        2: (0.0, 1.0, 0.0),
        5: (1.0, 1.0, 0.0),
    }


def test_iapt_referral_rate_counts_events() -> None:
    tables = merge(
        # 1 two referrals in the 12 months -> numerator 2 events, denominator 1
        person(1),
        ev(1, "2023-04-01", "iapt_referral"),
        ev(1, "2024-03-31", "iapt_referral"),
        person(2),  # (0, 1, 0)
        person(3, "2006-06-01"),
        ev(3, "2024-01-01", "iapt_referral"),  # aged 17: out
        person(4),
        ev(4, "2023-03-31", "iapt_referral"),  # before the window (0, 1, 0)
    )
    rows = RUN.rows("iapt-referrals-rate", tables)
    assert rows == {1: (2.0, 1.0, 0.0), 2: (0.0, 1.0, 0.0), 4: (0.0, 1.0, 0.0)}
    assert totals(rows)[:2] == (2.0, 3.0)  # 2 / 3 x 1,000 = 666.7 per 1,000


def test_depression_iapt_referral() -> None:
    tables = merge(
        person(1),
        ev(1, "2023-09-01", "depression"),
        ev(1, "2023-10-01", "iapt_referral"),
        person(2),
        ev(2, "2023-09-01", "depression"),  # not referred (0, 1, 0)
        person(3),
        ev(3, "2019-01-01", "depression"),
        ev(3, "2023-10-01", "iapt_referral"),
    )
    assert RUN.rows("depression-iapt-referral", tables) == {
        1: (1.0, 1.0, 0.0),
        2: (0.0, 1.0, 0.0),
    }
