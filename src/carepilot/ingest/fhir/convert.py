"""Convert a folder of FHIR resources into a data-model extract (CSV files).

Two passes over the files keep memory flat however large the export: the first
reads Patient and Organization resources (everything else refers to them), the
second maps the other resources and streams rows straight to CSV. The CSVs are
written to a scratch folder beside the destination and moved into place only
when every resource converted cleanly, so a failed conversion leaves nothing
behind. Organisation tables (practices, commissioners, ...) and any other
data-model CSV/Parquet files in the same folder are copied into the extract:
FHIR exports from GP systems do not describe practices' networks and
commissioners, and hospital activity usually arrives as CSV.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pyarrow.parquet as pq

from carepilot.errors import InputDataError
from carepilot.ingest.fhir.mapping import MAPPERS, Context, Row, patient_row
from carepilot.ingest.fhir.reader import Located, fhir_files, read_resources
from carepilot.ingest.fhir.values import ODS_SYSTEMS, ElementProblem
from carepilot.ingest.files import SUFFIXES
from carepilot.ingest.problems import (
    DEFAULT_MAX_ERRORS,
    Problem,
    ProblemKind,
    ProblemLog,
)
from carepilot.schema import TABLES

PRODUCED_TABLES = (
    "patients",
    "practice_registrations",
    "clinical_events",
    "medications",
)
"""Data-model tables the FHIR conversion writes."""

CROSSWALK = Path("crosswalk") / "patient_ids.csv"
"""FHIR Patient id -> data-model patient_id, kept beside the extract for the data
controller (the loader ignores sub-folders)."""

_INTEGER_ID = re.compile(r"^[1-9][0-9]{0,17}$")


@dataclass
class ConvertResult:
    """What a conversion read and wrote.

    Attributes:
        extract_dir: the folder of data-model files written.
        resources: resources read, per resource type.
        rows: rows written, per data-model table.
        copied: data-model files copied from the source folder.
        warnings: resources not converted and why.
    """

    extract_dir: Path
    resources: Counter[str] = field(default_factory=Counter[str])
    rows: Counter[str] = field(default_factory=Counter[str])
    copied: list[str] = field(default_factory=list[str])
    warnings: list[str] = field(default_factory=list[str])


def holds_fhir(directory: Path) -> bool:
    """True if the folder holds FHIR files (`.ndjson`, or `.json` resources)."""
    return directory.is_dir() and bool(fhir_files(directory))


def convert_fhir(
    source: Path | str,
    out_dir: Path | str,
    *,
    max_errors: int = DEFAULT_MAX_ERRORS,
) -> ConvertResult:
    """Convert FHIR files in `source` to data-model CSVs in `out_dir`.

    Args:
        source: a folder of `.ndjson` / `.json` FHIR files (plus, optionally,
            data-model CSV/Parquet files such as practices.csv), or one file.
        out_dir: where to write the extract; must not exist or be empty.
        max_errors: how many example problems the error lists.

    Raises:
        InputDataError: no FHIR file, or resources that cannot be converted (each
            named by file, line or entry, element path, value and expectation);
            nothing is written.
    """
    source, out_dir = Path(source), Path(out_dir)
    if not source.exists():
        raise InputDataError(f"{source} does not exist; give a folder of FHIR files.")
    files = fhir_files(source)
    if not files:
        raise InputDataError(
            f"{source} holds no FHIR file; expected bulk-data `.ndjson` files "
            "(Patient.ndjson, Observation.ndjson, ...) or `.json` Bundles."
        )
    if out_dir.exists() and any(out_dir.iterdir()):
        raise InputDataError(
            f"{out_dir} is not empty; give a new folder for the converted extract."
        )
    folder = source if source.is_dir() else source.parent
    others = _data_model_files(folder)
    clash = [t for t in PRODUCED_TABLES if t in others]
    if clash:
        raise InputDataError(
            f"{folder} holds both FHIR files and {', '.join(others[t].name for t in clash)}; "
            "the FHIR resources produce those tables - remove the CSV/Parquet file(s) "
            "or load them separately with --append."
        )
    log = ProblemLog(max_shown=max_errors)
    result = ConvertResult(out_dir)
    ctx = _first_pass(files, others, log, result)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".fhir-", dir=out_dir.parent))
    try:
        _second_pass(files, ctx, log, result, scratch)
        if log:
            raise log.error(str(source), result.warnings)
        _write_crosswalk(scratch / CROSSWALK, ctx)
        for path in others.values():
            shutil.copy2(path, scratch / path.name)
            result.copied.append(path.name)
        if out_dir.exists():
            out_dir.rmdir()
        scratch.rename(out_dir)
    finally:
        if scratch.exists():
            shutil.rmtree(scratch)
    return result


def _data_model_files(folder: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in SUFFIXES:
            stem = path.name[: -len(path.suffix)]
            if stem in TABLES:
                found[stem] = path
    return found


def _problem(item: Located, exc: ElementProblem) -> Problem:
    return Problem(
        ProblemKind.FHIR, item.file, item.row, exc.path, exc.value, exc.expected
    )


def _first_pass(
    files: list[Path], others: dict[str, Path], log: ProblemLog, result: ConvertResult
) -> Context:
    """Read patients and organisations; assign data-model patient ids."""
    patients: dict[str, Located] = {}
    organisation_ods: dict[str, str] = {}
    for path in files:
        problems: list[Problem] = []
        for item in read_resources(path, problems):
            kind = item.resource_type
            if kind == "Patient":
                fhir_id = str(item.resource.get("id", "")).strip()
                if not fhir_id:
                    log.add(
                        Problem(
                            ProblemKind.FHIR,
                            item.file,
                            item.row,
                            "Patient.id",
                            None,
                            "every Patient to have an id",
                        )
                    )
                elif fhir_id in patients:
                    first = patients[fhir_id]
                    log.add(
                        Problem(
                            ProblemKind.DUPLICATE_KEY,
                            item.file,
                            item.row,
                            "Patient.id",
                            fhir_id,
                            f"each Patient once (also at {first.file} {first.row})",
                        )
                    )
                else:
                    patients[fhir_id] = item
            elif kind == "Organization":
                code = _organisation_ods(item.resource)
                if code is not None:
                    for key in _keys(item):
                        organisation_ods[key] = code
        for p in problems:
            log.add(p)
    ids = _patient_ids(list(patients))
    patient_ids: dict[str, int] = {}
    for fhir_id, item in patients.items():
        for key in _keys(item):
            patient_ids[key] = ids[fhir_id]
    practice_ids = _practice_ids(others.get("practices"))
    return Context(patient_ids, practice_ids, organisation_ods)


def _keys(item: Located) -> list[str]:
    keys = [f"{item.resource_type}/{item.resource.get('id', '')}"]
    if item.full_url:
        keys.append(item.full_url)
    return keys


def _organisation_ods(resource: dict[str, Any]) -> str | None:
    for identifier in resource.get("identifier") or []:
        if isinstance(identifier, dict) and identifier.get("system") in ODS_SYSTEMS:
            return str(identifier.get("value", "")).strip().upper() or None
    return None


def _patient_ids(fhir_ids: list[str]) -> dict[str, int]:
    """Keep numeric FHIR ids as they are; otherwise number patients 1..N.

    Numbering follows the sorted FHIR ids, so converting the same export twice
    gives the same ids.
    """
    if all(_INTEGER_ID.match(i) for i in fhir_ids):
        return {i: int(i) for i in fhir_ids}
    return {i: n for n, i in enumerate(sorted(fhir_ids), start=1)}


def _practice_ids(path: Path | None) -> dict[str, int]:
    if path is None:
        return {}
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    else:
        rows = pq.read_table(
            path, columns=["practice_code", "practice_pseudo_id"]
        ).to_pylist()
    out: dict[str, int] = {}
    for row in rows:
        try:
            out[str(row["practice_code"]).strip().upper()] = int(
                str(row["practice_pseudo_id"])
            )
        except (KeyError, ValueError):
            continue  # the loader reports malformed practice rows with their line
    return out


class _Writers:
    """One CSV writer per data-model table, opened on first use."""

    def __init__(self, folder: Path, result: ConvertResult) -> None:
        self.folder = folder
        self.result = result
        self.handles: dict[str, IO[str]] = {}
        self.writers: dict[str, csv.DictWriter[str]] = {}

    def write(self, table: str, row: Row) -> None:
        writer = self.writers.get(table)
        if writer is None:
            handle = (self.folder / f"{table}.csv").open(
                "w", newline="", encoding="utf-8"
            )
            columns = [c.name for c in TABLES[table].columns]
            writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="raise")
            writer.writeheader()
            self.handles[table], self.writers[table] = handle, writer
        writer.writerow(_csv_row(table, row))
        self.result.rows[table] += 1

    def close(self) -> None:
        for handle in self.handles.values():
            handle.close()


def _csv_row(table: str, row: Row) -> dict[str, object]:
    out: dict[str, object] = {}
    for column in TABLES[table].columns:
        value = row.get(column.name, column.default)
        if isinstance(value, dt.date):
            value = value.isoformat()
        out[column.name] = "" if value is None else value
    return out


def _second_pass(
    files: list[Path],
    ctx: Context,
    log: ProblemLog,
    result: ConvertResult,
    folder: Path,
) -> None:
    writers = _Writers(folder, result)
    ignored: Counter[str] = Counter()
    try:
        for path in files:
            problems: list[Problem] = []  # the first pass reported these already
            for item in read_resources(path, problems):
                kind = item.resource_type
                result.resources[kind] += 1
                try:
                    if kind == "Patient":
                        fhir_id = str(item.resource.get("id", "")).strip()
                        key = f"Patient/{fhir_id}"
                        # duplicates were reported in the first pass (nothing is kept)
                        if fhir_id and key in ctx.patient_ids:
                            writers.write(
                                "patients",
                                patient_row(item.resource, ctx.patient_ids[key]),
                            )
                        continue
                    mapper = MAPPERS.get(kind)
                    if mapper is None:
                        if kind != "Organization":
                            ignored[kind or "(no resourceType)"] += 1
                        continue
                    for table, row in mapper(item.resource, ctx):
                        writers.write(table, row)
                except ElementProblem as exc:
                    log.add(_problem(item, exc))
    finally:
        writers.close()
    if "EpisodeOfCare" in result.resources and not ctx.practice_ids:
        log.add(
            Problem(
                ProblemKind.MISSING_COLUMN,
                "practices.csv",
                None,
                None,
                None,
                "a practices.csv (or .parquet) beside the FHIR files: registrations "
                "(EpisodeOfCare) name practices by ODS code, and practices.csv maps "
                "each code to its practice_pseudo_id, network and commissioner",
            )
        )
    for kind, n in sorted(ignored.items()):
        result.warnings.append(
            f"{n} {kind} resource(s) not converted: carepilot reads Patient, "
            "Organization, "
            + ", ".join(MAPPERS)
            + " from FHIR; supply other data as CSV."
        )
    for kind, n in sorted(ctx.skipped.items()):
        result.warnings.append(
            f"{n} {kind} resource(s) skipped: entered in error, cancelled, refuted or not done."
        )
    if ctx.not_practice:
        result.warnings.append(
            "registrations (EpisodeOfCare) at organisations that are not practices of "
            "practices.csv were skipped: " + ", ".join(sorted(ctx.not_practice))
        )


def _write_crosswalk(path: Path, ctx: Context) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["fhir_patient_id", "patient_id"])
        for key, patient_id in sorted(ctx.patient_ids.items(), key=lambda kv: kv[1]):
            if key.startswith("Patient/"):
                writer.writerow([key.removeprefix("Patient/"), patient_id])
