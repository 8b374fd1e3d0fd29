"""Finding definition files and the files they name (codelists, expected rates)."""

from __future__ import annotations

from pathlib import Path

import pytest

from carepilot.engine.definitions import SHIPPED_LIBRARY, load_file


def test_expected_table_in_a_codelists_folder_replaces_the_shipped_one(
    tmp_path: Path,
) -> None:
    source = SHIPPED_LIBRARY / "registers" / "prevalence-expected-dementia.yaml"
    shipped = load_file(source)
    assert shipped.expected is not None
    assert shipped.expected.rate_for("female", 92, None) == pytest.approx(0.33)
    own = tmp_path / "expected" / "dementia_65_plus.csv"
    own.parent.mkdir()
    own.write_text(
        "sex,age_from,age_to,expected_percent\nfemale,65,,40\nmale,65,,30\n",
        encoding="utf-8",
    )
    replaced = load_file(source, codelist_dirs=[tmp_path])
    assert replaced.expected is not None
    assert replaced.expected.rate_for("female", 92, None) == pytest.approx(0.40)
    assert replaced.expected.rate_for("male", 70, None) == pytest.approx(0.30)
