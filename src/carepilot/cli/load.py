"""`carepilot load` and `carepilot info`: load an extract, describe the database."""

from __future__ import annotations

import tempfile
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table as RichTable

from carepilot.config import load_settings
from carepilot.errors import ConfigError
from carepilot.ingest import DEFAULT_MAX_ERRORS, LoadMode, load_extract
from carepilot.ingest.fhir import ConvertResult, convert_fhir, holds_fhir
from carepilot.store import database_info

console = Console()
err_console = Console(stderr=True)


def _db_path(db: Path | None) -> Path:
    return db if db is not None else load_settings().analytics_db


def load(
    directory: Path = typer.Argument(
        ...,
        help="Folder of <table>.csv / <table>.parquet files (ehrQL core names "
        "accepted), or of FHIR R4 .ndjson/.json files (converted first).",
    ),
    db: Path | None = typer.Option(
        None,
        "--db",
        help="DuckDB analytics database (default: CAREPILOT_ANALYTICS_DB).",
    ),
    replace: bool = typer.Option(
        False, "--replace", help="Replace all data already in the database."
    ),
    append: bool = typer.Option(
        False, "--append", help="Add to the data already in the database."
    ),
    max_errors: int = typer.Option(
        DEFAULT_MAX_ERRORS, "--max-errors", min=1, help="How many problems to list."
    ),
) -> None:
    """Validate an extract and load it into the analytics database, atomically.

    Every file is checked against the data model; if anything is wrong, every
    problem is listed (file, line, column, value, what was expected) and the
    database is left exactly as it was.
    """
    if replace and append:
        raise ConfigError("choose one of --replace and --append, not both.")
    mode = LoadMode.REPLACE if replace else LoadMode.APPEND if append else LoadMode.NEW
    path = _db_path(db)
    if holds_fhir(directory):
        with tempfile.TemporaryDirectory(prefix="carepilot-fhir-") as scratch:
            converted = convert_fhir(
                directory, Path(scratch) / "extract", max_errors=max_errors
            )
            _report_conversion(converted)
            result = load_extract(
                converted.extract_dir,
                path,
                mode,
                max_errors=max_errors,
                origin=directory,
            )
    else:
        result = load_extract(directory, path, mode, max_errors=max_errors)
    for warning in result.warnings:
        err_console.print(
            f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True
        )
    table = RichTable(title=f"Loaded {directory} into {path} ({mode.value})")
    table.add_column("file")
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("sha256")
    for f in result.files:
        table.add_row(f.file_name, f.table, f"{f.rows:,}", f.sha256[:12])
    console.print(table)
    console.print(
        f"{result.total_rows:,} rows from {len(result.files)} files in "
        f"{result.seconds:.1f} s (load {result.load_id})."
    )


def _report_conversion(converted: ConvertResult) -> None:
    for warning in converted.warnings:
        err_console.print(
            f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True
        )
    read = ", ".join(f"{n:,} {k}" for k, n in sorted(converted.resources.items()))
    wrote = ", ".join(f"{n:,} {k}" for k, n in sorted(converted.rows.items()))
    console.print(f"FHIR: read {read}; converted to {wrote}.")


def convert(
    source: Path = typer.Argument(
        ..., help="Folder of FHIR R4 .ndjson (bulk data) / .json Bundle files."
    ),
    out: Path = typer.Option(
        ..., "--out", help="New folder for the data-model extract (CSV files)."
    ),
    max_errors: int = typer.Option(
        DEFAULT_MAX_ERRORS, "--max-errors", min=1, help="How many problems to list."
    ),
) -> None:
    """Convert FHIR resources to a data-model extract you can inspect and load.

    `carepilot load` converts FHIR folders itself; use this to see the CSVs first.
    """
    converted = convert_fhir(source, out, max_errors=max_errors)
    _report_conversion(converted)
    console.print(
        f"Wrote {out} (patient id crosswalk in {out / 'crosswalk'}); load it with "
        f"`carepilot load {out}`."
    )


def info(
    db: Path | None = typer.Option(
        None,
        "--db",
        help="DuckDB analytics database (default: CAREPILOT_ANALYTICS_DB).",
    ),
) -> None:
    """Show what the analytics database holds: tables, date ranges, loads."""
    path = _db_path(db)
    summary = database_info(path)
    console.print(
        f"Database: [bold]{path.resolve()}[/] ({summary.size_bytes / 1e6:,.1f} MB)"
    )
    console.print(
        f"Patients: {summary.n_patients:,}   Practices: {summary.n_practices:,}"
    )
    tables = RichTable(title="Tables")
    tables.add_column("table")
    tables.add_column("rows", justify="right")
    tables.add_column("date column")
    tables.add_column("first")
    tables.add_column("last")
    for t in summary.tables:
        tables.add_row(
            t.name,
            f"{t.rows:,}",
            t.date_column or "",
            str(t.first_date or ""),
            str(t.last_date or ""),
        )
    console.print(tables)
    if summary.missing_tables:
        err_console.print(
            "[yellow]warning:[/] tables missing (load with this carepilot version to "
            "create them): " + ", ".join(summary.missing_tables)
        )
    loads = RichTable(title="Loads")
    for name in ("id", "loaded at (UTC)", "mode", "files", "rows", "seconds", "source"):
        loads.add_column(name)
    for rec in summary.loads:
        loads.add_row(
            str(rec.load_id),
            rec.loaded_at_utc.strftime("%Y-%m-%d %H:%M:%S"),
            rec.mode,
            str(rec.n_files),
            f"{rec.total_rows:,}",
            f"{rec.seconds:.1f}",
            rec.source_dir,
        )
    console.print(loads)


def register(app: typer.Typer) -> None:
    """Add `load` and `info` to the root command."""
    app.command("load")(load)
    app.command("info")(info)
    fhir_app = typer.Typer(
        help="HL7 FHIR R4: convert bulk-data exports to the data model.",
        no_args_is_help=True,
    )
    fhir_app.command("convert")(convert)
    app.add_typer(fhir_app, name="fhir")
