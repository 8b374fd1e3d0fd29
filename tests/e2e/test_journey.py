"""Full journey in a real browser: admin publishes, bidder drafts and submits,
commissioner confirms support, eligibility runs, two assessors score, the panel selects
a frontrunner, and the steering group logs a risk. Every key page is screenshotted
(test-artifacts/) and checked with axe-core for serious or critical violations."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.pages import Session

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _dt(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


def test_draft_to_frontrunner_in_the_browser(
    browser: Any, server: str, workflow_db: str
) -> None:
    backend = "postgresql" if workflow_db.startswith("postgresql") else "sqlite"
    problems: dict[str, list[dict[str, Any]]] = {}

    def check(s: Session, name: str) -> None:
        found = s.check(name)
        if found:
            problems[name] = found

    # admin publishes a prospectus
    admin = Session(browser, server, "admin", backend)
    admin.goto("/admin/programmes/new")
    page = admin.page
    page.get_by_role("button", name="Create draft prospectus").click()
    expect(page.locator(".nhsuk-error-summary")).to_be_visible()
    check(admin, "01-programme-form-errors")
    page.get_by_label("Programme title").fill("Integrated Care Pilots 2026")
    page.get_by_label("Summary").fill("Pilots of integrated care, paid on outcomes.")
    page.get_by_label("Bids open").fill(_dt(-1))
    page.get_by_label("Bids close (deadline)").fill(_dt(30))
    page.get_by_label("Selection starts").fill(_dt(40))
    page.get_by_label("Frontrunners announced").fill(_dt(60))
    page.get_by_label("Eligibility criteria").fill("Backed by the local PCT")
    page.get_by_label("Assessment criteria").fill("Innovation | 60\nInequalities | 40")
    page.get_by_label("Clinical governance arrangements").check()
    page.get_by_role("button", name="Create draft prospectus").click()
    page.get_by_role("button", name="Publish prospectus").click()
    pid = int(re.search(r"/admin/programmes/(\d+)", page.url).group(1))  # type: ignore[union-attr]

    public = Session(browser, server, "public", backend)
    public.goto(f"/programmes/{pid}")
    expect(
        public.page.get_by_role("heading", name="Integrated Care Pilots 2026")
    ).to_be_visible()
    check(public, "02-prospectus-public")
    public.close()

    # bidder drafts and submits
    bidder = Session(browser, server, "bidder", backend)
    bidder.goto(f"/programmes/{pid}")
    bidder.page.get_by_role("link", name="Start a bid").click()
    bidder.page.get_by_label("Bid title").fill("Northtown Integrated Care")
    bidder.page.get_by_label("Strategic health authority (SHA) code").fill("Q30")
    bidder.page.get_by_role("button", name="Create draft bid").click()
    p = bidder.page
    p.get_by_label("Supporting PCT codes").fill("5QJ")
    p.get_by_label("GP practices covered (ODS codes)").fill("A81001, A81002")
    p.get_by_label("Registered population covered").fill("52000")
    p.get_by_label("Clinical governance arrangements (required)").fill(
        "Joint clinical governance board"
    )
    p.get_by_label(
        "We agree to take part in the independent three-year evaluation"
    ).check()
    p.get_by_role("button", name="Save bid details").click()
    p.get_by_label("Organisation code (ODS)").fill("Y01")
    p.get_by_label("Organisation name").fill("Northtown PBC consortium")
    p.get_by_label("Organisation type").select_option("pbc_consortium")
    p.get_by_label("Yes").check()
    p.get_by_role("button", name="Add partner").click()
    p.get_by_label("Specific inequality").select_option("race")
    p.get_by_label("Indicator id from the library").first.fill("diab-003")
    p.get_by_label("Commitment", exact=True).fill("Close the gap in diabetes control")
    p.get_by_label("Target trajectory (gap at end of years 1, 2 and 3)").fill("8, 6, 4")
    p.get_by_role("button", name="Add commitment").click()
    expect(
        p.get_by_role("cell", name="Northtown PBC consortium", exact=True)
    ).to_be_visible()
    check(bidder, "03-bid-edit")
    p.get_by_role("button", name="Submit bid").click()
    expect(p.get_by_text("Submitted", exact=True)).to_be_visible()
    bid = int(re.search(r"/bids/(\d+)", p.url).group(1))  # type: ignore[union-attr]

    # commissioner confirms support
    comm = Session(browser, server, "commissioner", backend)
    comm.goto("/bids")
    comm.page.get_by_role("link", name="Northtown Integrated Care").click()
    comm.page.get_by_label("Statement of support from your PCT").fill(
        "5QJ supports this pilot"
    )
    check(comm, "04-commissioner-support")
    comm.page.get_by_role("button", name="Confirm support").click()
    expect(comm.page.get_by_text("5QJ confirmed")).to_be_visible()
    comm.close()

    # eligibility and allocation
    admin.goto(f"/admin/programmes/{pid}")
    admin.page.get_by_role("button", name="Run eligibility rules").click()
    expect(admin.page.get_by_text("Confirmed by 5QJ")).to_be_visible()
    for name in ("Assessor1", "Assessor2"):
        admin.page.get_by_label("Allocate an assessor").select_option(label=name)
        admin.page.get_by_role("button", name="Allocate").click()
    check(admin, "05-eligibility-allocation")

    # two assessors score
    for key, scores in (("assessor1", ("4", "3")), ("assessor2", ("3", "3"))):
        s = Session(browser, server, key, backend)
        s.goto(f"/bids/{bid}/score")
        for title, value in zip(("Innovation", "Inequalities"), scores, strict=True):
            s.page.get_by_role("group", name=f"Score for {title}").get_by_label(
                value, exact=True
            ).check()
            s.page.get_by_label(f"Comment on {title}").fill(f"{title}: clear evidence")
        if key == "assessor1":
            check(s, "06-scoring")
        s.page.get_by_role("button", name="Save scores").click()
        expect(s.page.get_by_text("scored", exact=False).first).to_be_visible()
        s.close()

    # panel selects a frontrunner
    admin.goto(f"/admin/programmes/{pid}")
    admin.page.get_by_label("Frontrunner").check()
    admin.page.get_by_label("Panel feedback for the bidder").fill(
        "An innovative, well-governed bid."
    )
    admin.page.get_by_role("button", name="Record decision").click()
    expect(admin.page.get_by_text("Decision: frontrunner")).to_be_visible()
    check(admin, "07-decision")

    bidder.goto(f"/bids/{bid}/letter")
    expect(bidder.page.get_by_text("selected as a frontrunner")).to_be_visible()
    check(bidder, "08-feedback-letter")
    bidder.close()

    # steering group logs a risk
    steer = Session(browser, server, "steering", backend)
    steer.goto("/pilots")
    steer.page.get_by_role("link", name="Northtown Integrated Care").click()
    steer.page.get_by_label("Risk", exact=True).fill("GP workforce gaps")
    steer.page.get_by_label("Description").fill("Vacancies in two practices")
    steer.page.get_by_label("Likelihood (1 rare to 5 almost certain)").select_option(
        "4"
    )
    steer.page.get_by_label("Impact (1 negligible to 5 catastrophic)").select_option(
        "3"
    )
    steer.page.get_by_label("Risk owner").fill("Clinical lead")
    steer.page.get_by_label("Mitigations").fill("Shared rota across the consortium")
    steer.page.get_by_role("button", name="Add risk").click()
    expect(steer.page.get_by_text("= 12 (high)")).to_be_visible()
    check(steer, "09-steering-risk-register")
    steer.close()

    admin.goto("/admin/audit")
    expect(admin.page.get_by_text("Hash chain verified")).to_be_visible()
    check(admin, "10-audit-log")

    # admin creates an account, with a form error first
    admin.goto("/admin/users")
    check(admin, "11-user-accounts")
    admin.page.get_by_role("link", name="Create a user account").click()
    admin.page.get_by_label("Email address").fill("new.assessor@test.nhs")
    admin.page.get_by_label("Full name").fill("New Assessor")
    admin.page.get_by_label("Role").select_option("commissioner")
    admin.page.get_by_label("Initial password").fill("A-longer-passphrase-2026")
    admin.page.get_by_role("button", name="Create account").click()
    expect(admin.page.locator(".nhsuk-error-summary")).to_be_visible()
    check(admin, "12-user-form-errors")
    admin.page.get_by_label("PCT code (commissioners)").fill("5QJ")
    admin.page.get_by_label("Initial password").fill("A-longer-passphrase-2026")
    admin.page.get_by_role("button", name="Create account").click()
    expect(
        admin.page.get_by_role("heading", name="Manage New Assessor")
    ).to_be_visible()
    check(admin, "13-user-manage")
    admin.goto("/account/password")
    check(admin, "14-change-password")
    admin.close()

    assert not problems, f"serious/critical accessibility violations: {problems}"
