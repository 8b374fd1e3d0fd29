"""Every shipped codelist is well formed and every code passes its format check."""

from __future__ import annotations

from importlib import resources

import pytest

from carepilot.codelists import codelist_names, load_codelist
from carepilot.errors import DefinitionError
from carepilot.schema.codes import is_valid_code
from carepilot.schema.model import CodeSystem


def test_there_are_codelists_for_every_required_concept() -> None:
    names = set(codelist_names())
    required = {
        "diabetes", "diabetes_resolved", "hypertension", "hba1c", "systolic_bp",
        "diastolic_bp", "cholesterol", "bmi", "smoking_current", "statins",
        "anticoagulants", "qof_pca_declined", "flu_vaccination", "asthma_review",
        "acsc_icd10", "cvd_icd10", "cancer_icd10", "asthma_resolved",
        "depression_resolved",
    }  # fmt: skip
    assert required <= names


@pytest.mark.parametrize("name", codelist_names())
def test_every_code_is_valid_for_its_system(name: str) -> None:
    codelist = load_codelist(name)
    assert len(codelist) >= 1
    bad = [c for c in codelist.codes if not is_valid_code(codelist.system, c)]
    assert bad == [], f"{name}.csv has invalid {codelist.system} codes: {bad}"
    assert len(set(codelist.codes)) == len(codelist.codes), f"{name} has duplicates"
    assert all(codelist.terms), f"{name} has codes without a term"


def test_systems_inferred_from_names() -> None:
    assert load_codelist("diabetes").system is CodeSystem.SNOMEDCT
    assert load_codelist("statins").system is CodeSystem.DMD
    assert load_codelist("acsc_icd10").system is CodeSystem.ICD10
    assert load_codelist("hip_replacement_opcs4").system is CodeSystem.OPCS4
    assert load_codelist("hrg_elective").system is CodeSystem.HRG


def test_readme_lists_every_codelist() -> None:
    readme = resources.files("carepilot.codelists").joinpath("README.md").read_text()
    missing = [n for n in codelist_names() if f"`{n}.csv`" not in readme]
    assert missing == []


def test_unknown_codelist_is_a_definition_error() -> None:
    with pytest.raises(DefinitionError, match="does not exist"):
        load_codelist("no_such_list")
