"""`carepilot community compare|scorecard|pack`: community services and GP consortia."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

import datetime as dt
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table as RichTable

from carepilot.errors import ConfigError, UserError

console = Console()
community_app = typer.Typer(
    help="Compare community services, score provider arms, build GP consortium packs.",
    no_args_is_help=True,
)

DbOpt = typer.Option(..., "--db", help="DuckDB analytics database.")
FromOpt = typer.Option(..., "--from", help="First month (YYYY-MM).")
ToOpt = typer.Option(..., "--to", help="Last month (YYYY-MM).")
DisclosureOpt = typer.Option(
    "opensafely", "--disclosure", help="opensafely | suppress (published output)."
)


def _policy(name: str):  # type: ignore[no-untyped-def]
    from carepilot.disclosure import OPENSAFELY, SUPPRESS_1_TO_7

    policies = {"opensafely": OPENSAFELY, "suppress": SUPPRESS_1_TO_7}
    if name not in policies:
        raise ConfigError(f"--disclosure must be opensafely or suppress, not `{name}`")
    return policies[name]


def _range(from_: str, to: str) -> tuple[dt.date, dt.date]:
    from carepilot.indicators.periods import ONE_DAY, add_months, parse_month

    start = parse_month(from_, "--from")
    last = parse_month(to, "--to")
    if last < start:
        raise UserError(f"--to {to} is before --from {from_}")
    return start, add_months(last, 1) - ONE_DAY


def _comparison(db: Path, from_: str, to: str, disclosure: str):  # type: ignore[no-untyped-def]
    from carepilot.community.compare import (
        apply_policy,
        compare_services,
        service_metrics,
    )
    from carepilot.engine.tables import tables_from_connection
    from carepilot.store import ibis_connection

    start, end = _range(from_, to)
    tables = tables_from_connection(ibis_connection(db, read_only=True))
    names = (
        "community_contacts",
        "provider_workforce",
        "apcs",
        "patient_experience",
        "providers",
    )
    data: dict[str, pd.DataFrame] = {n: tables[n].to_pandas() for n in names}
    if data["community_contacts"].empty:
        raise UserError(f"{db}: no community_contacts rows; load community data first")
    metrics = service_metrics(data, start, end)
    return apply_policy(compare_services(metrics), _policy(disclosure))


def _write(frame, out: Path | None) -> None:  # type: ignore[no-untyped-def]
    if out is None:
        return
    if out.suffix.lower() != ".csv":
        raise UserError(f"--out {out}: use a .csv file name")
    frame.to_csv(out, index=False)
    console.print(f"wrote {len(frame)} rows to {out}")


@community_app.command("compare")
def compare(
    db: Path = DbOpt,
    from_: str = FromOpt,
    to: str = ToOpt,
    disclosure: str = DisclosureOpt,
    out: Path | None = typer.Option(None, "--out", help="CSV of every comparison."),
) -> None:
    """Quality, productivity and experience per provider and service vs peers."""
    cmp = _comparison(db, from_, to, disclosure)
    table = RichTable("provider", "service", "metric", "value", "peer", "comparison")
    for r in cmp.to_dict("records"):
        value, peer = r["value"], r["peer_value"]
        table.add_row(
            str(r["provider_name"]),
            str(r["service"]),
            str(r["metric"]),
            "*" if value != value else f"{value:.2f}",
            "-" if peer != peer else f"{peer:.2f}",
            str(r["comparison"]),
        )
    console.print(table)
    _write(cmp, out)


@community_app.command("scorecard")
def scorecard_cmd(
    db: Path = DbOpt,
    from_: str = FromOpt,
    to: str = ToOpt,
    disclosure: str = DisclosureOpt,
    out: Path | None = typer.Option(None, "--out", help="CSV of the scorecard."),
) -> None:
    """Provider-arm scorecard: better / similar / worse than peers, and a score."""
    from carepilot.community.compare import scorecard

    card = scorecard(_comparison(db, from_, to, disclosure))
    table = RichTable("provider", "better", "similar", "worse", "not compared", "score")
    for r in card.to_dict("records"):
        score = r["score"]
        table.add_row(
            str(r["provider_name"]),
            str(r["better"]),
            str(r["similar"]),
            str(r["worse"]),
            str(r["not_compared"]),
            "-" if score != score else f"{score:+.2f}",
        )
    console.print(table)
    _write(card, out)


@community_app.command("pack")
def pack_cmd(
    db: Path = DbOpt,
    from_: str = FromOpt,
    to: str = ToOpt,
    pcn: str = typer.Option(..., "--pcn", help="Consortium (PCN) code."),
    out: Path = typer.Option(
        ..., "--out", help="Output folder (CSV files and report.html)."
    ),
    disclosure: str = DisclosureOpt,
    indicator: list[str] | None = typer.Option(
        None,
        "--indicator",
        "-i",
        help="Library indicator ids (default: a standard set).",
    ),
    charts: bool = typer.Option(
        True, "--charts/--no-charts", help="Render SVG charts."
    ),
) -> None:
    """Information pack for a GP consortium: practices vs peers, hospital use, gaps."""
    from carepilot.community.packs import DEFAULT_INDICATORS, build_pack, write_pack
    from carepilot.engine.tables import tables_from_connection
    from carepilot.store import ibis_connection

    start, end = _range(from_, to)
    policy = _policy(disclosure)
    tables = tables_from_connection(ibis_connection(db, read_only=True))
    pack, titles = build_pack(
        tables, pcn, start, end, policy, tuple(indicator or DEFAULT_INDICATORS), charts
    )
    for path in write_pack(pack, out, titles, policy):
        console.print(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add the `community` command group to the root CLI."""
    app.add_typer(community_app, name="community")
