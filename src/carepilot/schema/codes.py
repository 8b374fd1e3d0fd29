"""Format checks for codes in the data model (SNOMED CT, dm+d, ICD-10, OPCS-4, HRG, LSOA, ODS).

Each code system has a regular expression (usable in Arrow/DuckDB for vectorised
checks) and a pure-Python validator. SNOMED CT and dm+d identifiers carry a
Verhoeff check digit, which `is_valid_sctid` verifies.
"""

from __future__ import annotations

import re

from carepilot.schema.model import CodeSystem

CODE_PATTERNS: dict[CodeSystem, str] = {
    CodeSystem.SNOMEDCT: r"^[1-9][0-9]{5,17}$",
    CodeSystem.DMD: r"^[1-9][0-9]{5,17}$",
    CodeSystem.ICD10: r"^[A-Z][0-9]{2}(\.?[0-9A-Z]{1,2})?[A-Z]?$",
    CodeSystem.OPCS4: r"^[A-Z][0-9]{2}(\.?[0-9]{1,2})?$",
    CodeSystem.HRG: r"^[A-Z]{2}[0-9]{2}[A-Z]$",
    CodeSystem.LSOA: r"^[EW]0[01][0-9]{6}$",
    CodeSystem.ODS: r"^[A-Z0-9]{3,6}$",
}

CODE_EXPECTATIONS: dict[CodeSystem, str] = {
    CodeSystem.SNOMEDCT: "a SNOMED CT concept id: 6-18 digits with a valid Verhoeff check digit",
    CodeSystem.DMD: "a dm+d id: 6-18 digits with a valid Verhoeff check digit",
    CodeSystem.ICD10: "an ICD-10 code such as I21 or I21.4",
    CodeSystem.OPCS4: "an OPCS-4 code such as W37 or W37.1",
    CodeSystem.HRG: "an HRG code such as HN12A",
    CodeSystem.LSOA: "an LSOA code such as E01000001",
    CodeSystem.ODS: "an ODS organisation code of 3-6 letters/digits such as A81001",
}

_COMPILED = {system: re.compile(pattern) for system, pattern in CODE_PATTERNS.items()}

# Verhoeff tables (dihedral group D5): multiplication, permutation, inverse.
_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)


def verhoeff_is_valid(digits: str) -> bool:
    """Return True if the digit string's last digit is a valid Verhoeff check digit.

    >>> verhoeff_is_valid("44054006")  # SNOMED CT: diabetes mellitus type 2
    True
    >>> verhoeff_is_valid("44054007")
    False
    """
    check = 0
    for i, ch in enumerate(reversed(digits)):
        check = _D[check][_P[i % 8][int(ch)]]
    return check == 0


def verhoeff_check_digit(digits: str) -> str:
    """Return the Verhoeff check digit to append to `digits`.

    >>> verhoeff_check_digit("4405400")
    '6'
    """
    check = 0
    for i, ch in enumerate(reversed(digits)):
        check = _D[check][_P[(i + 1) % 8][int(ch)]]
    inverse = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)
    return str(inverse[check])


def is_valid_sctid(code: str) -> bool:
    """Check a SNOMED CT / dm+d identifier: digits, length 6-18, Verhoeff check digit."""
    return bool(_COMPILED[CodeSystem.SNOMEDCT].match(code)) and verhoeff_is_valid(code)


def is_valid_code(system: CodeSystem, code: str) -> bool:
    """Check `code` against the format of `system`.

    >>> is_valid_code(CodeSystem.ICD10, "I21.4")
    True
    >>> is_valid_code(CodeSystem.ICD10, "21.4")
    False
    """
    if system in (CodeSystem.SNOMEDCT, CodeSystem.DMD):
        return is_valid_sctid(code)
    return bool(_COMPILED[system].match(code))
