"""`carepilot evaluate --pilot ID --db PATH`: the annual pilot evaluation report.

Builds practice x period panels of library indicators through the engine, picks
matched comparators, runs the design and its sensitivity analyses and writes,
per outcome, ``report.html`` (+ ``report.pdf``), ``numbers.json`` and the
analysis datasets; see docs/pilot-evaluation.md.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from carepilot.errors import UserError
from carepilot.indicators.periods import Frequency, parse_month

console = Console()
err_console = Console(stderr=True)


def evaluate(
    pilot: str = typer.Option(..., "--pilot", help="Pilot id (pilot_sites.pilot_id)."),
    db: Path = typer.Option(..., "--db", help="DuckDB analytics database."),
    outcomes: str = typer.Option(
        ..., "--outcomes", help="Comma-separated library indicator ids."
    ),
    design: str = typer.Option(
        "staggered",
        "--design",
        help="did | staggered | its | synth (practice panels) or ipw | aipw (patient-level ATT, clustered by practice)",
    ),
    year: int | None = typer.Option(
        None,
        "--year",
        help="1 or 2: interim report; 3: final report (default: all data).",
    ),
    from_: str | None = typer.Option(
        None, "--from", help="First month YYYY-MM (default: data start)."
    ),
    to: str | None = typer.Option(
        None, "--to", help="Last month YYYY-MM (default: data end)."
    ),
    frequency: Frequency = typer.Option(
        Frequency.MONTH, "--frequency", help="month | quarter"
    ),
    out: Path = typer.Option(..., "--out", help="Output directory."),
    washout: int | None = typer.Option(
        None,
        "--washout",
        help="Periods after each start left out in the washout sensitivity analysis.",
    ),
    min_comparators: int = typer.Option(
        5, "--min-comparators", help="Fewest non-pilot practices accepted."
    ),
    groups: bool = typer.Option(
        True, "--groups/--no-groups", help="Effects by inequality group."
    ),
    sensitivity: bool = typer.Option(
        True, "--sensitivity/--no-sensitivity", help="Sensitivity analyses."
    ),
    pdf: bool = typer.Option(
        True, "--pdf/--no-pdf", help="Also write report.pdf (WeasyPrint)."
    ),
) -> None:
    """Evaluate a pilot against matched comparator practices and write the report."""
    from carepilot.engine.tables import tables_from_connection
    from carepilot.pilot_evaluation import (
        EvaluationRequest,
        evaluate_pilot,
        write_evaluation,
    )
    from carepilot.store import ibis_connection

    ids = tuple(i.strip() for i in outcomes.split(",") if i.strip())
    if not ids:
        raise UserError(
            "--outcomes: give at least one indicator id, e.g. emergency-admissions-rate."
        )
    req = EvaluationRequest(
        pilot_id=pilot,
        outcomes=ids,
        design=design,
        year=year,
        first_month=parse_month(from_, "--from") if from_ else None,
        last_month=parse_month(to, "--to") if to else None,
        frequency=frequency,
        washout=washout,
        min_comparators=min_comparators,
        groups=groups,
        sensitivity=sensitivity,
    )
    tables = tables_from_connection(ibis_connection(db))
    ev = evaluate_pilot(
        tables, req, progress=lambda m: err_console.print(m, highlight=False)
    )
    summary = write_evaluation(ev, out, pdf=pdf)
    for oid, info in summary["outcomes"].items():
        head = info["effects"][0] if info["effects"] else {}
        console.print(
            f"{oid}: {head.get('name')} = {head.get('estimate'):.4g} "
            f"(95 % CI {head.get('ci_low'):.4g} to {head.get('ci_high'):.4g}) -> "
            f"{out / oid / 'report.html'}",
            highlight=False,
        )
    console.print(
        f"{ev.kind} written to {out} in {ev.timings['total']:.0f} s", highlight=False
    )


def register(app: typer.Typer) -> None:
    """Add `evaluate` to the root CLI."""
    app.command("evaluate")(evaluate)
