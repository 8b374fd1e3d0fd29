"""Codelists shipped with carepilot, in OpenCodelists CSV format (`code,term`).

The synthetic generator draws its codes from these files and the indicator library
uses the same files, so indicators find the synthetic events. `README.md` in this
folder lists every file, its concept, code system and users.

Files are read once per process through `importlib.resources` (they ship inside the
wheel), never from the working directory.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources

from carepilot.errors import DefinitionError
from carepilot.schema.model import CodeSystem

__all__ = ["Codelist", "codelist_names", "load_codelist"]

_SUFFIX_SYSTEMS: tuple[tuple[str, CodeSystem], ...] = (
    ("_icd10", CodeSystem.ICD10),
    ("_opcs4", CodeSystem.OPCS4),
)
_DMD_LISTS = frozenset(
    {
        "statins",
        "anticoagulants",
        "ace_inhibitors_arbs",
        "antihypertensives",
        "inhalers",
        "metformin",
        "nice_ta_medicines",
    }
)


@dataclass(frozen=True, slots=True)
class Codelist:
    """One codelist: its name, code system and `(code, term)` rows in file order."""

    name: str
    system: CodeSystem
    codes: tuple[str, ...]
    terms: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.codes)


def system_of(name: str) -> CodeSystem:
    """Return the code system of codelist `name`, inferred from its file name.

    `*_icd10` is ICD-10, `*_opcs4` OPCS-4, `hrg_*` HRG, the medicine lists dm+d and
    everything else SNOMED CT. The convention keeps the CSV itself in the plain
    OpenCodelists `code,term` format.
    """
    if name.startswith("hrg_"):
        return CodeSystem.HRG
    for suffix, system in _SUFFIX_SYSTEMS:
        if name.endswith(suffix):
            return system
    if name in _DMD_LISTS:
        return CodeSystem.DMD
    return CodeSystem.SNOMEDCT


@cache
def codelist_names() -> tuple[str, ...]:
    """Names (file stems) of every shipped codelist, sorted."""
    root = resources.files(__name__)
    return tuple(
        sorted(
            p.name.removesuffix(".csv")
            for p in root.iterdir()
            if p.name.endswith(".csv")
        )
    )


@cache
def load_codelist(name: str) -> Codelist:
    """Load codelist `name` (file `<name>.csv` in this package).

    Raises:
        DefinitionError: the codelist does not exist, or the file has no `code`
            column or no rows.
    """
    if name not in codelist_names():
        raise DefinitionError(
            f"codelist `{name}` does not exist in carepilot/codelists; "
            f"available: {', '.join(codelist_names())}"
        )
    text = resources.files(__name__).joinpath(f"{name}.csv").read_text("utf-8")
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or "code" not in reader.fieldnames:
        raise DefinitionError(
            f"codelist file `{name}.csv` has no `code` column; expected the "
            "OpenCodelists header `code,term`"
        )
    rows = [(r["code"].strip(), (r.get("term") or "").strip()) for r in reader]
    if not rows:
        raise DefinitionError(f"codelist file `{name}.csv` has no codes")
    return Codelist(
        name=name,
        system=system_of(name),
        codes=tuple(c for c, _ in rows),
        terms=tuple(t for _, t in rows),
    )
