"""Codelist CSV parsing and code-system checks."""

import pytest

from carepilot.errors import DefinitionError
from carepilot.indicators.codelists import parse_codelist
from carepilot.schema import CodeSystem


def test_opencodelists_format() -> None:
    cl = parse_codelist(
        "code,term\nI21,MI\nI22,x\n\n",
        name="mi",
        path="mi.csv",
        system=CodeSystem.ICD10,
    )
    assert cl.codes == ("I21", "I22")


def test_other_code_column() -> None:
    cl = parse_codelist(
        "dmd_id,name\n44054006,x\n",
        name="m",
        path="m.csv",
        system=CodeSystem.DMD,
        column="dmd_id",
    )
    assert cl.codes == ("44054006",)


def test_missing_column_and_empty() -> None:
    with pytest.raises(DefinitionError, match="no `code` column"):
        parse_codelist(
            "id,term\n1,x\n", name="x", path="x.csv", system=CodeSystem.ICD10
        )
    with pytest.raises(DefinitionError, match="contains no codes"):
        parse_codelist("code,term\n", name="x", path="x.csv", system=CodeSystem.ICD10)


def test_invalid_codes_are_listed_with_lines() -> None:
    text = "code,term\n" + "".join(f"bad{i},x\n" for i in range(7))
    with pytest.raises(DefinitionError) as info:
        parse_codelist(text, name="x", path="x.csv", system=CodeSystem.ICD10)
    assert "x.csv:2" in str(info.value) and "and 2 more" in str(info.value)
