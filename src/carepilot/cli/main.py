"""Root of the `carepilot` command line.

Each command group lives in its own module under `carepilot.cli` and exposes a
`register(app)` function; `COMMAND_MODULES` lists them. `run()` turns `UserError`s
into a one-line message (no traceback) and the error's exit code.
"""

from __future__ import annotations

import importlib
import logging
import sys

import typer
from rich.console import Console

from carepilot.errors import CarePilotError, InternalError

app = typer.Typer(
    name="carepilot",
    help="Run outcome-based integrated care programmes: data, indicators, contracts, evaluation, publication.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

err_console = Console(stderr=True)

COMMAND_MODULES: tuple[str, ...] = (
    # one line per command group; keep alphabetical to avoid merge conflicts
    "carepilot.cli.community",
    "carepilot.cli.contracts",
    "carepilot.cli.db",
    "carepilot.cli.evaluate",
    "carepilot.cli.evaluate_pilot",
    "carepilot.cli.indicators",
    "carepilot.cli.load",
    "carepilot.cli.publish",
    "carepilot.cli.qof",
    "carepilot.cli.serve",
    "carepilot.cli.stats",
    "carepilot.cli.synth",
)
"""Modules that each define `register(app: typer.Typer) -> None`."""


@app.callback()
def _root(
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Log progress and timings."
    ),
    log_sql: bool = typer.Option(
        False, "--log-sql", help="Log the SQL sent to the database."
    ),
) -> None:
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if log_sql:
        logging.getLogger("carepilot.sql").setLevel(logging.DEBUG)


def _register_all() -> None:
    for module_name in COMMAND_MODULES:
        module = importlib.import_module(module_name)
        module.register(app)


_register_all()


def run() -> None:
    """Console-script entry point."""
    try:
        result = app(standalone_mode=False)
        if isinstance(result, int) and result != 0:
            sys.exit(result)
    except CarePilotError as exc:
        if isinstance(exc, InternalError):
            raise
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(1)
    except SystemExit:
        raise
    except Exception as exc:  # click usage errors arrive here in standalone_mode=False
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise


if __name__ == "__main__":
    run()
