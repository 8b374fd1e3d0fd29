"""The root command imports command modules lazily, and the index is complete."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from carepilot.cli.main import COMMAND_MODULES, app, load_commands


def test_each_module_registers_exactly_the_commands_listed() -> None:
    for module_name, names in COMMAND_MODULES.items():
        assert sorted(load_commands(module_name)) == sorted(names), module_name


def test_modules_are_listed_alphabetically_and_names_are_unique() -> None:
    modules = list(COMMAND_MODULES)
    assert modules == sorted(modules)
    names = [n for ns in COMMAND_MODULES.values() for n in ns]
    assert len(names) == len(set(names))


def test_root_help_lists_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    for names in COMMAND_MODULES.values():
        for name in names:
            assert name in result.output


def test_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["no-such-command"])
    assert result.exit_code != 0
    assert "No such command" in result.output


def test_running_one_command_does_not_import_the_heavy_modules() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from carepilot.cli.main import app\n"
        "r = CliRunner().invoke(app, ['db', '--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "heavy = [m for m in ('scipy', 'carepilot.stats', 'carepilot.contracts',"
        " 'carepilot.synth', 'carepilot.ingest') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


def test_usage_errors_are_a_message_not_a_traceback() -> None:
    for args in (["no-such-command"], ["db", "--no-such-option"]):
        out = subprocess.run(
            [sys.executable, "-m", "carepilot.cli.main", *args],
            capture_output=True,
            text=True,
        )
        assert out.returncode == 2, out.stderr
        assert "Error: No such" in out.stderr
        assert "Traceback" not in out.stderr
