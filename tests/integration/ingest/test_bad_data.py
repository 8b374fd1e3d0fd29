"""Every broken extract in tests/data/bad is rejected with a precise message, DB untouched."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from carepilot.errors import InputDataError
from carepilot.ingest import LoadMode, load_extract

from .conftest import BAD, TODAY, file_hash

CASES: dict[str, list[str]] = {
    "wrong_types": [
        "patients.csv line 3, column `patient_id`: value 'abc': value of the wrong "
        "type; expected a whole number such as 42",
        "clinical_events.csv line 3, column `numeric_value`: value 'high': value of "
        "the wrong type; expected a finite number such as 3.5",
        "value of the wrong type: 2",
    ],
    "missing_required_column": [
        "clinical_events.csv, column `snomedct_code`: missing required column; "
        "expected a `snomedct_code` column",
        "columns present: patient_id, date, numeric_value",
        "Warnings:\n  patients.csv: optional column(s) absent",
    ],
    "unknown_codes": [
        "clinical_events.csv line 3, column `snomedct_code`: value '44054007': "
        "invalid code; expected a SNOMED CT concept id: 6-18 digits with a valid "
        "Verhoeff check digit",
        "clinical_events.csv line 4, column `snomedct_code`: value '44054007'",
        "invalid code: 2",
    ],
    "orphan_rows": [
        "clinical_events.csv line 3, column `patient_id`: value '99': reference to "
        "an unknown row; expected a `patient_id` that exists in `patients`",
    ],
    "duplicate_ids": [
        "patients.csv line 5, column `patient_id`: value '2': duplicate primary key; "
        "expected a unique `patient_id`; the same key is on line 3",
    ],
    "future_dates": [
        "clinical_events.csv line 3, column `date`: value '2999-01-01': value out of "
        "range; expected a date not in the future (today is 2024-06-01)",
    ],
    "truncated_file": [
        "clinical_events.csv line 4: value '3,2010-0': malformed CSV row; expected 4 "
        "comma-separated fields as in the header (line too short",
        "malformed CSV row: 1",
    ],
    "non_utf8": [
        "patients.csv line 6: not UTF-8; expected UTF-8 text, but byte 140 (0xe9) on "
        "line 6 is not valid UTF-8",
    ],
    "empty_file": [
        "patients.csv: empty file; expected a header row naming the columns",
    ],
    "reversed_dates": [
        "practice_registrations.csv line 3, column `end_date`: value '2005-01-01': "
        "dates in the wrong order; expected `end_date` on or after `start_date`, "
        "which is 2010-06-30 on this row",
    ],
    "bad_allowed_value": [
        "patients.csv line 3, column `sex`: value 'M': value not allowed; expected "
        "one of: female, male, intersex, unknown",
    ],
    "ragged_row": [
        "patients.csv line 5: value '4,1985-02-01,female,,extra': malformed CSV row; "
        "expected 4 comma-separated fields as in the header (too many",
    ],
    "parquet_wrong_types": [
        "patients.parquet, column `date_of_birth`: wrong Parquet column type; "
        "expected Parquet type DATE",
        "but the file has type BIGINT",
    ],
}


def test_every_bad_folder_has_a_case() -> None:
    assert {p.name for p in BAD.iterdir() if p.is_dir()} == set(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_extract_is_rejected_precisely_and_db_untouched(
    case: str, good_db: Path
) -> None:
    before = file_hash(good_db)
    with pytest.raises(InputDataError) as info:
        load_extract(BAD / case, good_db, LoadMode.REPLACE, today=TODAY)
    message = str(info.value)
    for fragment in CASES[case]:
        assert fragment in message
    assert "the database is unchanged" in message
    assert file_hash(good_db) == before
    leftovers = [p.name for p in good_db.parent.iterdir() if ".loading-" in p.name]
    assert leftovers == []


def test_failed_load_into_new_path_creates_no_database(tmp_path: Path) -> None:
    db = tmp_path / "new.duckdb"
    with pytest.raises(InputDataError):
        load_extract(BAD / "orphan_rows", db, today=TODAY)
    assert not db.exists()


def test_cli_exits_with_input_data_error_code(good_db: Path) -> None:
    before = file_hash(good_db)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "carepilot.cli.main",
            "load",
            str(BAD / "bad_allowed_value"),
            "--db",
            str(good_db),
            "--replace",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == InputDataError.exit_code
    assert "patients.csv line 3, column `sex`: value 'M'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert file_hash(good_db) == before
