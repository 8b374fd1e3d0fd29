"""Quality accounts: inputs, assembly from results, HTML and the PDF itself."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from carepilot.errors import InputDataError, PermissionDenied
from carepilot.publication.quality_account.assemble import assemble, figure_for
from carepilot.publication.quality_account.inputs import load_inputs
from carepilot.publication.quality_account.model import QualityAccount
from carepilot.publication.quality_account.render import render_html, write

from .builders import META

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "quality_accounts"


def _inputs(tmp: Path) -> Path:
    folder = tmp / "inputs"
    shutil.copytree(EXAMPLES, folder)
    pri = yaml.safe_load((folder / "priorities.yaml").read_text())
    pri[0]["indicators"] = ["bp-control"]
    pri[1]["indicators"] = ["ae-rate"]
    pri[1]["target"] = 15
    pri[2]["indicators"] = ["bp-control", "ae-rate"]
    (folder / "priorities.yaml").write_text(yaml.safe_dump(pri))
    prov = yaml.safe_load((folder / "provider.yaml").read_text())
    prov["core_indicators"] = ["bp-control", "ae-rate", "not-computed"]
    (folder / "provider.yaml").write_text(yaml.safe_dump(prov))
    return folder


@pytest.fixture(scope="module")
def inputs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _inputs(tmp_path_factory.mktemp("qa"))


@pytest.fixture(scope="module")
def account(released: pd.DataFrame, inputs_dir: Path) -> QualityAccount:
    return assemble(
        released,
        "A81001",
        "Riverside Surgery",
        "gp",
        2023,
        load_inputs(inputs_dir, "A81001"),
        META,
    )


def _total(results: pd.DataFrame, indicator: str, start: str) -> pd.Series:
    rows = results[
        (results["area_code"] == "A81001")
        & (results["indicator_id"] == indicator)
        & (results["breakdown"] == "total")
        & (results["period_start"].astype(str) == start)
    ]
    return rows.iloc[0]


def test_example_inputs_are_valid() -> None:
    inputs = load_inputs(EXAMPLES, "ANY")
    assert len(inputs.priorities) >= 3
    assert inputs.assurance.registration_status


def test_fewer_than_three_priorities_is_refused(tmp_path: Path) -> None:
    folder = _inputs(tmp_path)
    pri = yaml.safe_load((folder / "priorities.yaml").read_text())[:2]
    (folder / "priorities.yaml").write_text(yaml.safe_dump(pri))
    with pytest.raises(InputDataError, match=r"priorities\.yaml: `priorities`"):
        load_inputs(folder, "A81001")


def test_missing_file_and_bad_field_are_named(tmp_path: Path) -> None:
    folder = _inputs(tmp_path)
    (folder / "ceo_statement.md").unlink()
    with pytest.raises(InputDataError, match="ceo_statement.md"):
        load_inputs(folder, "A81001")
    folder = _inputs(tmp_path / "b")
    doc = yaml.safe_load((folder / "assurance.yaml").read_text())
    doc["registration_statsu"] = doc.pop("registration_status")
    (folder / "assurance.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(InputDataError, match="registration_statsu"):
        load_inputs(folder, "A81001")


def test_provider_specific_folder_wins(tmp_path: Path, inputs_dir: Path) -> None:
    shutil.copytree(inputs_dir, tmp_path / "A81009")
    text = (tmp_path / "A81009" / "provider.yaml").read_text()
    (tmp_path / "A81009" / "provider.yaml").write_text(
        text.replace("Dr Amina Clarke", "Mr B Jones")
    )
    shutil.copytree(inputs_dir, tmp_path, dirs_exist_ok=True)
    assert load_inputs(tmp_path, "A81009").ceo_name == "Mr B Jones"
    assert load_inputs(tmp_path, "A81001").ceo_name == "Dr Amina Clarke"


def test_priorities_show_last_year_and_this_year(
    account: QualityAccount, released: pd.DataFrame
) -> None:
    assert account.year_label == "2023/24"
    prev, cur = account.priorities[0].figures[0]
    assert prev is not None and cur is not None
    # 2022/23: latest quarter ending in the year is Jan-Mar 2023
    assert prev.period == "2023 Q1"
    assert prev.value == pytest.approx(
        _total(released, "bp-control", "2023-01-01")["value"]
    )
    assert cur.period == "2023 Q3"
    assert cur.value == pytest.approx(
        _total(released, "bp-control", "2023-07-01")["value"]
    )
    assert cur.england is not None


def test_core_indicators_and_missing_ones(account: QualityAccount) -> None:
    assert [c.indicator_id for c in account.core] == ["bp-control", "ae-rate"]
    assert account.missing_core == ("not-computed",)
    assert len(account.trends) == 2
    assert all(t.svg.startswith("<svg") for t in account.trends)


def test_figure_prefers_annual_periods(released: pd.DataFrame) -> None:
    rows = released[
        (released["area_code"] == "A81001")
        & (released["indicator_id"] == "bp-control")
        & (released["breakdown"] == "total")
    ]
    annual = rows.iloc[[0]].copy()
    annual["period_start"] = pd.Timestamp("2022-04-01").date()
    annual["period_end"] = pd.Timestamp("2023-03-31").date()
    annual["value"] = 55.5
    both = pd.concat([rows, annual])
    fig = figure_for(
        both,
        META["bp-control"],
        pd.Timestamp("2022-04-01").date(),
        pd.Timestamp("2023-03-31").date(),
        rows.iloc[0:0],
    )
    assert fig is not None and fig.period == "2022/23" and fig.value == 55.5


def test_priority_with_unknown_indicator_is_refused(
    released: pd.DataFrame, tmp_path: Path
) -> None:
    folder = _inputs(tmp_path)
    pri = yaml.safe_load((folder / "priorities.yaml").read_text())
    pri[0]["indicators"] = ["no-such-indicator"]
    (folder / "priorities.yaml").write_text(yaml.safe_dump(pri))
    with pytest.raises(InputDataError, match="no-such-indicator"):
        assemble(
            released, "A81001", "x", "gp", 2023, load_inputs(folder, "A81001"), META
        )


def test_unreleased_results_are_refused(raw: pd.DataFrame, inputs_dir: Path) -> None:
    with pytest.raises(PermissionDenied):
        assemble(
            raw, "A81001", "x", "gp", 2023, load_inputs(inputs_dir, "A81001"), META
        )


def test_html_has_the_required_structure(account: QualityAccount) -> None:
    html = render_html(account)
    order = [
        "Part 1: Statement on quality from the chief executive",
        "Part 2: Priorities for improvement",
        "Statements of assurance from the board",
        "Participation in clinical audits",
        "Participation in clinical research",
        "Quality-linked payment (CQUIN) income",
        "Registration and regulator findings",
        "Data quality",
        "Information governance",
        "Core indicators",
        "Part 3: Review of quality performance",
        "Annex: Statements from commissioners and local patient bodies",
    ]
    positions = [html.index(h) for h in order]
    assert positions == sorted(positions)
    assert "<strong>general practice, community nursing and social care</strong>" in (
        html
    )
    fragment = render_html(account, standalone=False)
    assert "<html" not in fragment and "Part 3" in fragment


def _pdftext(pdf: Path) -> str:
    out = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout


@pytest.mark.skipif(
    shutil.which("pdftotext") is None,
    reason="poppler-utils not installed (apt-get install poppler-utils)",
)
def test_pdf_renders_with_structure_and_numbers(
    account: QualityAccount, released: pd.DataFrame, tmp_path: Path
) -> None:
    files = write(account, tmp_path)
    text = _pdftext(files["pdf"])
    flat = " ".join(text.split())
    for heading in (
        "Part 1: Statement on quality from the chief executive",
        "Part 2: Priorities for improvement",
        "Part 3: Review of quality performance",
        "Annex: Statements from commissioners",
    ):
        assert heading in flat
    assert "Priority 3: Protecting older people from flu" in flat
    value = _total(released, "bp-control", "2023-07-01")["value"]
    assert f"{value:.1f}" in flat
    assert "North PCT (commissioner)" in flat
    pages = re.findall(r"Page (\d+) of (\d+)", flat)
    assert pages and int(pages[-1][0]) == int(pages[-1][1]) >= 5
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "40",
            "-png",
            "-f",
            "1",
            "-l",
            "3",
            str(files["pdf"]),
            str(tmp_path / "page"),
        ],
        check=True,
    )
    pngs = sorted(tmp_path.glob("page-*.png"))
    assert len(pngs) == 3
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
