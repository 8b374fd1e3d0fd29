"""`carepilot qof calculate`: a local QOF scheme's points and payments per practice."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table as RichTable

from carepilot.errors import UserError

console = Console()
qof_app = typer.Typer(
    help="Local QOF: points and payments per practice.", no_args_is_help=True
)


@qof_app.command("calculate")
def calculate(
    scheme: Path = typer.Option(..., "--scheme", help="Scheme YAML file."),
    db: Path = typer.Option(..., "--db", help="DuckDB analytics database."),
    year: int = typer.Option(
        ..., "--year", help="QOF year by its first calendar year (2024 = 2024/25)."
    ),
    results: Path | None = typer.Option(
        None,
        "--results",
        help="Write per-practice, per-indicator results (.csv or .parquet).",
    ),
) -> None:
    """Achievement, points, payment and patients needed to reach the upper threshold."""
    from carepilot.engine.tables import tables_from_connection
    from carepilot.qof.model import parse_scheme
    from carepilot.qof.service import calculate as run
    from carepilot.qof.service import practice_summary
    from carepilot.store import ibis_connection

    if not scheme.is_file():
        raise UserError(f"--scheme {scheme}: no such file")
    if results is not None and results.suffix.lower() not in (".csv", ".parquet"):
        raise UserError(f"--results {results}: use a .csv or .parquet file name")
    parsed = parse_scheme(scheme.read_text(encoding="utf-8"), str(scheme))
    con = ibis_connection(db, read_only=True)
    out = run(tables_from_connection(con), parsed, year, base=scheme.parent)
    table = RichTable(
        "practice",
        "indicator",
        "achievement %",
        "points",
        "payment £",
        "patients needed",
        title=f"{parsed.name} - {year}/{(year + 1) % 100:02d} (not for publication)",
    )
    for r in out.to_dict("records"):
        achievement, needed = r["achievement"], r["patients_needed"]
        table.add_row(
            str(r["practice_code"]),
            str(r["scheme_indicator"]),
            "-"
            if achievement is None or achievement != achievement
            else f"{achievement:.1f}",
            f"{r['points']:.2f}/{r['max_points']}",
            f"{r['payment']:,.2f}",
            "-" if needed is None or needed != needed else str(int(needed)),
        )
    console.print(table)
    summary = practice_summary(out)
    total = sum(summary["payment"], Decimal(0))
    console.print(f"{len(summary)} practice(s); total payment £{total:,.2f}")
    if results is not None:
        frame = out.copy()
        for col in ("max_points", "points", "cpi", "apdf", "payment"):
            frame[col] = frame[col].map(str)
        if results.suffix.lower() == ".csv":
            frame.to_csv(results, index=False)
        else:
            frame.to_parquet(results, index=False)
        console.print(f"wrote {len(frame)} rows to {results}")


def register(app: typer.Typer) -> None:
    """Add the `qof` command group to the root CLI."""
    app.add_typer(qof_app, name="qof")
