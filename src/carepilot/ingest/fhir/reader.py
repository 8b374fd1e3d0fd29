"""Iterate FHIR resources from bulk-data NDJSON files and JSON Bundles.

Bulk data export (FHIR `$export`) writes one resource per line to `.ndjson`
files; many systems also hand over a `Bundle` (or a single resource) as `.json`.
Each resource comes with where it was found, so that every problem can name the
file and the line (NDJSON) or the entry (Bundle).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from carepilot.ingest.problems import Problem, ProblemKind

FHIR_SUFFIXES = (".ndjson", ".json")


@dataclass(frozen=True, slots=True)
class Located:
    """A resource and where it came from.

    Attributes:
        resource: the parsed JSON object.
        file: file name as the user supplied it.
        row: NDJSON line number or Bundle entry number (1-based).
        full_url: the Bundle entry's `fullUrl` (for `urn:uuid:` references).
    """

    resource: dict[str, Any]
    file: str
    row: int
    full_url: str | None = None

    @property
    def resource_type(self) -> str:
        return str(self.resource.get("resourceType", ""))


def fhir_files(source: Path) -> list[Path]:
    """The FHIR files of a folder (or the one file given), in name order.

    Every `.ndjson` file counts; a `.json` file counts only if it looks like a FHIR
    resource (`"resourceType"` near its start), so other JSON beside an extract -
    the `scenario.json` that `carepilot synth` writes, a manifest - does not turn
    a CSV/Parquet extract into a FHIR one.
    """
    if source.is_file():
        return [source]
    return sorted(
        p
        for p in source.iterdir()
        if p.is_file()
        and not p.name.startswith(".")
        and p.suffix.lower() in FHIR_SUFFIXES
        and (p.suffix.lower() == ".ndjson" or _looks_like_resource(p))
    )


_SNIFF_BYTES = 65_536


def _looks_like_resource(path: Path) -> bool:
    """True if a `.json` file's first 64 KB mention `"resourceType"`."""
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError:
        return True  # let the reader report it, located
    return b'"resourceType"' in head


def read_resources(path: Path, problems: list[Problem]) -> Iterator[Located]:
    """Yield the resources of one file; unreadable lines become problems."""
    if path.suffix.lower() == ".ndjson":
        yield from _read_ndjson(path, problems)
    else:
        yield from _read_json(path, problems)


def _read_ndjson(path: Path, problems: list[Problem]) -> Iterator[Located]:
    with path.open("r", encoding="utf-8-sig", errors="strict") as handle:
        try:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    problems.append(_bad_json(path.name, number, line, exc))
                    continue
                if not isinstance(obj, dict):
                    problems.append(
                        _not_resource(path.name, number, type(obj).__name__)
                    )
                    continue
                yield Located(obj, path.name, number)
        except UnicodeDecodeError as exc:
            problems.append(_not_utf8(path.name, exc))


def _read_json(path: Path, problems: list[Problem]) -> Iterator[Located]:
    try:
        obj = json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as exc:
        problems.append(_not_utf8(path.name, exc))
        return
    except json.JSONDecodeError as exc:
        problems.append(
            Problem(
                ProblemKind.UNREADABLE,
                path.name,
                None,
                None,
                f"line {exc.lineno} column {exc.colno}",
                f"a JSON document ({exc.msg}); fix the JSON syntax",
            )
        )
        return
    if not isinstance(obj, dict):
        problems.append(_not_resource(path.name, None, type(obj).__name__))
        return
    if obj.get("resourceType") != "Bundle":
        yield Located(obj, path.name, 1)
        return
    entries = obj.get("entry") or []
    if not isinstance(entries, list):
        problems.append(
            Problem(
                ProblemKind.FHIR,
                path.name,
                None,
                "Bundle.entry",
                type(entries).__name__,
                "a list of entries",
            )
        )
        return
    for number, entry in enumerate(entries, start=1):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            problems.append(
                Problem(
                    ProblemKind.FHIR,
                    path.name,
                    number,
                    "Bundle.entry.resource",
                    None,
                    "each Bundle entry to hold a resource",
                )
            )
            continue
        full_url = entry.get("fullUrl")
        yield Located(
            resource, path.name, number, full_url if isinstance(full_url, str) else None
        )


def _bad_json(file: str, row: int, line: str, exc: json.JSONDecodeError) -> Problem:
    return Problem(
        ProblemKind.UNREADABLE,
        file,
        row,
        None,
        line.strip()[:60],
        f"one JSON resource per line ({exc.msg} at column {exc.colno})",
    )


def _not_resource(file: str, row: int | None, got: str) -> Problem:
    return Problem(
        ProblemKind.FHIR,
        file,
        row,
        None,
        got,
        'a FHIR resource: a JSON object with a "resourceType"',
    )


def _not_utf8(file: str, exc: UnicodeDecodeError) -> Problem:
    return Problem(
        ProblemKind.ENCODING,
        file,
        None,
        None,
        None,
        f"UTF-8 text ({exc.reason} at byte {exc.start}); re-export the file as UTF-8",
    )
