"""Assessment pages: eligibility, allocation, conflicts, scoring and panel decisions."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from carepilot.programmes import assessment
from carepilot.programmes import service as programmes
from carepilot.programmes.inputs import (
    AllocationInput,
    ConflictInput,
    DecisionInput,
    OverrideInput,
    ScoreInput,
    parse,
)
from carepilot.programmes.model import FormInvalid
from carepilot.programmes.views import CriterionView
from carepilot.web.deps import Admin, Assessor, BidScorer, SessionDep
from carepilot.web.forms import conflict_fields, decision_fields, override_fields
from carepilot.web.rendering import render

router = APIRouter(tags=["pages: assessment"])


def _manage(programme_id: int) -> RedirectResponse:
    return RedirectResponse(f"/admin/programmes/{programme_id}", status_code=303)


@router.post("/bids/{bid_id}/eligibility", name="bid_eligibility_run")
async def bid_eligibility_run(
    request: Request, bid_id: int, actor: Admin, db: SessionDep
) -> Response:
    bid = assessment.run_eligibility(db, actor, bid_id)
    return _manage(bid.programme_id)


@router.post("/bids/{bid_id}/eligibility/override", name="bid_eligibility_override")
async def bid_eligibility_override(
    request: Request, bid_id: int, actor: Admin, db: SessionDep
) -> Response:
    form = await request.form()
    data = {
        "eligible": {"yes": True, "no": False}.get(str(form.get("eligible", ""))),
        "reason": form.get("reason", ""),
    }
    try:
        bid = assessment.override_eligibility(
            db, actor, bid_id, parse(OverrideInput, data)
        )
    except FormInvalid as exc:
        return render(
            request,
            "form_page.jinja",
            {
                "title": "Override eligibility",
                "action": f"/bids/{bid_id}/eligibility/override",
                "fields": override_fields(form),
                "errors": exc.errors,
                "submit": "Record override",
                "back": f"/bids/{bid_id}",
            },
            status_code=400,
        )
    return _manage(bid.programme_id)


@router.post("/bids/{bid_id}/allocations", name="bid_allocate")
async def bid_allocate(
    request: Request, bid_id: int, actor: Admin, db: SessionDep
) -> Response:
    form = await request.form()
    try:
        bid = assessment.allocate(
            db,
            actor,
            bid_id,
            parse(AllocationInput, {"assessor_id": form.get("assessor_id") or None}),
        )
    except FormInvalid as exc:
        return render(
            request,
            "error.jinja",
            {
                "title": "The assessor could not be allocated",
                "message": " ".join(exc.errors.values()),
                "errors": exc.errors,
            },
            status_code=400,
        )
    return _manage(bid.programme_id)


@router.post("/bids/{bid_id}/decision", name="bid_decide")
async def bid_decide(
    request: Request, bid_id: int, actor: Admin, db: SessionDep
) -> Response:
    form = await request.form()
    try:
        bid = assessment.record_decision(
            db,
            actor,
            bid_id,
            parse(
                DecisionInput,
                {
                    "decision": form.get("decision", ""),
                    "rationale": form.get("rationale", ""),
                },
            ),
        )
    except FormInvalid as exc:
        return render(
            request,
            "form_page.jinja",
            {
                "title": "Record the panel decision",
                "action": f"/bids/{bid_id}/decision",
                "fields": decision_fields(form),
                "errors": exc.errors,
                "submit": "Record decision",
                "back": f"/bids/{bid_id}",
            },
            status_code=400,
        )
    return _manage(bid.programme_id)


@router.get("/assessor", name="assessor_home")
async def assessor_home(request: Request, actor: Assessor, db: SessionDep) -> Response:
    allocations = assessment.my_allocations(db, actor)
    bids = {a.bid_id: programmes.get_bid(db, actor, a.bid_id) for a in allocations}
    return render(
        request,
        "assessment/home.jinja",
        {"title": "My assessments", "allocations": allocations, "bids": bids},
    )


def _conflicts_page(
    request: Request,
    actor: Assessor,
    db: SessionDep,
    form: FormData | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "assessment/conflicts.jinja",
        {
            "title": "Conflicts of interest",
            "conflicts": assessment.list_conflicts(db, actor),
            "fields": conflict_fields(form),
            "errors": errors or {},
        },  # type: ignore[arg-type]
        status_code=400 if errors else 200,
    )


@router.get("/assessor/conflicts", name="conflicts")
async def conflicts(request: Request, actor: Assessor, db: SessionDep) -> Response:
    return _conflicts_page(request, actor, db)


@router.post("/assessor/conflicts", name="conflict_declare")
async def conflict_declare(
    request: Request, actor: Assessor, db: SessionDep
) -> Response:
    form = await request.form()
    try:
        assessment.declare_conflict(
            db,
            actor,
            parse(
                ConflictInput,
                {
                    "org_code": form.get("org_code", ""),
                    "reason": form.get("reason", ""),
                },
            ),
        )
    except FormInvalid as exc:
        return _conflicts_page(request, actor, db, form, exc.errors)
    return RedirectResponse("/assessor/conflicts", status_code=303)


def _score_page(
    request: Request,
    actor: Assessor,
    db: SessionDep,
    bid_id: int,
    form: object = None,
    errors: dict[str, str] | None = None,
) -> Response:
    bid = programmes.get_bid(db, actor, bid_id)
    prog = programmes.get_programme(db, actor, bid.programme_id)
    mine = next(
        (a for a in assessment.my_allocations(db, actor) if a.bid_id == bid_id), None
    )
    previous = {s.criterion_id: s for s in mine.scores} if mine else {}
    return render(
        request,
        "assessment/score.jinja",
        {
            "title": f"Score: {bid.title}",
            "bid": bid,
            "programme": prog,
            "previous": previous,
            "posted": form,
            "errors": errors or {},
        },
        status_code=400 if errors else 200,
    )


@router.get("/bids/{bid_id}/score", name="bid_score_form")
async def bid_score_form(
    request: Request, bid_id: int, actor: BidScorer, db: SessionDep
) -> Response:
    return _score_page(request, actor, db, bid_id)


@router.post("/bids/{bid_id}/score", name="bid_score")
async def bid_score(
    request: Request, bid_id: int, actor: BidScorer, db: SessionDep
) -> Response:
    form = await request.form()
    bid = programmes.get_bid(db, actor, bid_id)
    prog = programmes.get_programme(db, actor, bid.programme_id)
    scores = [
        {
            "criterion_id": c.id,
            "score": form.get(f"score_{c.id}") or None,
            "comment": form.get(f"comment_{c.id}", ""),
        }
        for c in prog.criteria
    ]
    try:
        assessment.submit_scores(
            db, actor, bid_id, parse(ScoreInput, {"scores": scores})
        )
    except FormInvalid as exc:
        errors = _score_errors(form, prog.criteria) or exc.errors
        return _score_page(request, actor, db, bid_id, form, errors)
    return RedirectResponse("/assessor", status_code=303)


def _score_errors(form: FormData, criteria: Sequence[CriterionView]) -> dict[str, str]:
    """Per-field messages (the pydantic errors are per list item, not per criterion)."""
    errors: dict[str, str] = {}
    for c in criteria:
        cid = c.id
        raw = str(form.get(f"score_{cid}", ""))
        if raw not in {"0", "1", "2", "3", "4"}:
            errors[f"score_{cid}"] = f"Choose a score from 0 to 4 for {c.title}"
        if not str(form.get(f"comment_{cid}", "")).strip():
            errors[f"comment_{cid}"] = f"Enter a comment for {c.title}"
    return errors
