"""`carepilot db create-user`: the first admin of a new deployment."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from carepilot.cli.main import app
from carepilot.db import migrate

PASSWORD = "A-longer-passphrase-2026"


def test_create_user_then_refuse_duplicate_and_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'wf.sqlite'}"
    migrate.upgrade(url)
    monkeypatch.setenv("CAREPILOT_NEW_USER_PASSWORD", PASSWORD)
    runner = CliRunner()
    args = [
        "db",
        "create-user",
        "--email",
        "Boss@Trust.nhs",
        "--name",
        "The Boss",
        "--database-url",
        url,
    ]
    ok = runner.invoke(app, args)
    assert ok.exit_code == 0, ok.output
    assert "created admin account boss@trust.nhs" in ok.output
    again = runner.invoke(app, args)
    assert again.exit_code != 0 and "already exists" in str(again.exception)
    no_scope = runner.invoke(
        app, [*args[:6], "--role", "commissioner", "--database-url", url]
    )
    assert "needs the PCT code" in str(no_scope.exception)
    bad_role = runner.invoke(app, [*args[:6], "--role", "king", "--database-url", url])
    assert "is not a role" in str(bad_role.exception)
    monkeypatch.setenv("CAREPILOT_NEW_USER_PASSWORD", "short")
    weak = runner.invoke(
        app,
        [*args[:2], "--email", "x.y@trust.nhs", "--name", "X", "--database-url", url],
    )
    assert "at least 12 characters" in str(weak.exception)
