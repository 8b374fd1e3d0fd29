"""`carepilot quality-account` and `carepilot opendata export`: publish results.

Both read a results table written by `carepilot indicators run` and refuse one
that is not disclosure controlled (``--disclosure none`` output).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

console = Console()

opendata_app = typer.Typer(
    help="Open data for patient choice (Fingertips-format export).",
    no_args_is_help=True,
)

DEFAULT_INPUTS = Path("examples/quality_accounts")


def _meta(definitions: list[Path] | None):  # type: ignore[no-untyped-def]
    from carepilot.publication.results import default_meta, load_meta

    return load_meta(definitions) if definitions else default_meta()


@opendata_app.command("export")
def export(
    results: Path = typer.Option(
        ...,
        "--results",
        help="Results table (.parquet or .csv) from `carepilot indicators run`.",
    ),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    definitions: list[Path] | None = typer.Option(
        None,
        "--definitions",
        "-d",
        help="Indicator definitions for titles and metadata (default: the "
        "shipped library).",
    ),
    policy: str | None = typer.Option(
        None,
        "--policy",
        help="Name of the disclosure policy the results were "
        "released under (checked); default: detected.",
    ),
) -> None:
    """Write every published indicator as CSV + Parquet + metadata + SHA256SUMS."""
    from carepilot.publication.opendata import export as run_export
    from carepilot.publication.results import read_results

    table = read_results(results)
    written = run_export(table, out, _meta(definitions), policy)
    console.print(
        f"wrote {written.rows:,} rows ({written.policy} disclosure control) to "
        f"{out}: {', '.join(p.name for p in written.files.values())}"
    )


def quality_account(
    provider: str = typer.Option(
        ..., "--provider", help="Practice/provider ODS code or pilot id."
    ),
    year: int = typer.Option(
        ..., "--year", help="Reporting financial year start, e.g. 2023 for 2023/24."
    ),
    db: Path = typer.Option(..., "--db", help="DuckDB analytics database."),
    results: Path = typer.Option(..., "--results", help="Released results table."),
    inputs: Path = typer.Option(
        DEFAULT_INPUTS,
        "--inputs",
        help="Folder of provider-written inputs (see examples/quality_accounts).",
    ),
    out: Path = typer.Option(Path("quality-account"), "--out", help="Output folder."),
    definitions: list[Path] | None = typer.Option(
        None,
        "--definitions",
        "-d",
        help="Indicator definitions (default: the shipped library).",
    ),
) -> None:
    """Build a provider's quality account as HTML and PDF."""
    from carepilot.publication.quality_account.assemble import (
        assemble,
        provider_identity,
    )
    from carepilot.publication.quality_account.inputs import load_inputs
    from carepilot.publication.quality_account.render import write
    from carepilot.publication.results import read_results

    name, kind = provider_identity(db, provider)
    account = assemble(
        read_results(results),
        provider,
        name,
        kind,
        year,
        load_inputs(inputs, provider),
        _meta(definitions),
    )
    files = write(account, out)
    console.print(f"wrote {files['html']} and {files['pdf']}")


def register(app: typer.Typer) -> None:
    """Add `quality-account` and the `opendata` group to the root CLI."""
    app.command("quality-account")(quality_account)
    app.add_typer(opendata_app, name="opendata")
