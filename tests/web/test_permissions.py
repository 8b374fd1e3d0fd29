"""Permission matrix: every route is classified, and every role can do exactly what it
should on every route (pages and API), on SQLite and PostgreSQL.

A new route makes `test_every_route_is_classified` fail until it is added to
EXPECTED_ACCESS with the roles that may use it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route

from carepilot.accounts.model import Role
from tests.web import helpers as h

A, S, G, C, B, P = (
    Role.ADMIN,
    Role.ASSESSOR,
    Role.STEERING,
    Role.COMMISSIONER,
    Role.BIDDER,
    Role.PUBLIC,
)
SIGNED_IN = frozenset({A, S, G, C, B})
EVERYONE = SIGNED_IN | {P}
ADMIN = frozenset({A})
BIDDER = frozenset({B})
ASSESSOR = frozenset({S})
COMMISSIONER = frozenset({C})
STEERING_ADMIN = frozenset({G, A})
LETTER = frozenset({A, B})
CONTRACT_READERS = frozenset({A, C, B})
CONTRACT_EDITORS = frozenset({A, C})
QA_EDITORS = frozenset({A, C, B})

EXPECTED_ACCESS: dict[tuple[str, str], frozenset[Role]] = {
    ("GET", "/api/openapi.json"): EVERYONE,
    ("GET", "/api/docs"): EVERYONE,
    ("MOUNT", "/static"): EVERYONE,
    ("GET", "/login"): EVERYONE,
    ("POST", "/login"): EVERYONE,
    ("GET", "/logout"): SIGNED_IN,
    ("POST", "/logout"): SIGNED_IN,
    ("GET", "/"): EVERYONE,
    ("GET", "/programmes/{programme_id}"): EVERYONE,
    ("GET", "/admin"): ADMIN,
    ("GET", "/admin/programmes/new"): ADMIN,
    ("POST", "/admin/programmes/new"): ADMIN,
    ("POST", "/admin/programmes/{programme_id}/publish"): ADMIN,
    ("GET", "/admin/programmes/{programme_id}"): ADMIN,
    ("GET", "/admin/audit"): ADMIN,
    ("GET", "/admin/users"): ADMIN,
    ("GET", "/admin/users/new"): ADMIN,
    ("POST", "/admin/users/new"): ADMIN,
    ("GET", "/admin/users/{user_id}"): ADMIN,
    ("POST", "/admin/users/{user_id}"): ADMIN,
    ("POST", "/admin/users/{user_id}/active"): ADMIN,
    ("POST", "/admin/users/{user_id}/password"): ADMIN,
    ("GET", "/account/password"): SIGNED_IN,
    ("POST", "/account/password"): SIGNED_IN,
    ("GET", "/bids"): SIGNED_IN,
    ("GET", "/programmes/{programme_id}/bids/new"): BIDDER,
    ("POST", "/programmes/{programme_id}/bids/new"): BIDDER,
    ("GET", "/bids/{bid_id}"): SIGNED_IN,
    ("GET", "/bids/{bid_id}/edit"): BIDDER,
    ("POST", "/bids/{bid_id}/edit"): BIDDER,
    ("POST", "/bids/{bid_id}/partners"): BIDDER,
    ("POST", "/bids/{bid_id}/partners/{partner_id}/delete"): BIDDER,
    ("POST", "/bids/{bid_id}/inequalities"): BIDDER,
    ("POST", "/bids/{bid_id}/targets"): BIDDER,
    ("POST", "/bids/{bid_id}/attachments"): BIDDER,
    ("GET", "/bids/{bid_id}/attachments/{attachment_id}"): SIGNED_IN,
    ("POST", "/bids/{bid_id}/submit"): BIDDER,
    ("POST", "/bids/{bid_id}/support"): COMMISSIONER,
    ("GET", "/bids/{bid_id}/letter"): LETTER,
    ("POST", "/bids/{bid_id}/eligibility"): ADMIN,
    ("POST", "/bids/{bid_id}/eligibility/override"): ADMIN,
    ("POST", "/bids/{bid_id}/allocations"): ADMIN,
    ("POST", "/bids/{bid_id}/decision"): ADMIN,
    ("GET", "/assessor"): ASSESSOR,
    ("GET", "/assessor/conflicts"): ASSESSOR,
    ("POST", "/assessor/conflicts"): ASSESSOR,
    ("GET", "/bids/{bid_id}/score"): ASSESSOR,
    ("POST", "/bids/{bid_id}/score"): ASSESSOR,
    ("GET", "/pilots"): STEERING_ADMIN,
    ("GET", "/pilots/{bid_id}"): STEERING_ADMIN,
    ("POST", "/pilots/{bid_id}/risks"): STEERING_ADMIN,
    ("POST", "/pilots/{bid_id}/risks/{risk_id}/status"): STEERING_ADMIN,
    ("POST", "/pilots/{bid_id}/learning"): STEERING_ADMIN,
    ("POST", "/pilots/{bid_id}/milestones/{milestone_id}"): STEERING_ADMIN,
    ("POST", "/pilots/{bid_id}/milestones"): STEERING_ADMIN,
    ("POST", "/api/tokens"): SIGNED_IN,
    ("GET", "/api/me"): SIGNED_IN,
    ("GET", "/api/programmes"): EVERYONE,
    ("GET", "/api/programmes/{programme_id}"): EVERYONE,
    ("POST", "/api/programmes"): ADMIN,
    ("POST", "/api/programmes/{programme_id}/publish"): ADMIN,
    ("GET", "/api/programmes/{programme_id}/moderation"): ADMIN,
    ("GET", "/api/bids"): SIGNED_IN,
    ("POST", "/api/programmes/{programme_id}/bids"): BIDDER,
    ("GET", "/api/bids/{bid_id}"): SIGNED_IN,
    ("PUT", "/api/bids/{bid_id}"): BIDDER,
    ("POST", "/api/bids/{bid_id}/partners"): BIDDER,
    ("DELETE", "/api/bids/{bid_id}/partners/{partner_id}"): BIDDER,
    ("POST", "/api/bids/{bid_id}/inequalities"): BIDDER,
    ("DELETE", "/api/bids/{bid_id}/inequalities/{item_id}"): BIDDER,
    ("POST", "/api/bids/{bid_id}/targets"): BIDDER,
    ("POST", "/api/bids/{bid_id}/attachments"): BIDDER,
    ("GET", "/api/bids/{bid_id}/attachments/{attachment_id}"): SIGNED_IN,
    ("POST", "/api/bids/{bid_id}/submit"): BIDDER,
    ("POST", "/api/bids/{bid_id}/support"): COMMISSIONER,
    ("POST", "/api/bids/{bid_id}/eligibility"): ADMIN,
    ("POST", "/api/bids/{bid_id}/eligibility/override"): ADMIN,
    ("POST", "/api/bids/{bid_id}/allocations"): ADMIN,
    ("GET", "/api/conflicts"): ASSESSOR,
    ("POST", "/api/conflicts"): ASSESSOR,
    ("GET", "/api/allocations"): ASSESSOR,
    ("POST", "/api/bids/{bid_id}/scores"): ASSESSOR,
    ("POST", "/api/bids/{bid_id}/decision"): ADMIN,
    ("GET", "/api/bids/{bid_id}/letter"): LETTER,
    ("GET", "/api/pilots"): STEERING_ADMIN,
    ("GET", "/api/pilots/{bid_id}"): STEERING_ADMIN,
    ("POST", "/api/pilots/{bid_id}/risks"): STEERING_ADMIN,
    ("POST", "/api/pilots/{bid_id}/risks/{risk_id}/status"): STEERING_ADMIN,
    ("POST", "/api/pilots/{bid_id}/learning"): STEERING_ADMIN,
    ("POST", "/api/pilots/{bid_id}/milestones"): STEERING_ADMIN,
    ("GET", "/api/audit"): ADMIN,
    ("GET", "/api/audit/verify"): ADMIN,
    # outcome-based contracts: providers are bidder-role users of a party organisation
    ("GET", "/contracts"): CONTRACT_READERS,
    ("GET", "/contracts/new"): CONTRACT_EDITORS,
    ("POST", "/contracts/new"): CONTRACT_EDITORS,
    ("GET", "/contracts/{contract_id}"): CONTRACT_READERS,
    ("GET", "/contracts/{contract_id}/edit"): CONTRACT_EDITORS,
    ("POST", "/contracts/{contract_id}/edit"): CONTRACT_EDITORS,
    ("POST", "/contracts/{contract_id}/check"): CONTRACT_EDITORS,
    ("POST", "/contracts/{contract_id}/settle"): CONTRACT_EDITORS,
    ("POST", "/contracts/{contract_id}/simulate"): CONTRACT_EDITORS,
    ("GET", "/contracts/{contract_id}/statements/{run_id}"): CONTRACT_READERS,
    (
        "GET",
        "/contracts/{contract_id}/statements/{run_id}/download/{fmt}",
    ): CONTRACT_READERS,
    ("GET", "/contracts/{contract_id}/simulations/{run_id}"): CONTRACT_READERS,
    ("GET", "/contracts/{contract_id}/simulations/{run_id}/plot.svg"): CONTRACT_READERS,
    ("GET", "/api/contracts"): CONTRACT_READERS,
    ("POST", "/api/contracts"): CONTRACT_EDITORS,
    ("GET", "/api/contracts/{contract_id}"): CONTRACT_READERS,
    ("PUT", "/api/contracts/{contract_id}"): CONTRACT_EDITORS,
    ("GET", "/api/contracts/{contract_id}/runs"): CONTRACT_READERS,
    ("GET", "/api/contracts/{contract_id}/statements/{run_id}"): CONTRACT_READERS,
    ("GET", "/api/contracts/{contract_id}/simulations/{run_id}"): CONTRACT_READERS,
    ("POST", "/api/contracts/{contract_id}/statements"): CONTRACT_EDITORS,
    ("POST", "/api/contracts/{contract_id}/simulations"): CONTRACT_EDITORS,
    # publication: public dashboards (released figures only) and open data
    ("GET", "/indicators"): EVERYONE,
    ("GET", "/indicators/{indicator_id}"): EVERYONE,
    ("GET", "/areas"): EVERYONE,
    ("GET", "/areas/{area_code}"): EVERYONE,
    ("GET", "/compare"): EVERYONE,
    ("GET", "/trends"): EVERYONE,
    ("GET", "/inequalities"): EVERYONE,
    ("GET", "/dashboards/{chart}.csv"): EVERYONE,
    ("GET", "/choose-a-practice"): EVERYONE,
    ("GET", "/choose-a-service"): EVERYONE,
    ("GET", "/open-data"): EVERYONE,
    ("GET", "/open-data/files/{name}"): EVERYONE,
    ("GET", "/api/opendata/indicators"): EVERYONE,
    ("GET", "/api/opendata/metadata"): EVERYONE,
    # quality accounts: public reads published ones; the provider's users, its
    # commissioner and admins edit (object check in the router)
    ("GET", "/quality-accounts"): EVERYONE,
    ("GET", "/quality-accounts/{provider}/{year}"): EVERYONE,
    ("GET", "/quality-accounts/{provider}/{year}/download/{fmt}"): EVERYONE,
    ("GET", "/quality-accounts/{provider}/{year}/edit"): QA_EDITORS,
    ("POST", "/quality-accounts/{provider}/{year}/edit"): QA_EDITORS,
    ("POST", "/quality-accounts/{provider}/{year}/publish"): QA_EDITORS,
}

ROLE_USERS = {A: "admin", S: "assessor1", G: "steering", C: "commissioner", B: "bidder"}


def _declared(route: APIRoute) -> frozenset[Role] | None:
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        roles = getattr(dep.call, "access_roles", None)
        if roles is not None:
            return frozenset(roles) | (
                {P} if frozenset(roles) == frozenset(Role) else frozenset()
            )
        stack.extend(dep.dependencies)
    return None


def route_table(app: FastAPI) -> dict[tuple[str, str], Any]:
    table: dict[tuple[str, str], Any] = {}
    for route in app.routes:
        if isinstance(route, Mount):
            table[("MOUNT", route.path)] = route
        elif isinstance(route, (APIRoute, Route)):
            for method in sorted(route.methods or ()):
                if method != "HEAD":
                    table[(method, route.path)] = route
    return table


def test_every_route_is_classified(sqlite_app: FastAPI) -> None:
    table = route_table(sqlite_app)
    missing = sorted(set(table) - set(EXPECTED_ACCESS))
    assert not missing, (
        f"routes with no expected access: {missing}; add them to EXPECTED_ACCESS"
    )
    stale = sorted(set(EXPECTED_ACCESS) - set(table))
    assert not stale, f"EXPECTED_ACCESS lists routes that no longer exist: {stale}"


def test_every_route_declares_the_expected_policy(sqlite_app: FastAPI) -> None:
    for key, route in route_table(sqlite_app).items():
        if isinstance(route, APIRoute):
            declared = _declared(route)
            assert declared is not None, (
                f"{key} declares no access policy (use deps.allow or deps.public)"
            )
            assert declared == EXPECTED_ACCESS[key], (
                f"{key}: declared {declared}, expected {EXPECTED_ACCESS[key]}"
            )
        else:
            assert EXPECTED_ACCESS[key] == EVERYONE, (
                f"framework route {key} must be public"
            )


def _world(users: h.Users) -> dict[str, int]:
    """A frontrunner pilot (B1, with an attachment and a risk) and another bidder's draft."""
    pid = h.create_programme(users)
    bid = h.draft_bid(users, pid)
    r = users["bidder"].post(
        f"/bids/{bid}/attachments", files={"file": ("plan.txt", b"plan", "text/plain")}
    )
    assert r.status_code == 303
    h.submit(users, bid)
    h.confirm(users, bid)
    h.run_eligibility(users, bid)
    h.allocate(users, bid, "assessor1", "assessor2")
    h.score(users, pid, bid, "assessor1", [4, 3])
    h.score(users, pid, bid, "assessor2", [3, 3])
    h.decide(users, bid)
    r = users["steering"].post(
        f"/pilots/{bid}/risks",
        {
            "title": "Workforce",
            "description": "d",
            "likelihood": "2",
            "impact": "2",
            "owner": "o",
            "mitigations": "m",
        },
    )
    assert r.status_code == 303
    other = h.draft_bid(
        users, pid, key="bidder_other", title="Southtown draft", lead_code="Y02"
    )
    with users.app.state.session_factory() as s:
        from carepilot.programmes import repo

        row = repo.bid_row(s, bid)
        ids = {
            "programme_id": pid,
            "bid_id": bid,
            "other_bid": other,
            "partner_id": row.partners[0].id,
            "item_id": row.inequalities[0].id,
            "attachment_id": repo.attachments(s, bid)[0].id,
            "risk_id": repo.risks(s, bid)[0].id,
        }
    return ids


def _url(path: str, ids: dict[str, int], bid_key: str = "bid_id") -> str:
    return re.sub(
        r"\{(\w+)\}",
        lambda m: str(
            ids[bid_key] if m.group(1) == "bid_id" else ids.get(m.group(1), 1)
        ),  # ids of other objects (e.g. contracts): 1; the role check comes first
        path,
    )


def _call(user: h.User, method: str, url: str) -> Any:
    if method == "MOUNT":
        return user.get("/static/app.css")
    if url.startswith("/api/"):
        body = None if method in ("GET", "DELETE") else {}
        return user.api(method, url, json=body)
    if method == "GET":
        return user.get(url)
    return user.post(url, {})


def _denied(resp: Any, role: Role, api: bool) -> bool:
    if role == P:
        if api:
            return resp.status_code == 401
        return resp.status_code == 303 and resp.headers["location"].startswith("/login")
    return resp.status_code == 403


@pytest.mark.slow
def test_each_role_can_do_exactly_what_it_should(users: h.Users) -> None:
    ids = _world(users)
    routes = sorted(
        EXPECTED_ACCESS, key=lambda k: k == ("POST", "/logout")
    )  # logout last
    problems: list[str] = []
    for role in (A, S, G, C, B, P):
        user = users.anonymous() if role == P else users[ROLE_USERS[role]]
        for method, path in routes:
            url = _url(path, ids)
            resp = _call(user, method, url)
            api = url.startswith("/api/")
            allowed = role in EXPECTED_ACCESS[(method, path)]
            if resp.status_code >= 500:
                problems.append(
                    f"{role} {method} {url}: server error {resp.status_code}"
                )
            elif allowed and _denied(resp, role, api):
                problems.append(
                    f"{role} {method} {url}: denied ({resp.status_code}) but should be allowed"
                )
            elif not allowed and not _denied(resp, role, api):
                problems.append(
                    f"{role} {method} {url}: allowed ({resp.status_code}) but should be denied"
                )
    assert not problems, "\n".join(problems)


def test_a_bidder_can_never_see_or_change_another_bidders_draft(users: h.Users) -> None:
    ids = _world(users)
    intruder = users["bidder"]  # owns B1, not the other draft
    outsiders = [intruder, users["commissioner"], users["assessor1"], users["steering"]]
    for user in outsiders:
        for method, path in EXPECTED_ACCESS:
            if "{bid_id}" not in path:
                continue
            url = _url(path, ids, bid_key="other_bid")
            resp = _call(user, method, url)
            assert resp.status_code in (403, 404), (
                f"{user.key} {method} {url}: {resp.status_code}"
            )
            assert "Southtown draft" not in resp.text
        listing = user.get("/bids").text + user.api("GET", "/api/bids").text
        assert "Southtown draft" not in listing


@pytest.mark.parametrize("path", ["/bids/{bid_id}/edit", "/api/bids/{bid_id}"])
def test_writes_without_csrf_token_are_refused(
    sqlite_users: h.Users, path: str
) -> None:
    pid = h.create_programme(sqlite_users)
    bid = h.draft_bid(sqlite_users, pid)
    bidder = sqlite_users["bidder"]
    url = path.format(bid_id=bid)
    if url.startswith("/api/"):
        resp = bidder.client.put(url, json={"title": "x", "sha_code": "Q30"})
    else:
        resp = bidder.client.post(
            url, data={"title": "Hijacked", "sha_code": "Q30"}, follow_redirects=False
        )
    assert resp.status_code == 403
    assert "Hijacked" not in bidder.get(f"/bids/{bid}").text
