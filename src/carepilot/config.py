"""Typed settings, built only by entrypoints (CLI callback, `web.create_app`) and passed down.

Nothing reads the environment at import time. Unsafe defaults are refused outside `dev`.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from carepilot.errors import ConfigError

_UNSAFE_SECRET = "change-me-dev-only"  # noqa: S105 - sentinel refused outside dev


class Environment(StrEnum):
    DEV = "dev"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """All carepilot settings; each can be set by an environment variable `CAREPILOT_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="CAREPILOT_", extra="ignore")

    environment: Environment = Environment.DEV
    analytics_db: Path = Path("demo/carepilot.duckdb")
    """DuckDB file holding the patient-level data and indicator results."""
    database_url: str = "sqlite:///demo/workflow.sqlite"
    """SQLAlchemy URL of the workflow database (also read from plain DATABASE_URL)."""
    secret_key: str = _UNSAFE_SECRET
    """Signs session cookies and CSRF tokens. Must be changed outside dev/test."""
    upload_dir: Path = Path("var/uploads")
    """Where bid attachments are stored: outside the web root."""
    cookie_secure: bool = False
    """Set the Secure flag on cookies (always true in production)."""
    small_number_threshold: int = 7
    """Counts at or below this are redacted before release (OpenSAFELY policy)."""
    rounding_base: int = 5
    """Released counts are rounded to the nearest multiple of this."""
    results: Path | None = None
    """Released indicator results file the web app publishes (dashboards, open data)."""
    publication_dir: Path = Path("var/publication")
    """Open-data exports (cached) and quality account inputs edited on the web."""

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> Settings:
        if self.environment == Environment.PRODUCTION:
            if self.secret_key == _UNSAFE_SECRET or len(self.secret_key) < 32:
                raise ConfigError(
                    "CAREPILOT_SECRET_KEY is unset or shorter than 32 characters; "
                    "set it to a long random value before running in production."
                )
            if not self.cookie_secure:
                raise ConfigError(
                    "CAREPILOT_COOKIE_SECURE must be true in production "
                    "(cookies must only travel over HTTPS)."
                )
        return self


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment (CAREPILOT_*, DATABASE_URL) plus explicit overrides."""
    import os

    values: dict[str, object] = {}
    if "DATABASE_URL" in os.environ and "CAREPILOT_DATABASE_URL" not in os.environ:
        values["database_url"] = os.environ["DATABASE_URL"]
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)  # type: ignore[arg-type]
