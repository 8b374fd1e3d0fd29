"""Steering group pages for selected pilots: risk register, learning log, milestones."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from carepilot.programmes import steering
from carepilot.programmes.inputs import (
    LearningInput,
    MilestoneInput,
    MilestoneUpdateInput,
    RiskInput,
    RiskStatusInput,
    parse,
)
from carepilot.programmes.model import FormInvalid, MilestoneStatus
from carepilot.web.deps import BaselinesDep, PilotManager, SessionDep, SteeringOrAdmin
from carepilot.web.forms import (
    FieldSpec,
    learning_fields,
    milestone_fields,
    milestone_update_fields,
    risk_fields,
    risk_status_fields,
)
from carepilot.web.rendering import render
from carepilot.web.trajectory_chart import trajectory_svg

router = APIRouter(tags=["pages: steering group"])


@router.get("/pilots", name="pilot_list")
async def pilot_list(
    request: Request, actor: SteeringOrAdmin, db: SessionDep
) -> Response:
    return render(
        request,
        "steering/list.jinja",
        {"title": "Pilots", "pilots": steering.pilots(db, actor)},
    )


@router.get("/pilots/{bid_id}", name="pilot_detail")
async def pilot_detail(
    request: Request,
    bid_id: int,
    actor: PilotManager,
    db: SessionDep,
    baselines: BaselinesDep,
) -> Response:
    view = steering.pilot(db, actor, bid_id, baselines)
    return render(
        request,
        "steering/detail.jinja",
        {
            "title": f"Pilot: {view.bid.title}",
            "pilot": view,
            "risk_fields": risk_fields(),
            "risk_status_fields": risk_status_fields(),
            "learning_fields": learning_fields(),
            "milestone_fields": milestone_fields(),
            "milestone_statuses": [
                (s.value, s.value.replace("_", " ").capitalize())
                for s in MilestoneStatus
            ],
            "charts": {
                t.indicator_id: trajectory_svg(t) for t in view.trajectories if t.points
            },
        },
    )


async def _post(
    request: Request,
    bid_id: int,
    title: str,
    action: str,
    fields: Callable[[FormData | None], list[FieldSpec]],
    do: Callable[[FormData], object],
) -> Response:
    form = await request.form()
    try:
        do(form)
    except FormInvalid as exc:
        return render(
            request,
            "form_page.jinja",
            {
                "title": title,
                "action": action,
                "fields": fields(form),
                "errors": exc.errors,
                "submit": "Save",
                "back": f"/pilots/{bid_id}",
            },
            status_code=400,
        )
    return RedirectResponse(f"/pilots/{bid_id}", status_code=303)


@router.post("/pilots/{bid_id}/risks", name="pilot_risk_add")
async def pilot_risk_add(
    request: Request, bid_id: int, actor: PilotManager, db: SessionDep
) -> Response:
    return await _post(
        request,
        bid_id,
        "Add a risk",
        f"/pilots/{bid_id}/risks",
        risk_fields,
        lambda f: steering.add_risk(
            db,
            actor,
            bid_id,
            parse(
                RiskInput,
                {
                    k: f.get(k) or None
                    for k in (
                        "title",
                        "description",
                        "likelihood",
                        "impact",
                        "owner",
                        "mitigations",
                    )
                },
            ),
        ),
    )


@router.post("/pilots/{bid_id}/risks/{risk_id}/status", name="pilot_risk_status")
async def pilot_risk_status(
    request: Request, bid_id: int, risk_id: int, actor: PilotManager, db: SessionDep
) -> Response:
    return await _post(
        request,
        bid_id,
        "Change a risk's status",
        f"/pilots/{bid_id}/risks/{risk_id}/status",
        risk_status_fields,
        lambda f: steering.change_risk_status(
            db,
            actor,
            bid_id,
            risk_id,
            parse(
                RiskStatusInput,
                {"status": f.get("status", ""), "note": f.get("note", "")},
            ),
        ),
    )


@router.post("/pilots/{bid_id}/learning", name="pilot_learning_add")
async def pilot_learning_add(
    request: Request, bid_id: int, actor: PilotManager, db: SessionDep
) -> Response:
    return await _post(
        request,
        bid_id,
        "Add to the learning log",
        f"/pilots/{bid_id}/learning",
        learning_fields,
        lambda f: steering.add_learning(
            db,
            actor,
            bid_id,
            parse(
                LearningInput,
                {"title": f.get("learning_title", ""), "body": f.get("body", "")},
            ),
        ),
    )


@router.post("/pilots/{bid_id}/milestones", name="pilot_milestone_add")
async def pilot_milestone_add(
    request: Request, bid_id: int, actor: PilotManager, db: SessionDep
) -> Response:
    return await _post(
        request,
        bid_id,
        "Add a milestone",
        f"/pilots/{bid_id}/milestones",
        milestone_fields,
        lambda f: steering.add_milestone(
            db,
            actor,
            bid_id,
            parse(
                MilestoneInput,
                {
                    "title": f.get("milestone_title", ""),
                    "due": f.get("due") or None,
                    "status": f.get("milestone_status") or "planned",
                },
            ),
        ),
    )


@router.post(
    "/pilots/{bid_id}/milestones/{milestone_id}", name="pilot_milestone_update"
)
async def pilot_milestone_update(
    request: Request,
    bid_id: int,
    milestone_id: int,
    actor: PilotManager,
    db: SessionDep,
) -> Response:
    return await _post(
        request,
        bid_id,
        "Update a milestone",
        f"/pilots/{bid_id}/milestones/{milestone_id}",
        milestone_update_fields,
        lambda f: steering.update_milestone(
            db,
            actor,
            bid_id,
            milestone_id,
            parse(
                MilestoneUpdateInput,
                {"status": f.get("milestone_status", ""), "due": f.get("due") or None},
            ),
        ),
    )
