"""Read FHIR data types: dates, codings, references, quantities.

Each reader returns the value or raises `ElementProblem` naming the element
path, the offending value and what was expected; the converter turns that into
a located `Problem`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from carepilot.schema.codes import CODE_EXPECTATIONS, is_valid_code
from carepilot.schema.model import CodeSystem

SNOMED = "http://snomed.info/sct"
DMD_SYSTEMS = ("https://dmd.nhs.uk", "http://dmd.nhs.uk", SNOMED)
"""dm+d ids are SNOMED CT-namespace ids; UK Core codes medicines with the SNOMED
system URI, older feeds with the dm+d one."""
ODS_SYSTEMS = (
    "https://fhir.nhs.uk/Id/ods-organization-code",
    "http://fhir.nhs.uk/Id/ods-organization-code",
    "https://fhir.nhs.uk/Id/ods-site-code",
)

_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


class ElementProblem(Exception):
    """An element of a resource is missing or malformed."""

    def __init__(self, path: str, value: object, expected: str) -> None:
        super().__init__(f"{path}: {value!r}; expected {expected}")
        self.path = path
        self.value = None if value is None else str(value)
        self.expected = expected


def day(value: object, path: str) -> dt.date:
    """A FHIR date/dateTime with at least day precision, as a date.

    The time and time zone of a dateTime are dropped: the data model records
    days, and the local date is what the clinical system displayed.
    """
    year, month, dd = _parts(value, path, "a FHIR date or dateTime with a day")
    if month is None or dd is None:
        raise ElementProblem(
            path, value, "a date with a day, such as 2021-04-01 (got only part of one)"
        )
    return _date(year, month, dd, value, path)


def month_start(value: object, path: str) -> dt.date:
    """A FHIR date with at least month precision, as the first of its month.

    The data model holds dates of birth to month precision (as ehrQL does), so
    the day is dropped here rather than kept in the analytics database.
    """
    year, month, _ = _parts(value, path, "a FHIR date such as 1970-05-17")
    if month is None:
        raise ElementProblem(path, value, "a date with at least a year and month")
    return _date(year, month, 1, value, path)


def _parts(
    value: object, path: str, expected: str
) -> tuple[int, int | None, int | None]:
    if not isinstance(value, str):
        raise ElementProblem(path, value, expected)
    match = _DATE.match(value)
    if match is None:
        raise ElementProblem(path, value, expected)
    y, m, d = match.groups()
    return int(y), int(m) if m else None, int(d) if d else None


def _date(year: int, month: int, dd: int, value: object, path: str) -> dt.date:
    try:
        return dt.date(year, month, dd)
    except ValueError as exc:
        raise ElementProblem(path, value, f"a real calendar date ({exc})") from None


def first(resource: dict[str, Any], *names: str) -> tuple[str, object] | None:
    """The first of several alternative elements present: (name, value)."""
    for name in names:
        value = resource.get(name)
        if value is not None:
            return name, value
    return None


def codes(
    concept: object, path: str, systems: tuple[str, ...], code_system: CodeSystem
) -> list[str]:
    """Codes from a CodeableConcept's codings in any of `systems`, format-checked.

    Returns every matching coding (a concept may carry several, e.g. a SNOMED
    code and its dm+d equivalent); raises when none is present, so that an
    uncoded resource is reported instead of silently dropped.
    """
    if not isinstance(concept, dict):
        raise ElementProblem(path, concept, "a CodeableConcept with a coding")
    codings = concept.get("coding") or []
    found: list[str] = []
    for i, coding in enumerate(codings if isinstance(codings, list) else []):
        if not isinstance(coding, dict) or coding.get("system") not in systems:
            continue
        code = str(coding.get("code", "")).strip()
        if not is_valid_code(code_system, code):
            raise ElementProblem(
                f"{path}.coding[{i}].code", code, CODE_EXPECTATIONS[code_system]
            )
        found.append(code)
    if not found:
        shown = (
            [c.get("system") for c in codings if isinstance(c, dict)]
            if isinstance(codings, list)
            else []
        )
        raise ElementProblem(
            f"{path}.coding",
            ", ".join(str(s) for s in shown) or None,
            f"a coding with system {' or '.join(systems)}",
        )
    return list(dict.fromkeys(found))


def ods_code(organisation: object, path: str) -> str | None:
    """The ODS code in a Reference's `identifier`, or None if it has none."""
    if not isinstance(organisation, dict):
        return None
    identifier = organisation.get("identifier")
    if isinstance(identifier, dict) and identifier.get("system") in ODS_SYSTEMS:
        code = str(identifier.get("value", "")).strip().upper()
        if not is_valid_code(CodeSystem.ODS, code):
            raise ElementProblem(
                f"{path}.identifier.value", code, CODE_EXPECTATIONS[CodeSystem.ODS]
            )
        return code
    return None


def reference(value: object, path: str) -> str:
    """The `reference` text of a Reference element."""
    if isinstance(value, dict) and isinstance(value.get("reference"), str):
        return str(value["reference"])
    raise ElementProblem(
        f"{path}.reference",
        value,
        'a reference such as "Patient/123" or "urn:uuid:..."',
    )


def quantity(value: object, path: str) -> float | None:
    """The numeric value of a Quantity (None when absent)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ElementProblem(path, value, "a Quantity with a numeric value")
    number = value.get("value")
    if number is None:
        return None
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise ElementProblem(f"{path}.value", number, "a JSON number such as 7.5")
    return float(number)
