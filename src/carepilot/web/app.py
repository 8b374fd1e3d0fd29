"""`create_app(settings)`: the only place the web app is assembled.

Nothing is created at import time; tests build one app per database.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from carepilot.config import Settings
from carepilot.db.session import make_engine, make_session_factory
from carepilot.errors import PermissionDenied, UserError
from carepilot.programmes.baselines import BaselineProvider, NoBaselines
from carepilot.programmes.model import FormInvalid, NotFound, StateConflict
from carepilot.web.deps import LoginRequired, is_api
from carepilot.web.rendering import build_environment, render

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"


def _status_for(exc: Exception) -> int:
    if isinstance(exc, PermissionDenied):
        return 403
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, StateConflict):
        return 409
    return 400


def _error_response(
    request: Request,
    status: int,
    title: str,
    message: str,
    errors: dict[str, str] | None = None,
) -> Response:
    if is_api(request):
        body: dict[str, object] = {"detail": message}
        if errors:
            body["errors"] = errors
        return JSONResponse(body, status_code=status)
    return render(
        request,
        "error.jinja",
        {"title": title, "message": message, "status": status},
        status_code=status,
    )


_TITLES = {
    400: "There is a problem",
    401: "Sign in",
    403: "You do not have access to this page",
    404: "Page not found",
    409: "This cannot be done now",
    500: "Sorry, there is a problem with the service",
}


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        if is_api(request):
            return JSONResponse(
                {"detail": "sign in or send a bearer token"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return RedirectResponse(
            f"/login?next={quote(request.url.path)}", status_code=303
        )

    @app.exception_handler(UserError)
    async def _user_error(request: Request, exc: UserError) -> Response:
        status = _status_for(exc)
        errors = exc.errors if isinstance(exc, FormInvalid) else None
        return _error_response(
            request, status, _TITLES.get(status, "There is a problem"), str(exc), errors
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = {
            ".".join(str(p) for p in e.get("loc", ())): str(e.get("msg"))
            for e in exc.errors()
        }
        return _error_response(
            request,
            400 if not is_api(request) else 422,
            _TITLES[400],
            "; ".join(f"{k}: {v}" for k, v in errors.items()),
            errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return _error_response(
            request,
            exc.status_code,
            _TITLES.get(exc.status_code, "There is a problem"),
            str(exc.detail),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _error_response(request, 500, _TITLES[500], "Try again later.")


def _security_headers(
    settings: Settings,
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    async def middleware(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        nonce = secrets.token_urlsafe(16)
        request.state.csp_nonce = nonce
        response = await call_next(request)
        if request.url.path.startswith("/api/docs"):
            return response  # the OpenAPI UI loads its own scripts
        response.headers["Content-Security-Policy"] = (
            f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; "
            "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
            "frame-ancestors 'none'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        if settings.cookie_secure:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        return response

    return middleware


def create_app(
    settings: Settings, baselines: BaselineProvider | None = None
) -> FastAPI:
    """Build the web app for `settings` (database, upload folder, cookie flags).

    Args:
        settings: carepilot settings (`database_url`, `upload_dir`, `cookie_secure`...).
        baselines: where bid baselines come from; defaults to `NoBaselines` (empty, with
            a visible note) until the indicator engine is connected.
    """
    from carepilot.web.routers import (
        api,
        assessment,
        auth,
        bids,
        contracts,
        opendata_api,
        programmes,
        publication,
        quality_accounts,
        steering,
        users,
    )

    app = FastAPI(
        title="carepilot programme API",
        description="Integrated care pilot programme workflow: prospectus, bids, eligibility, "
        "assessment, selection and steering group. Authenticate with a session cookie plus "
        "the X-CSRF-Token header, or a bearer token from POST /api/tokens.",
        version="1",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        swagger_ui_oauth2_redirect_url=None,
    )
    engine = make_engine(settings.database_url)
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.jinja = build_environment()
    app.state.baselines = baselines or NoBaselines()
    app.middleware("http")(_security_headers(settings))
    _install_handlers(app)
    for module in (
        auth,
        programmes,
        bids,
        assessment,
        steering,
        contracts,
        publication,
        quality_accounts,
        opendata_api,
        users,
        api,
    ):
        # Added flat (not include_router) so `app.routes` lists every route for the
        # permission-matrix test; the routers carry no prefix/dependency of their own
        # except the API's prefix, which APIRouter already applies to each path.
        app.router.routes.extend(module.router.routes)
    app.mount(
        "/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static"
    )
    return app
