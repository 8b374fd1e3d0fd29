"""JSON API under /api/: one endpoint per workflow action, same services and checks
as the pages. Writes need the session cookie plus `X-CSRF-Token`, or a bearer token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, UploadFile
from fastapi.responses import FileResponse, Response

from carepilot.accounts import service as accounts
from carepilot.audit import service as audit
from carepilot.programmes import assessment, steering
from carepilot.programmes import service as programmes
from carepilot.programmes import views as v
from carepilot.programmes.inputs import (
    AllocationInput,
    BidCreate,
    BidUpdate,
    ConflictInput,
    DecisionInput,
    InequalityInput,
    LearningInput,
    MilestoneInput,
    OverrideInput,
    PartnerInput,
    ProgrammeCreate,
    RiskInput,
    RiskStatusInput,
    ScoreInput,
    SupportInput,
    TargetInput,
)
from carepilot.web.deps import (
    Admin,
    Anyone,
    Assessor,
    BaselinesDep,
    Bidder,
    BidOwner,
    BidReaders,
    BidScorer,
    BidSupporter,
    LetterReaders,
    PilotManager,
    SessionDep,
    SettingsDep,
    SignedIn,
    SteeringOrAdmin,
)

router = APIRouter(prefix="/api")


@router.post("/tokens", tags=["accounts"], name="api_token_create")
def api_token_create(
    actor: SignedIn, db: SessionDep, name: str = "api"
) -> dict[str, str]:
    """Issue a bearer token (shown once) for scripts; send it as `Authorization: Bearer`."""
    return {"token": accounts.create_api_token(db, actor, name), "token_type": "bearer"}


@router.get("/me", tags=["accounts"], name="api_me")
def api_me(actor: SignedIn) -> dict[str, Any]:
    return {
        "id": actor.id,
        "email": actor.email,
        "name": actor.name,
        "role": actor.role.value,
        "pct_code": actor.pct_code,
        "sha_code": actor.sha_code,
    }


@router.get("/programmes", tags=["programmes"], name="api_programmes")
def api_programmes(actor: Anyone, db: SessionDep) -> list[v.ProgrammeView]:
    return programmes.list_programmes(db, actor)


@router.get("/programmes/{programme_id}", tags=["programmes"], name="api_programme")
def api_programme(programme_id: int, actor: Anyone, db: SessionDep) -> v.ProgrammeView:
    return programmes.get_programme(db, actor, programme_id)


@router.post(
    "/programmes", tags=["programmes"], status_code=201, name="api_programme_create"
)
def api_programme_create(
    body: ProgrammeCreate, actor: Admin, db: SessionDep
) -> v.ProgrammeView:
    return programmes.create_programme(db, actor, body)


@router.post(
    "/programmes/{programme_id}/publish",
    tags=["programmes"],
    name="api_programme_publish",
)
def api_programme_publish(
    programme_id: int, actor: Admin, db: SessionDep
) -> v.ProgrammeView:
    return programmes.publish_programme(db, actor, programme_id)


@router.get(
    "/programmes/{programme_id}/moderation", tags=["assessment"], name="api_moderation"
)
def api_moderation(
    programme_id: int, actor: Admin, db: SessionDep
) -> list[dict[str, Any]]:
    return [
        {
            "bid_id": m.bid.id,
            "title": m.bid.title,
            "status": m.bid.status,
            "completed": m.completed,
            "weighted_score": m.weighted_score,
            "divergent": m.divergent,
            "criteria": [
                {
                    "criterion_id": c.criterion_id,
                    "scores": list(c.scores),
                    "mean": c.mean,
                    "spread": c.spread,
                    "divergent": c.divergent,
                }
                for c in m.criteria
            ],
        }
        for m in assessment.moderation(db, actor, programme_id)
    ]


@router.get("/bids", tags=["bids"], name="api_bids")
def api_bids(
    actor: BidReaders, db: SessionDep, programme_id: int | None = None
) -> list[v.BidView]:
    return programmes.list_bids(db, actor, programme_id)


@router.post(
    "/programmes/{programme_id}/bids",
    tags=["bids"],
    status_code=201,
    name="api_bid_create",
)
def api_bid_create(
    programme_id: int, body: BidCreate, actor: Bidder, db: SessionDep
) -> v.BidView:
    return programmes.create_bid(db, actor, programme_id, body)


@router.get("/bids/{bid_id}", tags=["bids"], name="api_bid")
def api_bid(bid_id: int, actor: BidReaders, db: SessionDep) -> v.BidView:
    return programmes.get_bid(db, actor, bid_id)


@router.put("/bids/{bid_id}", tags=["bids"], name="api_bid_update")
def api_bid_update(
    bid_id: int, body: BidUpdate, actor: BidOwner, db: SessionDep
) -> v.BidView:
    return programmes.update_bid(db, actor, bid_id, body)


@router.post("/bids/{bid_id}/partners", tags=["bids"], name="api_bid_partner_add")
def api_bid_partner_add(
    bid_id: int, body: PartnerInput, actor: BidOwner, db: SessionDep
) -> v.BidView:
    return programmes.add_partner(db, actor, bid_id, body)


@router.delete(
    "/bids/{bid_id}/partners/{partner_id}", tags=["bids"], name="api_bid_partner_remove"
)
def api_bid_partner_remove(
    bid_id: int, partner_id: int, actor: BidOwner, db: SessionDep
) -> v.BidView:
    return programmes.remove_partner(db, actor, bid_id, partner_id)


@router.post(
    "/bids/{bid_id}/inequalities", tags=["bids"], name="api_bid_inequality_add"
)
def api_bid_inequality_add(
    bid_id: int,
    body: InequalityInput,
    actor: BidOwner,
    db: SessionDep,
    baselines: BaselinesDep,
) -> v.BidView:
    return programmes.add_inequality(db, actor, bid_id, body, baselines)


@router.delete(
    "/bids/{bid_id}/inequalities/{item_id}",
    tags=["bids"],
    name="api_bid_inequality_remove",
)
def api_bid_inequality_remove(
    bid_id: int, item_id: int, actor: BidOwner, db: SessionDep
) -> v.BidView:
    return programmes.remove_inequality(db, actor, bid_id, item_id)


@router.post("/bids/{bid_id}/targets", tags=["bids"], name="api_bid_target_add")
def api_bid_target_add(
    bid_id: int,
    body: TargetInput,
    actor: BidOwner,
    db: SessionDep,
    baselines: BaselinesDep,
) -> v.BidView:
    return programmes.add_target(db, actor, bid_id, body, baselines)


@router.post("/bids/{bid_id}/attachments", tags=["bids"], name="api_bid_attachment_add")
async def api_bid_attachment_add(
    bid_id: int,
    file: UploadFile,
    actor: BidOwner,
    db: SessionDep,
    settings: SettingsDep,
) -> v.BidView:
    data = await file.read(programmes.MAX_ATTACHMENT_BYTES + 1)
    return programmes.add_attachment(
        db, actor, bid_id, file.filename or "", data, settings.upload_dir
    )


@router.get(
    "/bids/{bid_id}/attachments/{attachment_id}",
    tags=["bids"],
    name="api_bid_attachment",
)
def api_bid_attachment(
    bid_id: int,
    attachment_id: int,
    actor: BidReaders,
    db: SessionDep,
    settings: SettingsDep,
) -> Response:
    meta, path = programmes.attachment_file(
        db, actor, bid_id, attachment_id, settings.upload_dir
    )
    return FileResponse(
        path,
        media_type=meta.content_type,
        filename=meta.filename,
        content_disposition_type="attachment",
    )


@router.post("/bids/{bid_id}/submit", tags=["bids"], name="api_bid_submit")
def api_bid_submit(bid_id: int, actor: BidOwner, db: SessionDep) -> v.BidView:
    return programmes.submit_bid(db, actor, bid_id)


@router.post("/bids/{bid_id}/support", tags=["bids"], name="api_bid_support")
def api_bid_support(
    bid_id: int, body: SupportInput, actor: BidSupporter, db: SessionDep
) -> v.BidView:
    return programmes.confirm_support(db, actor, bid_id, body)


@router.post(
    "/bids/{bid_id}/eligibility", tags=["assessment"], name="api_eligibility_run"
)
def api_eligibility_run(bid_id: int, actor: Admin, db: SessionDep) -> v.BidView:
    return assessment.run_eligibility(db, actor, bid_id)


@router.post(
    "/bids/{bid_id}/eligibility/override",
    tags=["assessment"],
    name="api_eligibility_override",
)
def api_eligibility_override(
    bid_id: int, body: OverrideInput, actor: Admin, db: SessionDep
) -> v.BidView:
    return assessment.override_eligibility(db, actor, bid_id, body)


@router.post("/bids/{bid_id}/allocations", tags=["assessment"], name="api_allocate")
def api_allocate(
    bid_id: int, body: AllocationInput, actor: Admin, db: SessionDep
) -> v.BidView:
    return assessment.allocate(db, actor, bid_id, body)


@router.get("/conflicts", tags=["assessment"], name="api_conflicts")
def api_conflicts(actor: Assessor, db: SessionDep) -> list[v.ConflictView]:
    return assessment.list_conflicts(db, actor)


@router.post(
    "/conflicts", tags=["assessment"], status_code=201, name="api_conflict_declare"
)
def api_conflict_declare(
    body: ConflictInput, actor: Assessor, db: SessionDep
) -> list[v.ConflictView]:
    return assessment.declare_conflict(db, actor, body)


@router.get("/allocations", tags=["assessment"], name="api_allocations")
def api_allocations(actor: Assessor, db: SessionDep) -> list[v.AllocationView]:
    return assessment.my_allocations(db, actor)


@router.post("/bids/{bid_id}/scores", tags=["assessment"], name="api_score")
def api_score(
    bid_id: int, body: ScoreInput, actor: BidScorer, db: SessionDep
) -> v.AllocationView:
    return assessment.submit_scores(db, actor, bid_id, body)


@router.post("/bids/{bid_id}/decision", tags=["assessment"], name="api_decide")
def api_decide(
    bid_id: int, body: DecisionInput, actor: Admin, db: SessionDep
) -> v.BidView:
    return assessment.record_decision(db, actor, bid_id, body)


@router.get("/bids/{bid_id}/letter", tags=["assessment"], name="api_letter")
def api_letter(bid_id: int, actor: LetterReaders, db: SessionDep) -> dict[str, str]:
    return {"letter": assessment.feedback(db, actor, bid_id)}


@router.get("/pilots", tags=["steering"], name="api_pilots")
def api_pilots(actor: SteeringOrAdmin, db: SessionDep) -> list[v.BidView]:
    return steering.pilots(db, actor)


@router.get("/pilots/{bid_id}", tags=["steering"], name="api_pilot")
def api_pilot(
    bid_id: int, actor: PilotManager, db: SessionDep, baselines: BaselinesDep
) -> steering.PilotView:
    return steering.pilot(db, actor, bid_id, baselines)


@router.post(
    "/pilots/{bid_id}/risks", tags=["steering"], status_code=201, name="api_risk_add"
)
def api_risk_add(
    bid_id: int, body: RiskInput, actor: PilotManager, db: SessionDep
) -> v.RiskView:
    return steering.add_risk(db, actor, bid_id, body)


@router.post(
    "/pilots/{bid_id}/risks/{risk_id}/status", tags=["steering"], name="api_risk_status"
)
def api_risk_status(
    bid_id: int,
    risk_id: int,
    body: RiskStatusInput,
    actor: PilotManager,
    db: SessionDep,
) -> v.RiskView:
    return steering.change_risk_status(db, actor, bid_id, risk_id, body)


@router.post(
    "/pilots/{bid_id}/learning",
    tags=["steering"],
    status_code=201,
    name="api_learning_add",
)
def api_learning_add(
    bid_id: int, body: LearningInput, actor: PilotManager, db: SessionDep
) -> v.LearningView:
    return steering.add_learning(db, actor, bid_id, body)


@router.post(
    "/pilots/{bid_id}/milestones",
    tags=["steering"],
    status_code=201,
    name="api_milestone_add",
)
def api_milestone_add(
    bid_id: int, body: MilestoneInput, actor: PilotManager, db: SessionDep
) -> v.MilestoneView:
    return steering.add_milestone(db, actor, bid_id, body)


@router.get("/audit", tags=["audit"], name="api_audit")
def api_audit(
    actor: Admin,
    db: SessionDep,
    entity_type: str | None = None,
    entity_id: str | None = None,
    limit: int = 200,
) -> list[audit.AuditEntry]:
    return list(audit.recent(db, min(limit, 1000), entity_type, entity_id))


@router.get("/audit/verify", tags=["audit"], name="api_audit_verify")
def api_audit_verify(request: Request, actor: Admin, db: SessionDep) -> dict[str, Any]:
    report = audit.verify(db)
    return {
        "ok": report.ok,
        "events": report.events,
        "first_bad_id": report.first_bad_id,
        "reason": report.reason,
    }
