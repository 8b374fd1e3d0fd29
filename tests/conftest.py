"""Fixtures shared by every test category."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO_ROOT = Path(__file__).resolve().parents[1]

settings.register_profile(
    "ci",
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _clone_origin() -> Path | None:
    """The local repository this checkout was cloned from, if any."""
    config = REPO_ROOT / ".git" / "config"
    if not config.is_file():
        return None
    for line in config.read_text(encoding="utf-8").splitlines():
        key, _, value = line.strip().partition("=")
        if key.strip() == "url":
            path = Path(value.strip())
            return path if path.is_absolute() and path.is_dir() else None
    return None


def find_shared_dir() -> Path:
    """Locate ../shared (public oracles and reference data) beside the repository.

    Set CAREPILOT_SHARED to override.
    """
    override = os.environ.get("CAREPILOT_SHARED")
    candidates = [Path(override)] if override else []
    candidates += [REPO_ROOT.parent / "shared", REPO_ROOT.parent.parent / "shared"]
    origin = _clone_origin()
    if (
        origin is not None
    ):  # a local clone (e.g. a fresh-clone CI check): look beside its origin
        candidates.append(origin.parent / "shared")
    for candidate in candidates:
        if (candidate / "oracles").is_dir():
            return candidate
    raise FileNotFoundError(
        "cannot find the shared/ folder with oracles beside the repository; "
        "set CAREPILOT_SHARED to its path"
    )


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return find_shared_dir()


@pytest.fixture(scope="session")
def oracles_dir(shared_dir: Path) -> Path:
    return shared_dir / "oracles"
