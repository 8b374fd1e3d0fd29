"""Bid pages: bidders draft, attach and submit; commissioners confirm PCT support."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import (
    FileResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.datastructures import FormData, UploadFile

from carepilot.accounts.model import Role
from carepilot.programmes import assessment
from carepilot.programmes import service as programmes
from carepilot.programmes.inputs import (
    BidCreate,
    BidUpdate,
    InequalityInput,
    PartnerInput,
    SupportInput,
    TargetInput,
    parse,
)
from carepilot.programmes.model import FormInvalid
from carepilot.web.deps import (
    BaselinesDep,
    Bidder,
    BidOwner,
    BidReaders,
    BidSupporter,
    LetterReaders,
    SessionDep,
    SettingsDep,
)
from carepilot.web.forms import (
    FieldSpec,
    bid_create_fields,
    bid_update_data,
    inequality_data,
    inequality_fields,
    partner_data,
    partner_fields,
    support_fields,
    target_data,
    target_fields,
)
from carepilot.web.rendering import render

router = APIRouter(tags=["pages: bids"])


def _form_page(
    request: Request,
    title: str,
    action: str,
    fields: list[FieldSpec],
    errors: dict[str, str],
    back: str,
    submit: str = "Save",
    multipart: bool = False,
) -> Response:
    return render(
        request,
        "form_page.jinja",
        {
            "title": title,
            "action": action,
            "fields": fields,
            "errors": errors,
            "back": back,
            "submit": submit,
            "multipart": multipart,
        },
        status_code=400 if errors else 200,
    )


@router.get("/bids", name="bid_list")
async def bid_list(request: Request, actor: BidReaders, db: SessionDep) -> Response:
    bids = programmes.list_bids(db, actor)
    return render(request, "bids/list.jinja", {"title": "Bids", "bids": bids})


@router.get("/programmes/{programme_id}/bids/new", name="bid_new_form")
async def bid_new_form(
    request: Request, programme_id: int, actor: Bidder, db: SessionDep
) -> Response:
    prog = programmes.get_programme(db, actor, programme_id)
    return _form_page(
        request,
        f"Start a bid: {prog.title}",
        f"/programmes/{programme_id}/bids/new",
        bid_create_fields(),
        {},
        f"/programmes/{programme_id}",
        "Create draft bid",
    )


@router.post("/programmes/{programme_id}/bids/new", name="bid_create")
async def bid_create(
    request: Request, programme_id: int, actor: Bidder, db: SessionDep
) -> Response:
    form = await request.form()
    try:
        bid = programmes.create_bid(
            db,
            actor,
            programme_id,
            parse(
                BidCreate,
                {"title": form.get("title", ""), "sha_code": form.get("sha_code", "")},
            ),
        )
    except FormInvalid as exc:
        return _form_page(
            request,
            "Start a bid",
            f"/programmes/{programme_id}/bids/new",
            bid_create_fields(form),
            exc.errors,
            f"/programmes/{programme_id}",
            "Create draft bid",
        )
    return RedirectResponse(f"/bids/{bid.id}/edit", status_code=303)


@router.get("/bids/{bid_id}", name="bid_detail")
async def bid_detail(
    request: Request, bid_id: int, actor: BidReaders, db: SessionDep
) -> Response:
    bid = programmes.get_bid(db, actor, bid_id)
    prog = programmes.get_programme(db, actor, bid.programme_id)
    context: dict[str, Any] = {"title": bid.title, "bid": bid, "programme": prog}
    if actor.role == Role.COMMISSIONER:
        context["support_fields"] = support_fields()
        context["can_support"] = actor.pct_code in bid.pct_codes and all(
            s.pct_code != actor.pct_code for s in bid.support
        )
    return render(request, "bids/detail.jinja", context)


def _edit_page(
    request: Request,
    bid: Any,
    prog: Any,
    form: FormData | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "bids/edit.jinja",
        {
            "title": f"Edit bid: {bid.title}",
            "bid": bid,
            "programme": prog,
            "posted": form,
            "errors": errors or {},
            "partner_fields": partner_fields(),
            "inequality_fields": inequality_fields(),
            "target_fields": target_fields(),
        },
        status_code=400 if errors else 200,
    )


@router.get("/bids/{bid_id}/edit", name="bid_edit_form")
async def bid_edit_form(
    request: Request, bid_id: int, actor: Bidder, db: SessionDep
) -> Response:
    bid = programmes.get_bid(db, actor, bid_id)
    if bid.status != "draft":
        return RedirectResponse(f"/bids/{bid_id}", status_code=303)
    return _edit_page(
        request, bid, programmes.get_programme(db, actor, bid.programme_id)
    )


@router.post("/bids/{bid_id}/edit", name="bid_update")
async def bid_update(
    request: Request, bid_id: int, actor: BidOwner, db: SessionDep
) -> Response:
    form = await request.form()
    try:
        programmes.update_bid(
            db, actor, bid_id, parse(BidUpdate, bid_update_data(form))
        )
    except FormInvalid as exc:
        bid = programmes.get_bid(db, actor, bid_id)
        return _edit_page(
            request,
            bid,
            programmes.get_programme(db, actor, bid.programme_id),
            form,
            exc.errors,
        )
    return RedirectResponse(f"/bids/{bid_id}/edit#saved", status_code=303)


async def _sub_form(
    request: Request,
    bid_id: int,
    title: str,
    suffix: str,
    fields: Callable[[FormData | None], list[FieldSpec]],
    action: Callable[[FormData], object],
    rename: dict[str, str] | None = None,
) -> Response:
    """Run one bid sub-form; `rename` maps input fields to the form's field ids."""
    form = await request.form()
    try:
        action(form)
    except FormInvalid as exc:
        return _form_page(
            request,
            title,
            f"/bids/{bid_id}/{suffix}",
            fields(form),
            {(rename or {}).get(k, k): m for k, m in exc.errors.items()},
            f"/bids/{bid_id}/edit",
        )
    return RedirectResponse(f"/bids/{bid_id}/edit", status_code=303)


@router.post("/bids/{bid_id}/partners", name="bid_partner_add")
async def bid_partner_add(
    request: Request, bid_id: int, actor: BidOwner, db: SessionDep
) -> Response:
    return await _sub_form(
        request,
        bid_id,
        "Add a partner organisation",
        "partners",
        partner_fields,
        lambda f: programmes.add_partner(
            db, actor, bid_id, parse(PartnerInput, partner_data(f))
        ),
    )


@router.post("/bids/{bid_id}/partners/{partner_id}/delete", name="bid_partner_remove")
async def bid_partner_remove(
    request: Request, bid_id: int, partner_id: int, actor: BidOwner, db: SessionDep
) -> Response:
    programmes.remove_partner(db, actor, bid_id, partner_id)
    return RedirectResponse(f"/bids/{bid_id}/edit", status_code=303)


@router.post("/bids/{bid_id}/inequalities", name="bid_inequality_add")
async def bid_inequality_add(
    request: Request,
    bid_id: int,
    actor: BidOwner,
    db: SessionDep,
    baselines: BaselinesDep,
) -> Response:
    return await _sub_form(
        request,
        bid_id,
        "Commit to a specific inequality",
        "inequalities",
        inequality_fields,
        lambda f: programmes.add_inequality(
            db, actor, bid_id, parse(InequalityInput, inequality_data(f)), baselines
        ),
    )


@router.post("/bids/{bid_id}/targets", name="bid_target_add")
async def bid_target_add(
    request: Request,
    bid_id: int,
    actor: BidOwner,
    db: SessionDep,
    baselines: BaselinesDep,
) -> Response:
    return await _sub_form(
        request,
        bid_id,
        "Add a step-change outcome target",
        "targets",
        target_fields,
        lambda f: programmes.add_target(
            db, actor, bid_id, parse(TargetInput, target_data(f)), baselines
        ),
        rename={"indicator_id": "target_indicator_id"},
    )


@router.post("/bids/{bid_id}/attachments", name="bid_attachment_add")
async def bid_attachment_add(
    request: Request,
    bid_id: int,
    actor: BidOwner,
    db: SessionDep,
    settings: SettingsDep,
) -> Response:
    form = await request.form()
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile):
            raise FormInvalid({"file": "Select a file to upload"})
        data = await upload.read(programmes.MAX_ATTACHMENT_BYTES + 1)
        programmes.add_attachment(
            db, actor, bid_id, upload.filename or "", data, settings.upload_dir
        )
    except FormInvalid as exc:
        return _form_page(
            request,
            "Upload an attachment",
            f"/bids/{bid_id}/attachments",
            [
                FieldSpec(
                    "file",
                    "Attachment",
                    "file",
                    "PDF, Word (.docx), Excel (.xlsx), CSV or text; up to 10MB",
                )
            ],
            exc.errors,
            f"/bids/{bid_id}/edit",
            "Upload",
            multipart=True,
        )
    return RedirectResponse(f"/bids/{bid_id}/edit", status_code=303)


@router.get(
    "/bids/{bid_id}/attachments/{attachment_id}", name="bid_attachment_download"
)
async def bid_attachment_download(
    request: Request,
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


@router.post("/bids/{bid_id}/submit", name="bid_submit")
async def bid_submit(
    request: Request, bid_id: int, actor: BidOwner, db: SessionDep
) -> Response:
    try:
        programmes.submit_bid(db, actor, bid_id)
    except FormInvalid as exc:
        bid = programmes.get_bid(db, actor, bid_id)
        return _edit_page(
            request,
            bid,
            programmes.get_programme(db, actor, bid.programme_id),
            None,
            exc.errors,
        )
    return RedirectResponse(f"/bids/{bid_id}", status_code=303)


@router.post("/bids/{bid_id}/support", name="bid_support")
async def bid_support(
    request: Request, bid_id: int, actor: BidSupporter, db: SessionDep
) -> Response:
    form = await request.form()
    try:
        programmes.confirm_support(
            db,
            actor,
            bid_id,
            parse(SupportInput, {"statement": form.get("statement", "")}),
        )
    except FormInvalid as exc:
        return _form_page(
            request,
            "Confirm PCT support",
            f"/bids/{bid_id}/support",
            support_fields(form),
            exc.errors,
            f"/bids/{bid_id}",
            "Confirm support",
        )
    return RedirectResponse(f"/bids/{bid_id}", status_code=303)


@router.get("/bids/{bid_id}/letter", name="bid_letter")
async def bid_letter(
    request: Request, bid_id: int, actor: LetterReaders, db: SessionDep
) -> Response:
    letter = assessment.feedback(db, actor, bid_id)
    if request.query_params.get("format") == "txt":
        return PlainTextResponse(
            letter,
            headers={
                "Content-Disposition": f'attachment; filename="bid-{bid_id}-feedback.txt"'
            },
        )
    return render(
        request,
        "bids/letter.jinja",
        {"title": "Feedback letter", "letter": letter, "bid_id": bid_id},
    )
