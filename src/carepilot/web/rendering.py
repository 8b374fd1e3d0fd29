"""Jinja2 environment (project templates first, then nhsuk-frontend-jinja) and page helpers."""

from __future__ import annotations

import functools
from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import (
    ChainableUndefined,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
)

from carepilot.accounts.model import ROLE_LABELS, Actor, Role
from carepilot.programmes.model import ORG_TYPE_LABELS, SECTION_LABELS, OrgType, Section
from carepilot.web.deps import csrf_token

TEMPLATES_DIR = Path(__file__).parent / "templates"


def _date(value: datetime | date | str | None, fmt: str = "%d %B %Y") -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return value.strftime(fmt)


def _datetime(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%d %B %Y %H:%M UTC")


@functools.cache
def build_environment() -> Environment:
    """The nhsuk-frontend-jinja macros need ChainableUndefined (see its README)."""
    env = Environment(
        loader=ChoiceLoader(
            [
                FileSystemLoader(str(TEMPLATES_DIR)),
                PackageLoader("nhsuk_frontend_jinja"),
            ]
        ),
        undefined=ChainableUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["date"] = _date
    env.filters["datetime"] = _datetime
    env.globals["ROLE_LABELS"] = {r.value: label for r, label in ROLE_LABELS.items()}
    env.globals["ORG_TYPE_LABELS"] = {
        o.value: label for o, label in ORG_TYPE_LABELS.items()
    }
    env.globals["SECTION_LABELS"] = {
        s.value: label for s, label in SECTION_LABELS.items()
    }
    env.globals["SECTIONS"] = list(Section)
    env.globals["ORG_TYPES"] = list(OrgType)
    return env


def navigation(actor: Actor | None) -> list[dict[str, str]]:
    items = [
        {"href": "/", "text": "Programmes"},
        {"href": "/indicators", "text": "Indicators"},
        {"href": "/choose-a-practice", "text": "Choose a practice"},
        {"href": "/open-data", "text": "Open data"},
    ]
    if actor is None:
        return items
    match actor.role:
        case Role.ADMIN:
            items += [
                {"href": "/admin", "text": "Admin"},
                {"href": "/pilots", "text": "Pilots"},
                {"href": "/admin/audit", "text": "Audit log"},
                {"href": "/contracts", "text": "Contracts"},
            ]
        case Role.BIDDER | Role.COMMISSIONER:
            items.append({"href": "/bids", "text": "Bids"})
            items.append({"href": "/contracts", "text": "Contracts"})
        case Role.ASSESSOR:
            items += [
                {"href": "/assessor", "text": "My assessments"},
                {"href": "/assessor/conflicts", "text": "Conflicts of interest"},
            ]
        case Role.STEERING:
            items.append({"href": "/pilots", "text": "Pilots"})
        case _:
            pass
    return items


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    actor: Actor | None = None,
) -> HTMLResponse:
    """Render a page with the signed-in user, CSRF token, nav and CSP nonce."""
    env: Environment = request.app.state.jinja
    auth = getattr(request.state, "auth", None)
    user = actor if actor is not None else getattr(auth, "actor", None)
    ctx: dict[str, Any] = {
        "request": request,
        "actor": user,
        "csrf_token": csrf_token(request) or "",
        "nav": navigation(user),
        "cspNonce": getattr(request.state, "csp_nonce", ""),
        "errors": {},
        "path": request.url.path,
    }
    ctx.update(context or {})
    html = env.get_template(template).render(ctx)
    return HTMLResponse(html, status_code=status_code)
