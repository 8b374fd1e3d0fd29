"""Outcome-based contract pages and JSON API (`/contracts`, `/api/contracts`).

Commissioners (of the contract's PCT) and admins create, upload and edit contracts,
run checks, settle years and run simulations; providers (bidder-role users whose
organisation is the lead provider or a subcontractor) read their own contracts,
statements and simulations; admins see everything; the public sees nothing. Object
checks (`workflow.visible` / `workflow.editable`) run before any input is read, and
what a user may not see answers 404.
"""

from __future__ import annotations

import functools
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from carepilot.accounts.model import Actor, Role
from carepilot.contracts import repo, workflow
from carepilot.contracts import statement as st
from carepilot.programmes.model import FormInvalid, NotFound
from carepilot.web.deps import SessionDep, SettingsDep, allow
from carepilot.web.forms import FieldSpec
from carepilot.web.rendering import render

router = APIRouter(tags=["contracts"])

ContractReaders = Annotated[
    Actor, Depends(allow(Role.ADMIN, Role.COMMISSIONER, Role.BIDDER))
]
ContractEditors = Annotated[Actor, Depends(allow(Role.ADMIN, Role.COMMISSIONER))]

DOWNLOAD_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "pdf": "application/pdf",
    "html": "text/html; charset=utf-8",
}


def _yaml_fields(form: FormData | None, value: str = "") -> list[FieldSpec]:
    text = str(form.get("yaml_text") or "") if form is not None else value
    return [
        FieldSpec(
            "yaml_text",
            "Contract definition (YAML)",
            "textarea",
            hint="See docs/contracts.md for every field. Percentages as percentages "
            "(2.5 means 2.5 %), money in pounds.",
            value=text,
            rows=30,
        ),
        FieldSpec(
            "yaml_file",
            "Or upload a YAML file",
            "file",
            hint="An uploaded file replaces the text above.",
        ),
    ]


async def _yaml_from_form(form: FormData) -> str:
    upload = form.get("yaml_file")
    if isinstance(upload, UploadFile) and upload.filename:
        raw = await upload.read(1_000_001)
        if len(raw) > 1_000_000:
            raise FormInvalid({"yaml_file": "The file must be smaller than 1 MB"})
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise FormInvalid(
                {"yaml_file": "The file must be UTF-8 text (a YAML contract)"}
            ) from None
    return str(form.get("yaml_text") or "")


def _form_error(
    request: Request,
    title: str,
    action: str,
    form: FormData,
    exc: FormInvalid,
    back: str,
) -> Response:
    return render(
        request,
        "form_page.jinja",
        {
            "title": title,
            "action": action,
            "fields": _yaml_fields(form),
            "errors": exc.errors,
            "submit": "Save contract",
            "back": back,
            "multipart": True,
        },
        status_code=400,
    )


# ------------------------------------------------------------------------ pages


@router.get("/contracts", name="contract_list")
def contract_list(request: Request, actor: ContractReaders, db: SessionDep) -> Response:
    return render(
        request,
        "contracts/list.jinja",
        {
            "title": "Outcome-based contracts",
            "contracts": workflow.list_contracts(db, actor),
            "can_create": actor.role in (Role.ADMIN, Role.COMMISSIONER),
        },
    )


@router.get("/contracts/new", name="contract_new")
def contract_new(request: Request, actor: ContractEditors) -> Response:
    return render(
        request,
        "form_page.jinja",
        {
            "title": "New contract",
            "intro": "Write or upload the contract definition. It is checked when "
            "you save; errors name the line and field.",
            "action": "/contracts/new",
            "fields": _yaml_fields(None),
            "submit": "Save contract",
            "back": "/contracts",
            "multipart": True,
        },
    )


@router.post("/contracts/new", name="contract_create")
async def contract_create(
    request: Request, actor: ContractEditors, db: SessionDep
) -> Response:
    form = await request.form()
    try:
        view = workflow.create_contract(db, actor, await _yaml_from_form(form))
    except FormInvalid as exc:
        db.rollback()
        return _form_error(
            request, "New contract", "/contracts/new", form, exc, "/contracts"
        )
    return RedirectResponse(f"/contracts/{view.id}", status_code=303)


def _detail_context(
    db: SessionDep, actor: Actor, view: repo.ContractView
) -> dict[str, Any]:
    return {
        "title": view.title,
        "contract": view,
        "statements": repo.runs(db, view.id, workflow.SETTLEMENT),
        "simulations": repo.runs(db, view.id, workflow.SIMULATION),
        "versions": [
            (v.version, v.checksum, v.created_at) for v in repo.versions(db, view.id)
        ],
        "can_edit": actor.role is Role.ADMIN
        or (
            actor.role is Role.COMMISSIONER and actor.pct_code == view.commissioner_code
        ),
        "years": workflow.stored_contract(view).term.years(),
        "checks": None,
    }


@router.get("/contracts/{contract_id}", name="contract_detail")
def contract_detail(
    request: Request, contract_id: int, actor: ContractReaders, db: SessionDep
) -> Response:
    view = workflow.visible(db, actor, contract_id)
    return render(request, "contracts/detail.jinja", _detail_context(db, actor, view))


@router.get("/contracts/{contract_id}/edit", name="contract_edit")
def contract_edit(
    request: Request, contract_id: int, actor: ContractEditors, db: SessionDep
) -> Response:
    workflow.editable(db, actor, contract_id)
    view = workflow.visible(db, actor, contract_id)
    return render(
        request,
        "form_page.jinja",
        {
            "title": f"Edit {view.slug} (version {view.version})",
            "intro": "Saving makes a new version; earlier versions are kept.",
            "action": f"/contracts/{contract_id}/edit",
            "fields": _yaml_fields(None, view.yaml_text),
            "submit": "Save contract",
            "back": f"/contracts/{contract_id}",
            "multipart": True,
        },
    )


@router.post("/contracts/{contract_id}/edit", name="contract_update")
async def contract_update(
    request: Request, contract_id: int, actor: ContractEditors, db: SessionDep
) -> Response:
    workflow.editable(db, actor, contract_id)
    form = await request.form()
    try:
        workflow.update_contract(db, actor, contract_id, await _yaml_from_form(form))
    except FormInvalid as exc:
        db.rollback()
        url = f"/contracts/{contract_id}"
        return _form_error(request, "Edit contract", f"{url}/edit", form, exc, url)
    return RedirectResponse(f"/contracts/{contract_id}", status_code=303)


@router.post("/contracts/{contract_id}/check", name="contract_check")
async def contract_check(
    request: Request, contract_id: int, actor: ContractEditors, db: SessionDep
) -> Response:
    workflow.editable(db, actor, contract_id)
    view = workflow.visible(db, actor, contract_id)
    form = await request.form()
    known: set[str] | None = None
    errors: dict[str, str] = {}
    upload = form.get("results")
    if isinstance(upload, UploadFile) and upload.filename:
        try:
            frame, _ = workflow.results_frame(await upload.read(), upload.filename)
            known = {str(i) for i in frame["indicator_id"].unique()}
        except FormInvalid as exc:
            errors = exc.errors
    ctx = _detail_context(db, actor, view)
    ctx["checks"] = workflow.run_checks(view, known)
    ctx["errors"] = errors
    return render(
        request, "contracts/detail.jinja", ctx, status_code=400 if errors else 200
    )


async def _execute(
    form: FormData,
    contract_id: int,
    actor: Actor,
    db: SessionDep,
    settings: SettingsDep,
    kind: str,
) -> repo.RunView:
    """Settle or simulate from a submitted form, off the event loop.

    Settlement reads the analytics database and a simulation runs hundreds of
    Monte Carlo settlements: seconds of blocking work. Running it in the thread
    pool keeps every other user's pages answering meanwhile (the session is
    used by one thread at a time, as the request awaits the result).
    """
    upload = form.get("results")
    data, name = b"", "results.csv"
    if isinstance(upload, UploadFile) and upload.filename:
        data, name = await upload.read(), upload.filename
    year = str(form.get("year") or "")
    if kind == workflow.SETTLEMENT:
        job = functools.partial(
            workflow.settle_and_store,
            db,
            actor,
            contract_id,
            year,
            data,
            name,
            settings.analytics_db,
            quarterly=form.get("quarterly") in ("yes", "true"),
        )
    else:
        job = functools.partial(
            workflow.simulate_and_store,
            db,
            actor,
            contract_id,
            year,
            str(form.get("runs") or ""),
            data,
            name,
            settings.analytics_db,
        )
    return await run_in_threadpool(job)


async def _run(
    request: Request,
    contract_id: int,
    actor: Actor,
    db: SessionDep,
    settings: SettingsDep,
    kind: str,
) -> Response:
    workflow.editable(db, actor, contract_id)
    view = workflow.visible(db, actor, contract_id)
    form = await request.form()
    try:
        run = await _execute(form, contract_id, actor, db, settings, kind)
    except FormInvalid as exc:
        db.rollback()
        ctx = _detail_context(db, actor, view)
        ctx["errors"] = exc.errors
        return render(request, "contracts/detail.jinja", ctx, status_code=400)
    page = "statements" if kind == workflow.SETTLEMENT else "simulations"
    return RedirectResponse(
        f"/contracts/{contract_id}/{page}/{run.id}", status_code=303
    )


@router.post("/contracts/{contract_id}/settle", name="contract_settle")
async def contract_settle(
    request: Request,
    contract_id: int,
    actor: ContractEditors,
    db: SessionDep,
    settings: SettingsDep,
) -> Response:
    return await _run(request, contract_id, actor, db, settings, workflow.SETTLEMENT)


@router.post("/contracts/{contract_id}/simulate", name="contract_simulate")
async def contract_simulate(
    request: Request,
    contract_id: int,
    actor: ContractEditors,
    db: SessionDep,
    settings: SettingsDep,
) -> Response:
    return await _run(request, contract_id, actor, db, settings, workflow.SIMULATION)


@router.get("/contracts/{contract_id}/statements/{run_id}", name="contract_statement")
def contract_statement(
    request: Request,
    contract_id: int,
    run_id: int,
    actor: ContractReaders,
    db: SessionDep,
) -> Response:
    view, run = workflow.get_run(db, actor, contract_id, run_id, workflow.SETTLEMENT)
    return render(
        request,
        "contracts/statement.jinja",
        {
            "title": f"{view.title}: {run.label}",
            "contract": view,
            "run": run,
            "statements": run.result["statements"],
            "sections": [_sections(doc) for doc in run.result["statements"]],
        },
    )


def _sections(doc: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Statement lines grouped by section, in statement order."""
    out: list[tuple[str, list[dict[str, Any]]]] = []
    for line in doc["lines"]:
        if not out or out[-1][0] != line["section"]:
            out.append((line["section"], []))
        out[-1][1].append(line)
    return out


@router.get(
    "/contracts/{contract_id}/statements/{run_id}/download/{fmt}",
    name="contract_statement_download",
)
def contract_statement_download(
    contract_id: int,
    run_id: int,
    fmt: str,
    actor: ContractReaders,
    db: SessionDep,
) -> Response:
    view, run = workflow.get_run(db, actor, contract_id, run_id, workflow.SETTLEMENT)
    if fmt not in DOWNLOAD_TYPES:
        raise NotFound(f"no {fmt} download; choose csv, json, pdf or html")
    docs: list[dict[str, Any]] = run.result["statements"]
    if fmt == "csv":
        body: str | bytes = st.csv_text(docs)
    elif fmt == "json":
        body = json.dumps(
            {"statements": docs, "input_checksums": run.input_checksums}, indent=2
        )
    else:
        html = st.render_html(docs)
        body = html if fmt == "html" else _pdf(html)
    filename = f"{view.slug}-{run.year}-{run.id}.{fmt}"
    return Response(
        body,
        media_type=DOWNLOAD_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _pdf(html: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=html).write_pdf() or b""


@router.get("/contracts/{contract_id}/simulations/{run_id}", name="contract_simulation")
def contract_simulation(
    request: Request,
    contract_id: int,
    run_id: int,
    actor: ContractReaders,
    db: SessionDep,
) -> Response:
    view, run = workflow.get_run(db, actor, contract_id, run_id, workflow.SIMULATION)
    return render(
        request,
        "contracts/simulation.jinja",
        {
            "title": f"{view.title}: {run.label}",
            "contract": view,
            "run": run,
            "doc": run.result,
        },
    )


@router.get(
    "/contracts/{contract_id}/simulations/{run_id}/plot.svg",
    name="contract_simulation_plot",
)
def contract_simulation_plot(
    contract_id: int, run_id: int, actor: ContractReaders, db: SessionDep
) -> Response:
    _, run = workflow.get_run(db, actor, contract_id, run_id, workflow.SIMULATION)
    return Response(str(run.result.get("plot_svg") or ""), media_type="image/svg+xml")


# -------------------------------------------------------------------------- API


class ContractInput(BaseModel):
    """A contract definition as YAML text."""

    yaml_text: str = Field(description="The contract YAML (see docs/contracts.md).")


def _api_contract(view: repo.ContractView) -> dict[str, Any]:
    return {
        "id": view.id,
        "slug": view.slug,
        "title": view.title,
        "version": view.version,
        "checksum": view.checksum,
        "commissioner_code": view.commissioner_code,
        "parties": [
            {"role": p.role, "organisation_code": p.organisation_code, "name": p.name}
            for p in view.parties
        ],
        "definition": view.definition,
        "yaml_text": view.yaml_text,
        "updated_at": view.updated_at.isoformat(),
    }


def _api_run(run: repo.RunView) -> dict[str, Any]:
    return {
        "id": run.id,
        "contract_id": run.contract_id,
        "version": run.version,
        "kind": run.kind,
        "year": run.year,
        "label": run.label,
        "input_checksums": run.input_checksums,
        "created_at": run.created_at.isoformat(),
    }


@router.get("/api/contracts", name="api_contracts")
def api_contracts(actor: ContractReaders, db: SessionDep) -> list[dict[str, Any]]:
    return [_api_contract(v) for v in workflow.list_contracts(db, actor)]


@router.post("/api/contracts", name="api_contract_create", status_code=201)
def api_contract_create(
    body: ContractInput, actor: ContractEditors, db: SessionDep
) -> dict[str, Any]:
    return _api_contract(workflow.create_contract(db, actor, body.yaml_text))


@router.get("/api/contracts/{contract_id}", name="api_contract")
def api_contract(
    contract_id: int, actor: ContractReaders, db: SessionDep
) -> dict[str, Any]:
    return _api_contract(workflow.visible(db, actor, contract_id))


@router.put("/api/contracts/{contract_id}", name="api_contract_update")
def api_contract_update(
    contract_id: int, body: ContractInput, actor: ContractEditors, db: SessionDep
) -> dict[str, Any]:
    return _api_contract(
        workflow.update_contract(db, actor, contract_id, body.yaml_text)
    )


@router.get("/api/contracts/{contract_id}/runs", name="api_contract_runs")
def api_contract_runs(
    contract_id: int, actor: ContractReaders, db: SessionDep
) -> list[dict[str, Any]]:
    workflow.visible(db, actor, contract_id)
    return [_api_run(r) for r in repo.runs(db, contract_id)]


@router.get(
    "/api/contracts/{contract_id}/statements/{run_id}", name="api_contract_statement"
)
def api_contract_statement(
    contract_id: int, run_id: int, actor: ContractReaders, db: SessionDep
) -> dict[str, Any]:
    _, run = workflow.get_run(db, actor, contract_id, run_id, workflow.SETTLEMENT)
    return {**_api_run(run), "statements": run.result["statements"]}


@router.get(
    "/api/contracts/{contract_id}/simulations/{run_id}", name="api_contract_simulation"
)
def api_contract_simulation(
    contract_id: int, run_id: int, actor: ContractReaders, db: SessionDep
) -> dict[str, Any]:
    _, run = workflow.get_run(db, actor, contract_id, run_id, workflow.SIMULATION)
    doc = {k: v for k, v in run.result.items() if k != "plot_svg"}
    return {**_api_run(run), "simulation": doc}


async def _api_execute(
    request: Request,
    contract_id: int,
    actor: Actor,
    db: SessionDep,
    settings: SettingsDep,
    kind: str,
) -> dict[str, Any]:
    workflow.editable(db, actor, contract_id)
    form = await request.form()
    try:
        run = await _execute(form, contract_id, actor, db, settings, kind)
    except FormInvalid:
        db.rollback()
        raise
    if kind == workflow.SETTLEMENT:
        return {**_api_run(run), "statements": run.result["statements"]}
    doc = {k: v for k, v in run.result.items() if k != "plot_svg"}
    return {**_api_run(run), "simulation": doc}


@router.post(
    "/api/contracts/{contract_id}/statements",
    name="api_contract_settle",
    status_code=201,
)
async def api_contract_settle(
    request: Request,
    contract_id: int,
    actor: ContractEditors,
    db: SessionDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Settle a contract year: multipart form with `year`, optional
    `quarterly=true` and the indicator results file as `results`."""
    return await _api_execute(
        request, contract_id, actor, db, settings, workflow.SETTLEMENT
    )


@router.post(
    "/api/contracts/{contract_id}/simulations",
    name="api_contract_simulate",
    status_code=201,
)
async def api_contract_simulate(
    request: Request,
    contract_id: int,
    actor: ContractEditors,
    db: SessionDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Simulate a contract year: multipart form with `year`, `runs` and the
    indicator results file as `results`."""
    return await _api_execute(
        request, contract_id, actor, db, settings, workflow.SIMULATION
    )
