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


# -- recorded vs expected from an external table ---------------------------------------


def _expected_rows(
    indicator: str, tables: Tables
) -> dict[str, dict[int, tuple[float, float]]]:
    """(num, expected probability) per patient on the reference evaluator, DuckDB
    and SQLite (`num_sq` carries the expected probability)."""
    import ibis

    from carepilot.engine.tables import load_tables
    from carepilot.indicators.compile import compile_indicator
    from carepilot.indicators.reference import evaluate_indicator
    from carepilot.library import get_definition
    from tests.spec.harness import MARCH_2024, PRACTICES, _typed

    defn = get_definition(indicator)
    data = {**tables, "practices": PRACTICES}
    out = {
        "reference": {
            r["patient_id"]: (r["num"], round(r["num_sq"], 12))
            for r in evaluate_indicator(defn, _typed(data), MARCH_2024)
        }
    }
    for name, con in (
        ("duckdb", ibis.duckdb.connect()),
        ("sqlite", ibis.sqlite.connect()),
    ):
        df = compile_indicator(defn, load_tables(con, _typed(data)), MARCH_2024)
        rows = df.patient_level.to_pandas()
        out[name] = {
            int(r.patient_id): (float(r.num), round(float(r.num_sq), 12))
            for r in rows.itertuples()
        }
    return out


def _national_total(indicator: str, tables: Tables) -> dict[str, float]:
    import ibis

    from carepilot.disclosure import ROW_LEVEL_ACCESS
    from carepilot.engine.run import Engine
    from carepilot.engine.tables import load_tables
    from carepilot.library import get_definition
    from tests.spec.harness import MARCH_2024, PRACTICES, _typed

    t = load_tables(ibis.duckdb.connect(), _typed({**tables, "practices": PRACTICES}))
    engine = Engine(t, MARCH_2024, breakdowns=("total",))
    res = engine.release(get_definition(indicator), ROW_LEVEL_ACCESS)
    row = res[(res.area_type == "national") & (res.breakdown == "total")].iloc[0]
    return {
        k: float(row[k])
        for k in ("numerator", "denominator", "value", "lower_ci_95", "upper_ci_95")
    }


def _poisson_ratio(observed: int, expected: float) -> tuple[float, float, float]:
    """O/E x 100 with exact Poisson 95 % limits (O < 10), worked independently."""
    from scipy.stats import chi2

    lo = chi2.ppf(0.025, 2 * observed) / 2 if observed else 0.0
    hi = chi2.ppf(0.975, 2 * observed + 2) / 2
    return (100 * observed / expected, 100 * lo / expected, 100 * hi / expected)


def test_dementia_diagnosis_rate_against_expected_table() -> None:
    # Age at 2024-03-31; expected % from expected/dementia_65_plus.csv.
    # 1 female 74, dementia 2010        -> O 1, F 70-74  3.0 %
    # 2 male 84, no dementia            -> O 0, M 80-84 10.0 %
    # 3 female 93, dementia 2015        -> O 1, F 90+   33.0 %
    # 4 female 64                        -> not in the population (age >= 65)
    # 5 sex unknown, 70, dementia        -> no cell: out of observed and expected
    # 6 male, 65 ON the period end, dementia coded 2024-04-01 (after the end)
    #                                    -> O 0, M 65-69  1.5 %
    # O = 2, E = 0.03 + 0.10 + 0.33 + 0.015 = 0.475, ratio = 421.05 (% of expected)
    tables = merge(
        person(1, "1950-01-01"),
        ev(1, "2010-01-01", "dementia"),
        person(2, "1940-01-01", sex="male"),
        person(3, "1930-06-01"),
        ev(3, "2015-01-01", "dementia"),
        person(4, "1959-06-01"),
        ev(4, "2020-01-01", "dementia"),
        person(5, "1953-06-01", sex="unknown"),
        ev(5, "2020-01-01", "dementia"),
        person(6, "1959-03-31", sex="male"),
        ev(6, "2024-04-01", "dementia"),
    )
    expected = {1: (1.0, 0.03), 2: (0.0, 0.1), 3: (1.0, 0.33), 6: (0.0, 0.015)}
    for engine, rows in _expected_rows("prevalence-expected-dementia", tables).items():
        assert rows == expected, engine
    national = _national_total("prevalence-expected-dementia", tables)
    value, lo, hi = _poisson_ratio(2, 0.475)
    assert national["numerator"] == 2 and national["denominator"] == 4
    assert national["value"] == pytest.approx(value, rel=1e-9)
    assert national["value"] == pytest.approx(421.0526, abs=1e-3)
    assert national["lower_ci_95"] == pytest.approx(lo, rel=1e-6)
    assert national["upper_ci_95"] == pytest.approx(hi, rel=1e-6)


def test_diabetes_recorded_vs_expected_by_age_sex_and_deprivation() -> None:
    # expected/diabetes_17_plus.csv: % by sex, age band and IMD quintile.
    # 1 male 64, IMD decile 1 (quintile 1), diabetic -> O 1, 16.0 x 1.35 = 21.6 %
    # 2 female 84, decile 10 (quintile 5)            -> O 0, 15.0 x 0.8  = 12.0 %
    # 3 female 17 (birthday 2024-03-01), decile 5 (quintile 3), diabetic
    #                                                 -> O 1, 0.9 %
    # 4 male 50, deprivation unknown, diabetic        -> no cell: left out
    # 5 male 16, diabetic                             -> not in the population
    # 6 female 60, decile 3 (quintile 2), diabetes resolved 2015
    #                                                 -> O 0, 11.0 x 1.15 = 12.65 %
    # O = 2, E = 0.216 + 0.12 + 0.009 + 0.1265 = 0.4715
    tables = merge(
        person(1, "1960-01-01", sex="male", imd_decile=1),
        ev(1, "2015-01-01", "diabetes"),
        person(2, "1940-01-01", imd_decile=10),
        person(3, "2007-03-01", imd_decile=5),
        ev(3, "2023-01-01", "diabetes"),
        person(4, "1974-01-01", sex="male"),
        ev(4, "2015-01-01", "diabetes"),
        person(5, "2008-01-01", sex="male", imd_decile=4),
        ev(5, "2023-01-01", "diabetes"),
        person(6, "1964-01-01", imd_decile=3),
        ev(6, "2010-01-01", "diabetes"),
        ev(6, "2015-01-01", "diabetes_resolved"),
    )
    expected = {1: (1.0, 0.216), 2: (0.0, 0.12), 3: (1.0, 0.009), 6: (0.0, 0.1265)}
    for engine, rows in _expected_rows("prevalence-expected-diabetes", tables).items():
        assert rows == expected, engine
    national = _national_total("prevalence-expected-diabetes", tables)
    value, lo, hi = _poisson_ratio(2, 0.4715)
    assert national["value"] == pytest.approx(value, rel=1e-9)
    assert (national["lower_ci_95"], national["upper_ci_95"]) == pytest.approx((lo, hi))
