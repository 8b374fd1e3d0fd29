"""Hand-worked population exposure: mid-year joining practices and overlapping lists.

Contract year 2021-04-01 .. 2022-03-31 (365 days). Practice 1 joined the pilot on
2020-01-01, practice 2 on 2021-10-01 (182 days before the year ends).

* Patient 1: registered at practice 1 all year -> 365 days, exposure 1.
* Patient 2: registered at practice 2 all year -> counts only from 2021-10-01:
  182 days, exposure 182/365 = 0.498630...; her outpatient visit on 2021-06-01
  (before the practice joined) is not the contract's spend, her A&E attendance on
  2021-11-01 (100) is.
* Patient 3: registered at practice 1 2021-04-01..2021-11-30 and at practice 2
  2021-07-01..2021-12-31 (a move with overlapping registrations). Windows:
  [04-01, 12-01) at practice 1 and [10-01, 2022-01-01) at practice 2 (from its
  joining date); merged [04-01, 2022-01-01) = 275 days, not 244 + 92 = 336. His
  A&E attendance on 2021-11-01 (250), inside both windows, counts once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from carepilot.contracts import data
from carepilot.contracts.model import Contract
from carepilot.store.tables import create_all
from tests.integration.contracts.conftest import _insert
from tests.unit.contracts.factories import contract as make_contract

START, END = date(2021, 4, 1), date(2022, 4, 1)


@pytest.fixture(scope="module")
def con(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[duckdb.DuckDBPyConnection]:
    path: Path = tmp_path_factory.mktemp("contracts_pop") / "pop.duckdb"
    c = duckdb.connect(str(path))
    create_all(c)
    _insert(
        c,
        "practices",
        [
            {
                "practice_pseudo_id": i,
                "practice_code": f"A8100{i}",
                "practice_name": f"P{i}",
                "pcn_code": "U1",
                "commissioner_code": "Q01",
            }
            for i in (1, 2, 3)
        ],
    )
    _insert(
        c,
        "pilot_site_members",
        [
            {
                "pilot_id": "PILOT01",
                "member_type": "practice",
                "practice_pseudo_id": pid,
                "start_date": joined,
            }
            for pid, joined in (
                (1, date(2020, 1, 1)),
                (2, date(2021, 10, 1)),
                (3, date(2022, 6, 1)),  # joins after the year: not a member
            )
        ],
    )
    _insert(
        c,
        "patients",
        [
            {
                "patient_id": pid,
                "date_of_birth": date(1970, 1, 1),
                "sex": "female",
                "imd_decile": 5,
            }
            for pid in (1, 2, 3)
        ],
    )
    _insert(
        c,
        "practice_registrations",
        [
            {
                "patient_id": 1,
                "start_date": date(2010, 1, 1),
                "end_date": None,
                "practice_pseudo_id": 1,
            },
            {
                "patient_id": 2,
                "start_date": date(2010, 1, 1),
                "end_date": None,
                "practice_pseudo_id": 2,
            },
            {
                "patient_id": 3,
                "start_date": date(2021, 4, 1),
                "end_date": date(2021, 11, 30),
                "practice_pseudo_id": 1,
            },
            {
                "patient_id": 3,
                "start_date": date(2021, 7, 1),
                "end_date": date(2021, 12, 31),
                "practice_pseudo_id": 2,
            },
        ],
    )
    _insert(
        c,
        "opa",
        [
            {
                "appointment_id": 1,
                "patient_id": 2,
                "appointment_date": date(2021, 6, 1),
                "attendance_type": "first",
                "attendance_status": "attended",
                "cost": 400.0,
            }
        ],
    )
    _insert(
        c,
        "ec",
        [
            {
                "attendance_id": 1,
                "patient_id": 2,
                "arrival_date": date(2021, 11, 1),
                "cost": 100.0,
            },
            {
                "attendance_id": 2,
                "patient_id": 3,
                "arrival_date": date(2021, 11, 1),
                "cost": 250.0,
            },
        ],
    )
    yield c
    c.close()


@pytest.fixture(scope="module")
def contract() -> Contract:
    return make_contract()


def _frame(con: duckdb.DuckDBPyConnection, contract: Contract) -> pd.DataFrame:
    members = data.pilot_practices(con, contract, END)
    frame = data.population_frame(
        con, members, START, END, 365, contract.capitation, as_of=START
    )
    return frame.set_index("patient_id").sort_index()


def _get(frame: pd.DataFrame, patient_id: int, column: str) -> float:
    values = frame.loc[frame.index == patient_id, column].to_numpy(dtype=float)
    assert len(values) == 1, f"patient {patient_id} should have one row"
    return float(values[0])


def test_members_carry_their_joining_dates(
    con: duckdb.DuckDBPyConnection, contract: Contract
) -> None:
    assert data.pilot_practices(con, contract, END) == {
        1: date(2020, 1, 1),
        2: date(2021, 10, 1),
    }


def test_practice_joining_mid_year_counts_pro_rata(
    con: duckdb.DuckDBPyConnection, contract: Contract
) -> None:
    frame = _frame(con, contract)
    assert _get(frame, 1, "days") == 365
    assert _get(frame, 2, "days") == 182
    assert _get(frame, 2, "exposure") == pytest.approx(182 / 365)
    # The June outpatient visit predates practice 2's membership.
    assert _get(frame, 2, "cost_opa") == 0.0
    assert _get(frame, 2, "cost_ec") == 100.0


def test_overlapping_registrations_count_once(
    con: duckdb.DuckDBPyConnection, contract: Contract
) -> None:
    frame = _frame(con, contract)
    assert _get(frame, 3, "days") == 275
    assert _get(frame, 3, "exposure") == pytest.approx(275 / 365)
    assert _get(frame, 3, "cost_ec") == 250.0
    assert float(frame["gross_cost"].sum()) == 350.0


def test_plain_practice_list_ignores_joining_dates(
    con: duckdb.DuckDBPyConnection, contract: Contract
) -> None:
    frame = data.population_frame(
        con, [1, 2], START, END, 365, contract.capitation, as_of=START
    ).set_index("patient_id")
    assert _get(frame, 2, "days") == 365
    # [04-01, 12-01) and [07-01, 2022-01-01) merge to [04-01, 2022-01-01).
    assert _get(frame, 3, "days") == 275
    assert _get(frame, 2, "cost_opa") == 400.0
