"""Who a contract is between, whom it covers and when: parties, population, term.

Pure module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from carepilot.contracts.common import (
    require,
)


@dataclass(frozen=True, slots=True)
class Party:
    """An organisation party to the contract (ODS code and name)."""

    code: str
    name: str

    def __post_init__(self) -> None:
        require(bool(self.code.strip()), "code", "is empty", "give the ODS code")
        require(bool(self.name.strip()), "name", "is empty", "give the name")


@dataclass(frozen=True, slots=True)
class Parties:
    """Commissioner, lead provider (who receives payments) and subcontractors."""

    commissioner: Party
    lead_provider: Party
    subcontractors: tuple[Party, ...] = ()


@dataclass(frozen=True, slots=True)
class PopulationSpec:
    """The contract population: patients registered with a pilot's practices.

    Exactly one of `pilot_id` (member practices from `pilot_site_members`) or
    `practice_codes` (ODS codes) is given. Entry and exit are pro rata: a patient
    counts for the days registered with one of these practices and alive.
    """

    pilot_id: str | None = None
    practice_codes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        require(
            (self.pilot_id is None) != (not self.practice_codes),
            "pilot_id",
            "give exactly one of `pilot_id` and `practice_codes`",
            "name the pilot (its member practices are used) or list practice codes",
        )

    @property
    def area_type(self) -> str:
        """Area type of the indicator results rows that describe this population."""
        return "pilot" if self.pilot_id is not None else "practice"


@dataclass(frozen=True, slots=True)
class Term:
    """Contract term. Contract year YYYY starts on the term's start month/day in YYYY."""

    start: date
    end: date
    """Last day of the term (inclusive)."""

    def __post_init__(self) -> None:
        require(
            self.end > self.start,
            "end",
            f"term ends ({self.end}) on or before it starts ({self.start})",
            "make `term.end` the last day of the term, after `term.start`",
        )
        require(
            not (self.start.month == 2 and self.start.day == 29),
            "start",
            "a term starting on 29 February has no anniversary in most years",
            "start the term on 1 March or another day",
        )

    def year_start(self, year: int) -> date:
        """First day of contract year `year`."""
        return date(year, self.start.month, self.start.day)

    def year_end_exclusive(self, year: int) -> date:
        """First day after contract year `year`."""
        return date(year + 1, self.start.month, self.start.day)

    def years(self) -> tuple[int, ...]:
        """The contract years that start within the term."""
        first = self.start.year
        out: list[int] = []
        year = first
        while self.year_start(year) <= self.end:
            out.append(year)
            year += 1
        return tuple(out)
