"""User administration and password changes through the pages (both databases)."""

from __future__ import annotations

import json
import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.integration.db.servers import PASSWORD
from tests.web import helpers as h

NEW_PASSWORD = "A-longer-passphrase-2026"


def _audit(app: FastAPI) -> list[tuple[str, str]]:
    from carepilot.audit import service as audit

    with app.state.session_factory() as s:
        return [
            (e.action, json.dumps([e.before, e.after], default=str))
            for e in audit.recent(s, entity_type="user")
        ]


def _create(admin: h.User, **fields: str) -> int:
    data = {
        "email": "new.person@test.nhs",
        "name": "New Person",
        "role": "commissioner",
        "pct_code": "5qa",
        "sha_code": "",
        "organisation_code": "",
        "password": NEW_PASSWORD,
    } | fields
    resp = admin.post("/admin/users/new", data)
    assert resp.status_code == 303, resp.text[:3000]
    m = re.match(r"/admin/users/(\d+)$", resp.headers["location"])
    assert m
    return int(m.group(1))


def _user_id(admin: h.User, email: str) -> int:
    page = admin.get("/admin/users").text
    m = re.search(
        r'href="/admin/users/(\d+)">[^<]+</a></td>\s*<td class="nhsuk-table__cell">'
        + re.escape(email),
        page,
    )
    assert m, page[:3000]
    return int(m.group(1))


def test_admin_creates_an_account_that_can_sign_in(
    users: h.Users, app: FastAPI
) -> None:
    admin = users["admin"]
    bad = admin.post(
        "/admin/users/new",
        {
            "email": "x@test.nhs",
            "name": "X",
            "role": "commissioner",
            "pct_code": "",
            "password": "short",
        },
    )
    assert bad.status_code == 400
    assert "needs the PCT code" in bad.text
    uid = _create(admin)
    page = admin.get(f"/admin/users/{uid}")
    assert page.status_code == 200 and "new.person@test.nhs" in page.text
    assert "5QA" in admin.get("/admin/users").text  # codes are upper-cased
    duplicate = admin.post(
        "/admin/users/new",
        {
            "email": "New.Person@test.nhs",
            "name": "Again",
            "role": "admin",
            "password": NEW_PASSWORD,
        },
    )
    assert duplicate.status_code == 400 and "already exists" in duplicate.text
    client = TestClient(app)
    assert h.login(client, "new.person@test.nhs", NEW_PASSWORD).status_code == 303
    actions = [a for a, _ in _audit(app)]
    assert "user.create" in actions
    assert all(NEW_PASSWORD not in payload for _, payload in _audit(app))


def test_deactivation_ends_sessions_and_blocks_sign_in(
    users: h.Users, app: FastAPI
) -> None:
    admin, bidder = users["admin"], users["bidder"]
    assert bidder.get("/bids").status_code == 200
    uid = _user_id(admin, "bidder@test.nhs")
    assert (
        admin.post(f"/admin/users/{uid}/active", {"active": "false"}).status_code == 303
    )
    assert bidder.get("/bids").status_code in (302, 303)  # back to the login page
    assert h.login(TestClient(app), "bidder@test.nhs").status_code != 303
    assert "Deactivated" in admin.get("/admin/users").text
    assert (
        admin.post(f"/admin/users/{uid}/active", {"active": "true"}).status_code == 303
    )
    assert h.login(TestClient(app), "bidder@test.nhs").status_code == 303
    actions = [a for a, _ in _audit(app)]
    assert actions[:2] == ["user.reactivate", "user.deactivate"]


def test_role_change_ends_sessions_and_checks_scope(users: h.Users) -> None:
    admin, steering = users["admin"], users["steering"]
    uid = _user_id(admin, "steering@test.nhs")
    base = {
        "name": "Steering Member",
        "pct_code": "",
        "sha_code": "",
        "organisation_code": "",
    }
    bad = admin.post(f"/admin/users/{uid}", base | {"role": "commissioner"})
    assert bad.status_code == 400 and "needs the PCT code" in bad.text
    bad_code = admin.post(
        f"/admin/users/{uid}", base | {"role": "steering", "sha_code": "Q-30"}
    )
    assert bad_code.status_code == 400 and "ODS code" in bad_code.text
    assert steering.get("/pilots").status_code == 200
    ok = admin.post(
        f"/admin/users/{uid}", base | {"role": "commissioner", "pct_code": "5QJ"}
    )
    assert ok.status_code == 303
    assert steering.get("/pilots").status_code in (302, 303)  # signed out


def test_admins_cannot_lock_themselves_out(users: h.Users) -> None:
    admin = users["admin"]
    uid = _user_id(admin, "admin@test.nhs")
    demote = admin.post(
        f"/admin/users/{uid}",
        {
            "name": "Admin",
            "role": "assessor",
            "organisation_code": "NAT09",
            "pct_code": "",
            "sha_code": "",
        },
    )
    assert demote.status_code == 400 and "your own role" in demote.text, re.findall(
        r"nhsuk-error[^>]*>(.{0,200})", demote.text
    )
    off = admin.post(f"/admin/users/{uid}/active", {"active": "false"})
    assert off.status_code == 400 and "your own account" in off.text
    assert admin.get("/admin/users").status_code == 200


def test_an_admin_may_deactivate_another_admin(users: h.Users, app: FastAPI) -> None:
    admin = users["admin"]
    _create(
        admin,
        email="second.admin@test.nhs",
        name="Second Admin",
        role="admin",
        pct_code="",
    )
    client = TestClient(app)
    assert h.login(client, "second.admin@test.nhs", NEW_PASSWORD).status_code == 303
    token = h.CSRF_RE.search(client.get("/logout").text)
    assert token
    other = h.User("second", client, token.group(1))
    first = _user_id(other, "admin@test.nhs")
    assert (
        other.post(f"/admin/users/{first}/active", {"active": "false"}).status_code
        == 303
    )
    assert admin.get("/admin/users").status_code in (302, 303)  # session ended
    assert (
        other.post(f"/admin/users/{first}/active", {"active": "true"}).status_code
        == 303
    )


def test_password_reset_and_own_change(users: h.Users, app: FastAPI) -> None:
    admin = users["admin"]
    uid = _user_id(admin, "assessor1@test.nhs")
    weak = admin.post(
        f"/admin/users/{uid}/password", {"password": "assessor1-is-me-ok"}
    )
    assert weak.status_code == 400 and "email name" in weak.text
    reset = admin.post(f"/admin/users/{uid}/password", {"password": NEW_PASSWORD})
    assert reset.status_code == 303
    assert h.login(TestClient(app), "assessor1@test.nhs").status_code != 303
    assert (
        h.login(TestClient(app), "assessor1@test.nhs", NEW_PASSWORD).status_code == 303
    )

    commissioner = users["commissioner"]
    elsewhere = h.signed_in(app, "commissioner")  # a second session
    wrong = commissioner.post(
        "/account/password", {"current": "nope", "new": NEW_PASSWORD}
    )
    assert wrong.status_code == 400 and "not right" in wrong.text
    same = commissioner.post(
        "/account/password", {"current": PASSWORD, "new": PASSWORD}
    )
    assert same.status_code == 400 and "different" in same.text
    done = commissioner.post(
        "/account/password", {"current": PASSWORD, "new": NEW_PASSWORD}
    )
    assert done.status_code == 200 and "was changed" in done.text
    assert commissioner.get("/bids").status_code == 200  # this session stays
    assert elsewhere.get("/bids").status_code in (302, 303)  # the other one ended
    assert (
        h.login(TestClient(app), "commissioner@test.nhs", NEW_PASSWORD).status_code
        == 303
    )
    actions = [a for a, _ in _audit(app)]
    assert "user.password_reset" in actions and "user.password_change" in actions
    assert all(
        NEW_PASSWORD not in payload and PASSWORD not in payload
        for _, payload in _audit(app)
    )
