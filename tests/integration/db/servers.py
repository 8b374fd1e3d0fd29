"""Throwaway database servers for the workflow tests (imported by several conftests).

`workflow_db` is parametrised over SQLite and PostgreSQL. The PostgreSQL variant starts
a private cluster on loopback with initdb/pg_ctl (as the `postgres` user when the tests
run as root, because PostgreSQL refuses to run as root). It is skipped only when the
binaries are missing outside CI; with CI=true a missing server fails the run.

Each test gets a fresh database copied from a migrated, user-seeded template, so a test
costs a file copy (SQLite) or CREATE DATABASE ... TEMPLATE (PostgreSQL), not a migration.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from carepilot.accounts import service as accounts
from carepilot.accounts.model import SYSTEM_ACTOR, Role
from carepilot.accounts.passwords import use_hasher
from carepilot.db import migrate
from carepilot.db.session import make_engine, make_session_factory

PASSWORD = "Correct-horse-battery-9"

# Cheap argon2 parameters for tests only (the default costs ~1 s per hash on CI).
use_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@dataclass(frozen=True)
class TestUser:
    key: str
    email: str
    role: Role
    extra: dict[str, str]


USERS: tuple[TestUser, ...] = (
    TestUser("admin", "admin@test.nhs", Role.ADMIN, {}),
    TestUser(
        "assessor1", "assessor1@test.nhs", Role.ASSESSOR, {"organisation_code": "NAT01"}
    ),
    TestUser(
        "assessor2", "assessor2@test.nhs", Role.ASSESSOR, {"organisation_code": "NAT02"}
    ),
    TestUser(
        "assessor3", "assessor3@test.nhs", Role.ASSESSOR, {"organisation_code": "RA7"}
    ),
    TestUser("steering", "steering@test.nhs", Role.STEERING, {"sha_code": "Q30"}),
    TestUser(
        "steering_other", "steering2@test.nhs", Role.STEERING, {"sha_code": "Q31"}
    ),
    TestUser(
        "commissioner", "commissioner@test.nhs", Role.COMMISSIONER, {"pct_code": "5QJ"}
    ),
    TestUser(
        "commissioner_other",
        "commissioner2@test.nhs",
        Role.COMMISSIONER,
        {"pct_code": "5A3"},
    ),
    TestUser("bidder", "bidder@test.nhs", Role.BIDDER, {"organisation_code": "Y01"}),
    TestUser(
        "bidder_other", "bidder2@test.nhs", Role.BIDDER, {"organisation_code": "Y02"}
    ),
)


def seed_users(url: str) -> None:
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        for u in USERS:
            accounts.create_user(
                session,
                SYSTEM_ACTOR,
                email=u.email,
                name=u.key.replace("_", " ").title(),
                role=u.role,
                password=PASSWORD,
                **u.extra,
            )
    engine.dispose()


def _pg_bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.access(os.path.join(d, "pg_ctl"), os.X_OK):
            return Path(d)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="carepilot-pg-"))
        self.data = self.root / "data"
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
            os.chmod(self.root, 0o700)

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        )
        opts = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            opts,
            "-l",
            str(self.root / "log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
            autocommit=True,
        ) as conn:
            conn.execute(sql)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = _pg_bindir()
    if bindir is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(
                "PostgreSQL binaries (initdb, pg_ctl) not found; run scripts/ensure-postgres.sh"
            )
        pytest.skip(
            "PostgreSQL binaries not installed (run scripts/ensure-postgres.sh); skipped outside CI"
        )
    server = PostgresServer(bindir)
    server.start()
    try:
        server.execute("CREATE DATABASE cp_template")
        migrate.upgrade(server.url("cp_template"))
        seed_users(server.url("cp_template"))
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    seed_users(url)
    return path


_counter = itertools.count()


def _fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "workflow.sqlite"
        shutil.copyfile(template, target)
        yield f"sqlite:///{target}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"cp_test_{os.getpid()}_{next(_counter)}_{int(time.time() * 1000) % 100000}"
    server.execute(f"CREATE DATABASE {name} TEMPLATE cp_template")
    try:
        yield server.url(name)
    finally:
        from sqlalchemy import create_engine  # noqa: F401 - keep import local

        server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def workflow_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a fresh, migrated workflow database with the test users, on each backend."""
    yield from _fresh_url(request, tmp_path)


@pytest.fixture(params=["sqlite"])
def sqlite_workflow_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLite-only variant for checks that do not depend on the database engine."""
    yield from _fresh_url(request, tmp_path)


DbUrlFactory = Callable[[], str]
