"""Settle a contract year from a hand-built DuckDB and results file; check by hand."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

from carepilot.contracts.definition import load_contract
from carepilot.contracts.model import Setting
from carepilot.contracts.results import read_results
from carepilot.contracts.service import run_settlement
from carepilot.errors import DefinitionError


@pytest.fixture()
def run(analytics_db: Path, results_file: Path, contract_file: Path):
    contract = load_contract(contract_file)
    return run_settlement(contract, analytics_db, read_results(results_file), 2021)


def test_cost_model_recovers_baseline_costs(run) -> None:
    coef = dict(run.model.coefficient_table())
    # 19 of 39 baseline patients are under 65, so 65+ (20) is the reference
    reference = (
        "reference person (age 65+, sex female, IMD quintile 2, no flagged conditions)"
    )
    assert coef[reference] == D("3000.00")
    assert coef["age 0-64"] == D("-2000.00")
    assert coef["sex male"] == D("0.00")
    assert run.model.n_patients == 39  # patient 4 not registered in the baseline year
    assert run.model.r2_out_of_sample == pytest.approx(1.0)


def test_patients_who_leave_die_or_join_count_pro_rata(run) -> None:
    frame = run.periods[0].frame.set_index("patient_id")
    assert frame.loc[2, "days"] == 183  # left 30 Sep 2021
    assert frame.loc[3, "days"] == 91  # died 30 Jun 2021
    assert frame.loc[4, "days"] == 90  # joined 1 Jan 2022
    assert frame.loc[1, "days"] == 365
    assert 21 not in frame.index  # other practice


def test_budget_build_up_by_hand(run) -> None:
    s = run.settlements[0]
    # young: 7 x 1,000 + 1,000 x (183 + 91 + 90) / 365; old: 10 x 3,000
    assert s.build_up.expected_cost == D("37997.26")
    assert s.build_up.trend_factor == D("1.030000")
    assert s.budget == D("39137.18")  # 37,997.26 x 1.03 = 39,137.1778
    assert s.build_up.registered_patients == 20
    assert s.build_up.patient_months == D(str(round((17 + 364 / 365) * 12, 2)))


def test_spend_pooling_and_tariff_by_hand(run) -> None:
    s = run.settlements[0]
    assert s.gross_spend == {
        Setting.APCS: D("88000.00"),
        Setting.OPA: D("6300.00"),
        Setting.EC: D("200.00"),  # the 300 after patient 2 left is not counted
        Setting.COMMUNITY: D("100.00"),
    }
    assert s.pooled_excess == D("55900.00")  # patient 1: 60,900 - 5,000
    assert s.pooled_patients == 1
    assert s.spend == D("38700.00")
    assert s.tariff[Setting.COMMUNITY] == D("50.00")  # DNA not payable
    assert s.tariff_total == D("94550.00")


def test_risk_share_and_quality_by_hand(run) -> None:
    s = run.settlements[0]
    assert s.risk.variance == D("437.18")
    assert s.provider_savings_share == D("218.59")
    # hyp008 0.5 x 25; dm020 1 x 25; smok002 tier 80 % x 20; gap -15 -> -13.5: full 30
    assert [q.points for q in s.quality.lines] == [
        D("12.50"),
        D("25.00"),
        D("16.00"),
        D("30.00"),
    ]
    assert s.quality.score_pct == D("83.50")
    assert s.withheld == D("978.43")
    assert s.quality.earned == D("816.99")  # 978.43 x 0.835 = 816.989


def test_quarterly_year_to_date_ends_with_the_annual_figures(
    analytics_db: Path, results_file: Path, contract_file: Path, run
) -> None:
    contract = load_contract(contract_file)
    quarters = run_settlement(
        contract, analytics_db, read_results(results_file), 2021, quarterly=True
    )
    assert len(quarters.settlements) == 4
    assert quarters.settlements[-1].budget == run.settlements[0].budget
    assert quarters.settlements[0].period_end.isoformat() == "2021-06-30"
    budgets = [q.budget for q in quarters.settlements]
    assert budgets == sorted(budgets)


def test_unknown_indicator_in_results(
    analytics_db: Path, results_file: Path, contract_file: Path
) -> None:
    contract = load_contract(contract_file)
    results = read_results(results_file)
    results = results[results["indicator_id"] != "dm020"]
    with pytest.raises(DefinitionError, match="unknown indicator.*dm020"):
        run_settlement(contract, analytics_db, results, 2021)


def test_year_outside_term(
    analytics_db: Path, results_file: Path, contract_file: Path
) -> None:
    with pytest.raises(DefinitionError, match="not a contract year"):
        run_settlement(
            load_contract(contract_file), analytics_db, read_results(results_file), 2030
        )
