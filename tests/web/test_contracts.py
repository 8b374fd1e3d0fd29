"""Contract pages and API: create/upload/edit with precise form errors, row-level access
(a provider sees only contracts where its organisation is a party), audit events, and a
settlement and simulation run through the web app on the hand-built analytics database.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi import FastAPI

from carepilot.config import Environment, Settings
from carepilot.web import create_app
from tests.integration.contracts.conftest import (  # noqa: F401 - fixture
    TEST_CONTRACT,
    analytics_db,
    results_rows,
)
from tests.web import helpers as h

# Commissioner 5QJ (the test commissioner's PCT); lead provider Y01 (user "bidder");
# bidder_other (Y02) is not a party.
OWN = (
    TEST_CONTRACT.replace("code: Q01", "code: 5QJ")
    .replace("code: RP001", "code: Y01")
    .replace("id: it-contract", "id: web-contract")
)
# For the analytics database (commissioner Q01): created by the admin.
SETTLED = TEST_CONTRACT.replace("code: RP001", "code: Y01")


def _create(user: h.User, text: str) -> int:
    resp = user.post("/contracts/new", {"yaml_text": text})
    assert resp.status_code == 303, resp.text[:2000]
    m = re.match(r"/contracts/(\d+)$", resp.headers["location"])
    assert m
    return int(m.group(1))


def _audit_actions(app: FastAPI) -> list[str]:
    from carepilot.audit import service as audit

    with app.state.session_factory() as s:
        return [e.action for e in audit.recent(s, entity_type="contract")]


def test_commissioner_creates_and_edits_with_versions_and_audit(
    sqlite_users: h.Users,
) -> None:
    com = sqlite_users["commissioner"]
    cid = _create(com, OWN)
    page = com.get(f"/contracts/{cid}")
    assert page.status_code == 200
    assert "Integration test contract" in page.text and "version 1" in page.text
    edited = OWN.replace("title: Integration test contract", "title: Edited contract")
    resp = com.post(f"/contracts/{cid}/edit", {"yaml_text": edited})
    assert resp.status_code == 303
    api = com.api("GET", f"/api/contracts/{cid}").json()
    assert api["version"] == 2 and api["title"] == "Edited contract"
    assert {p["organisation_code"] for p in api["parties"]} == {"5QJ", "Y01"}
    assert api["definition"]["quality"]["withhold"] == "2.5"
    actions = _audit_actions(sqlite_users.app)
    assert actions.count("contract.create") == 1
    assert actions.count("contract.update") == 1
    # the id cannot change on edit
    resp = com.post(
        f"/contracts/{cid}/edit",
        {"yaml_text": edited.replace("id: web-contract", "id: renamed")},
    )
    assert resp.status_code == 400 and "keep `id: web-contract`" in resp.text


def test_upload_a_yaml_file(sqlite_users: h.Users) -> None:
    com = sqlite_users["commissioner"]
    resp = com.post(
        "/contracts/new",
        {"yaml_text": ""},
        files={"yaml_file": ("c.yaml", OWN.encode(), "application/x-yaml")},
    )
    assert resp.status_code == 303, resp.text[:2000]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id: x\nversion: 1\ntitle: a: b\n", "line 3: not valid YAML"),
        (
            OWN.replace("lower: 35, upper: 75", "lower: 75, upper: 35"),
            "thresholds reversed",
        ),
        (OWN.replace("weight: 30", "weight: 20"), "100"),
        ("", "Enter the contract definition"),
    ],
)
def test_bad_definitions_show_the_error_summary(
    sqlite_users: h.Users, text: str, message: str
) -> None:
    resp = sqlite_users["commissioner"].post("/contracts/new", {"yaml_text": text})
    assert resp.status_code == 400
    assert "There is a problem" in resp.text and 'href="#yaml_text"' in resp.text
    assert message in resp.text
    api = sqlite_users["commissioner"].api(
        "POST", "/api/contracts", json={"yaml_text": text}
    )
    assert api.status_code == 400 and "yaml_text" in api.json()["errors"]


def test_thresholds_reversed_names_the_line(sqlite_users: h.Users) -> None:
    bad = OWN.replace("lower: 35, upper: 75", "lower: 75, upper: 35")
    line = next(
        i for i, ln in enumerate(bad.splitlines(), 1) if "lower: 75, upper: 35" in ln
    )
    resp = sqlite_users["commissioner"].post("/contracts/new", {"yaml_text": bad})
    assert f"line {line}" in resp.text


def test_a_commissioner_cannot_create_for_another_pct(sqlite_users: h.Users) -> None:
    resp = sqlite_users["commissioner_other"].post("/contracts/new", {"yaml_text": OWN})
    assert resp.status_code == 400
    assert "you commission for 5A3" in resp.text


def test_providers_see_only_contracts_where_they_are_a_party(
    users: h.Users,
) -> None:
    """On SQLite and PostgreSQL."""
    cid = _create(users["commissioner"], OWN)
    provider, other = users["bidder"], users["bidder_other"]
    assert provider.get(f"/contracts/{cid}").status_code == 200
    assert "Integration test contract" in provider.get("/contracts").text
    assert [c["id"] for c in provider.api("GET", "/api/contracts").json()] == [cid]
    for user in (other, users["commissioner_other"]):
        assert user.get(f"/contracts/{cid}").status_code == 404
        assert user.api("GET", f"/api/contracts/{cid}").status_code == 404
        assert user.api("GET", f"/api/contracts/{cid}/runs").status_code == 404
        assert "Integration test contract" not in user.get("/contracts").text
        assert user.api("GET", "/api/contracts").json() == []
    # providers read but never change
    assert provider.get(f"/contracts/{cid}/edit").status_code == 403
    assert (
        provider.api(
            "PUT", f"/api/contracts/{cid}", json={"yaml_text": OWN}
        ).status_code
        == 403
    )
    anon = users.anonymous()
    assert anon.get("/contracts").status_code == 303
    assert anon.client.get("/api/contracts").status_code == 401


# --------------------------------------------------- settlement through the web app


@pytest.fixture
def analytics_app(
    sqlite_workflow_db: str,
    tmp_path: Path,
    analytics_db: Path,  # noqa: F811
) -> Iterator[FastAPI]:
    settings = Settings(
        environment=Environment.TEST,
        database_url=sqlite_workflow_db,
        upload_dir=tmp_path / "uploads",
        analytics_db=analytics_db,
    )
    app = create_app(settings)
    yield app
    app.state.engine.dispose()


def _results_csv() -> bytes:
    buf = io.StringIO()
    pd.DataFrame(results_rows()).to_csv(buf, index=False)
    return buf.getvalue().encode()


def test_settle_view_download_and_simulate_through_the_web(
    analytics_app: FastAPI,
) -> None:
    users = h.Users(analytics_app)
    admin = users["admin"]
    cid = _create(admin, SETTLED)
    files = {"results": ("results.csv", _results_csv(), "text/csv")}
    # bad year: the form error summary, not a 500
    resp = admin.post(f"/contracts/{cid}/settle", {"year": "1999"}, files=files)
    assert resp.status_code == 400 and "Choose a contract year" in resp.text
    resp = admin.post(f"/contracts/{cid}/settle", {"year": "2021"}, files=files)
    assert resp.status_code == 303, resp.text[:3000]
    url = resp.headers["location"]
    run_id = int(url.rsplit("/", 1)[1])
    page = admin.get(url)
    assert page.status_code == 200
    assert "nhsuk-header" in page.text  # inside the NHS.UK layout
    assert "Risk-adjusted capitated budget" in page.text
    assert "[REDACTED]" in page.text  # one pooled patient: disclosure control
    doc = admin.api("GET", f"/api/contracts/{cid}/statements/{run_id}").json()
    checksums = doc["input_checksums"]
    assert set(checksums) == {"contract_yaml", "analytics_db", "indicator_results"}
    assert all(re.fullmatch(r"[0-9a-f]{64}", v) for v in checksums.values())
    statement = doc["statements"][0]
    assert all(r["ok"] for r in statement["reconciliation"])
    csv_resp = admin.get(f"{url}/download/csv")
    assert csv_resp.status_code == 200
    assert csv_resp.text.startswith("contract_id,period,section,ref")
    assert "attachment" in csv_resp.headers["content-disposition"]
    js = json.loads(admin.get(f"{url}/download/json").text)
    assert js["statements"][0]["lines"] == statement["lines"]
    pdf = admin.get(f"{url}/download/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    # the lead provider (Y01) reads it; another provider cannot
    assert users["bidder"].get(url).status_code == 200
    other = users["bidder_other"]
    for path in (url, f"{url}/download/csv", f"{url}/download/pdf"):
        resp = other.get(path)
        assert resp.status_code == 404 and "Risk-adjusted" not in resp.text
    assert (
        other.api("GET", f"/api/contracts/{cid}/statements/{run_id}").status_code == 404
    )
    # a simulation: plot and sensitivity table
    resp = admin.post(
        f"/contracts/{cid}/simulate", {"year": "2021", "runs": "60"}, files=files
    )
    assert resp.status_code == 303, resp.text[:3000]
    sim_url = resp.headers["location"]
    sim = admin.get(sim_url)
    assert sim.status_code == 200 and "Sensitivity" in sim.text
    assert f'src="{sim_url}/plot.svg"' in sim.text
    plot = users["bidder"].get(f"{sim_url}/plot.svg")
    assert plot.status_code == 200 and plot.text.lstrip().startswith("<svg")
    assert other.get(sim_url).status_code == 404
    actions = _audit_actions(analytics_app)
    assert {"contract.create", "contract.settle", "contract.simulate"} <= set(actions)


def test_settle_and_simulate_through_the_api_off_the_event_loop(
    analytics_app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from carepilot.contracts import workflow

    users = h.Users(analytics_app)
    admin = users["admin"]
    cid = _create(admin, SETTLED)
    files = {"results": ("results.csv", _results_csv(), "text/csv")}
    loops: list[bool] = []
    real = workflow.settle_and_store

    def spy(*args: object, **kwargs: object) -> object:
        try:
            asyncio.get_running_loop()
            loops.append(True)
        except RuntimeError:
            loops.append(False)  # a worker thread: the event loop stays free
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(workflow, "settle_and_store", spy)
    headers = {"X-CSRF-Token": admin.csrf}
    bad = admin.client.post(
        f"/api/contracts/{cid}/statements",
        data={"year": "1999"},
        files=files,
        headers=headers,
    )
    assert bad.status_code == 400 and "Choose a contract year" in bad.text
    resp = admin.client.post(
        f"/api/contracts/{cid}/statements",
        data={"year": "2021"},
        files=files,
        headers=headers,
    )
    assert resp.status_code == 201, resp.text[:3000]
    doc = resp.json()
    assert doc["kind"] == "settlement" and doc["year"] == 2021
    assert all(r["ok"] for r in doc["statements"][0]["reconciliation"])
    assert loops == [False, False]
    runs = admin.api("GET", f"/api/contracts/{cid}/runs").json()
    assert [r["id"] for r in runs if r["kind"] == "settlement"] == [doc["id"]]
    sim = admin.client.post(
        f"/api/contracts/{cid}/simulations",
        data={"year": "2021", "runs": "60"},
        files=files,
        headers=headers,
    )
    assert sim.status_code == 201, sim.text[:3000]
    assert "plot_svg" not in sim.json()["simulation"]
    # providers read but cannot run; without the CSRF header the session cannot post
    provider = users["bidder"]
    denied = provider.client.post(
        f"/api/contracts/{cid}/statements",
        data={"year": "2021"},
        files=files,
        headers={"X-CSRF-Token": provider.csrf},
    )
    assert denied.status_code == 403
    no_csrf = admin.client.post(
        f"/api/contracts/{cid}/statements", data={"year": "2021"}, files=files
    )
    assert no_csrf.status_code == 403
