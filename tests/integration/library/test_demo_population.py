"""The whole library, local QOF and community packs on a synthetic population."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from carepilot.cli.main import app
from carepilot.disclosure import ROW_LEVEL_ACCESS
from carepilot.engine.run import Engine, run_indicators
from carepilot.engine.tables import tables_from_connection
from carepilot.indicators.periods import Period
from carepilot.library import load_library
from carepilot.store import ibis_connection

YEAR = Period(dt.date(2023, 4, 1), dt.date(2024, 3, 31))
MARCH = Period(dt.date(2024, 3, 1), dt.date(2024, 3, 31))
REPO = Path(__file__).resolve().parents[3]

# plausible national values on a 5,000-patient synthetic population
PLAUSIBLE = {
    "prevalence-hypertension": (8, 25),
    "prevalence-diabetes": (3, 12),
    "prevalence-af": (0.5, 5),
    "prevalence-chd": (1, 6),
    "prevalence-copd": (0.5, 5),
    "prevalence-asthma": (2, 12),
    "prevalence-dementia": (0.1, 3),
    "prevalence-smi": (0.2, 3),
    "hypertension-bp-140-90-under-80": (30, 95),
    "diabetes-hba1c-58": (30, 95),
    "flu-vaccination-65-plus": (40, 95),
    "emergency-admissions-rate": (40, 200),
}


NOT_SYNTHESISED = {
    "experience-inpatient-overall": "synth generates only GP Patient Survey answers",
}
"""Library indicators whose source data the synthetic population lacks (empty on
the demo). Listed so the test fails when synth starts generating it."""


@pytest.mark.slow
def test_whole_library_runs_with_plausible_values(demo_db: Path) -> None:
    defs = load_library()
    tables = tables_from_connection(ibis_connection(demo_db, read_only=True))
    engine = Engine(tables, [MARCH], breakdowns=("total", "sex", "imd_quintile"))
    start = time.perf_counter()
    results = run_indicators(engine, defs, ROW_LEVEL_ACCESS)  # internal check
    elapsed = time.perf_counter() - start
    national = results[
        (results["area_type"] == "national") & (results["breakdown"] == "total")
    ]
    by_id = national.set_index("indicator_id")
    empty = [
        d.id
        for d in defs
        if d.id not in by_id.index or not by_id.loc[d.id, "denominator"] > 0
    ]
    assert sorted(empty) == sorted(NOT_SYNTHESISED), (
        f"indicators with an empty national denominator: {empty}; expected only "
        f"those whose source data synth does not generate: {NOT_SYNTHESISED}"
    )
    for ind, (lo, hi) in PLAUSIBLE.items():
        value = float(by_id.loc[ind, "value"])
        assert lo <= value <= hi, f"{ind}: {value:.2f} outside {lo}-{hi}"
    ratios = by_id.loc[
        [d.id for d in defs if d.id.startswith("prevalence-ratio")], "value"
    ]
    assert (
        (ratios > 99) & (ratios < 101)
    ).all()  # national ratio is 100 by construction
    print(f"library: {len(defs)} indicators in {elapsed:.1f} s")  # noqa: T201


@pytest.mark.slow
def test_qof_calculate_service_and_cli(demo_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "qof.csv"
    result = CliRunner().invoke(
        app,
        [
            "qof",
            "calculate",
            "--scheme",
            str(REPO / "examples/qof/local-qof.yaml"),
            "--db",
            str(demo_db),
            "--year",
            "2023",
            "--results",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    assert set(frame["scheme_indicator"]) >= {"HYP008", "DM020", "HYP-GAP"}
    std = frame[frame["kind"] == "standard"]
    # points within 0..max, payment = points x 220.62 x CPI x APDF (to the penny)
    for r in std.itertuples():
        pts, cpi, factor = Decimal(r.points), Decimal(r.cpi), Decimal(r.apdf)
        assert Decimal(0) <= pts <= Decimal(r.max_points)
        expected = (pts * Decimal("220.62") * cpi * factor).quantize(Decimal("0.01"))
        assert Decimal(str(r.payment)) == expected
        if r.achievement >= r.upper:
            assert r.patients_needed == 0
        else:
            assert r.patients_needed > 0
    assert "total payment" in result.output


@pytest.mark.slow
def test_community_compare_scorecard_and_pack(demo_db: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    cmp_csv, card_csv = tmp_path / "cmp.csv", tmp_path / "card.csv"
    base = ["--db", str(demo_db), "--from", "2023-04", "--to", "2024-03"]
    res = runner.invoke(app, ["community", "compare", *base, "--out", str(cmp_csv)])
    assert res.exit_code == 0, res.output
    cmp = pd.read_csv(cmp_csv)
    assert {
        "dna_rate",
        "contacts_per_wte_month",
        "cost_per_contact",
        "contacts_per_patient",
        "emergency_admission_pct",
    } <= set(cmp["metric"])
    dna = cmp[(cmp["metric"] == "dna_rate") & ~cmp["suppressed"]]
    assert ((dna["value"] >= 0) & (dna["value"] <= 30)).all()
    # released counts are multiples of 5 (OpenSAFELY rounding)
    counted = cmp[cmp["numerator"].notna()]
    assert (counted["numerator"] % 5 == 0).all()
    res = runner.invoke(app, ["community", "scorecard", *base, "--out", str(card_csv)])
    assert res.exit_code == 0, res.output
    card = pd.read_csv(card_csv)
    assert card["score"].dropna().between(-1, 1).all()

    tables = tables_from_connection(ibis_connection(demo_db, read_only=True))
    pcn = str(tables["practices"].execute()["pcn_code"].iloc[0])
    out = tmp_path / "pack"
    res = runner.invoke(
        app, ["community", "pack", *base, "--pcn", pcn, "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    html = (out / "report.html").read_text()
    assert "Information pack" in html and "<svg" in html and "Slope index" in html
    practices = pd.read_csv(out / "practices.csv")
    assert (practices["area_type"] == "pcn").any()
    hospital = pd.read_csv(out / "hospital_use.csv")
    assert (hospital["population"] > 0).all()
    res = runner.invoke(
        app, ["community", "pack", *base, "--pcn", "NOPE", "--out", str(out)]
    )
    assert res.exit_code != 0
