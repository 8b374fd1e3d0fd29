from pathlib import Path

import pytest

from carepilot.schema import TABLES, get_table
from carepilot.schema.codes import (
    is_valid_code,
    is_valid_sctid,
    verhoeff_check_digit,
    verhoeff_is_valid,
)
from carepilot.schema.docs import render_data_model
from carepilot.schema.model import CodeSystem

ROOT = Path(__file__).resolve().parents[3]


def test_ehrql_core_names_are_kept():
    assert get_table("patients").column_names[:3] == (
        "patient_id",
        "date_of_birth",
        "sex",
    )
    assert set(get_table("practice_registrations").column_names) == {
        "patient_id",
        "start_date",
        "end_date",
        "practice_pseudo_id",
    }
    assert set(get_table("clinical_events").column_names) == {
        "patient_id",
        "date",
        "snomedct_code",
        "numeric_value",
    }
    assert set(get_table("medications").column_names) == {
        "patient_id",
        "date",
        "dmd_code",
    }
    deaths = get_table("ons_deaths").column_names
    assert "underlying_cause_of_death" in deaths and "cause_of_death_15" in deaths


def test_references_point_at_existing_columns():
    for table in TABLES.values():
        for column in table.columns:
            if column.references:
                ref_table, ref_col = column.references.split(".")
                assert get_table(ref_table).has_column(ref_col), column.references


def test_referenced_tables_load_first():
    order = list(TABLES)
    for table in TABLES.values():
        for column in table.columns:
            if column.references and column.references.split(".")[0] != table.name:
                assert order.index(column.references.split(".")[0]) < order.index(
                    table.name
                )


def test_unknown_names_give_helpful_errors():
    with pytest.raises(KeyError, match="tables are: commissioners"):
        get_table("nope")
    with pytest.raises(KeyError, match="columns are: patient_id"):
        get_table("patients").column("dob")


@pytest.mark.parametrize(
    "code", ["44054006", "38341003", "999791000000106", "73211009"]
)
def test_real_snomed_codes_pass_verhoeff(code):
    assert is_valid_sctid(code)


def test_verhoeff_detects_single_digit_errors():
    body = "4405400"
    good = body + verhoeff_check_digit(body)
    assert verhoeff_is_valid(good)
    for pos in range(len(good)):
        for d in "0123456789":
            if d != good[pos]:
                assert not verhoeff_is_valid(good[:pos] + d + good[pos + 1 :])


@pytest.mark.parametrize(
    ("system", "good", "bad"),
    [
        (CodeSystem.ICD10, "I21.4", "121.4"),
        (CodeSystem.ICD10, "E11", "E1"),
        (CodeSystem.OPCS4, "W37.1", "W3"),
        (CodeSystem.HRG, "HN12A", "HN12"),
        (CodeSystem.LSOA, "E01000001", "E0100001"),
        (CodeSystem.ODS, "A81001", "A8100123"),
    ],
)
def test_code_formats(system, good, bad):
    assert is_valid_code(system, good)
    assert not is_valid_code(system, bad)


def test_docs_data_model_is_up_to_date():
    path = ROOT / "docs" / "data-model.md"
    assert path.read_text(encoding="utf-8") == render_data_model() + "\n", (
        "docs/data-model.md is stale: regenerate it with "
        "`python -c 'from carepilot.schema.docs import render_data_model as r; print(r())' > docs/data-model.md`"
    )
