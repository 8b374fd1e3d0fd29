"""The library as a whole: loads, covers the issue, has pages and tests for all."""

from __future__ import annotations

import re
from pathlib import Path

from carepilot.indicators.model import ValueType
from carepilot.library import (
    AREAS,
    area_of,
    definition_files,
    get_definition,
    library_dir,
    load_library,
)
from carepilot.library.metadata import build_pages, describe, render_page

REPO = Path(__file__).resolve().parents[3]
DOCS = REPO / "docs" / "library"


def test_library_loads_with_at_least_45_indicators_in_every_area() -> None:
    defs = load_library()
    assert len(defs) >= 45
    assert len({d.id for d in defs}) == len(defs)
    assert {area_of(d) for d in defs} == set(AREAS)
    assert library_dir().name == "library"
    # file name == id, so `get_definition` and docs links are stable
    for file in definition_files():
        assert get_definition(file.stem).id == file.stem


def test_library_covers_the_issue() -> None:
    ids = {d.id for d in load_library()}
    for required in (
        "diabetes-hba1c-58",
        "diabetes-bp-140-90",
        "diabetes-statin",
        "hypertension-bp-140-90-under-80",
        "hypertension-bp-150-90-80-plus",
        "af-anticoagulation",
        "chd-bp-140-90",
        "stroke-bp-140-90",
        "asthma-review",
        "copd-review",
        "smi-physical-health-check",
        "dementia-care-plan-review",
        "depression-review",
        "smoking-status-recorded-ltc",
        "smoking-cessation-offered",
        "bmi-recorded",
        "obesity-prevalence",
        "alcohol-audit-c-screened",
        "drug-misuse-recorded",
        "flu-vaccination-65-plus",
        "flu-vaccination-at-risk",
        "cervical-screening-25-49",
        "chlamydia-testing-15-24",
        "nhs-health-check-5-year",
        "iapt-referrals-rate",
        "emergency-admissions-rate",
        "acsc-admissions-dsr",
        "emergency-readmissions-30-days",
        "ae-attendances-rate",
        "elective-spells-rate",
        "outpatient-first-rate",
        "outpatient-follow-up-rate",
        "outpatient-dna",
        "community-contacts-dna",
        "delayed-discharge-days",
        "social-care-after-discharge",
        "deaths-usual-residence",
        "cvd-mortality-under-75-dsr",
        "cancer-mortality-under-75-dsr",
        "proms-hip-eq5d-improved",
        "proms-knee-eq5d-improved",
        "proms-ltc-eq5d-improved",
        "experience-overall-experience",
        "rtt-incomplete-18-weeks",
        "nice-ta-doac-90-days",
        "record-access-one-month",
    ):
        assert required in ids, required
    # QOF-style clinical indicators carry exceptions; every one has a reference
    for d in load_library():
        assert d.reference, d.id
        if area_of(d) == "clinical":
            assert d.exceptions is not None, d.id
    dsr = [d.id for d in load_library() if d.value_type is ValueType.DSR]
    assert (
        "cvd-mortality-under-75-dsr" in dsr and "cancer-mortality-under-75-dsr" in dsr
    )


def test_every_indicator_has_a_hand_worked_test() -> None:
    here = Path(__file__).parent
    text = "\n".join(
        p.read_text() for p in here.glob("test_*.py") if p.name != Path(__file__).name
    )
    mentioned = set(re.findall(r'"([a-z0-9-]+)"', text))
    mentioned |= {
        "experience-" + q.replace("_", "-") for q in re.findall(r'"([a-z_]+)"', text)
    }
    missing = [d.id for d in load_library() if d.id not in mentioned]
    assert not missing, f"indicators without a hand-worked fixture: {missing}"


def test_docs_pages_are_up_to_date() -> None:
    pages = build_pages()
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in DOCS.glob("*.md")}
    stale = sorted(n for n in pages if on_disk.get(n) != pages[n])
    extra = sorted(set(on_disk) - set(pages))
    assert not stale and not extra, (
        f"docs/library is out of date (stale: {stale[:5]}, extra: {extra[:5]}); run "
        "`python -m carepilot.library.metadata docs/library`"
    )


def test_page_has_every_section_and_codelist_terms() -> None:
    defn = get_definition("diabetes-hba1c-58")
    page = render_page(
        defn, {"hba1c": {defn.codelists["hba1c"].codes[0]: "HbA1c term"}}
    )
    for heading in (
        "## Definition",
        "## Rationale",
        "## Denominator",
        "## Numerator",
        "## Exceptions",
        "## Codelists",
        "## Data source",
        "## Caveats",
    ):
        assert heading in page
    assert "HbA1c term" in page and "Higher is better" in page
    assert "≤ 58" in describe(defn.numerator)
