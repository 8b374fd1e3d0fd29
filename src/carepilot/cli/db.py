"""`carepilot db`: migrate the workflow database, seed a demo programme, verify the audit chain."""

from __future__ import annotations

from datetime import timedelta

import typer

from carepilot.config import Environment, Settings, load_settings
from carepilot.errors import ConfigError, InternalError

DEMO_PASSWORD = "Integrated-care-2026"  # noqa: S105 - printed demo login, refused in production

db_app = typer.Typer(
    help="Workflow database: migrations, demo data, audit verification.",
    no_args_is_help=True,
)

_URL_OPTION = typer.Option(
    None, "--database-url", help="SQLAlchemy URL (default: settings / DATABASE_URL)."
)


def _settings(database_url: str | None) -> Settings:
    return load_settings(database_url=database_url)


@db_app.command("upgrade")
def upgrade(
    revision: str = typer.Argument("head"), database_url: str | None = _URL_OPTION
) -> None:
    """Apply migrations up to REVISION (default: head)."""
    from carepilot.db import migrate

    settings = _settings(database_url)
    migrate.upgrade(settings.database_url, revision)
    typer.echo(f"workflow database at revision {revision}")


@db_app.command("downgrade")
def downgrade(
    revision: str = typer.Argument(
        ..., help="Target revision, or 'base' to remove all tables."
    ),
    database_url: str | None = _URL_OPTION,
) -> None:
    """Revert migrations down to REVISION."""
    from carepilot.db import migrate

    migrate.downgrade(_settings(database_url).database_url, revision)
    typer.echo(f"workflow database at revision {revision}")


@db_app.command("verify-audit")
def verify_audit(database_url: str | None = _URL_OPTION) -> None:
    """Recompute the audit log's hash chain; exits 1 and names the first broken event."""
    from carepilot.audit import service as audit
    from carepilot.db.session import make_engine, make_session_factory

    engine = make_engine(_settings(database_url).database_url)
    with make_session_factory(engine)() as session:
        report = audit.verify(session)
    engine.dispose()
    if not report.ok:
        typer.echo(
            f"audit chain BROKEN after {report.events} events: {report.reason}",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo(f"audit chain OK: {report.events} events verified")


@db_app.command("create-user")
def create_user(
    email: str = typer.Option(..., "--email", help="Sign-in email address."),
    name: str = typer.Option(..., "--name", help="Full name."),
    role: str = typer.Option(
        "admin", "--role", help="admin, assessor, steering, commissioner or bidder."
    ),
    pct_code: str | None = typer.Option(None, "--pct-code", help="Commissioners: PCT."),
    sha_code: str | None = typer.Option(None, "--sha-code", help="Steering: SHA."),
    organisation_code: str | None = typer.Option(
        None, "--organisation-code", help="Bidders/assessors: own organisation."
    ),
    database_url: str | None = _URL_OPTION,
) -> None:
    """Create an account (e.g. the first admin of a new deployment).

    The password is read from CAREPILOT_NEW_USER_PASSWORD if set (for scripted
    set-up), otherwise asked for twice without echo; it never appears in the
    command line or the audit log. Further accounts are managed at /admin/users.
    """
    import os

    from carepilot.accounts import admin as accounts_admin
    from carepilot.accounts import service as accounts
    from carepilot.accounts.model import SYSTEM_ACTOR, Role
    from carepilot.db.session import make_engine, make_session_factory
    from carepilot.errors import UserError
    from carepilot.programmes.model import FormInvalid

    try:
        chosen = Role(role)
    except ValueError:
        raise UserError(
            f"--role {role!r} is not a role; choose admin, assessor, steering, "
            "commissioner or bidder"
        ) from None
    codes = [
        c.strip().upper() if c else None
        for c in (organisation_code, pct_code, sha_code)
    ]
    errors = accounts_admin.scope_errors(chosen, *codes)
    if errors:
        raise UserError(
            "; ".join(f"--{k.replace('_', '-')}: {v}" for k, v in errors.items())
        )
    password = os.environ.get("CAREPILOT_NEW_USER_PASSWORD") or typer.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    engine = make_engine(_settings(database_url).database_url)
    try:
        with make_session_factory(engine)() as session:
            created = accounts.create_user(
                session,
                SYSTEM_ACTOR,
                email=email,
                name=name,
                role=chosen,
                password=password,
                organisation_code=codes[0],
                pct_code=codes[1],
                sha_code=codes[2],
            )
    except FormInvalid as exc:
        raise UserError("; ".join(exc.errors.values())) from None
    finally:
        engine.dispose()
    typer.echo(
        f"created {created.role.value} account {created.email} (id {created.id})"
    )


DEMO_USERS: tuple[tuple[str, str, str, dict[str, str]], ...] = (
    ("admin@demo.carepilot.test", "Asha Patel", "admin", {}),
    (
        "assessor1@demo.carepilot.test",
        "Ben Okafor",
        "assessor",
        {"organisation_code": "NAT01"},
    ),
    (
        "assessor2@demo.carepilot.test",
        "Chloe Wright",
        "assessor",
        {"organisation_code": "NAT02"},
    ),
    ("steering@demo.carepilot.test", "Dev Sharma", "steering", {"sha_code": "Q30"}),
    (
        "commissioner@demo.carepilot.test",
        "Eve Lewis",
        "commissioner",
        {"pct_code": "5QJ"},
    ),
    (
        "bidder@demo.carepilot.test",
        "Femi Adeyemi",
        "bidder",
        {"organisation_code": "Y01"},
    ),
)


@db_app.command("seed-demo")
def seed_demo(database_url: str | None = _URL_OPTION) -> None:
    """Create a published demo programme and one user per role; prints the logins."""
    from carepilot.accounts import service as accounts
    from carepilot.accounts.model import SYSTEM_ACTOR, Role
    from carepilot.db import migrate
    from carepilot.db.base import utcnow
    from carepilot.db.session import make_engine, make_session_factory
    from carepilot.programmes import service as programmes
    from carepilot.programmes.inputs import CriterionInput, ProgrammeCreate
    from carepilot.programmes.model import FormInvalid, Section

    settings = _settings(database_url)
    if settings.environment == Environment.PRODUCTION:
        raise ConfigError(
            "seed-demo creates demo logins and is refused when CAREPILOT_ENVIRONMENT=production"
        )
    migrate.upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        created = 0
        for email, name, role, extra in DEMO_USERS:
            try:
                accounts.create_user(
                    session,
                    SYSTEM_ACTOR,
                    email=email,
                    name=name,
                    role=Role(role),
                    password=DEMO_PASSWORD,
                    **extra,
                )
                created += 1
            except FormInvalid:
                session.rollback()  # already seeded
        admin = next(
            u
            for u in accounts.list_users(session, Role.ADMIN)
            if u.email == DEMO_USERS[0][0]
        )
        if not programmes.list_programmes(session, admin):
            now = utcnow().replace(minute=0, second=0, microsecond=0)
            prog = programmes.create_programme(
                session,
                admin,
                ProgrammeCreate(
                    title="Integrated Care Pilots 2026",
                    summary=(
                        "Local partnerships of GP practices, community services, hospitals, social care "
                        "and the voluntary sector bid to become integrated care pilots, paid on outcomes."
                    ),
                    opens_at=now - timedelta(days=1),
                    closes_at=now + timedelta(days=60),
                    selection_at=now + timedelta(days=75),
                    frontrunners_at=now + timedelta(days=120),
                    eligibility_text=[
                        "Backed by the local PCT",
                        "Led by an NHS, local authority or third-sector body",
                    ],
                    criteria=[
                        CriterionInput(title="Radical innovation", weight=30),
                        CriterionInput(title="Reducing health inequalities", weight=30),
                        CriterionInput(
                            title="Clinical governance and patient choice", weight=20
                        ),
                        CriterionInput(title="Energy and competitiveness", weight=20),
                    ],
                    required_sections=[
                        Section.SERVICES,
                        Section.GOVERNANCE,
                        Section.PATIENT_CHOICE,
                        Section.RISK_PLAN,
                    ],
                ),
            )
            programmes.publish_programme(session, admin, prog.id)
    engine.dispose()
    typer.echo(
        f"demo workflow database: {settings.database_url} ({created} users created)"
    )
    typer.echo("demo logins (password for all: " + DEMO_PASSWORD + "):")
    for email, name, role, extra in DEMO_USERS:
        detail = ", ".join(f"{k}={v}" for k, v in extra.items())
        typer.echo(
            f"  {role:<13} {email:<36} {name}{' (' + detail + ')' if detail else ''}"
        )
    typer.echo("  public        (no login)")
    if created == 0 and not DEMO_USERS:
        raise InternalError("no demo users defined")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
