"""Read a provider's editable quality account inputs from a folder.

Layout (``examples/quality_accounts/`` is a complete example)::

    DIR/                       or DIR/<provider id>/ when it exists
      provider.yaml            ceo_name, optional provider_name, core_indicators
      ceo_statement.md         Part 1, Markdown
      priorities.yaml          Part 2, at least three priorities
      assurance.yaml           Part 2, statements of assurance
      annex.yaml               statements from commissioners and patient bodies

Errors name the file and the field to fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from carepilot.errors import InputDataError
from carepilot.publication.quality_account.model import ProviderInputs

REQUIRED_FILES = (
    "provider.yaml",
    "ceo_statement.md",
    "priorities.yaml",
    "assurance.yaml",
)


def inputs_folder(root: Path, provider: str) -> Path:
    """``root/provider`` if it exists, else ``root``."""
    specific = root / provider
    return specific if specific.is_dir() else root


def _yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputDataError(f"{path}: not valid YAML ({exc})") from exc


def _where(error: ErrorDetails) -> str:
    return ".".join(str(p) for p in error["loc"])


def load_inputs(root: Path, provider: str) -> ProviderInputs:
    """Load and validate the inputs for `provider`.

    Raises:
        InputDataError: a file is missing, not valid YAML, or a field is wrong
            (the message names file and field).
    """
    folder = inputs_folder(root, provider)
    missing = [n for n in REQUIRED_FILES if not (folder / n).is_file()]
    if missing:
        raise InputDataError(
            f"{folder}: quality account inputs lack {', '.join(missing)}; copy "
            "examples/quality_accounts/ and edit it"
        )
    provider_doc = _yaml(folder / "provider.yaml") or {}
    if not isinstance(provider_doc, dict):
        raise InputDataError(f"{folder / 'provider.yaml'}: expected a mapping")
    annex_path = folder / "annex.yaml"
    doc: dict[str, Any] = {
        **provider_doc,
        "ceo_statement": (folder / "ceo_statement.md").read_text(encoding="utf-8"),
        "priorities": _yaml(folder / "priorities.yaml"),
        "assurance": _yaml(folder / "assurance.yaml"),
        "annex": (_yaml(annex_path) or []) if annex_path.is_file() else [],
    }
    try:
        return ProviderInputs.model_validate(doc)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_file_of(_where(e))}: `{_where(e)}` {e['msg']}" for e in exc.errors()
        )
        raise InputDataError(f"{folder}: {problems}") from exc


def _file_of(location: str) -> str:
    head = location.split(".", 1)[0]
    return {
        "priorities": "priorities.yaml",
        "assurance": "assurance.yaml",
        "annex": "annex.yaml",
        "ceo_statement": "ceo_statement.md",
    }.get(head, "provider.yaml")
