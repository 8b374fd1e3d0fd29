"""`carepilot contracts ...`: check, settle and simulate outcome-based contracts."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table as RichTable

from carepilot.config import load_settings
from carepilot.contracts.definition import load_contract
from carepilot.contracts.results import read_results

console = Console()
err_console = Console(stderr=True)

contracts_app = typer.Typer(
    name="contracts",
    help="Outcome-based contracts: check definitions, settle a year, simulate.",
    no_args_is_help=True,
)


def _db_path(db: Path | None) -> Path:
    return db if db is not None else load_settings().analytics_db


@contracts_app.command("check")
def check(
    file: Path = typer.Argument(..., help="Contract definition (YAML)."),
    results: Path | None = typer.Option(
        None, "--results", help="Indicator results file: also check the indicator ids."
    ),
) -> None:
    """Validate a contract definition; errors name the line, field and fix."""
    known = None
    if results is not None:
        known = set(read_results(results)["indicator_id"].unique())
    contract = load_contract(file, known_indicator_ids=known)
    q, rs = contract.quality, contract.risk_share
    console.print(
        f"[green]ok[/] {contract.id} v{contract.version}: {contract.title}\n"
        f"  term {contract.term.start} to {contract.term.end} "
        f"(contract years {', '.join(map(str, contract.term.years()))})\n"
        f"  withhold {q.withhold_pct} % on {len(q.indicators)} indicators and "
        f"{len(q.inequality_targets)} inequality target(s); quality gate "
        f"{q.gate_min_score_pct} %\n"
        f"  risk share {rs.type.value}: MSR {rs.minimum_savings_rate_pct} %, "
        f"MLR {rs.minimum_loss_rate_pct} %, caps {rs.savings_cap_pct} % / "
        f"{rs.loss_cap_pct} %",
        highlight=False,
    )


@contracts_app.command("settle")
def settle(
    contract_file: Path = typer.Option(..., "--contract", help="Contract YAML."),
    results: Path = typer.Option(
        ..., "--results", help="Indicator results (Parquet/CSV)."
    ),
    year: int = typer.Option(
        ..., "--year", help="Contract year (e.g. 2021 = 2021/22)."
    ),
    out: Path = typer.Option(..., "--out", help="Folder for the statements."),
    db: Path | None = typer.Option(
        None,
        "--db",
        help="DuckDB analytics database (default: CAREPILOT_ANALYTICS_DB).",
    ),
    quarterly: bool = typer.Option(
        False, "--quarterly", help="Year-to-date statements for each quarter."
    ),
    pdf: bool = typer.Option(True, "--pdf/--no-pdf", help="Also write a PDF."),
    store: bool = typer.Option(
        False,
        "--store",
        help="Also store the statements in the workflow database "
        "(CAREPILOT_DATABASE_URL), against the saved contract with the same id and text.",
    ),
) -> None:
    """Settle a contract year: statement as CSV, JSON, HTML (and PDF)."""
    from carepilot.contracts import statement as st
    from carepilot.contracts.service import run_settlement

    contract = load_contract(contract_file)
    table = read_results(results)
    run = run_settlement(
        contract,
        _db_path(db),
        table,
        year,
        quarterly=quarterly,
        results_source=str(results),
    )
    docs = [st.statement_dict(s, contract, run.model) for s in run.settlements]
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{contract.id}-{year}{'-quarterly' if quarterly else ''}"
    st.write_csv(docs, out / f"{stem}.csv")
    st.write_json(docs, out / f"{stem}.json")
    html = st.render_html(docs)
    (out / f"{stem}.html").write_text(html, encoding="utf-8")
    if pdf:
        st.write_pdf(html, out / f"{stem}.pdf")
    summary = RichTable(title=f"{contract.id}: settlement {year} (GBP)")
    for col in (
        "period",
        "budget",
        "spend",
        "savings(+)/losses(-)",
        "quality %",
        "year-end payment",
        "total paid",
        "tariff",
    ):
        summary.add_column(col, justify="right")
    for s in run.settlements:
        summary.add_row(
            s.period_label,
            f"{s.budget:,}",
            f"{s.spend:,}",
            f"{s.risk.variance:,}",
            str(s.quality.score_pct),
            f"{s.year_end_payment:,}",
            f"{s.total_paid:,}",
            f"{s.tariff_total:,}",
        )
    console.print(summary)
    if store:
        run_id = _store(contract_file, _db_path(db), results, year, docs)
        console.print(f"stored as settlement run {run_id} in the workflow database")
    console.print(
        f"cost model out-of-sample R² {run.model.r2_out_of_sample:.3f} "
        f"({run.model.n_test} held-out patients); statements in {out}/{stem}.*",
        highlight=False,
    )


def _store(
    contract_file: Path,
    db: Path,
    results: Path,
    year: int,
    docs: list[dict[str, object]],
) -> int:
    """Store settled statements against the saved contract (audited as the system)."""
    from carepilot.accounts.model import SYSTEM_ACTOR
    from carepilot.contracts import repo, workflow
    from carepilot.db.session import make_engine, make_session_factory
    from carepilot.errors import InputDataError

    text = contract_file.read_text(encoding="utf-8")
    engine = make_engine(load_settings().database_url)
    try:
        with make_session_factory(engine)() as session:
            contract = workflow.parse_definition(text)
            cid = repo.contract_id_by_slug(session, contract.id)
            view = workflow.visible(session, SYSTEM_ACTOR, cid)
            if view.checksum != workflow.sha256_text(text):
                raise InputDataError(
                    f"{contract_file}: differs from the saved version {view.version} "
                    f"of contract `{contract.id}` in the workflow database; fix: save "
                    "the file as a new version first (web app or PUT /api/contracts)"
                )
            run = workflow.store_settlement(
                session,
                SYSTEM_ACTOR,
                cid,
                year,
                [dict(d) for d in docs],
                {
                    "analytics_db": workflow.sha256_file(db),
                    "indicator_results": workflow.sha256_file(results),
                },
            )
            return run.id
    finally:
        engine.dispose()


@contracts_app.command("simulate")
def simulate(
    contract_file: Path = typer.Option(..., "--contract", help="Contract YAML."),
    results: Path = typer.Option(
        ..., "--results", help="Indicator results (Parquet/CSV)."
    ),
    year: int | None = typer.Option(
        None, "--year", help="Contract year to simulate (default: the first)."
    ),
    db: Path | None = typer.Option(
        None,
        "--db",
        help="DuckDB analytics database (default: CAREPILOT_ANALYTICS_DB).",
    ),
    runs: int = typer.Option(2000, "--runs", min=100, help="Monte Carlo draws."),
    seed: int = typer.Option(20240401, "--seed", help="Random seed."),
    out: Path = typer.Option(
        Path("contract-simulation"), "--out", help="Output folder."
    ),
) -> None:
    """Monte Carlo what-if: distribution of provider payment and commissioner risk."""
    from carepilot.contracts import simulate as sim

    contract = load_contract(contract_file)
    table = read_results(results)
    result = sim.run_simulation(
        contract,
        _db_path(db),
        table,
        year if year is not None else contract.term.years()[0],
        runs=runs,
        seed=seed,
        results_source=str(results),
    )
    out.mkdir(parents=True, exist_ok=True)
    paths = sim.write_outputs(result, out)
    summary = RichTable(title=f"{contract.id}: {runs} simulated years (GBP)")
    for col in ("measure", "mean", "5th pct", "median", "95th pct"):
        summary.add_column(col, justify="right")
    for name, stats in result.summary().items():
        summary.add_row(
            name, *(f"{stats[k]:,.0f}" for k in ("mean", "p5", "p50", "p95"))
        )
    console.print(summary)
    console.print(f"outputs: {', '.join(str(p) for p in paths)}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the `contracts` command group to the root command."""
    app.add_typer(contracts_app, name="contracts")
