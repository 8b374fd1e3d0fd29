"""Quality account pages: providers edit their inputs, everyone reads published ones.

Who may edit the quality account of provider ``X`` (a practice, a pilot or a
provider - acute, community or mental health trust - in the results):

* a bidder-role user (provider or consortium user) whose ``organisation_code`` is X;
* a commissioner whose ``pct_code`` is the commissioner X rolls up to (practices)
  or the provider's host commissioner (``providers.commissioner_code``);
* a programme admin (any provider).

Inputs are files under ``Settings.publication_dir / "quality_accounts" / X`` in the
layout of `carepilot.publication.quality_account.inputs` (seeded from
``examples/quality_accounts`` with three priorities chosen from X's own
indicators), so the CLI ``carepilot quality-account --inputs DIR`` reads the same
files. Every change and every publication is recorded in the audit chain
(`carepilot.audit`) with the before/after text. A published year is marked by a
``published-YYYY`` file; the public can read and download only published years.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from carepilot.accounts.model import Actor, Role
from carepilot.audit import service as audit
from carepilot.errors import InputDataError, PermissionDenied, UserError
from carepilot.programmes.model import NotFound
from carepilot.publication.quality_account.assemble import assemble, year_label
from carepilot.publication.quality_account.inputs import load_inputs
from carepilot.publication.quality_account.render import render_html, render_pdf
from carepilot.web.deps import Anyone, SessionDep, allow
from carepilot.web.rendering import render
from carepilot.web.routers.publication import Publication, PublicationDep

router = APIRouter(tags=["pages: quality accounts"])

EXAMPLES = Path(__file__).resolve().parents[4] / "examples" / "quality_accounts"
PROVIDER_TYPES = {"practice": "gp", "pilot": "pilot", "provider": "provider"}
"""Area type → provider type; a `provider` row's type (acute, community,
mental_health) comes from the providers table (`Publication.providers`)."""

Editor = Annotated[Actor, Depends(allow(Role.ADMIN, Role.COMMISSIONER, Role.BIDDER))]


def _root(request: Request) -> Path:
    settings = request.app.state.settings
    base = Path(getattr(settings, "publication_dir", "var/publication"))
    return base / "quality_accounts"


def _provider(pub: Publication, code: str) -> tuple[str, str, str | None]:
    """(name, provider type, commissioner code) of a practice, pilot or provider."""
    results = pub.released()
    rows = results[
        (results["area_code"] == code) & results["area_type"].isin(PROVIDER_TYPES)
    ]
    if rows.empty:
        raise NotFound(
            f"`{code}` is not a practice, pilot or provider in the published results"
        )
    row = rows.iloc[0]
    if row["area_type"] == "provider":
        return _trust(pub, code, str(row["area_name"]))
    parents = results.drop_duplicates("area_code").set_index("area_code")[
        ["parent_area_code", "area_type"]
    ]
    commissioner = None
    current = row["parent_area_code"]
    while isinstance(current, str) and current in parents.index:
        if parents.loc[current, "area_type"] == "commissioner":
            commissioner = current
            break
        current = parents.loc[current, "parent_area_code"]
    return str(row["area_name"]), PROVIDER_TYPES[str(row["area_type"])], commissioner


def _trust(pub: Publication, code: str, name: str) -> tuple[str, str, str | None]:
    """(name, provider type, host commissioner) of a provider from its table."""
    info = pub.providers
    match = info[info["provider_code"] == code] if len(info) else info
    if match.empty:
        return name, "provider", None
    row = match.iloc[0]
    kind = row["provider_type"]
    comm = row["commissioner_code"]
    return (
        name,
        str(kind) if isinstance(kind, str) else "provider",
        str(comm) if isinstance(comm, str) else None,
    )


def can_edit(actor: Actor | None, code: str, commissioner: str | None) -> bool:
    """The provider→user mapping documented in the module docstring."""
    if actor is None:
        return False
    if actor.role == Role.ADMIN:
        return True
    if actor.role == Role.BIDDER:
        return actor.organisation_code == code
    if actor.role == Role.COMMISSIONER:
        return commissioner is not None and actor.pct_code == commissioner
    return False


def _year(year: int) -> int:
    if not 2000 <= year <= 2100:
        raise NotFound(f"year {year} is out of range; give e.g. 2023 for 2023/24")
    return year


def _folder(request: Request, pub: Publication, code: str) -> Path:
    """The provider's inputs folder, seeded on first use."""
    folder = _root(request) / code
    if folder.is_dir():
        return folder
    folder.mkdir(parents=True)
    for name in ("provider.yaml", "ceo_statement.md", "assurance.yaml", "annex.yaml"):
        shutil.copy(EXAMPLES / name, folder / name)
    results = pub.released()
    own = results[(results["area_code"] == code) & (results["breakdown"] == "total")]
    ids = sorted(own["indicator_id"].unique())[:3] or ["(choose an indicator)"]
    while len(ids) < 3:
        ids.append(ids[-1])
    priorities = [
        {
            "title": pub.meta[i].title if i in pub.meta else i,
            "domain": "clinical effectiveness",
            "why": "",
            "indicators": [i],
            "aim": "Improve on last year's result",
        }
        for i in ids
    ]
    (folder / "priorities.yaml").write_text(
        yaml.safe_dump(priorities, sort_keys=False), encoding="utf-8"
    )
    return folder


def _published(request: Request, code: str, year: int) -> bool:
    return (_root(request) / code / f"published-{year}").is_file()


def _account_html(
    request: Request, pub: Publication, code: str, year: int, standalone: bool
) -> str:
    name, kind, _ = _provider(pub, code)
    inputs = load_inputs(_folder(request, pub, code), code)
    account = assemble(
        pub.released(), code, inputs.provider_name or name, kind, year, inputs, pub.meta
    )
    return render_html(account, standalone=standalone)


def _readable(
    request: Request, pub: Publication, actor: Actor | None, code: str, year: int
) -> bool:
    """Whether `actor` may read the account; raises 404 for unknown providers."""
    _, _, commissioner = _provider(pub, code)
    editor = can_edit(actor, code, commissioner)
    if not editor and not _published(request, code, year):
        raise NotFound(
            f"the {year_label(year)} quality account of `{code}` is not published"
        )
    return editor


@router.get("/quality-accounts", name="quality_accounts")
async def quality_accounts(
    request: Request, actor: Anyone, pub: PublicationDep
) -> Response:
    """Published quality accounts, and the providers the user may edit."""
    published: list[dict[str, Any]] = []
    editable: list[dict[str, str]] = []
    root = _root(request)
    if pub.results is not None:
        results = pub.released()
        providers = results[results["area_type"].isin(PROVIDER_TYPES)].drop_duplicates(
            "area_code"
        )
        for row in providers.sort_values("area_name").itertuples():
            code = str(row.area_code)
            for marker in sorted((root / code).glob("published-*")):
                year = int(marker.name.split("-", 1)[1])
                published.append(
                    {
                        "code": code,
                        "name": row.area_name,
                        "year": year,
                        "label": year_label(year),
                    }
                )
            if actor is not None and can_edit(actor, code, _provider(pub, code)[2]):
                editable.append({"code": code, "name": str(row.area_name)})
    years = (
        sorted(
            {d.year - (d.month < 4) for d in pub.results["period_end"]}, reverse=True
        )
        if pub.results is not None
        else []
    )
    return render(
        request,
        "publication/qa_list.jinja",
        {
            "title": "Quality accounts",
            "published": published,
            "editable": editable,
            "years": [(y, year_label(y)) for y in years],
        },
    )


@router.get("/quality-accounts/{provider}/{year}", name="quality_account")
async def quality_account(
    request: Request, provider: str, year: int, actor: Anyone, pub: PublicationDep
) -> Response:
    """The account as a web page (drafts only for its editors)."""
    year = _year(year)
    editor = _readable(request, pub, actor, provider, year)
    body = _account_html(request, pub, provider, year, standalone=False)
    return render(
        request,
        "publication/qa_view.jinja",
        {
            "title": f"Quality account {year_label(year)}: {_provider(pub, provider)[0]}",
            "body": body,
            "code": provider,
            "year": year,
            "editor": editor,
            "published": _published(request, provider, year),
        },
    )


@router.get(
    "/quality-accounts/{provider}/{year}/download/{fmt}",
    name="quality_account_download",
)
async def quality_account_download(
    request: Request,
    provider: str,
    year: int,
    fmt: str,
    actor: Anyone,
    pub: PublicationDep,
) -> Response:
    """The account as a standalone HTML file or an A4 PDF (WeasyPrint)."""
    year = _year(year)
    if fmt not in ("html", "pdf"):
        raise NotFound("download format must be html or pdf")
    _readable(request, pub, actor, provider, year)
    html = _account_html(request, pub, provider, year, standalone=True)
    stem = f"quality-account-{provider}-{year_label(year).replace('/', '-')}"
    if fmt == "html":
        return Response(
            html,
            media_type="text/html; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{stem}.html"'},
        )
    out = _root(request) / provider / "pdf" / f"{stem}.pdf"
    render_pdf(html, out)
    return Response(
        out.read_bytes(),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{stem}.pdf"'},
    )


def _edit_page(
    request: Request,
    provider: str,
    year: int,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "publication/qa_edit.jinja",
        {
            "title": f"Edit quality account {year_label(year)}: {provider}",
            "code": provider,
            "year": year,
            "values": values,
            "errors": errors or {},
            "published": _published(request, provider, year),
        },
        status_code=400 if errors else 200,
    )


def _editor_for(pub: Publication, actor: Actor, provider: str) -> None:
    _, _, commissioner = _provider(pub, provider)
    if not can_edit(actor, provider, commissioner):
        raise PermissionDenied(
            f"you cannot edit the quality account of `{provider}`: it is edited by "
            "its own provider users, its commissioner and programme admins"
        )


@router.get("/quality-accounts/{provider}/{year}/edit", name="quality_account_edit")
async def quality_account_edit(
    request: Request,
    provider: str,
    year: int,
    pub: PublicationDep,
    actor: Editor,
) -> Response:
    """Form: chief executive's statement (Markdown) and priorities (YAML)."""
    year = _year(year)
    _editor_for(pub, actor, provider)
    folder = _folder(request, pub, provider)
    values = {
        "ceo_statement": (folder / "ceo_statement.md").read_text(encoding="utf-8"),
        "priorities": (folder / "priorities.yaml").read_text(encoding="utf-8"),
    }
    return _edit_page(request, provider, year, values)


@router.post("/quality-accounts/{provider}/{year}/edit", name="quality_account_save")
async def quality_account_save(
    request: Request,
    provider: str,
    year: int,
    db: SessionDep,
    pub: PublicationDep,
    actor: Editor,
) -> Response:
    """Save the inputs if they validate (audited with before/after)."""
    year = _year(year)
    _editor_for(pub, actor, provider)
    form = await request.form()
    values = {
        "ceo_statement": str(form.get("ceo_statement", "")).replace("\r\n", "\n"),
        "priorities": str(form.get("priorities", "")).replace("\r\n", "\n"),
    }
    folder = _folder(request, pub, provider)
    files = {"ceo_statement": "ceo_statement.md", "priorities": "priorities.yaml"}
    before = {k: (folder / f).read_text(encoding="utf-8") for k, f in files.items()}
    errors: dict[str, str] = {}
    if not values["ceo_statement"].strip():
        errors["ceo_statement"] = "Enter the chief executive's statement on quality"
    if not errors:
        for key, name in files.items():
            (folder / name).write_text(values[key], encoding="utf-8")
        try:
            inputs = load_inputs(folder, provider)
            known = set(pub.released()["indicator_id"])
            unknown = sorted(
                {i for p in inputs.priorities for i in p.indicators} - known
            )
            if unknown:
                raise InputDataError(
                    f"priorities name indicators not in the results: "
                    f"{', '.join(unknown)}"
                )
        except UserError as exc:
            errors["priorities"] = str(exc)
        if errors:
            for key, name in files.items():
                (folder / name).write_text(before[key], encoding="utf-8")
    if errors:
        return _edit_page(request, provider, year, values, errors)
    audit.record(
        db, actor, "quality_account.edit", "quality_account", provider, before, values
    )
    db.commit()
    return RedirectResponse(f"/quality-accounts/{provider}/{year}", status_code=303)


@router.post(
    "/quality-accounts/{provider}/{year}/publish", name="quality_account_publish"
)
async def quality_account_publish(
    request: Request,
    provider: str,
    year: int,
    db: SessionDep,
    pub: PublicationDep,
    actor: Editor,
) -> Response:
    """Publish the year's account (it must build); audited."""
    year = _year(year)
    _editor_for(pub, actor, provider)
    _account_html(request, pub, provider, year, standalone=False)  # must build
    folder = _folder(request, pub, provider)
    (folder / f"published-{year}").write_text("published\n", encoding="utf-8")
    audit.record(
        db,
        actor,
        "quality_account.publish",
        "quality_account",
        f"{provider}/{year}",
        None,
        {"year": year_label(year)},
    )
    db.commit()
    return RedirectResponse(f"/quality-accounts/{provider}/{year}", status_code=303)
