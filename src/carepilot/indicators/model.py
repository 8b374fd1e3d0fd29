"""Indicator definitions: the frozen, validated values the engine runs.

`carepilot.indicators.load` builds these from YAML; everything downstream (the
Ibis compiler, the reference evaluator, the engine) reads only these types. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from carepilot.indicators.codelists import Codelist
from carepilot.indicators.expected import ExpectedRates
from carepilot.indicators.expr import EventAgg, Node
from carepilot.indicators.periods import PeriodRule


class ValueType(StrEnum):
    """What the indicator value is."""

    PROPORTION = "proportion"
    """numerator / (denominator - exceptions) x multiplier, Wilson intervals."""
    CRUDE_RATE = "crude_rate"
    """events / population x multiplier, Byar's / exact Poisson intervals."""
    DSR = "dsr"
    """directly age-standardised rate (ESP2013, 19 bands), Dobson intervals."""
    ISR = "isr"
    """indirectly age-standardised ratio (observed / expected x 100)."""
    MEAN = "mean"
    """mean of a per-patient value, Student-t intervals."""
    COUNT = "count"
    """a count of events or patients, Byar's / exact Poisson intervals."""


class Unit(StrEnum):
    """What one unit of the denominator is."""

    PATIENT = "patient"
    """One row per patient and period (the default)."""
    EVENT = "event"
    """One row per event (appointment, spell, pathway, request ...) of a patient in
    the population, in the period; the event is attributed to the patient's
    practice and attributes in that period, so breakdowns and areas work as usual."""


class Polarity(StrEnum):
    """Whether high values are good (same values as `carepilot.stats.significance`)."""

    HIGHER_IS_BETTER = "higher_is_better"
    LOWER_IS_BETTER = "lower_is_better"
    NO_JUDGEMENT = "no_judgement"


DEFAULT_MULTIPLIER: dict[ValueType, float] = {
    ValueType.PROPORTION: 100,
    ValueType.CRUDE_RATE: 1000,
    ValueType.DSR: 100_000,
    ValueType.ISR: 100,
    ValueType.MEAN: 1,
    ValueType.COUNT: 1,
}


BREAKDOWN_NAMES: tuple[str, ...] = (
    "total",
    "sex",
    "age_band",
    "ethnicity_5",
    "ethnicity_16",
    "imd_quintile",
    "imd_decile",
    "religion",
    "disability",
    "sexual_orientation",
    "rural_urban",
)
"""Every breakdown the engine reports, in output order (results contract)."""


@dataclass(frozen=True, slots=True)
class IndicatorDefinition:
    """One indicator, validated and resolved.

    Attributes:
        id: slug, unique in a library.
        version: integer version; bump when the meaning changes.
        title: short name.
        description: what it measures.
        rationale: why it matters.
        domain: library section (diabetes, hospital use, ...).
        value_type: how the value and its intervals are computed.
        multiplier: scale of the value (100 for percent, 1000 per thousand, ...).
        polarity: whether higher values are better.
        period_rule: which events count towards a period.
        population: who is counted in the denominator (registered people meeting it).
        numerator: condition (proportion) or per-patient count/value.
        exclusions: removed from the population entirely.
        exceptions: QOF personalised care adjustments, counted separately (only
            for proportions): achievement = A / (B - C) where C excludes people
            who met the numerator.
        codelists: codelists by name.
        target: optional target value on the `value` scale (the goal).
        target_minimum: optional minimum standard on the worse side of `target`
            (Fingertips' red/amber/green goals: values between the two meet the
            minimum but not the goal).
        source: where the definition came from (file path), for messages.
        reference: optional citation (QOF code, Fingertips id, ...).
        lines: line of each top-level key in the source file.
        breakdowns: the breakdowns the indicator supports (None: all); `total`
            is always reported. E.g. a sex-specific screening indicator lists
            no `sex` breakdown.
        unit: patient (default) or event.
        events: for `unit: event`, the events counted (source and window; the
            aggregation is always EXISTS and only its source/window matter).
        expected: for `value_type: isr`, an external table of expected rates
            (`expected:`); None uses national recorded age-specific rates.
    """

    id: str
    version: int
    title: str
    description: str
    rationale: str
    domain: str
    value_type: ValueType
    multiplier: float
    polarity: Polarity
    period_rule: PeriodRule
    population: Node
    numerator: Node
    exclusions: Node | None = None
    exceptions: Node | None = None
    codelists: Mapping[str, Codelist] = field(default_factory=dict[str, Codelist])
    target: float | None = None
    target_minimum: float | None = None
    source: str = "<memory>"
    reference: str | None = None
    lines: Mapping[str, int] = field(default_factory=dict[str, int], compare=False)
    breakdowns: tuple[str, ...] | None = None
    unit: Unit = Unit.PATIENT
    events: EventAgg | None = None
    expected: ExpectedRates | None = None

    def expressions(self) -> list[Node]:
        """All expression trees of the definition."""
        out = [self.population, self.numerator]
        out += [e for e in (self.exclusions, self.exceptions) if e is not None]
        return out
