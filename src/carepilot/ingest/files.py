"""Find the data files of an extract and check them at the byte level.

A directory holds one file per data-model table, named after the table
(`patients.csv`, `clinical_events.parquet`). This module maps names to tables,
reports unknown names, computes the SHA-256 checksum recorded in the load log and,
for CSV, checks in the same pass that the file is UTF-8 (naming the byte and line
of the first bad byte) and reads the header.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from carepilot.errors import InputDataError
from carepilot.ingest.problems import Problem, ProblemKind
from carepilot.schema import TABLES

_CHUNK = 8 * 1024 * 1024


class FileFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"


SUFFIXES: dict[str, FileFormat] = {
    ".csv": FileFormat.CSV,
    ".parquet": FileFormat.PARQUET,
    ".pq": FileFormat.PARQUET,
}


@dataclass(frozen=True, slots=True)
class DataFile:
    """One input file of an extract.

    Attributes:
        path: where it is.
        table: the data-model table it holds.
        format: CSV or Parquet.
    """

    path: Path
    table: str
    format: FileFormat

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True, slots=True)
class ScanResult:
    """What a byte-level pass over a file found.

    Attributes:
        sha256: hex digest of the file's bytes.
        size: size in bytes.
        problem: an encoding or emptiness problem, or None.
        header: CSV header fields (None for Parquet or unreadable CSV).
    """

    sha256: str
    size: int
    problem: Problem | None
    header: list[str] | None


def discover(directory: Path) -> tuple[list[DataFile], list[str]]:
    """Map the files in `directory` to data-model tables, in load order.

    Returns:
        The data files (referenced tables first) and warnings about files that
        were not recognised and will not be loaded.

    Raises:
        InputDataError: the directory does not exist, holds no data file, or
            holds two files for the same table.
    """
    if not directory.is_dir():
        raise InputDataError(
            f"{directory} is not a directory; give the folder that holds the "
            "extract's CSV or Parquet files (patients.csv, clinical_events.parquet, ...)."
        )
    found: dict[str, DataFile] = {}
    warnings: list[str] = []
    for path in sorted(directory.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        fmt = SUFFIXES.get(path.suffix.lower())
        stem = path.name[: -len(path.suffix)] if fmt else path.name
        if fmt is None or stem not in TABLES:
            warnings.append(
                f"{path.name}: not a data-model table file, not loaded; expected "
                "<table>.csv or <table>.parquet with <table> one of: "
                + ", ".join(TABLES)
            )
            continue
        if stem in found:
            raise InputDataError(
                f"{directory}: both {found[stem].name} and {path.name} hold table "
                f"`{stem}`; keep only one of them."
            )
        found[stem] = DataFile(path, stem, fmt)
    if not found:
        raise InputDataError(
            f"{directory} holds no data file; expected files named after the data "
            "model's tables, e.g. patients.csv or clinical_events.parquet."
        )
    ordered = [found[name] for name in TABLES if name in found]
    return ordered, warnings


def scan(data_file: DataFile) -> ScanResult:
    """Checksum the file and, for CSV, check UTF-8 and read the header in one pass.

    Reading the bytes once keeps this I/O-bound: the UTF-8 decoder and SHA-256
    both run in C at well over 1 GB/s.
    """
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    is_csv = data_file.format is FileFormat.CSV
    size = 0
    newlines_before = 0
    problem: Problem | None = None
    first_chunk = b""
    with data_file.path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            if not first_chunk:
                first_chunk = chunk[: 1024 * 1024]
            if is_csv and problem is None:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    problem = _encoding_problem(
                        data_file, chunk, exc.start, size, newlines_before
                    )
                newlines_before += chunk.count(b"\n")
            size += len(chunk)
    if is_csv and problem is None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            problem = Problem(
                ProblemKind.ENCODING,
                data_file.name,
                newlines_before + 1,
                None,
                None,
                "UTF-8 text: the file ends in the middle of a multi-byte character "
                "(truncated?)",
            )
    if size == 0 or (is_csv and not first_chunk.strip()):
        problem = Problem(
            ProblemKind.EMPTY_FILE,
            data_file.name,
            None,
            None,
            None,
            "a header row naming the columns, then one line per row "
            "(delete the file if the table has no data)",
        )
    header = _read_header(first_chunk) if is_csv and problem is None else None
    return ScanResult(digest.hexdigest(), size, problem, header)


def _encoding_problem(
    data_file: DataFile, chunk: bytes, start: int, offset: int, newlines: int
) -> Problem:
    line = newlines + chunk.count(b"\n", 0, start) + 1
    bad = chunk[start : start + 1].hex()
    return Problem(
        ProblemKind.ENCODING,
        data_file.name,
        line,
        None,
        None,
        f"UTF-8 text, but byte {offset + start + 1} (0x{bad}) on line {line} is not "
        "valid UTF-8; re-save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)",
    )


def _read_header(first_chunk: bytes) -> list[str]:
    text = first_chunk.decode("utf-8", errors="replace").lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text))
    return [name.strip() for name in next(reader, [])]
