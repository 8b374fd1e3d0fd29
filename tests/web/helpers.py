"""Test helpers: a signed-in TestClient per user, and the workflow driven through pages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.integration.db.servers import PASSWORD, USERS

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
LOGIN_TOKEN_RE = re.compile(r'name="login_token" value="([^"]+)"')


def login(client: TestClient, email: str, password: str = PASSWORD) -> Any:
    page = client.get("/login")
    token = LOGIN_TOKEN_RE.search(page.text)
    assert token, "login form has no CSRF token"
    return client.post(
        "/login",
        data={
            "email": email,
            "password": password,
            "login_token": token.group(1),
            "next": "/",
        },
        follow_redirects=False,
    )


@dataclass
class User:
    key: str
    client: TestClient
    csrf: str = ""

    def post(self, url: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
        payload = {"csrf_token": self.csrf, **(data or {})}
        return self.client.post(url, data=payload, follow_redirects=False, **kw)

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, follow_redirects=False, **kw)

    def api(self, method: str, url: str, json: Any = None, **kw: Any) -> Any:
        headers = {"X-CSRF-Token": self.csrf}
        return self.client.request(
            method, url, json=json, headers=headers, follow_redirects=False, **kw
        )


def signed_in(app: FastAPI, key: str) -> User:
    email = next(u.email for u in USERS if u.key == key)
    client = TestClient(app)
    resp = login(client, email)
    assert resp.status_code == 303, resp.text[:500]
    page = client.get("/logout")
    m = CSRF_RE.search(page.text)
    assert m
    return User(key, client, m.group(1))


@dataclass
class Users:
    app: FastAPI
    cache: dict[str, User] = field(default_factory=dict)

    def __getitem__(self, key: str) -> User:
        if key not in self.cache:
            self.cache[key] = signed_in(self.app, key)
        return self.cache[key]

    def anonymous(self) -> User:
        return User("public", TestClient(self.app), "")


def dt(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


PROGRAMME_FORM = {
    "title": "Integrated Care Pilots",
    "summary": "Pilots of integrated care paid on outcomes.",
    "opens_at": dt(-1),
    "closes_at": dt(30),
    "selection_at": dt(40),
    "frontrunners_at": dt(60),
    "eligibility_text": "Backed by the PCT\nNot led by a private company",
    "criteria": "Innovation | 60\nInequalities | 40",
    "required_sections": ["services", "governance"],
}


def location_id(resp: Any, pattern: str) -> int:
    m = re.search(pattern, resp.headers.get("location", ""))
    assert m, (resp.status_code, resp.headers.get("location"), resp.text[:800])
    return int(m.group(1))


def create_programme(users: Users) -> int:
    admin = users["admin"]
    resp = admin.post("/admin/programmes/new", PROGRAMME_FORM)
    pid = location_id(resp, r"/admin/programmes/(\d+)")
    assert admin.post(f"/admin/programmes/{pid}/publish").status_code == 303
    return pid


def draft_bid(
    users: Users,
    pid: int,
    key: str = "bidder",
    title: str = "Northtown Integrated Care",
    lead_type: str = "pbc_consortium",
    lead_code: str = "Y01",
) -> int:
    bidder = users[key]
    resp = bidder.post(
        f"/programmes/{pid}/bids/new", {"title": title, "sha_code": "Q30"}
    )
    bid = location_id(resp, r"/bids/(\d+)/edit")
    r = bidder.post(
        f"/bids/{bid}/edit",
        {
            "title": title,
            "sha_code": "Q30",
            "pct_codes": "5QJ",
            "practice_codes": "A81001, A81002",
            "population": "52,000",
            "section_services": "District nursing, GP, social care",
            "section_governance": "A joint clinical governance board",
            "evaluation_agreed": "yes",
        },
    )
    assert r.status_code == 303, r.text[:2000]
    r = bidder.post(
        f"/bids/{bid}/partners",
        {
            "org_code": lead_code,
            "name": "Northtown PBC",
            "org_type": lead_type,
            "is_lead": "yes",
        },
    )
    assert r.status_code == 303, r.text[:2000]
    r = bidder.post(
        f"/bids/{bid}/partners",
        {
            "org_code": "RA7",
            "name": "Northtown Acute Trust",
            "org_type": "acute_trust",
            "is_lead": "no",
        },
    )
    assert r.status_code == 303
    r = bidder.post(
        f"/bids/{bid}/inequalities",
        {
            "inequality": "race",
            "indicator_id": "diab-003",
            "commitment": "Close the gap in diabetes control",
            "trajectory": "8, 6, 4",
        },
    )
    assert r.status_code == 303, r.text[:2000]
    r = bidder.post(
        f"/bids/{bid}/targets",
        {
            "kind": "patient_reported",
            "target_indicator_id": "prom-001",
            "description": "Better EQ-5D after hip replacement",
            "target_value": "0.45",
        },
    )
    assert r.status_code == 303, r.text[:2000]
    return bid


def submit(users: Users, bid: int, key: str = "bidder") -> None:
    r = users[key].post(f"/bids/{bid}/submit")
    assert r.status_code == 303, r.text[:3000]


def confirm(users: Users, bid: int) -> None:
    r = users["commissioner"].post(
        f"/bids/{bid}/support", {"statement": "5QJ supports this bid"}
    )
    assert r.status_code == 303, r.text[:2000]


def run_eligibility(users: Users, bid: int) -> None:
    assert users["admin"].post(f"/bids/{bid}/eligibility").status_code == 303


def user_id(app: FastAPI, key: str) -> int:
    from carepilot.accounts import service as accounts

    email = next(u.email for u in USERS if u.key == key)
    with app.state.session_factory() as s:
        return next(u.id for u in accounts.list_users(s) if u.email == email)


def allocate(users: Users, bid: int, *keys: str) -> None:
    for key in keys:
        r = users["admin"].post(
            f"/bids/{bid}/allocations", {"assessor_id": str(user_id(users.app, key))}
        )
        assert r.status_code == 303, r.text[:2000]


def criteria_ids(app: FastAPI, pid: int) -> list[int]:
    from carepilot.programmes import service

    with app.state.session_factory() as s:
        return [c.id for c in service.get_programme(s, None, pid).criteria]


def score(users: Users, pid: int, bid: int, key: str, scores: list[int]) -> None:
    data: dict[str, str] = {}
    for cid, value in zip(criteria_ids(users.app, pid), scores, strict=True):
        data[f"score_{cid}"] = str(value)
        data[f"comment_{cid}"] = f"Score {value} because of the evidence"
    r = users[key].post(f"/bids/{bid}/score", data)
    assert r.status_code == 303, r.text[:3000]


def decide(users: Users, bid: int, decision: str = "frontrunner") -> None:
    r = users["admin"].post(
        f"/bids/{bid}/decision",
        {"decision": decision, "rationale": "Strong, innovative bid"},
    )
    assert r.status_code == 303, r.text[:3000]


def to_pilot(users: Users) -> tuple[int, int]:
    """Run a bid from prospectus to frontrunner; returns (programme id, bid id)."""
    pid = create_programme(users)
    bid = draft_bid(users, pid)
    submit(users, bid)
    confirm(users, bid)
    run_eligibility(users, bid)
    allocate(users, bid, "assessor1", "assessor2")
    score(users, pid, bid, "assessor1", [4, 3])
    score(users, pid, bid, "assessor2", [3, 3])
    decide(users, bid)
    return pid, bid
