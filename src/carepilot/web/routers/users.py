"""Account pages: admins manage users; everyone signed in changes their password."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from carepilot.accounts import admin as accounts_admin
from carepilot.accounts import service as accounts
from carepilot.accounts.model import ROLE_LABELS, Role
from carepilot.programmes.model import FormInvalid
from carepilot.web.deps import SESSION_COOKIE, Admin, SessionDep, SignedIn
from carepilot.web.forms import FieldSpec, value_of
from carepilot.web.rendering import render

router = APIRouter(tags=["pages: users"])

_ROLE_OPTIONS = [(r.value, ROLE_LABELS[r]) for r in Role if r != Role.PUBLIC]


def _code(form: FormData, name: str) -> str | None:
    value = str(form.get(name, "")).strip().upper()
    return value or None


def _role(form: FormData) -> Role:
    try:
        return Role(str(form.get("role", "")))
    except ValueError:
        raise FormInvalid({"role": "Choose a role from the list"}) from None


def _profile_fields(
    form: FormData | None, account: accounts_admin.Account | None
) -> list[FieldSpec]:
    a = account.actor if account else None
    g = lambda n, d="": value_of(form, n, d)  # noqa: E731
    return [
        FieldSpec("name", "Full name", value=g("name", a.name if a else "")),
        FieldSpec(
            "role",
            "Role",
            "select",
            value=g("role", a.role.value if a else ""),
            options=_ROLE_OPTIONS,
        ),
        FieldSpec(
            "pct_code",
            "PCT code (commissioners)",
            hint="The primary care trust a commissioner acts for, e.g. 5QA",
            value=g("pct_code", (a.pct_code or "") if a else ""),
            classes="nhsuk-input--width-10",
        ),
        FieldSpec(
            "sha_code",
            "SHA code (steering group members)",
            hint="The strategic health authority, e.g. Q30",
            value=g("sha_code", (a.sha_code or "") if a else ""),
            classes="nhsuk-input--width-10",
        ),
        FieldSpec(
            "organisation_code",
            "Organisation code (bidders, assessors)",
            hint="ODS code of the person's own organisation",
            value=g("organisation_code", (a.organisation_code or "") if a else ""),
            classes="nhsuk-input--width-10",
        ),
    ]


def _new_fields(form: FormData | None) -> list[FieldSpec]:
    return [
        FieldSpec("email", "Email address", "email", value=value_of(form, "email")),
        *_profile_fields(form, None),
        FieldSpec(
            "password",
            "Initial password",
            "password",
            "At least 12 characters; tell the person securely and ask them to change it",
        ),
    ]


@router.get("/admin/users", name="users")
async def users(request: Request, actor: Admin, db: SessionDep) -> Response:
    return render(
        request,
        "users/list.jinja",
        {
            "title": "User accounts",
            "accounts": accounts_admin.list_accounts(db),
            "labels": {r.value: label for r, label in ROLE_LABELS.items()},
        },
    )


def _new_page(
    request: Request, form: FormData | None = None, errors: dict[str, str] | None = None
) -> Response:
    return render(
        request,
        "form_page.jinja",
        {
            "title": "Create a user account",
            "action": "/admin/users/new",
            "fields": _new_fields(form),
            "errors": errors or {},
            "submit": "Create account",
            "back": "/admin/users",
        },
        status_code=400 if errors else 200,
    )


@router.get("/admin/users/new", name="user_new_form")
async def user_new_form(request: Request, actor: Admin) -> Response:
    return _new_page(request)


@router.post("/admin/users/new", name="user_create")
async def user_create(request: Request, actor: Admin, db: SessionDep) -> Response:
    form = await request.form()
    try:
        role = _role(form)
        org, pct, sha = (
            _code(form, "organisation_code"),
            _code(form, "pct_code"),
            _code(form, "sha_code"),
        )
        errors = accounts_admin.scope_errors(role, org, pct, sha)
        email = str(form.get("email", "")).strip()
        if "@" not in email:
            errors["email"] = "Enter an email address like name@example.nhs.uk"
        if not str(form.get("name", "")).strip():
            errors["name"] = "Enter the person's name"
        if errors:
            raise FormInvalid(errors)
        created = accounts.create_user(
            db,
            actor,
            email=email,
            name=str(form.get("name", "")),
            role=role,
            password=str(form.get("password", "")),
            organisation_code=org,
            pct_code=pct,
            sha_code=sha,
        )
    except FormInvalid as exc:
        return _new_page(request, form, exc.errors)
    return RedirectResponse(f"/admin/users/{created.id}", status_code=303)


def _user_page(
    request: Request,
    account: accounts_admin.Account,
    form: FormData | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "users/manage.jinja",
        {
            "title": f"Manage {account.actor.name}",
            "account": account,
            "fields": _profile_fields(form, account),
            "password_fields": [
                FieldSpec(
                    "password", "New password", "password", "At least 12 characters"
                )
            ],
            "errors": errors or {},
            "labels": {r.value: label for r, label in ROLE_LABELS.items()},
        },
        status_code=400 if errors else 200,
    )


@router.get("/admin/users/{user_id}", name="user_manage")
async def user_manage(
    request: Request, user_id: int, actor: Admin, db: SessionDep
) -> Response:
    return _user_page(request, accounts_admin.get_account(db, user_id))


@router.post("/admin/users/{user_id}", name="user_update")
async def user_update(
    request: Request, user_id: int, actor: Admin, db: SessionDep
) -> Response:
    form = await request.form()
    try:
        accounts_admin.update_account(
            db,
            actor,
            user_id,
            name=str(form.get("name", "")),
            role=_role(form),
            organisation_code=_code(form, "organisation_code"),
            pct_code=_code(form, "pct_code"),
            sha_code=_code(form, "sha_code"),
        )
    except FormInvalid as exc:
        return _user_page(
            request, accounts_admin.get_account(db, user_id), form, exc.errors
        )
    return RedirectResponse(f"/admin/users/{user_id}", status_code=303)


@router.post("/admin/users/{user_id}/active", name="user_set_active")
async def user_set_active(
    request: Request, user_id: int, actor: Admin, db: SessionDep
) -> Response:
    form = await request.form()
    try:
        accounts_admin.set_active(db, actor, user_id, str(form.get("active")) == "true")
    except FormInvalid as exc:
        return _user_page(
            request, accounts_admin.get_account(db, user_id), None, exc.errors
        )
    return RedirectResponse(f"/admin/users/{user_id}", status_code=303)


@router.post("/admin/users/{user_id}/password", name="user_reset_password")
async def user_reset_password(
    request: Request, user_id: int, actor: Admin, db: SessionDep
) -> Response:
    form = await request.form()
    try:
        accounts_admin.reset_password(db, actor, user_id, str(form.get("password", "")))
    except FormInvalid as exc:
        return _user_page(
            request, accounts_admin.get_account(db, user_id), None, exc.errors
        )
    return RedirectResponse(f"/admin/users/{user_id}?reset=1", status_code=303)


def _password_page(
    request: Request, errors: dict[str, str] | None = None, done: bool = False
) -> Response:
    return render(
        request,
        "form_page.jinja",
        {
            "title": "Change your password",
            "intro": "Your password was changed; your other sessions and API tokens have ended."
            if done
            else "Changing your password signs you out everywhere else and ends your API tokens.",
            "action": "/account/password",
            "fields": [
                FieldSpec("current", "Current password", "password"),
                FieldSpec(
                    "new",
                    "New password",
                    "password",
                    "At least 12 characters, not containing your email name",
                ),
            ],
            "errors": errors or {},
            "submit": "Change password",
            "back": "/",
        },
        status_code=400 if errors else 200,
    )


@router.get("/account/password", name="password_form")
async def password_form(request: Request, actor: SignedIn) -> Response:
    return _password_page(request)


@router.post("/account/password", name="password_change")
async def password_change(
    request: Request, actor: SignedIn, db: SessionDep
) -> Response:
    form = await request.form()
    try:
        accounts_admin.change_own_password(
            db,
            actor,
            str(form.get("current", "")),
            str(form.get("new", "")),
            keep_session_id=request.cookies.get(SESSION_COOKIE),
        )
    except FormInvalid as exc:
        return _password_page(request, exc.errors)
    return _password_page(request, done=True)
