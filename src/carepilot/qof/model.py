"""A local QOF scheme: which indicators, their points, thresholds and money.

Scheme YAML (see examples/qof/local-qof.yaml)::

    name: Anytown local QOF 2024/25
    pounds_per_point: 220.62
    national_average_list_size: 9964      # CPI; omit to use the data's mean
    indicators:
      - id: HYP008                        # scheme's own code
        indicator: hypertension-bp-140-90-under-80   # library id, or
        # definition: path/to/own.yaml    # a commissioner's own definition
        points: 38
        lower: 40
        upper: 85
        prevalence: prevalence-hypertension   # optional APDF register
        national_prevalence: 14.5             # optional; else from the data
    inequality:
      - id: HYP-GAP
        indicator: hypertension-bp-140-90-under-80
        breakdown: imd_quintile
        group: "1"            # most deprived
        reference: "5"        # least deprived
        points: 10
        full_at: 2            # gap (percentage points) earning full points
        zero_at: 10           # gap earning none

Parsing validates at this boundary (pydantic) and reports the file and field.
Pure: takes text.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from carepilot.errors import ConfigError


@dataclass(frozen=True, slots=True)
class SchemeIndicator:
    """One paid indicator of the scheme."""

    id: str
    indicator: str | None
    definition: str | None
    points: Decimal
    lower: Decimal
    upper: Decimal
    prevalence: str | None = None
    national_prevalence: Decimal | None = None

    @property
    def source(self) -> str:
        return self.indicator or self.definition or ""


@dataclass(frozen=True, slots=True)
class GapIndicator:
    """Points for narrowing an achievement gap between two groups of patients."""

    id: str
    indicator: str | None
    definition: str | None
    breakdown: str
    group: str
    reference: str
    points: Decimal
    full_at: Decimal
    zero_at: Decimal

    @property
    def source(self) -> str:
        return self.indicator or self.definition or ""


@dataclass(frozen=True, slots=True)
class Scheme:
    """A local QOF scheme."""

    name: str
    pounds_per_point: Decimal
    indicators: tuple[SchemeIndicator, ...]
    inequality: tuple[GapIndicator, ...] = ()
    national_average_list_size: int | None = None

    @property
    def max_points(self) -> Decimal:
        return sum((i.points for i in (*self.indicators, *self.inequality)), Decimal(0))


class _Source(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1)
    indicator: str | None = None
    definition: str | None = None
    points: Decimal = Field(gt=0)

    @model_validator(mode="after")
    def _one_source(self) -> _Source:
        if (self.indicator is None) == (self.definition is None):
            raise ValueError(
                "give exactly one of `indicator:` (a library id) or `definition:` "
                "(a YAML file)"
            )
        return self


class _RawIndicator(_Source):
    lower: Decimal = Field(ge=0, le=100)
    upper: Decimal = Field(ge=0, le=100)
    prevalence: str | None = None
    national_prevalence: Decimal | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _thresholds(self) -> _RawIndicator:
        if self.lower >= self.upper:
            raise ValueError(f"lower ({self.lower}) must be below upper ({self.upper})")
        return self


class _RawGap(_Source):
    breakdown: str = "imd_quintile"
    group: str = "1"
    reference: str = "5"
    full_at: Decimal = Field(ge=0)
    zero_at: Decimal = Field(gt=0)

    @model_validator(mode="after")
    def _thresholds(self) -> _RawGap:
        if self.full_at >= self.zero_at:
            raise ValueError("full_at must be below zero_at")
        return self


class _RawScheme(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    pounds_per_point: Decimal = Field(gt=0)
    national_average_list_size: int | None = Field(default=None, gt=0)
    indicators: list[_RawIndicator] = Field(min_length=1)
    inequality: list[_RawGap] = Field(default_factory=list[_RawGap])


def parse_scheme(text: str, source: str = "<scheme>") -> Scheme:
    """Read and validate a scheme YAML.

    Raises:
        ConfigError: naming the file and each invalid field.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML ({exc})") from None
    try:
        raw = _RawScheme.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'document'}: {e['msg']}"
            for e in exc.errors()
        )
        raise ConfigError(f"{source}: invalid QOF scheme: {problems}") from None
    ids = [i.id for i in (*raw.indicators, *raw.inequality)]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ConfigError(f"{source}: scheme indicator ids repeat: {', '.join(dupes)}")
    return Scheme(
        name=raw.name,
        pounds_per_point=raw.pounds_per_point,
        national_average_list_size=raw.national_average_list_size,
        indicators=tuple(
            SchemeIndicator(
                i.id,
                i.indicator,
                i.definition,
                i.points,
                i.lower,
                i.upper,
                i.prevalence,
                i.national_prevalence,
            )
            for i in raw.indicators
        ),
        inequality=tuple(
            GapIndicator(
                g.id,
                g.indicator,
                g.definition,
                g.breakdown,
                g.group,
                g.reference,
                g.points,
                g.full_at,
                g.zero_at,
            )
            for g in raw.inequality
        ),
    )
