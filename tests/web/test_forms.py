"""Bad input never gives a 500: every form re-renders with the NHS.UK error summary.
Plus security behaviour: cookies, throttling, headers, deadlines, attachments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from tests.integration.db.servers import PASSWORD
from tests.web import helpers as h

SUMMARY = "nhsuk-error-summary"


def _assert_error_page(resp: object, *messages: str) -> None:
    assert resp.status_code == 400, (resp.status_code, resp.text[:1500])  # type: ignore[attr-defined]
    body = resp.text  # type: ignore[attr-defined]
    assert SUMMARY in body and "There is a problem" in body
    for m in messages:
        assert m in body, m


def test_programme_form_reports_each_problem(sqlite_users: h.Users) -> None:
    admin = sqlite_users["admin"]
    resp = admin.post(
        "/admin/programmes/new", {"title": "", "criteria": "Innovation | heavy"}
    )
    _assert_error_page(resp, "Enter title", "Enter summary")
    bad_dates = dict(h.PROGRAMME_FORM, closes_at=h.dt(-5))
    _assert_error_page(
        admin.post("/admin/programmes/new", bad_dates), "closing date must be after"
    )
    # the form keeps what the user typed
    assert (
        "Integrated Care Pilots" in admin.post("/admin/programmes/new", bad_dates).text
    )


@pytest.mark.parametrize(
    ("suffix", "data", "message"),
    [
        ("edit", {"title": "T", "sha_code": "not a code!"}, "organisation code"),
        ("edit", {"title": "T", "sha_code": "Q30", "population": "lots"}, "Population"),
        ("partners", {"org_code": "Y9", "name": "", "org_type": "bank"}, "Enter name"),
        (
            "inequalities",
            {
                "inequality": "height",
                "indicator_id": "X",
                "commitment": "",
                "trajectory": "1",
            },
            "Enter commitment",
        ),
        (
            "targets",
            {
                "kind": "",
                "target_indicator_id": "",
                "description": "",
                "target_value": "much",
            },
            "Enter description",
        ),
    ],
)
def test_bid_forms_report_errors(
    sqlite_users: h.Users, suffix: str, data: dict[str, str], message: str
) -> None:
    pid = h.create_programme(sqlite_users)
    bid = h.draft_bid(sqlite_users, pid)
    _assert_error_page(
        sqlite_users["bidder"].post(f"/bids/{bid}/{suffix}", data), message
    )


def test_submitting_an_incomplete_bid_lists_what_is_missing(
    sqlite_users: h.Users,
) -> None:
    pid = h.create_programme(sqlite_users)
    bidder = sqlite_users["bidder"]
    resp = bidder.post(
        f"/programmes/{pid}/bids/new", {"title": "Bare", "sha_code": "Q30"}
    )
    bid = h.location_id(resp, r"/bids/(\d+)/edit")
    _assert_error_page(
        bidder.post(f"/bids/{bid}/submit"),
        "Add the lead organisation",
        "Commit to at least one specific inequality",
        "Agree to the three-year evaluation",
    )


def test_other_forms_report_errors(sqlite_users: h.Users) -> None:
    pid, bid = h.to_pilot(sqlite_users)
    _assert_error_page(
        sqlite_users["steering"].post(f"/pilots/{bid}/risks", {"likelihood": "9"}),
        "Enter title",
    )
    _assert_error_page(
        sqlite_users["steering"].post(
            f"/pilots/{bid}/milestones", {"due": "31/02/2027"}
        )
    )
    _assert_error_page(
        sqlite_users["steering"].post(f"/pilots/{bid}/learning", {}), "Enter title"
    )
    _assert_error_page(
        sqlite_users["assessor1"].post("/assessor/conflicts", {"org_code": "?"})
    )
    admin = sqlite_users["admin"]
    other = h.draft_bid(sqlite_users, pid, title="Second")
    h.submit(sqlite_users, other)
    h.run_eligibility(sqlite_users, other)  # no PCT support yet: ineligible
    _assert_error_page(
        admin.post(
            f"/bids/{other}/eligibility/override",
            {"eligible": "yes", "reason": "short"},
        )
    )
    _assert_error_page(
        admin.post(
            f"/bids/{other}/decision", {"decision": "frontrunner", "rationale": "x"}
        ),
        "ineligible bid can only be not selected",
    )


def test_scoring_form_needs_every_criterion(sqlite_users: h.Users) -> None:
    pid = h.create_programme(sqlite_users)
    bid = h.draft_bid(sqlite_users, pid)
    h.submit(sqlite_users, bid)
    h.confirm(sqlite_users, bid)
    h.run_eligibility(sqlite_users, bid)
    h.allocate(sqlite_users, bid, "assessor1")
    _assert_error_page(
        sqlite_users["assessor1"].post(f"/bids/{bid}/score", {}),
        "Choose a score from 0 to 4",
    )
    # a decision needs two completed assessments
    h.score(sqlite_users, pid, bid, "assessor1", [2, 2])
    resp = sqlite_users["admin"].post(
        f"/bids/{bid}/decision", {"decision": "selected", "rationale": "Good"}
    )
    _assert_error_page(resp, "At least 2 assessors")


def test_eligibility_explains_each_rule_and_override_is_recorded(
    sqlite_users: h.Users,
) -> None:
    pid = h.create_programme(sqlite_users)
    bid = h.draft_bid(sqlite_users, pid, lead_type="private_company", lead_code="P01")
    h.submit(sqlite_users, bid)
    h.run_eligibility(sqlite_users, bid)
    page = sqlite_users["admin"].get(f"/admin/programmes/{pid}").text
    assert "private companies may support a bid but never lead it" in page
    assert "Not yet confirmed by a commissioner of: 5QJ" in page
    resp = sqlite_users["admin"].post(
        f"/bids/{bid}/eligibility/override",
        {"eligible": "yes", "reason": "Lead is a social enterprise subsidiary"},
    )
    assert resp.status_code == 303
    page = sqlite_users["admin"].get(f"/admin/programmes/{pid}").text
    assert "overridden: eligible – Lead is a social enterprise subsidiary" in page


def test_deadline_is_enforced_on_the_server(sqlite_users: h.Users) -> None:
    pid = h.create_programme(sqlite_users)
    bid = h.draft_bid(sqlite_users, pid)
    past = datetime.now(UTC) - timedelta(minutes=1)
    with sqlite_users.app.state.session_factory() as s:
        s.execute(
            text("UPDATE programmes SET closes_at = :t WHERE id = :p"),
            {"t": past, "p": pid},
        )
        s.commit()
    resp = sqlite_users["bidder"].post(f"/bids/{bid}/submit")
    assert resp.status_code == 409 and "deadline" in resp.text
    resp = sqlite_users["bidder"].post(
        f"/programmes/{pid}/bids/new", {"title": "Late", "sha_code": "Q30"}
    )
    assert resp.status_code == 409


def test_attachments_are_checked_stored_outside_web_root_and_downloaded(
    sqlite_users: h.Users,
) -> None:
    pid = h.create_programme(sqlite_users)
    bid = h.draft_bid(sqlite_users, pid)
    bidder = sqlite_users["bidder"]
    bad_type = bidder.post(
        f"/bids/{bid}/attachments", files={"file": ("x.html", b"<script>", "text/html")}
    )
    _assert_error_page(bad_type, "The file must be a")
    fake_pdf = bidder.post(
        f"/bids/{bid}/attachments",
        files={"file": ("x.pdf", b"MZ\x90\x00", "application/pdf")},
    )
    _assert_error_page(fake_pdf, "does not look like a .pdf")
    big = bidder.post(
        f"/bids/{bid}/attachments",
        files={"file": ("x.txt", b"a" * (10 * 1024 * 1024 + 1), "text/plain")},
    )
    _assert_error_page(big, "smaller than 10MB")
    ok = bidder.post(
        f"/bids/{bid}/attachments",
        files={"file": ("../../evil plan.pdf", b"%PDF-1.7", "application/pdf")},
    )
    assert ok.status_code == 303
    settings = sqlite_users.app.state.settings
    stored = list(settings.upload_dir.iterdir())
    assert (
        len(stored) == 1
        and stored[0].name.endswith(".pdf")
        and "evil" not in stored[0].name
    )
    with sqlite_users.app.state.session_factory() as s:
        aid = s.execute(text("SELECT id FROM bid_attachments")).scalar()
    resp = bidder.get(f"/bids/{bid}/attachments/{aid}")
    assert resp.status_code == 200 and resp.content == b"%PDF-1.7"
    assert resp.headers["content-disposition"].startswith("attachment;")
    assert (
        "evil%20plan.pdf" in resp.headers["content-disposition"]
    )  # path parts stripped
    assert resp.headers["x-content-type-options"] == "nosniff"


def test_session_cookie_flags_and_logout(sqlite_users: h.Users) -> None:
    client = sqlite_users.anonymous().client
    resp = h.login(client, "bidder@test.nhs")
    cookie = resp.headers["set-cookie"]
    assert "cp_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # cookie_secure is off in tests
    page = client.get("/logout").text
    token = h.CSRF_RE.search(page).group(1)  # type: ignore[union-attr]
    assert (
        client.post(
            "/logout", data={"csrf_token": token}, follow_redirects=False
        ).status_code
        == 303
    )
    assert (
        client.get("/bids", follow_redirects=False).status_code == 303
    )  # back to login


def test_secure_flag_when_configured(sqlite_workflow_db: str, tmp_path: object) -> None:
    from fastapi.testclient import TestClient

    from carepilot.config import Settings
    from carepilot.web import create_app

    app = create_app(
        Settings(
            environment="test", database_url=sqlite_workflow_db, cookie_secure=True
        )
    )  # type: ignore[arg-type]
    client = TestClient(app, base_url="https://testserver")
    resp = h.login(client, "admin@test.nhs")
    assert "Secure" in resp.headers["set-cookie"]
    assert "max-age" in client.get("/").headers["strict-transport-security"]
    app.state.engine.dispose()


def test_login_is_throttled_per_account(sqlite_users: h.Users) -> None:
    client = sqlite_users.anonymous().client
    for _ in range(5):
        assert (
            h.login(client, "admin@test.nhs", "wrong-password-123").status_code == 400
        )
    locked = h.login(
        client, "admin@test.nhs", PASSWORD
    )  # right password, but locked out
    assert locked.status_code == 429 and "Too many failed attempts" in locked.text
    assert (
        h.login(client, "bidder@test.nhs").status_code == 303
    )  # other accounts unaffected


def test_login_is_throttled_per_ip_address(sqlite_users: h.Users) -> None:
    client = sqlite_users.anonymous().client
    for i in range(20):
        h.login(client, f"nobody{i}@test.nhs", "wrong-password-123")
    assert h.login(client, "bidder@test.nhs").status_code == 429
