"""Prospectus pages: public list and reading; admin create, publish, dashboard, audit."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from carepilot.audit import service as audit
from carepilot.programmes import assessment
from carepilot.programmes import service as programmes
from carepilot.programmes.inputs import ProgrammeCreate, parse
from carepilot.programmes.model import FormInvalid
from carepilot.web.deps import Admin, Anyone, SessionDep
from carepilot.web.forms import (
    decision_fields,
    override_fields,
    programme_data,
    programme_fields,
)
from carepilot.web.rendering import render

router = APIRouter(tags=["pages: programmes"])


@router.get("/", name="home")
async def home(request: Request, actor: Anyone, db: SessionDep) -> Response:
    return render(
        request,
        "programmes/index.jinja",
        {
            "title": "Integrated care pilot programmes",
            "programmes": programmes.list_programmes(db, actor),
        },
    )


@router.get("/programmes/{programme_id}", name="programme")
async def programme(
    request: Request, programme_id: int, actor: Anyone, db: SessionDep
) -> Response:
    prog = programmes.get_programme(db, actor, programme_id)
    return render(
        request, "programmes/detail.jinja", {"title": prog.title, "programme": prog}
    )


def _new_page(
    request: Request, form: object = None, errors: dict[str, str] | None = None
) -> Response:
    return render(
        request,
        "form_page.jinja",
        {
            "title": "Create a programme prospectus",
            "action": "/admin/programmes/new",
            "fields": programme_fields(form),  # type: ignore[arg-type]
            "errors": errors or {},
            "submit": "Create draft prospectus",
            "back": "/admin",
        },
        status_code=400 if errors else 200,
    )


@router.get("/admin", name="admin_home")
async def admin_home(request: Request, actor: Admin, db: SessionDep) -> Response:
    return render(
        request,
        "programmes/admin.jinja",
        {
            "title": "Programme administration",
            "programmes": programmes.list_programmes(db, actor),
        },
    )


@router.get("/admin/programmes/new", name="programme_new_form")
async def programme_new_form(request: Request, actor: Admin) -> Response:
    return _new_page(request)


@router.post("/admin/programmes/new", name="programme_create")
async def programme_create(request: Request, actor: Admin, db: SessionDep) -> Response:
    form = await request.form()
    try:
        prog = programmes.create_programme(
            db, actor, parse(ProgrammeCreate, programme_data(form))
        )
    except FormInvalid as exc:
        return _new_page(request, form, exc.errors)
    return RedirectResponse(f"/admin/programmes/{prog.id}", status_code=303)


@router.post("/admin/programmes/{programme_id}/publish", name="programme_publish")
async def programme_publish(
    request: Request, programme_id: int, actor: Admin, db: SessionDep
) -> Response:
    programmes.publish_programme(db, actor, programme_id)
    return RedirectResponse(f"/admin/programmes/{programme_id}", status_code=303)


@router.get("/admin/programmes/{programme_id}", name="programme_admin")
async def programme_admin(
    request: Request, programme_id: int, actor: Admin, db: SessionDep
) -> Response:
    prog = programmes.get_programme(db, actor, programme_id)
    return render(
        request,
        "programmes/manage.jinja",
        {
            "title": f"Manage: {prog.title}",
            "programme": prog,
            "rows": assessment.moderation(db, actor, programme_id),
            "assessors": assessment.assessors(db, actor),
            "override_fields": override_fields(),
            "decision_fields": decision_fields(),
        },
    )


@router.get("/admin/audit", name="audit_log")
async def audit_log(request: Request, actor: Admin, db: SessionDep) -> Response:
    report = audit.verify(db)
    return render(
        request,
        "programmes/audit.jinja",
        {"title": "Audit log", "events": audit.recent(db, 300), "report": report},
    )
