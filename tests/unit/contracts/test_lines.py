"""Statement lines: patient counts go through disclosure control, money does not."""

from __future__ import annotations

from dataclasses import replace

import pytest

from carepilot.contracts.lines import REDACTED, disclose_count, statement_lines
from carepilot.contracts.settlement import settle
from carepilot.contracts.statement import statement_dict
from carepilot.disclosure import OPENSAFELY, ROW_LEVEL_ACCESS, SUPPRESS_1_TO_7
from tests.unit.contracts.factories import contract
from tests.unit.contracts.test_settlement import inputs


@pytest.mark.parametrize(
    ("n", "shown"),
    [(0, REDACTED), (1, REDACTED), (7, REDACTED), (8, "10"), (12, "10"), (13, "15")],
)
def test_opensafely_redacts_then_rounds_to_5(n: int, shown: str) -> None:
    assert disclose_count(n, OPENSAFELY) == shown


def test_suppress_policy_hides_below_threshold_and_keeps_true_zero() -> None:
    assert disclose_count(0, SUPPRESS_1_TO_7) == "0"
    assert disclose_count(7, SUPPRESS_1_TO_7) == REDACTED
    assert disclose_count(8, SUPPRESS_1_TO_7) == "8"
    assert disclose_count(1003, ROW_LEVEL_ACCESS) == "1003"


def test_statement_counts_are_disclosed_but_money_is_exact() -> None:
    c = contract()
    base = inputs()
    s = settle(c, replace(base, budget=replace(base.budget, registered_patients=1003)))
    lines = {ln.ref: ln for ln in statement_lines(s, c)}
    assert lines["A1"].value == "1005"  # 1003 rounded to the nearest 5
    pooled = next(ln for ln in lines.values() if "Pooled high-cost" in ln.description)
    assert f"patients: {REDACTED}" in pooled.description  # 1 pooled patient
    assert str(pooled.amount) == "30000.00"
    exact = {ln.ref: ln for ln in statement_lines(s, c, ROW_LEVEL_ACCESS)}
    assert exact["A1"].value == "1003"
    assert "patients: 1)" in next(
        ln.description for ln in exact.values() if "Pooled high-cost" in ln.description
    )
    doc = statement_dict(s, c)
    assert doc["disclosure_policy"] == "opensafely"
    assert all(r["ok"] for r in doc["reconciliation"])
