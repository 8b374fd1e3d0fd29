"""The whole workflow through the pages, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

from sqlalchemy import text

from carepilot.audit import service as audit
from tests.web import helpers as h


def test_bid_goes_from_draft_to_frontrunner_with_every_step_audited(
    users: h.Users,
) -> None:
    app = users.app
    pid = h.create_programme(users)
    public = users.anonymous()
    page = public.get(f"/programmes/{pid}")
    assert (
        page.status_code == 200
        and "Innovation" in page.text
        and "Bids close" in page.text
    )

    bid = h.draft_bid(users, pid)
    edit = users["bidder"].get(f"/bids/{bid}/edit")
    assert edit.status_code == 200
    assert (
        "Northtown PBC" in edit.text and "not yet available" in edit.text
    )  # baseline note, no engine
    upload = users["bidder"].post(
        f"/bids/{bid}/attachments",
        files={"file": ("plan.pdf", b"%PDF-1.4 test plan", "application/pdf")},
    )
    assert upload.status_code == 303, upload.text[:2000]
    h.submit(users, bid)

    # submitted bids are immutable: edits are refused
    again = users["bidder"].post(
        f"/bids/{bid}/edit", {"title": "Changed", "sha_code": "Q30"}
    )
    assert again.status_code == 409

    h.confirm(users, bid)
    h.run_eligibility(users, bid)
    manage = users["admin"].get(f"/admin/programmes/{pid}")
    assert "Pass" in manage.text and "Fail" not in manage.text, manage.text

    h.allocate(users, bid, "assessor1", "assessor2")
    conflict = users["admin"].post(
        f"/bids/{bid}/allocations", {"assessor_id": str(h.user_id(app, "assessor3"))}
    )
    assert conflict.status_code == 400 and "conflict of interest" in conflict.text

    h.score(users, pid, bid, "assessor1", [4, 1])
    h.score(users, pid, bid, "assessor2", [1, 1])
    manage = users["admin"].get(f"/admin/programmes/{pid}")
    assert "Yes – discuss at panel" in manage.text  # 4 vs 1 on Innovation diverges

    h.decide(users, bid, "frontrunner")
    letter = users["bidder"].get(f"/bids/{bid}/letter")
    assert letter.status_code == 200 and "frontrunner" in letter.text

    steering = users["steering"]
    assert steering.get(f"/pilots/{bid}").status_code == 200
    r = steering.post(
        f"/pilots/{bid}/risks",
        {
            "title": "GP workforce",
            "description": "Vacancies",
            "likelihood": "4",
            "impact": "3",
            "owner": "Clinical lead",
            "mitigations": "Shared rota",
        },
    )
    assert r.status_code == 303, r.text[:2000]
    page = steering.get(f"/pilots/{bid}")
    assert "12 (high)" in page.text

    # milestones are added, then their progress recorded (a slipped due date)
    added = steering.post(
        f"/pilots/{bid}/milestones",
        {"milestone_title": "Shared care record live", "due": "2027-03-31"},
    )
    assert added.status_code == 303, added.text[:2000]
    mid = re.search(
        rf'action="/pilots/{bid}/milestones/(\d+)"',
        steering.get(f"/pilots/{bid}").text,
    )
    assert mid, "no milestone update form"
    bad = steering.post(
        f"/pilots/{bid}/milestones/{mid.group(1)}",
        {"milestone_status": "late", "due": "2027-06-30"},
    )
    assert bad.status_code == 400
    moved = steering.post(
        f"/pilots/{bid}/milestones/{mid.group(1)}",
        {"milestone_status": "at_risk", "due": "2027-06-30"},
    )
    assert moved.status_code == 303, moved.text[:2000]
    page = steering.get(f"/pilots/{bid}").text
    assert "Due 2027-06-30" in page and "At risk" in page
    assert (
        users["steering_other"]
        .post(
            f"/pilots/{bid}/milestones/{mid.group(1)}",
            {"milestone_status": "done", "due": "2027-06-30"},
        )
        .status_code
        == 403
    )

    with app.state.session_factory() as s:
        report = audit.verify(s)
        actions = {e.action for e in audit.recent(s, 500)}
        versions = s.execute(
            text("SELECT count(*) FROM bid_versions WHERE bid_id = :b"), {"b": bid}
        ).scalar()
    assert report.ok and report.events > 15
    assert {
        "programme.create",
        "programme.publish",
        "bid.create",
        "bid.update",
        "bid.partner.add",
        "bid.inequality.add",
        "bid.target.add",
        "bid.attachment.add",
        "bid.submit",
        "bid.support.confirm",
        "bid.eligibility.run",
        "bid.allocate",
        "bid.score",
        "bid.decide",
        "pilot.risk.add",
        "pilot.milestone.add",
        "pilot.milestone.update",
    } <= actions
    assert versions == 1
