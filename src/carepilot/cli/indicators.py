"""`carepilot indicators`: check, list, explain and run indicator definitions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from carepilot.errors import ConfigError, DefinitionError, UserError
from carepilot.indicators.model import IndicatorDefinition
from carepilot.indicators.periods import Frequency, make_periods, parse_month

console = Console()
err_console = Console(stderr=True)

indicators_app = typer.Typer(
    help="Check, list, explain and run indicator definitions.", no_args_is_help=True
)

DISCLOSURE_CHOICES = ("opensafely", "suppress", "none")


def _default_definitions() -> list[Path]:
    """The standard library (not the engine's worked examples)."""
    from carepilot.library import definition_paths

    return definition_paths()


def _load(
    definitions: list[Path] | None, codelists: list[Path] | None
) -> list[IndicatorDefinition]:
    from carepilot.engine.definitions import load_definitions

    return load_definitions(definitions or _default_definitions(), codelists or [])


def _select(
    defs: list[IndicatorDefinition], ids: list[str] | None
) -> list[IndicatorDefinition]:
    if not ids:
        return defs
    by_id = {d.id: d for d in defs}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise DefinitionError(
            f"no indicator with id {', '.join(missing)}; available: "
            f"{', '.join(sorted(by_id)) or 'none'}"
        )
    return [by_id[i] for i in ids]


DefinitionsOpt = typer.Option(
    None,
    "--definitions",
    "-d",
    help="Definition file(s) or folder(s) (default: the shipped library).",
)
CodelistsOpt = typer.Option(
    None,
    "--codelists",
    help="Extra folder(s) to look for codelist CSVs and expected-rate tables "
    "(`expected/NAME.csv`) in, before the shipped ones.",
)


@indicators_app.command("check")
def check(
    paths: list[Path] = typer.Argument(..., help="Definition files or folders."),
    codelists: list[Path] | None = CodelistsOpt,
) -> None:
    """Validate definitions only (no data is read); exits non-zero on errors."""
    defs = _load(paths, codelists)
    console.print(f"[green]ok[/]: {len(defs)} indicator definition(s) are valid")


@indicators_app.command("list")
def list_(
    definitions: list[Path] | None = DefinitionsOpt,
    codelists: list[Path] | None = CodelistsOpt,
) -> None:
    """List indicators: id, version, value type, period rule and title."""
    table = RichTable("id", "version", "value type", "period", "polarity", "title")
    for d in _load(definitions, codelists):
        table.add_row(
            d.id,
            str(d.version),
            d.value_type.value,
            str(d.period_rule),
            d.polarity.value,
            d.title,
        )
    console.print(table)


@indicators_app.command("explain")
def explain(
    indicator_id: str = typer.Argument(..., help="Indicator id."),
    definitions: list[Path] | None = DefinitionsOpt,
    codelists: list[Path] | None = CodelistsOpt,
    from_: str = typer.Option("2024-04", "--from", help="First period (YYYY-MM)."),
    to: str = typer.Option("2025-03", "--to", help="Last period (YYYY-MM)."),
    frequency: Frequency = typer.Option(Frequency.MONTH, "--frequency"),
    dialect: str = typer.Option("duckdb", "--dialect", help="SQL dialect."),
) -> None:
    """Print the SQL of the indicator's single database pass (no data needed)."""
    import ibis

    from carepilot.engine.run import explain_sql
    from carepilot.engine.tables import arrow_schema
    from carepilot.schema import TABLES

    (definition,) = _select(_load(definitions, codelists), [indicator_id])
    periods = make_periods(
        parse_month(from_, "--from"), parse_month(to, "--to"), frequency
    )
    tables = {
        name: ibis.table(ibis.schema(arrow_schema(t)), name=name)
        for name, t in TABLES.items()
    }
    typer.echo(explain_sql(definition, tables, periods, dialect=dialect))


BACKEND_CHOICES = ("duckdb", "spark")
DEFAULT_SPARK_MASTER = "local[*]"


def _parse_spark_conf(items: list[str] | None) -> dict[str, str]:
    conf: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--spark-conf {item!r}: expected KEY=VALUE")
        conf[key.strip()] = value.strip()
    return conf


def _check_source_options(
    backend: str,
    db: Path | None,
    data: str | None,
    spark_master: str,
    spark_conf: dict[str, str],
) -> None:
    """Refuse inconsistent data-source options before anything is loaded."""
    if backend not in BACKEND_CHOICES:
        raise ConfigError(
            f"--backend must be one of {', '.join(BACKEND_CHOICES)}, not `{backend}`"
        )
    if backend == "spark" and data is None:
        raise ConfigError(
            "--backend spark reads Parquet: give --data PARQUET_DIR (one file or "
            "folder per data-model table), not --db"
        )
    if (db is None) == (data is None):
        raise ConfigError(
            "give exactly one of --db (a DuckDB database) or --data (a Parquet folder)"
        )
    if backend != "spark" and (spark_conf or spark_master != DEFAULT_SPARK_MASTER):
        raise ConfigError("--spark-master and --spark-conf need --backend spark")


def _engine_tables(
    backend: str,
    db: Path | None,
    data: str | None,
    spark_master: str,
    spark_conf: dict[str, str],
) -> dict[str, Any]:
    """The data-model tables on the chosen backend (options checked first by
    `_check_source_options`)."""
    if backend == "spark":
        assert data is not None
        from carepilot.engine.spark import connect, spark_session, spark_tables

        return spark_tables(connect(spark_session(spark_master, spark_conf)), data)
    if data is not None:
        import ibis

        from carepilot.engine.parquet import duckdb_parquet_tables

        return duckdb_parquet_tables(ibis.duckdb.connect(), data)
    from carepilot.engine.tables import tables_from_connection
    from carepilot.store import ibis_connection

    assert db is not None
    # read-only: the engine writes only temp tables
    return tables_from_connection(ibis_connection(db))


@indicators_app.command("run")
def run(
    db: Path | None = typer.Option(None, "--db", help="DuckDB analytics database."),
    data: str | None = typer.Option(
        None,
        "--data",
        help="Instead of --db: a folder (or s3a://, hdfs:// ... URI) with one Parquet "
        "file or folder per data-model table, read directly.",
    ),
    backend: str = typer.Option(
        "duckdb", "--backend", help="duckdb (one machine) or spark (needs --data)."
    ),
    spark_master: str = typer.Option(
        DEFAULT_SPARK_MASTER,
        "--spark-master",
        help="With --backend spark: local[N], spark://HOST:PORT, yarn or k8s://...",
    ),
    spark_conf: list[str] | None = typer.Option(
        None,
        "--spark-conf",
        help="With --backend spark: extra Spark setting KEY=VALUE (repeatable), "
        "e.g. spark.executor.memory=8g.",
    ),
    definitions: list[Path] | None = DefinitionsOpt,
    codelists: list[Path] | None = CodelistsOpt,
    indicator: list[str] | None = typer.Option(
        None, "--indicator", "-i", help="Only these indicator ids."
    ),
    from_: str = typer.Option(..., "--from", help="First period (YYYY-MM)."),
    to: str = typer.Option(..., "--to", help="Last period (YYYY-MM)."),
    frequency: Frequency = typer.Option(Frequency.MONTH, "--frequency"),
    out: Path = typer.Option(
        Path("indicator_results.parquet"),
        "--out",
        help="Output file: .parquet (default) or .csv.",
    ),
    disclosure: str = typer.Option(
        "opensafely",
        "--disclosure",
        help="opensafely | suppress | none (none: INTERNAL USE ONLY, row-level "
        "access; never publish its output).",
    ),
    practice_breakdowns: str = typer.Option(
        "total",
        "--practice-breakdowns",
        help="Breakdowns reported for practices and PCNs, comma-separated (e.g. "
        "total,sex,imd_quintile) or `all`. Default: totals only, as Fingertips "
        "publishes practices; national, commissioner and pilot rows always have "
        "every breakdown.",
    ),
) -> None:
    """Run indicators for every period and breakdown and write the results table."""
    from carepilot.disclosure import OPENSAFELY, ROW_LEVEL_ACCESS, SUPPRESS_1_TO_7
    from carepilot.engine.output import write_results
    from carepilot.engine.run import Engine, run_indicators

    policies = {
        "opensafely": OPENSAFELY,
        "suppress": SUPPRESS_1_TO_7,
        "none": ROW_LEVEL_ACCESS,
    }
    if disclosure not in policies:
        raise ConfigError(
            f"--disclosure must be one of {', '.join(DISCLOSURE_CHOICES)}, not `{disclosure}`"
        )
    if out.suffix.lower() not in (".parquet", ".csv"):
        raise UserError(f"--out {out}: use a .parquet or .csv file name")
    conf = _parse_spark_conf(spark_conf)
    _check_source_options(backend, db, data, spark_master, conf)
    defs = _select(_load(definitions, codelists), indicator)
    periods = make_periods(
        parse_month(from_, "--from"), parse_month(to, "--to"), frequency
    )
    if disclosure == "none":
        err_console.print(
            "[bold yellow]warning:[/] --disclosure none: output is NOT disclosure "
            "controlled; internal use by people with row-level access only"
        )
    tables = _engine_tables(backend, db, data, spark_master, conf)
    engine = Engine(
        tables,
        periods,
        practice_breakdowns=parse_practice_breakdowns(practice_breakdowns),
    )
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
    ) as progress:
        task = progress.add_task("indicators", total=len(defs))

        def on_progress(indicator_id: str, step: str) -> None:
            if step == "done":
                progress.advance(task)
            else:
                progress.update(task, description=f"{indicator_id}")

        if backend == "spark":
            from carepilot.engine.spark import spark_errors

            with spark_errors("running the indicators"):
                results = run_indicators(
                    engine, defs, policies[disclosure], on_progress
                )
        else:
            results = run_indicators(engine, defs, policies[disclosure], on_progress)
    write_results(results, out)
    console.print(
        f"wrote {len(results):,} rows for {len(defs)} indicator(s) x "
        f"{len(periods)} period(s) to {out}"
    )


def parse_practice_breakdowns(text: str) -> tuple[str, ...] | None:
    """`--practice-breakdowns` as the engine's tuple (None for `all`).

    Raises:
        UserError: an unknown breakdown name (listing the choices).
    """
    from carepilot.indicators.model import BREAKDOWN_NAMES

    if text.strip() == "all":
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in BREAKDOWN_NAMES]
    if unknown:
        raise UserError(
            f"--practice-breakdowns: unknown breakdown(s) {', '.join(unknown)}; "
            f"choose from all, {', '.join(BREAKDOWN_NAMES)}"
        )
    return tuple(dict.fromkeys(["total", *names]))


def register(app: typer.Typer) -> None:
    """Add the `indicators` command group to the root CLI."""
    app.add_typer(indicators_app, name="indicators")
