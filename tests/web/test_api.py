"""The JSON API: the same workflow with bearer tokens, same checks as the pages."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web import helpers as h


def _token(user: h.User) -> TestClient:
    resp = user.api("POST", "/api/tokens")
    assert resp.status_code == 200, resp.text
    client = TestClient(user.client.app)
    client.headers["Authorization"] = f"Bearer {resp.json()['token']}"
    return client


def test_api_workflow_with_bearer_tokens(users: h.Users) -> None:
    admin, bidder = _token(users["admin"]), _token(users["bidder"])
    body = {
        "title": "API programme",
        "summary": "s",
        "opens_at": h.dt(-1),
        "closes_at": h.dt(10),
        "selection_at": h.dt(20),
        "frontrunners_at": h.dt(30),
        "criteria": [{"title": "Innovation", "weight": 1}],
        "required_sections": ["governance"],
    }
    r = admin.post("/api/programmes", json=body)
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    assert (
        bidder.post(
            f"/api/programmes/{pid}/bids", json={"title": "x", "sha_code": "Q30"}
        ).status_code
        == 404
    )
    assert admin.post(f"/api/programmes/{pid}/publish").status_code == 200
    assert (
        users.anonymous().client.get(f"/api/programmes/{pid}").json()["title"]
        == "API programme"
    )

    bid = bidder.post(
        f"/api/programmes/{pid}/bids", json={"title": "API bid", "sha_code": "q30"}
    ).json()
    assert bid["sha_code"] == "Q30" and bid["status"] == "draft"
    bid_id = bid["id"]
    r = bidder.put(
        f"/api/bids/{bid_id}",
        json={
            "title": "API bid",
            "sha_code": "Q30",
            "pct_codes": ["5QJ"],
            "practice_codes": ["A81001"],
            "sections": {"governance": "Board"},
            "evaluation_agreed": True,
        },
    )
    assert r.status_code == 200, r.text
    assert (
        bidder.post(
            f"/api/bids/{bid_id}/partners",
            json={
                "org_code": "Y01",
                "name": "Lead",
                "org_type": "gp_practice",
                "is_lead": True,
            },
        ).status_code
        == 200
    )
    r = bidder.post(
        f"/api/bids/{bid_id}/inequalities",
        json={
            "inequality": "disability",
            "indicator_id": "ltc-010",
            "commitment": "c",
            "trajectory": [3, 2, 1],
        },
    )
    assert (
        r.status_code == 200 and r.json()["inequalities"][0]["baseline_value"] is None
    )
    assert (
        "No indicator results are configured"
        in r.json()["inequalities"][0]["baseline_note"]
    )
    r = bidder.post(
        f"/api/bids/{bid_id}/attachments",
        files={"file": ("a.csv", b"a,b\n1,2\n", "text/csv")},
    )
    assert r.status_code == 200, r.text
    r = bidder.post(f"/api/bids/{bid_id}/submit")
    assert r.status_code == 200 and r.json()["version"] == 1
    assert (
        bidder.put(
            f"/api/bids/{bid_id}", json={"title": "late", "sha_code": "Q30"}
        ).status_code
        == 409
    )

    commissioner = _token(users["commissioner"])
    assert (
        commissioner.post(
            f"/api/bids/{bid_id}/support", json={"statement": "yes"}
        ).status_code
        == 200
    )
    other = _token(users["commissioner_other"])
    assert (
        other.post(f"/api/bids/{bid_id}/support", json={"statement": "yes"}).status_code
        == 403
    )
    r = admin.post(f"/api/bids/{bid_id}/eligibility")
    assert r.json()["status"] == "eligible", r.json()["eligibility"]
    for key in ("assessor1", "assessor2"):
        aid = h.user_id(users.app, key)
        assert (
            admin.post(
                f"/api/bids/{bid_id}/allocations", json={"assessor_id": aid}
            ).status_code
            == 200
        )
    crit = r.json()  # criteria come from the programme
    cid = admin.get(f"/api/programmes/{pid}").json()["criteria"][0]["id"]
    for key, score in (("assessor1", 4), ("assessor2", 0)):
        r = _token(users[key]).post(
            f"/api/bids/{bid_id}/scores",
            json={"scores": [{"criterion_id": cid, "score": score, "comment": "ok"}]},
        )
        assert r.status_code == 200, r.text
    mod = admin.get(f"/api/programmes/{pid}/moderation").json()
    assert mod[0]["divergent"] is True and mod[0]["weighted_score"] == 50.0
    assert (
        admin.post(
            f"/api/bids/{bid_id}/decision",
            json={"decision": "selected", "rationale": "r"},
        ).status_code
        == 200
    )
    assert (
        "selected as an integrated care pilot"
        in bidder.get(f"/api/bids/{bid_id}/letter").json()["letter"]
    )
    steering = _token(users["steering"])
    r = steering.post(
        f"/api/pilots/{bid_id}/risks",
        json={
            "title": "t",
            "description": "d",
            "likelihood": 5,
            "impact": 5,
            "owner": "o",
            "mitigations": "m",
        },
    )
    assert r.status_code == 201 and r.json()["band"] == "extreme"
    rid = r.json()["id"]
    r = steering.post(
        f"/api/pilots/{bid_id}/risks/{rid}/status",
        json={"status": "closed", "note": "done"},
    )
    assert [x["status"] for x in r.json()["history"]] == ["open", "closed"]
    assert (
        _token(users["steering_other"]).get(f"/api/pilots/{bid_id}").status_code == 403
    )
    assert admin.get("/api/audit/verify").json()["ok"] is True
    assert crit is not None


def test_api_writes_need_csrf_header_with_a_session(sqlite_users: h.Users) -> None:
    admin = sqlite_users["admin"]
    resp = admin.client.post("/api/programmes", json={})
    assert resp.status_code == 403
    resp = admin.api("POST", "/api/programmes", json={})
    assert resp.status_code == 422  # got past CSRF to validation


def test_openapi_documents_every_api_route(sqlite_app: object) -> None:
    client = TestClient(sqlite_app)  # type: ignore[arg-type]
    spec = client.get("/api/openapi.json").json()
    assert "/api/bids/{bid_id}/decision" in spec["paths"]
    assert len([p for p in spec["paths"] if p.startswith("/api/")]) >= 30
