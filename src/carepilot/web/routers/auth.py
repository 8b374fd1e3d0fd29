"""Log in and log out (server-side sessions, throttled logins, CSRF on both forms)."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from carepilot.accounts import service as accounts
from carepilot.accounts.service import SESSION_LIFETIME
from carepilot.web.deps import (
    SESSION_COOKIE,
    Anyone,
    SessionDep,
    SettingsDep,
    SignedIn,
    client_ip,
    public,
)
from carepilot.web.forms import FieldSpec
from carepilot.web.rendering import render

router = APIRouter(tags=["pages: accounts"])
LOGIN_CSRF_COOKIE = "cp_login_csrf"


def _login_page(
    request: Request,
    token: str,
    email: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
    next_url: str = "/",
) -> Response:
    fields = [
        FieldSpec("email", "Email address", "email", value=email),
        FieldSpec("password", "Password", "password"),
        FieldSpec("next", "", "hidden", value=next_url),
    ]
    response = render(
        request,
        "auth/login.jinja",
        {
            "title": "Log in",
            "fields": fields,
            "errors": errors or {},
            "login_token": token,
        },
        status_code=status,
    )
    return response


def _safe_next(value: str) -> str:
    return value if value.startswith("/") and not value.startswith("//") else "/"


@router.get("/login", name="login_form")
async def login_form(
    request: Request, actor: Anyone, settings: SettingsDep, next: str = "/"
) -> Response:
    token = secrets.token_urlsafe(32)
    response = _login_page(request, token, next_url=_safe_next(next))
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        max_age=3600,
    )
    return response


@router.post("/login", name="login")
async def login(
    request: Request,
    actor: Annotated[object, Depends(public)],
    db: SessionDep,
    settings: SettingsDep,
) -> Response:
    form = await request.form()
    email = str(form.get("email", "")).strip()
    password = str(form.get("password", ""))
    next_url = _safe_next(str(form.get("next", "/")))
    token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    given = str(form.get("login_token", ""))
    if not token or not hmac.compare_digest(token, given):
        new = secrets.token_urlsafe(32)
        resp = _login_page(
            request,
            new,
            email,
            {"email": "Your session expired; try logging in again"},
            400,
            next_url,
        )
        resp.set_cookie(
            LOGIN_CSRF_COOKIE,
            new,
            httponly=True,
            samesite="lax",
            secure=settings.cookie_secure,
        )
        return resp
    errors: dict[str, str] = {}
    if not email:
        errors["email"] = "Enter your email address"
    if not password:
        errors["password"] = "Enter your password"  # noqa: S105 - a message
    if errors:
        return _login_page(request, token, email, errors, 400, next_url)
    result = accounts.login(db, email, password, client_ip(request))
    if result.locked_until is not None:
        return _login_page(
            request,
            token,
            email,
            {
                "email": f"Too many failed attempts. Try again after {result.locked_until:%H:%M} UTC"
            },
            429,
            next_url,
        )
    if result.actor is None or result.session_id is None:
        return _login_page(
            request,
            token,
            email,
            {"email": "The email address or password is not correct"},
            400,
            next_url,
        )
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        result.session_id,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.get("/logout", name="logout_form")
async def logout_form(request: Request, actor: SignedIn) -> Response:
    return render(
        request,
        "form_page.jinja",
        {
            "title": "Log out",
            "intro": "Do you want to log out?",
            "action": "/logout",
            "fields": [],
            "submit": "Log out",
        },
    )


@router.post("/logout", name="logout")
async def logout(request: Request, actor: SignedIn, db: SessionDep) -> Response:
    sid = request.cookies.get(SESSION_COOKIE)
    if sid:
        accounts.logout(db, sid)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
