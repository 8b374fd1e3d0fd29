"""A small hand-built analytics database and results file for contract settlement.

Commissioner Q01 has two practices: 1 (A81001, member of PILOT01) and 2 (A81002).
Patients 1-20 are registered at practice 1, 21-40 at practice 2; patients 1-10 and
21-30 are under 65 (born 1980), the others born 1940. Baseline year 2020/21: every
young patient has one outpatient attendance of 1,000, every old patient one spell
of 3,000. Contract year 2021/22 at practice 1:
  * patient 1: a 60,000 spell (high cost) plus the routine 900 outpatient visit;
  * patient 2 leaves on 2021-09-30 (183 days): A&E 200 before, 300 after leaving;
  * patient 3 dies on 2021-06-30 (91 days); patient 4 registers 2022-01-01 (90 days);
  * patients 1, 5-10: outpatient 900 (patient 6 also a DNA costing 0);
  * patients 11-20: a 2,800 spell; patient 5: community contacts 50 attended, 50 DNA.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from carepilot.store.tables import create_all


def _insert(
    con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, object]]
) -> None:
    frame = pd.DataFrame(rows)  # noqa: F841 - used by DuckDB replacement scan
    cols = ", ".join(rows[0])
    con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM frame")


@pytest.fixture(scope="module")
def analytics_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("contracts") / "analytics.duckdb"
    con = duckdb.connect(str(path))
    create_all(con)
    _insert(
        con,
        "commissioners",
        [
            {
                "commissioner_code": "Q01",
                "commissioner_name": "Test PCT",
                "sha_code": "Q30",
            }
        ],
    )
    _insert(
        con,
        "practices",
        [
            {
                "practice_pseudo_id": i,
                "practice_code": f"A8100{i}",
                "practice_name": f"P{i}",
                "pcn_code": "U1",
                "commissioner_code": "Q01",
            }
            for i in (1, 2)
        ],
    )
    _insert(
        con,
        "pilot_sites",
        [
            {
                "pilot_id": "PILOT01",
                "pilot_name": "Pilot",
                "commissioner_code": "Q01",
                "start_date": date(2020, 1, 1),
            }
        ],
    )
    _insert(
        con,
        "pilot_site_members",
        [
            {
                "pilot_id": "PILOT01",
                "member_type": "practice",
                "practice_pseudo_id": 1,
                "start_date": date(2020, 1, 1),
            }
        ],
    )
    patients, regs = [], []
    for pid in range(1, 41):
        young = pid <= 10 or 21 <= pid <= 30
        patients.append(
            {
                "patient_id": pid,
                "date_of_birth": date(1980 if young else 1940, 1, 1),
                "sex": "female" if pid % 2 else "male",
                "imd_decile": 3,
                "date_of_death": date(2021, 6, 30) if pid == 3 else None,
            }
        )
        regs.append(
            {
                "patient_id": pid,
                "start_date": date(2022, 1, 1) if pid == 4 else date(2015, 1, 1),
                "end_date": date(2021, 9, 30) if pid == 2 else None,
                "practice_pseudo_id": 1 if pid <= 20 else 2,
            }
        )
    _insert(con, "patients", patients)
    _insert(con, "practice_registrations", regs)
    apcs, opa, ec, cc = [], [], [], []

    def spell(pid: int, day: date, cost: float) -> None:
        apcs.append(
            {
                "spell_id": len(apcs) + 1,
                "patient_id": pid,
                "admission_date": day,
                "admission_method": "emergency",
                "primary_diagnosis": "I21",
                "tariff_cost": cost,
            }
        )

    def outpatient(pid: int, day: date, cost: float, status: str = "attended") -> None:
        opa.append(
            {
                "appointment_id": len(opa) + 1,
                "patient_id": pid,
                "appointment_date": day,
                "attendance_type": "first",
                "attendance_status": status,
                "cost": cost,
            }
        )

    for pid in range(1, 41):
        young = pid <= 10 or 21 <= pid <= 30
        if pid != 4:  # baseline year
            (outpatient if young else spell)(
                pid, date(2020, 7, 1), 1000.0 if young else 3000.0
            )
    for pid in (1, 5, 6, 7, 8, 9, 10):
        outpatient(pid, date(2021, 6, 1), 900.0)
    outpatient(6, date(2021, 7, 1), 0.0, "dna")
    for pid in range(11, 21):
        spell(pid, date(2021, 6, 1), 2800.0)
    spell(1, date(2021, 8, 1), 60000.0)
    ec.append(
        {
            "attendance_id": 1,
            "patient_id": 2,
            "arrival_date": date(2021, 5, 1),
            "cost": 200.0,
        }
    )
    ec.append(
        {
            "attendance_id": 2,
            "patient_id": 2,
            "arrival_date": date(2021, 11, 1),
            "cost": 300.0,
        }
    )
    cc.append(
        {
            "contact_id": 1,
            "patient_id": 5,
            "contact_date": date(2021, 5, 1),
            "service": "dn",
            "attendance_status": "attended",
            "cost": 50.0,
        }
    )
    cc.append(
        {
            "contact_id": 2,
            "patient_id": 5,
            "contact_date": date(2021, 5, 8),
            "service": "dn",
            "attendance_status": "dna",
            "cost": 50.0,
        }
    )
    _insert(con, "apcs", apcs)
    _insert(con, "opa", opa)
    _insert(con, "ec", ec)
    _insert(con, "community_contacts", cc)
    con.close()
    return path


def results_rows() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []

    def add(
        ind: str,
        year: int,
        value: float,
        breakdown: str = "total",
        category: str = "all",
    ) -> None:
        rows.append(
            {
                "indicator_id": ind,
                "indicator_version": 1,
                "period_start": date(year, 4, 1),
                "period_end": date(year + 1, 3, 31),
                "area_type": "pilot",
                "area_code": "PILOT01",
                "area_name": "Pilot",
                "parent_area_code": None,
                "breakdown": breakdown,
                "category": category,
                "numerator": value * 10,
                "denominator": 1000.0,
                "exceptions": None,
                "value": value,
                "lower_ci_95": None,
                "upper_ci_95": None,
                "lower_ci_99_8": None,
                "upper_ci_99_8": None,
                "comparison": "not compared",
                "suppressed": False,
                "suppression_reason": None,
            }
        )

    add("hyp008", 2021, 62.5)
    add("hyp008", 2020, 55.0)
    add("dm020", 2021, 75.0)
    add("smok002", 2021, 80.0)
    for year, q1, q5 in ((2021, 63.0, 76.5), (2020, 60.0, 75.0)):
        for cat, val in (("1", q1), ("2", 65.0), ("3", 66.0), ("4", 70.0), ("5", q5)):
            add("hyp008", year, val, "imd_quintile", cat)
    # another area's row must be ignored
    rows.append({**rows[0], "area_code": "PILOT02", "value": 1.0})
    return rows


@pytest.fixture()
def results_file(tmp_path: Path) -> Path:
    path = tmp_path / "results.parquet"
    pd.DataFrame(results_rows()).to_parquet(path)
    return path


TEST_CONTRACT = """
id: it-contract
version: 1
title: Integration test contract
parties:
  commissioner: {code: Q01, name: Test PCT}
  lead_provider: {code: RP001, name: Test provider}
population: {pilot_id: PILOT01}
term: {start: 2021-04-01, end: 2024-03-31}
capitation:
  baseline_year: 2020
  age_bands: [0, 65]
  trend: 3
  high_cost: {threshold: 5000, pooled_share: 100}
  seed: 7
quality:
  withhold: 2.5
  gate: {min_score: 40}
  indicators:
    - {id: hyp008, weight: 25, lower: 40, upper: 85, improvement: {full_credit_gain: 5, max_credit: 50}}
    - {id: dm020, weight: 25, lower: 35, upper: 75}
    - id: smok002
      weight: 20
      tiers: [{at_least: 60, credit: 50}, {at_least: 75, credit: 80}, {at_least: 90, credit: 100}]
  inequality_targets:
    - {name: hyp-gap, indicator: hyp008, weight: 30, target_reduction: 10}
risk_share:
  type: two_sided
  minimum_savings_rate: 0
  minimum_loss_rate: 0
  savings_cap: 10
  loss_cap: 5
  savings_bands: [{from: 0, to: 5, provider_share: 50}, {from: 5, provider_share: 25}]
  loss_bands: [{from: 0, to: 5, provider_share: 50}, {from: 5, provider_share: 25}]
"""


@pytest.fixture()
def contract_file(tmp_path: Path) -> Path:
    path = tmp_path / "contract.yaml"
    path.write_text(TEST_CONTRACT)
    return path
