"""Root of the `carepilot` command line.

Each command group lives in its own module under `carepilot.cli` and exposes a
`register(app)` function; `COMMAND_MODULES` lists them with the command names they
add, so a module is imported only when one of its commands is used. `run()` turns `UserError`s
into a one-line message (no traceback) and the error's exit code.
"""

from __future__ import annotations

import functools
import importlib
import logging
import sys
from typing import Any

import typer
import typer.main
from rich.console import Console
from typer.core import TyperGroup

from carepilot.errors import CarePilotError, InternalError

err_console = Console(stderr=True)

COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    # module -> the top-level commands its `register(app)` adds; one line per
    # module, alphabetical (tests/unit/cli/test_lazy_commands.py checks it)
    "carepilot.cli.community": ("community",),
    "carepilot.cli.contracts": ("contracts",),
    "carepilot.cli.db": ("db",),
    "carepilot.cli.evaluate": ("evaluate-panel",),
    "carepilot.cli.evaluate_pilot": ("evaluate",),
    "carepilot.cli.indicators": ("indicators",),
    "carepilot.cli.load": ("load", "info", "fhir"),
    "carepilot.cli.publish": ("quality-account", "opendata"),
    "carepilot.cli.qof": ("qof",),
    "carepilot.cli.serve": ("serve",),
    "carepilot.cli.stats": ("stats",),
    "carepilot.cli.synth": ("synth",),
}
"""Modules that each define `register(app: typer.Typer) -> None`, and the
top-level command names each registers.

Command modules are imported only when one of their commands runs (or for the
root `--help`): several pull in pandas, SciPy or pydantic-settings, and importing
them all made every `carepilot` call pay ~3 s of start-up."""

_MODULE_OF: dict[str, str] = {
    name: module for module, names in COMMAND_MODULES.items() for name in names
}


@functools.cache
def load_commands(module_name: str) -> dict[str, Any]:
    """Import one command module and return the click commands it registers."""
    module = importlib.import_module(module_name)
    scratch = typer.Typer()

    @scratch.callback()
    def _group() -> None:  # pragma: no cover - a callback forces a group
        """Forces Typer to build a group even for a single command."""

    module.register(scratch)
    group = typer.main.get_command(scratch)
    assert isinstance(group, TyperGroup)
    return dict(group.commands)


class LazyGroup(TyperGroup):
    """The root group: lists every command, imports a module on first use."""

    def list_commands(self, ctx: Any) -> list[str]:
        return sorted(_MODULE_OF)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        module_name = _MODULE_OF.get(cmd_name)
        if module_name is None:
            return None
        return load_commands(module_name).get(cmd_name)


app = typer.Typer(
    name="carepilot",
    cls=LazyGroup,
    help="Run outcome-based integrated care programmes: data, indicators, contracts, evaluation, publication.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


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
        # Typer vendors its own click, so match its ClickException by shape: a
        # usage error (unknown command or option) is a message, not a traceback.
        show = getattr(exc, "show", None)
        exit_code = getattr(exc, "exit_code", None)
        if callable(show) and isinstance(exit_code, int):
            show()
            sys.exit(exit_code)
        raise


if __name__ == "__main__":
    run()
