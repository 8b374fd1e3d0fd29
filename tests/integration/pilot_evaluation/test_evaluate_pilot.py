"""End-to-end: synth population -> load -> `carepilot evaluate` recovers the planted effects.

The populations are small (speed), so only coverage of the truth by the 95 %
interval is tested, not significance. Truths come from the synth `scenario.json`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from carepilot.engine.tables import tables_from_connection
from carepilot.errors import UserError
from carepilot.ingest.pipeline import load_extract
from carepilot.pilot_evaluation import EvaluationRequest, evaluate_pilot
from carepilot.store import ibis_connection
from carepilot.synth import PilotEffects, SynthConfig, write_population

pytestmark = pytest.mark.slow


def _population(root: Path, effects: PilotEffects) -> tuple[Path, dict]:  # type: ignore[type-arg]
    cfg = SynthConfig(
        patients=30_000, seed=11, practices=40, pilot_practices=14,
        staggered=True, effects=effects,
    )  # fmt: skip
    write_population(cfg, root / "synth", "parquet")
    load_extract(root / "synth", root / "db.duckdb")
    scenario = json.loads((root / "synth" / "scenario.json").read_text())
    return root / "db.duckdb", scenario


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:  # type: ignore[type-arg]
    return _population(tmp_path_factory.mktemp("planted"), PilotEffects())


def _truth(scenario: dict, outcome: str) -> float:  # type: ignore[type-arg]
    text = json.dumps(scenario)
    for eff in scenario.get("effects", []):
        if eff.get("outcome") == outcome:
            return float(eff["value"])
    raise AssertionError(f"{outcome} not in scenario: {text[:200]}")


def test_cli_recovers_emergency_admissions_and_bp_control(
    planted: tuple[Path, dict],
    tmp_path: Path,  # type: ignore[type-arg]
) -> None:
    from carepilot.cli.main import app

    db, scenario = planted
    pilot = "ICP01"
    out = tmp_path / "report"
    result = CliRunner().invoke(
        app,
        ["evaluate", "--pilot", pilot, "--db", str(db), "--design", "staggered",
         "--outcomes", "emergency-admissions-rate,hypertension-bp-140-90-under-80",
         "--washout", "12", "--out", str(out), "--no-pdf", "--no-groups"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    em = summary["outcomes"]["emergency-admissions-rate"]
    rel = next(e for e in em["effects"] if e["name"] == "relative")
    truth = _truth(scenario, "emergency_admissions")
    assert rel["ci_low"] <= truth <= rel["ci_high"], rel
    # BP control: +5 points in P(a reading is controlled); the indicator counts the
    # latest reading of the last 12 months, so the steady state (>= 12 months after
    # start: the washout-12 analysis) is 5 x the share with a reading (~0.6-1.0).
    bp = summary["outcomes"]["hypertension-bp-140-90-under-80"]
    steady = next(r for r in bp["sensitivity"] if r["analysis"].startswith("excluding"))
    t = 100 * _truth(scenario, "bp_control")
    assert steady["ci_low"] <= t and steady["ci_high"] >= 0.6 * t, steady
    for name in (
        "report.html",
        "numbers.json",
        "analysis_panel.csv",
        "group_panel.csv",
    ):
        assert (out / "emergency-admissions-rate" / name).exists()
    html = (out / "emergency-admissions-rate" / "report.html").read_text()
    for heading in (
        "Comparators and balance",
        "Sensitivity analyses",
        "disclosure-controlled",
    ):
        assert heading in html


def test_interim_report_with_groups_and_pdf(
    planted: tuple[Path, dict], tmp_path: Path
) -> None:  # type: ignore[type-arg]
    from carepilot.pilot_evaluation import write_evaluation

    db, _ = planted
    tables = tables_from_connection(ibis_connection(db))
    ev = evaluate_pilot(
        tables,
        EvaluationRequest(
            "ICP01", ("emergency-admissions-rate",), design="did", year=1
        ),
    )
    assert ev.kind == "interim report, year 1"
    oe = ev.outcomes[0]
    assert {"deprivation (IMD quintile)", "sex"} <= set(oe.by_group)
    assert any(e.name.startswith("gap") for e in oe.by_group["sex"].effects)
    write_evaluation(ev, tmp_path, pdf=True)
    assert (tmp_path / "emergency-admissions-rate" / "report.pdf").read_bytes()[
        :4
    ] == b"%PDF"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pilot_id": "NOPE"}, "no such pilot"),
        ({"outcomes": ("nope",)}, "no indicator with id nope"),
        ({"min_comparators": 500}, "too few comparators"),
        ({"first_month": __import__("datetime").date(2023, 1, 1)}, "no pre-period"),
        ({"last_month": __import__("datetime").date(2022, 3, 1)}, "no post-period"),
        ({"design": "rdd"}, "choose one of"),
    ],
)
def test_bad_input_gives_clear_errors(
    planted: tuple[Path, dict],
    kwargs: dict,
    message: str,  # type: ignore[type-arg]
) -> None:
    db, _ = planted
    tables = tables_from_connection(ibis_connection(db))
    base = {"pilot_id": "ICP01", "outcomes": ("emergency-admissions-rate",),
            "groups": False, "sensitivity": False}  # fmt: skip
    with pytest.raises(UserError, match=message):
        evaluate_pilot(tables, EvaluationRequest(**{**base, **kwargs}))


def test_null_population_shows_no_significant_effect(tmp_path: Path) -> None:
    db, _ = _population(tmp_path, PilotEffects.null())
    tables = tables_from_connection(ibis_connection(db))
    ev = evaluate_pilot(
        tables,
        EvaluationRequest("ICP01", ("emergency-admissions-rate",), design="did",
                          groups=False, sensitivity=False),
    )  # fmt: skip
    head = ev.outcomes[0].main.headline
    assert head.p_value is not None and head.p_value > 0.05, head
