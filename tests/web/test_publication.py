"""Publication pages, CSV downloads, open-data API and quality accounts (TestClient).

Uses the hand-built released results of the publication unit tests (four practices,
two PCNs, one commissioner, a pilot; six quarters; total/sex/IMD decile).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from carepilot.config import Settings
from carepilot.web import create_app
from carepilot.web.routers.publication import load_publication
from tests.unit.publication.builders import (
    META,
    raw_results,
    released_results,
    released_with_trusts,
    trust_table,
)
from tests.web.helpers import Users


@pytest.fixture(scope="module")
def results_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pub") / "results.parquet"
    released_results().to_parquet(path)
    return path


def _make(db: str, tmp: Path, results: Path | None) -> FastAPI:
    settings = Settings(
        environment="test",
        database_url=db,
        upload_dir=tmp / "up",
        results=results,
        publication_dir=tmp / "pub",
    )  # type: ignore[arg-type]
    app = create_app(settings)
    app.state.publication = load_publication(
        results, None, tmp / "pub" / "open-data", meta=META
    )
    return app


@pytest.fixture
def pub_app(
    sqlite_workflow_db: str, tmp_path: Path, results_file: Path
) -> Iterator[FastAPI]:
    app = _make(sqlite_workflow_db, tmp_path, results_file)
    yield app
    app.state.engine.dispose()


@pytest.fixture
def client(pub_app: FastAPI) -> TestClient:
    return TestClient(pub_app)


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _table_rows(html: str, key: str) -> int:
    section = html.split(f'id="{key}"', 1)[1].split("</section>", 1)[0]
    body = section.split("<tbody", 1)[1].split("</tbody>", 1)[0]
    return body.count("<tr")


def test_indicator_browser_lists_indicators_by_domain(client: TestClient) -> None:
    page = client.get("/indicators")
    assert page.status_code == 200
    assert "Hypertension: BP 140/90 or less" in page.text
    assert "Cardiovascular" in page.text and "Hospital" in page.text
    only = client.get("/indicators?domain=hospital").text
    assert "A&amp;E attendances per 1,000" in only
    assert "Hypertension: BP" not in only
    rows = _csv(client.get("/dashboards/browser.csv").text)
    assert {r["Indicator"] for r in rows} == {m.title for m in META.values()}


def test_indicator_definition_page(client: TestClient) -> None:
    page = client.get("/indicators/bp-control")
    assert page.status_code == 200
    assert "Patients with hypertension whose last BP is 140/90 or less." in page.text
    assert "Higher is better" in page.text
    assert client.get("/indicators/nope").status_code == 404


def test_area_profile_table_matches_csv(client: TestClient) -> None:
    page = client.get("/areas/A81001")
    assert page.status_code == 200
    assert "Riverside Surgery: area profile" in page.text
    assert "<svg" in page.text  # server-side chart
    link = re.search(r'href="(/dashboards/profile\.csv\?[^"]+)"', page.text)
    assert link
    rows = _csv(client.get(link.group(1).replace("&amp;", "&")).text)
    assert len(rows) == _table_rows(page.text, "profile-A81001") == len(META)
    # significance shown by text and a CSS class (no inline styles under the CSP)
    assert 'data-sig="' in page.text and 'style="background' not in page.text
    assert client.get("/areas/ZZZ").status_code == 404
    listing = client.get("/areas?q=harbour").text
    assert "Harbour Health Centre" in listing and "Riverside" not in listing


def test_compare_page_has_tartan_bar_and_funnel(client: TestClient) -> None:
    page = client.get("/compare?indicator=bp-control&area_type=practice")
    assert page.status_code == 200
    for title in ("Riverside Surgery", "Hill Top Practice", "funnel", "95%"):
        assert title in page.text
    assert page.text.count("cp-chart__svg") == 3
    bar = _csv(
        client.get("/dashboards/bar.csv?indicator=bp-control&area_type=practice").text
    )
    released = released_results()
    latest = released["period_start"].max()
    expected = released[
        (released["indicator_id"] == "bp-control")
        & (released["area_type"] == "practice")
        & (released["breakdown"] == "total")
        & (released["period_start"] == latest)
    ]
    assert len(bar) == len(expected)
    by_name = {r["Area"] if "Area" in r else next(iter(r.values())): r for r in bar}
    for row in expected.itertuples():
        assert row.area_name in by_name


def test_compare_tartan_rug_by_goal(client: TestClient) -> None:
    page = client.get("/compare?indicator=bp-control&area_type=practice&colour=goal")
    assert page.status_code == 200
    assert "against their goals" in page.text
    assert "Compared with goal" in page.text  # table header and chart legend
    assert 'id="f-colour"' in page.text and 'value="goal" selected' in page.text
    link = re.search(r'href="(/dashboards/tartan\.csv\?[^"]+)"', page.text)
    assert link and "colour=goal" in link.group(1)
    rows = _csv(client.get(link.group(1).replace("&amp;", "&")).text)
    bp = [r for r in rows if r["Indicator"] == META["bp-control"].title]
    assert bp and all(
        r["Compared with goal"] == ("better" if float(r["Value"]) >= 80 else "worse")
        for r in bp
        if r["Value"]
    )
    assert client.get("/compare?colour=rainbow").status_code == 400
    profile = client.get("/areas/A81001").text
    assert "Compared with goal" in profile and "diamond marks" in profile


def test_trends_for_a_pilot_show_target_trajectory(client: TestClient) -> None:
    page = client.get("/trends?indicator=bp-control&area=PIL01")
    assert page.status_code == 200
    assert "target trajectory" in page.text
    rows = _csv(
        client.get("/dashboards/trends.csv?indicator=bp-control&area=PIL01").text
    )
    series = {r["Series"] for r in rows}
    assert {"England", "Target trajectory"} <= series
    practice = _csv(
        client.get("/dashboards/trends.csv?indicator=bp-control&area=A81001").text
    )
    assert "Target trajectory" not in {r["Series"] for r in practice}


def test_inequalities_show_sii_and_gap(client: TestClient) -> None:
    page = client.get("/inequalities?indicator=bp-control&area=E92000001")
    assert page.status_code == 200
    assert "Slope index of inequality (SII)" in page.text
    assert page.text.count("cp-chart__svg") == 2
    sex = client.get("/inequalities?indicator=bp-control&area=E92000001&breakdown=sex")
    assert sex.status_code == 200 and "female" in sex.text.lower()
    bad = client.get("/inequalities?indicator=bp-control&breakdown=shoe_size")
    assert bad.status_code == 400


def test_choose_a_practice_by_name_and_area(client: TestClient) -> None:
    page = client.get("/choose-a-practice?q=market")
    assert page.status_code == 200
    assert "Market Street Medical" in page.text and "Riverside" not in page.text
    # domains stand in for topics when the choice indicators are not published
    assert "England average" in page.text
    by_pcn = client.get("/choose-a-practice?q=west pcn").text
    assert "Riverside Surgery" in by_pcn and "Hill Top Practice" in by_pcn
    none = client.get("/choose-a-practice?q=zzzz").text
    assert "No practices matched" in none


def test_choose_a_practice_by_coordinates(
    sqlite_workflow_db: str, tmp_path: Path, results_file: Path
) -> None:
    from tests.unit.publication.builders import PRACTICES

    app = _make(sqlite_workflow_db, tmp_path, results_file)
    pub = app.state.publication
    pub.practices["latitude"] = [
        PRACTICES[c][2] for c in pub.practices["practice_code"]
    ]
    pub.practices["longitude"] = [
        PRACTICES[c][3] for c in pub.practices["practice_code"]
    ]
    pub.has_coordinates = True
    page = TestClient(app).get("/choose-a-practice?lat=54.52&lon=-1.55&radius=20")
    text = page.text
    assert "Riverside Surgery" in text and "0.0 km away" in text
    assert "Harbour Health Centre" not in text  # about 43 km away
    assert "Market Street Medical" not in text  # about 24 km away
    assert text.index("Riverside Surgery") < text.index("Hill Top Practice")
    app.state.engine.dispose()


def test_open_data_downloads_and_checksums(client: TestClient) -> None:
    import hashlib

    page = client.get("/open-data")
    assert page.status_code == 200
    sums = client.get("/open-data/files/SHA256SUMS").text
    for name in ("indicators.csv", "indicators.parquet", "metadata.json"):
        body = client.get(f"/open-data/files/{name}").content
        digest = hashlib.sha256(body).hexdigest()
        assert f"{digest}  {name}" in sums
        assert digest in page.text
    table = pd.read_csv(io.StringIO(client.get("/open-data/files/indicators.csv").text))
    assert "Lower CI 99.8 limit" in table.columns
    assert client.get("/open-data/files/secret.txt").status_code == 404


def test_opendata_api_paging_and_filters(client: TestClient) -> None:
    first = client.get("/api/opendata/indicators?page_size=7").json()
    assert first["page"] == 1 and len(first["rows"]) == 7
    assert first["pages"] == -(-first["total"] // 7)
    second = client.get("/api/opendata/indicators?page_size=7&page=2").json()
    assert first["rows"] != second["rows"]
    some = client.get(
        "/api/opendata/indicators?area_code=A81001&area_code=A81002"
        "&indicator_id=ae-rate&page_size=1000"
    ).json()
    assert some["total"] > 0
    assert {r["Area Code"] for r in some["rows"]} == {"A81001", "A81002"}
    assert {r["Indicator ID"] for r in some["rows"]} == {"ae-rate"}
    assert client.get("/api/opendata/indicators?page_size=5000").status_code == 422
    meta = client.get("/api/opendata/metadata").json()
    assert {i["id"] for i in meta["indicators"]} == set(META)
    spec = client.get("/api/openapi.json").json()
    assert "/api/opendata/indicators" in spec["paths"]


def test_unreleased_results_are_refused_everywhere(
    sqlite_workflow_db: str, tmp_path: Path
) -> None:
    raw = tmp_path / "raw.parquet"
    raw_results().to_parquet(raw)
    app = _make(sqlite_workflow_db, tmp_path, raw)
    client = TestClient(app)
    for url in (
        "/indicators",
        "/areas/A81001",
        "/compare",
        "/open-data",
        "/dashboards/profile.csv?area=A81001",
        "/choose-a-practice?q=a",
    ):
        resp = client.get(url)
        assert resp.status_code == 403, url
        assert "not disclosure controlled" in resp.text
    assert client.get("/api/opendata/indicators").status_code == 403
    app.state.engine.dispose()


def test_no_results_configured_shows_explanation(
    sqlite_workflow_db: str, tmp_path: Path
) -> None:
    app = _make(sqlite_workflow_db, tmp_path, None)
    client = TestClient(app)
    assert "No indicator results are published yet" in client.get("/indicators").text
    assert client.get("/api/opendata/indicators").status_code == 404
    app.state.engine.dispose()


def test_quality_account_edit_publish_and_public_read(pub_app: FastAPI) -> None:
    users = Users(pub_app)
    public = users.anonymous()
    url = "/quality-accounts/A81001/2022"
    assert public.get(url).status_code == 404  # draft: not public
    admin = users["admin"]
    form = admin.get(f"{url}/edit")
    assert form.status_code == 200 and "chief executive" in form.text
    bad = admin.post(f"{url}/edit", {"ceo_statement": "x", "priorities": "- a: 1"})
    assert bad.status_code == 400
    priorities = "\n".join(
        f"- title: Priority {i}\n  domain: clinical effectiveness\n"
        f"  indicators: [bp-control]\n  aim: Improve {i}"
        for i in range(3)
    )
    ok = admin.post(
        f"{url}/edit",
        {"ceo_statement": "We put **safety** first.", "priorities": priorities},
    )
    assert ok.status_code == 303
    draft = admin.get(url)
    assert "We put <strong>safety</strong> first." in draft.text
    assert "Priority 2" in draft.text
    assert admin.post(f"{url}/publish").status_code == 303
    page = public.get(url)
    assert page.status_code == 200 and "Priority 1" in page.text
    assert "/edit" not in page.text
    assert "Riverside Surgery" in public.get("/quality-accounts").text
    html = public.get(f"{url}/download/html")
    assert html.headers["content-disposition"].endswith('.html"')
    # audited
    log = admin.get("/admin/audit").text
    assert "quality_account.edit" in log and "quality_account.publish" in log
    # the bidder of another organisation and the steering member may not edit
    assert users["bidder"].get(f"{url}/edit").status_code == 403
    assert users["steering"].get(f"{url}/edit").status_code == 403


@pytest.mark.slow
def test_quality_account_pdf_download(pub_app: FastAPI) -> None:
    users = Users(pub_app)
    admin = users["admin"]
    resp = admin.get("/quality-accounts/A81001/2022/download/pdf")
    assert resp.status_code == 200
    assert resp.content.startswith(b"%PDF")


def test_a_view_without_enough_data_becomes_a_note_not_an_error(monkeypatch):
    """A gap needs two published groups; when it cannot be drawn the page still renders."""
    from carepilot.errors import InsufficientDataError
    from carepilot.web.routers import publication as routes

    real = routes.build_view

    def fake(chart, params, pub):
        if chart == "gap":
            raise InsufficientDataError("no period has two published groups")
        return real(chart, params, pub)

    monkeypatch.setattr(routes, "build_view", fake)
    blocks, notes = routes._safe_views([("gap", {})], object())  # type: ignore[arg-type]
    assert blocks == [] and notes == ["no period has two published groups"]


@pytest.fixture
def trust_app(sqlite_workflow_db: str, tmp_path: Path) -> Iterator[FastAPI]:
    """Released results with provider rows (practice rows relabelled as trusts:
    the figures stay disclosure controlled) and a providers table with locations."""
    path = tmp_path / "trusts.parquet"
    released_with_trusts().to_parquet(path)
    app = _make(sqlite_workflow_db, tmp_path, path)
    app.state.publication.providers = trust_table()
    yield app
    app.state.engine.dispose()


def test_choose_a_service_near_a_place_by_type(trust_app: FastAPI) -> None:
    client = TestClient(trust_app)
    page = client.get("/choose-a-service")
    assert page.status_code == 200 and "Search near a place" in page.text
    near = client.get("/choose-a-service?lat=54.52&lon=-1.55&radius=30").text
    assert "Riverside Hospitals NHS Trust" in near
    assert "Hill Community Health Services" in near
    assert "Harbour Hospitals" not in near  # about 42 km away
    assert near.index("Riverside Hospitals") < near.index("Hill Community")
    assert "England average" in near and "Hospitals, 1.3 km away" in near
    acute = client.get("/choose-a-service?lat=54.52&lon=-1.55&radius=60&kind=acute")
    assert "Hill Community" not in acute.text and "Harbour Hospitals" in acute.text
    by_name = client.get("/choose-a-service?q=community").text
    assert "Hill Community Health Services" in by_name
    assert "Riverside Hospitals" not in by_name
    assert "No services matched" in client.get("/choose-a-service?q=zzzz").text
    bad = client.get("/choose-a-service?lat=54.5&lon=-1.5&kind=dentist")
    assert bad.status_code == 400 and "dentist" in bad.text


def test_quality_account_of_an_acute_trust(trust_app: FastAPI) -> None:
    users = Users(trust_app)
    admin = users["admin"]
    url = "/quality-accounts/RA001/2022"
    priorities = "\n".join(
        f"- title: Priority {i}\n  domain: patient safety\n"
        f"  indicators: [bp-control]\n  aim: Improve {i}"
        for i in range(3)
    )
    assert admin.get(f"{url}/edit").status_code == 200
    ok = admin.post(
        f"{url}/edit", {"ceo_statement": "Our wards.", "priorities": priorities}
    )
    assert ok.status_code == 303
    page = admin.get(url).text
    assert "Riverside Hospitals NHS Trust" in page
    assert "Core indicators (acute providers)" in page
    assert "emergency-readmissions-30-days" in page  # listed as not in the results
    # the test commissioner (5QJ) is not the trust's host commissioner (5J9)
    assert users["commissioner"].get(f"{url}/edit").status_code == 403
    assert users["steering"].get(f"{url}/edit").status_code == 403


@pytest.mark.parametrize("with_survey", [False, True])
def test_choose_a_service_says_when_no_patient_survey_is_published(
    sqlite_workflow_db: str, tmp_path: Path, with_survey: bool
) -> None:
    """Services are compared on provider rows; when no service has survey results
    the page says so instead of leaving "What patients say" out silently."""
    results = released_with_trusts()
    ids = {"bp-control": "outpatient-dna"}
    if with_survey:
        ids["ae-rate"] = "experience-inpatient-overall"
    results["indicator_id"] = results["indicator_id"].replace(ids)
    path = tmp_path / "services.parquet"
    results.to_parquet(path)
    app = _make(sqlite_workflow_db, tmp_path, path)
    app.state.publication.providers = trust_table()
    try:
        page = TestClient(app).get("/choose-a-service?lat=54.52&lon=-1.55&radius=30")
    finally:
        app.state.engine.dispose()
    assert page.status_code == 200
    note = "cannot yet say what their patients think of their care"
    assert (note in page.text) is not with_survey
    assert "Turning up: missed appointments" in page.text
    if with_survey:
        assert "<h4>What patients say</h4>" in page.text
        assert "experience-inpatient-overall" in page.text  # inferred title
    else:
        assert "<h4>What patients say</h4>" not in page.text
        assert "No waiting-time figures" in page.text
