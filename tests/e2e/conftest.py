"""Browser tests: a real uvicorn server on loopback, driven by Playwright through
Debian's chromium (Playwright's own browser download is blocked here)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from carepilot.config import Settings
from carepilot.web import create_app
from tests.integration.db.servers import (  # noqa: F401 - fixtures
    postgres_server,
    sqlite_template,
    sqlite_workflow_db,
    workflow_db,
)

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail("/usr/bin/chromium is missing: run scripts/ensure-chromium.sh")
    if not AXE.exists():
        pytest.fail("axe-core is missing: run scripts/build-assets.sh")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(workflow_db: str, tmp_path: Path) -> Iterator[str]:  # noqa: F811 - fixture imported in the conftest
    """The app served by uvicorn on loopback, on a fresh database (SQLite and PostgreSQL)."""
    import uvicorn

    if not (REPO / "src/carepilot/web/static/nhsuk/nhsuk-frontend.min.css").exists():
        pytest.fail("NHS.UK frontend assets are not built: run scripts/build-assets.sh")
    app = create_app(
        Settings(
            environment="test", database_url=workflow_db, upload_dir=tmp_path / "up"
        )
    )  # type: ignore[arg-type]
    port = _free_port()
    srv = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        if time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)
    app.state.engine.dispose()
