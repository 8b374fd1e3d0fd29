"""Browser tests of the public publication pages: screenshots and axe-core checks.

A real uvicorn server with the hand-built released results; each main page is
opened by an anonymous visitor, screenshotted to test-artifacts/publication-*.png
and checked for serious or critical accessibility violations.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from carepilot.config import Settings
from carepilot.web import create_app
from carepilot.web.routers.publication import load_publication
from tests.e2e.conftest import REPO, _free_port
from tests.e2e.pages import Session
from tests.unit.publication.builders import META, released_with_trusts, trust_table

PAGES = [
    ("01-indicators", "/indicators", "Hypertension: BP 140/90 or less"),
    ("02-indicator-definition", "/indicators/bp-control", "Higher is better"),
    ("03-area-profile", "/areas/A81001", "Riverside Surgery: area profile"),
    ("04-compare", "/compare?indicator=bp-control&area_type=practice", "Funnel"),
    ("05-trends-pilot", "/trends?indicator=bp-control&area=PIL01", "trajectory"),
    (
        "06-inequalities",
        "/inequalities?indicator=bp-control&area=E92000001",
        "Slope index of inequality",
    ),
    ("07-choose-a-practice", "/choose-a-practice?q=pcn", "Riverside Surgery"),
    ("08-open-data", "/open-data", "SHA256SUMS"),
    (
        "09-choose-a-service",
        "/choose-a-service?lat=54.52&lon=-1.55&radius=30",
        "Riverside Hospitals NHS Trust",
    ),
    (
        "10-compare-by-goal",
        "/compare?indicator=bp-control&area_type=practice&colour=goal",
        "Compared with goal",
    ),
]


@pytest.fixture
def pub_server(sqlite_workflow_db: str, tmp_path: Path) -> Iterator[str]:
    import uvicorn

    if not (REPO / "src/carepilot/web/static/nhsuk/nhsuk-frontend.min.css").exists():
        pytest.fail("NHS.UK frontend assets are not built: run scripts/build-assets.sh")
    results = tmp_path / "results.parquet"
    released_with_trusts().to_parquet(results)
    app = create_app(
        Settings(
            environment="test",
            database_url=sqlite_workflow_db,
            upload_dir=tmp_path / "up",
            results=results,
            publication_dir=tmp_path / "pub",
        )  # type: ignore[arg-type]
    )
    app.state.publication = load_publication(
        results, None, tmp_path / "pub" / "open-data", meta=META
    )
    app.state.publication.providers = trust_table()
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


@pytest.mark.slow
def test_public_publication_pages_are_accessible(browser: Any, pub_server: str) -> None:
    visitor = Session(browser, pub_server, "public", "publication")
    problems: list[str] = []
    try:
        for name, path, expected in PAGES:
            visitor.goto(path)
            assert expected in visitor.page.content(), path
            for v in visitor.check(name):
                problems.append(f"{path}: {v['id']} ({v['impact']}) {v['targets']}")
        # the CSV link downloads exactly the chart's table
        visitor.goto("/areas/A81001")
        with visitor.page.expect_download() as info:
            visitor.page.get_by_role("link", name="Download this data").first.click()
        text = Path(info.value.path()).read_text(encoding="utf-8")
        assert text.count("\n") - 1 == len(META)
    finally:
        visitor.close()
    assert not problems, "\n".join(problems)
