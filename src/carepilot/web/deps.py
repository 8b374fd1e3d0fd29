"""Request dependencies: DB session, settings, authentication and access policies.

Every route declares its access policy with `allow(...)` (or `public`): the dependency
authenticates (session cookie, or bearer token for the API), checks the role, and on
unsafe methods checks the CSRF token (form field `csrf_token` for pages, header
`X-CSRF-Token` for API calls made with the session cookie). The permission-matrix test
reads `access_roles` off these dependencies for every route.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from carepilot.accounts import service as accounts
from carepilot.accounts.model import Actor, Role
from carepilot.config import Settings
from carepilot.errors import PermissionDenied
from carepilot.programmes.baselines import BaselineProvider

SESSION_COOKIE = "cp_session"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class LoginRequired(Exception):
    """No valid session: pages redirect to the login page, the API answers 401."""


class CsrfFailed(PermissionDenied):
    """The CSRF token is missing or wrong."""


def get_db(request: Request) -> Iterator[Session]:
    session: Session = request.app.state.session_factory()
    try:
        yield session
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_baselines(request: Request) -> BaselineProvider:
    return request.app.state.baselines


SessionDep = Annotated[Session, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
BaselinesDep = Annotated[BaselineProvider, Depends(get_baselines)]


@dataclass(frozen=True, slots=True)
class Auth:
    actor: Actor | None
    csrf_token: str | None
    via_token: bool = False


def _authenticate(request: Request, db: Session) -> Auth:
    cached = getattr(request.state, "auth", None)
    if isinstance(cached, Auth):
        return cached
    auth = Auth(None, None)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        actor = accounts.resolve_token(db, header[7:].strip())
        auth = Auth(actor, None, via_token=actor is not None)
    else:
        sid = request.cookies.get(SESSION_COOKIE)
        info = accounts.resolve_session(db, sid) if sid else None
        if info is not None:
            auth = Auth(info.actor, info.csrf_token)
    request.state.auth = auth
    return auth


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def _check_csrf(request: Request, auth: Auth) -> None:
    if request.method not in UNSAFE_METHODS or auth.via_token:
        return
    expected = auth.csrf_token
    if is_api(request):
        given = request.headers.get(CSRF_HEADER, "")
    else:
        form = await request.form()
        given = str(form.get("csrf_token", ""))
    if not expected or not given or not hmac.compare_digest(expected, given):
        raise CsrfFailed(
            "the form's security token is missing or has expired; reload the page and try again"
        )


def allow(*roles: Role) -> Callable[..., Any]:
    """Access policy: signed-in users with one of `roles` (CSRF-checked on writes)."""
    allowed = frozenset(roles)

    async def dependency(request: Request, db: SessionDep) -> Actor:
        auth = _authenticate(request, db)
        if auth.actor is None:
            raise LoginRequired()
        if auth.actor.role not in allowed:
            raise PermissionDenied(
                f"this page is for {', '.join(sorted(r.value for r in allowed))} users"
            )
        await _check_csrf(request, auth)
        return auth.actor

    dependency.access_roles = allowed  # type: ignore[attr-defined]
    dependency.__name__ = "allow_" + "_".join(sorted(r.value for r in allowed))
    return dependency


async def public(request: Request, db: SessionDep) -> Actor | None:
    """Access policy: anyone, signed in or not (CSRF-checked on writes when signed in)."""
    auth = _authenticate(request, db)
    if request.method in UNSAFE_METHODS and auth.actor is not None:
        await _check_csrf(request, auth)
    return auth.actor


public.access_roles = frozenset(Role)  # type: ignore[attr-defined]

ALL_SIGNED_IN = (
    Role.ADMIN,
    Role.ASSESSOR,
    Role.STEERING,
    Role.COMMISSIONER,
    Role.BIDDER,
)

Admin = Annotated[Actor, Depends(allow(Role.ADMIN))]
Assessor = Annotated[Actor, Depends(allow(Role.ASSESSOR))]
Bidder = Annotated[Actor, Depends(allow(Role.BIDDER))]
Commissioner = Annotated[Actor, Depends(allow(Role.COMMISSIONER))]
SteeringOrAdmin = Annotated[Actor, Depends(allow(Role.STEERING, Role.ADMIN))]
SignedIn = Annotated[Actor, Depends(allow(*ALL_SIGNED_IN))]
BidReaders = Annotated[Actor, Depends(allow(*ALL_SIGNED_IN))]
LetterReaders = Annotated[Actor, Depends(allow(Role.ADMIN, Role.BIDDER))]
Anyone = Annotated[Actor | None, Depends(public)]


def _bid_guard(action: str, *roles: Role) -> Callable[..., Any]:
    """Role policy plus the object-level check for `bid_id`, before the body is read."""
    role_dep = allow(*roles)

    async def dependency(
        bid_id: int, db: SessionDep, actor: Actor = Depends(role_dep)
    ) -> Actor:
        from carepilot.programmes import service as programmes

        programmes.authorise_bid(db, actor, bid_id, action)
        return actor

    dependency.__name__ = f"bid_{action}_guard"
    return dependency


BidOwner = Annotated[Actor, Depends(_bid_guard("edit", Role.BIDDER))]
BidSupporter = Annotated[Actor, Depends(_bid_guard("support", Role.COMMISSIONER))]
BidScorer = Annotated[Actor, Depends(_bid_guard("score", Role.ASSESSOR))]
PilotManager = Annotated[
    Actor, Depends(_bid_guard("manage_pilot", Role.STEERING, Role.ADMIN))
]


def csrf_token(request: Request) -> str | None:
    auth = getattr(request.state, "auth", None)
    return auth.csrf_token if isinstance(auth, Auth) else None


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"
