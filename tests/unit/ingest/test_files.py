"""File discovery and the byte-level scan (checksum, UTF-8, header)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from carepilot.errors import InputDataError
from carepilot.ingest.files import DataFile, FileFormat, discover, scan
from carepilot.ingest.problems import ProblemKind


def test_discover_orders_by_load_order_and_warns_about_unknown(tmp_path: Path) -> None:
    for name in ("clinical_events.parquet", "patients.csv", "notes.md", "patient.csv"):
        (tmp_path / name).write_text("x")
    files, warnings = discover(tmp_path)
    assert [f.table for f in files] == ["patients", "clinical_events"]
    assert [f.format for f in files] == [FileFormat.CSV, FileFormat.PARQUET]
    assert len(warnings) == 2 and warnings[0].startswith("notes.md")


def test_discover_rejects_two_files_for_one_table(tmp_path: Path) -> None:
    (tmp_path / "patients.csv").write_text("x")
    (tmp_path / "patients.parquet").write_text("x")
    with pytest.raises(InputDataError, match="keep only one"):
        discover(tmp_path)


def test_discover_rejects_missing_or_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(InputDataError, match="not a directory"):
        discover(tmp_path / "nope")
    with pytest.raises(InputDataError, match="holds no data file"):
        discover(tmp_path)


def test_scan_checksums_and_reads_header(tmp_path: Path) -> None:
    path = tmp_path / "patients.csv"
    path.write_bytes(b"\xef\xbb\xbfpatient_id, sex\n1,male\n")
    result = scan(DataFile(path, "patients", FileFormat.CSV))
    assert result.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert result.header == ["patient_id", "sex"]
    assert result.problem is None


def test_scan_names_byte_and_line_of_bad_utf8(tmp_path: Path) -> None:
    path = tmp_path / "patients.csv"
    path.write_bytes(b"a,b\n1,2\n3,\xff\n")
    problem = scan(DataFile(path, "patients", FileFormat.CSV)).problem
    assert problem is not None and problem.kind is ProblemKind.ENCODING
    assert problem.row == 3
    assert "byte 11 (0xff) on line 3" in problem.expected


def test_scan_flags_empty_and_whitespace_only_files(tmp_path: Path) -> None:
    for content in (b"", b"\n\n"):
        path = tmp_path / "patients.csv"
        path.write_bytes(content)
        problem = scan(DataFile(path, "patients", FileFormat.CSV)).problem
        assert problem is not None and problem.kind is ProblemKind.EMPTY_FILE
