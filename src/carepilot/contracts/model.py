"""Types of an outcome-based contract: parties, population, budget, quality, risk share.

A contract is data. These frozen dataclasses hold one validated definition; they
check their own invariants on construction and raise `FieldError` naming the field
(relative to the object) and how to fix it. `contracts.definition` adds the file and
line when the definition came from YAML, and turns a contract back into plain
dictionaries so that it can be stored (workflow database, web forms) later.

Percentages are written as percentages (``2.5`` means 2.5 %), as finance officers
write them, and stored as `Decimal`.

Pure module: imports no I/O, web, database or CLI code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from carepilot.errors import DefinitionError

HUNDRED = Decimal(100)


class FieldError(DefinitionError):
    """A contract field is invalid; `field` is its dotted path inside the object."""

    def __init__(self, field_path: str, problem: str, fix: str) -> None:
        self.field = field_path
        self.problem = problem
        self.fix = fix
        super().__init__(f"`{field_path}`: {problem}; fix: {fix}")

    def within(self, prefix: str) -> FieldError:
        """Return the same error with `prefix.` prepended to the field path."""
        path = f"{prefix}.{self.field}" if prefix else self.field
        return FieldError(path, self.problem, self.fix)


class Setting(StrEnum):
    """Care settings whose spend the capitated budget covers (tables of the data model)."""

    APCS = "apcs"
    OPA = "opa"
    EC = "ec"
    COMMUNITY = "community"


SETTING_LABELS: dict[Setting, str] = {
    Setting.APCS: "Admitted patient care (hospital spells)",
    Setting.OPA: "Outpatient appointments",
    Setting.EC: "Emergency care (A&E) attendances",
    Setting.COMMUNITY: "Community health service contacts",
}


class RiskShareType(StrEnum):
    """One-sided: the provider shares savings only. Two-sided: savings and losses."""

    ONE_SIDED = "one_sided"
    TWO_SIDED = "two_sided"


class ScoringMethod(StrEnum):
    """How achievement earns credit: linear between thresholds, or in tiers."""

    LINEAR = "linear"
    TIERED = "tiered"


class Polarity(StrEnum):
    """Whether a higher indicator value is better or worse."""

    HIGHER = "higher_is_better"
    LOWER = "lower_is_better"


class GapMeasure(StrEnum):
    """Inequality measure: slope index of inequality, or the extreme-group gap."""

    SII = "sii"
    GAP = "gap"


class MissingPolicy(StrEnum):
    """What an indicator with no (or suppressed) result earns.

    ``zero`` earns nothing; ``reweight`` spreads its weight over the indicators that
    could be assessed (as value-based purchasing schemes do for too-small measures).
    """

    ZERO = "zero"
    REWEIGHT = "reweight"


def _require(condition: bool, field_path: str, problem: str, fix: str) -> None:
    if not condition:
        raise FieldError(field_path, problem, fix)


def _is_pct(value: Decimal) -> bool:
    return Decimal(0) <= value <= HUNDRED


@dataclass(frozen=True, slots=True)
class Party:
    """An organisation party to the contract (ODS code and name)."""

    code: str
    name: str

    def __post_init__(self) -> None:
        _require(bool(self.code.strip()), "code", "is empty", "give the ODS code")
        _require(bool(self.name.strip()), "name", "is empty", "give the name")


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
        _require(
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
        _require(
            self.end > self.start,
            "end",
            f"term ends ({self.end}) on or before it starts ({self.start})",
            "make `term.end` the last day of the term, after `term.start`",
        )
        _require(
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


@dataclass(frozen=True, slots=True)
class ConditionFlag:
    """A morbidity flag for the risk model: a coded condition recorded before the year."""

    name: str
    snomedct_codes: tuple[str, ...]
    codelist: str | None = None
    """Name of the shipped codelist the codes came from, if any (kept for provenance)."""

    def __post_init__(self) -> None:
        _require(
            self.name.isidentifier(),
            "name",
            f"`{self.name}` is not a simple name",
            "use letters, digits and underscores, e.g. `diabetes`",
        )
        _require(
            len(self.snomedct_codes) > 0,
            "snomedct",
            "no codes",
            "list the SNOMED CT concept ids that record the condition",
        )


@dataclass(frozen=True, slots=True)
class HighCostProtection:
    """Per-patient annual stop-loss: a share of spend above `threshold` is pooled.

    The pooled amount is paid from the commissioner's high-cost pool (reinsurance),
    outside the budget; the budget model is fitted on costs net of pooling so that
    budget and spend are measured the same way.
    """

    threshold: Decimal
    pooled_share_pct: Decimal = HUNDRED

    def __post_init__(self) -> None:
        _require(
            self.threshold > 0,
            "threshold",
            "must be positive",
            "give the annual per-patient attachment point in pounds, e.g. 50000",
        )
        _require(
            _is_pct(self.pooled_share_pct),
            "pooled_share",
            "must be a percentage between 0 and 100",
            "give the share of the excess the pool pays, e.g. 100",
        )


DEFAULT_AGE_BANDS: tuple[int, ...] = (0, 5, 15, 25, 45, 65, 75, 85)


@dataclass(frozen=True, slots=True)
class CapitationSpec:
    """How the risk-adjusted capitated budget is built.

    Expected annual cost per person is a weighted least-squares model of cost on
    age band, sex, IMD quintile and morbidity flags, fitted on `baseline_year` for
    the commissioner's whole population; then grown by `trend_pct` a year and, if
    `commissioner_total` is set, scaled so that the commissioner's whole population
    would cost exactly that envelope (weighted-capitation share).
    """

    baseline_year: int
    settings: tuple[Setting, ...] = tuple(Setting)
    age_bands: tuple[int, ...] = DEFAULT_AGE_BANDS
    conditions: tuple[ConditionFlag, ...] = ()
    trend_pct: Decimal = Decimal(0)
    commissioner_total: Decimal | None = None
    high_cost: HighCostProtection | None = None
    holdout_pct: Decimal = Decimal(30)
    seed: int = 20240401

    def __post_init__(self) -> None:
        _require(
            len(self.settings) > 0 and len(set(self.settings)) == len(self.settings),
            "settings",
            "must list each care setting at most once, and at least one",
            f"choose from {', '.join(s.value for s in Setting)}",
        )
        bands = self.age_bands
        _require(
            len(bands) >= 2
            and bands[0] == 0
            and all(b < c for b, c in zip(bands, bands[1:], strict=False)),
            "age_bands",
            "must start at 0 and increase strictly, with at least two bands",
            "list the lower bound of each band, e.g. [0, 5, 15, 25, 45, 65, 75, 85]",
        )
        names = [c.name for c in self.conditions]
        _require(
            len(set(names)) == len(names),
            "conditions",
            "has repeated condition names",
            "give each condition a different name",
        )
        _require(
            Decimal(-50) < self.trend_pct < HUNDRED,
            "trend",
            "is outside -50 % .. 100 % a year",
            "give the annual growth as a percentage, e.g. 3.2",
        )
        _require(
            self.commissioner_total is None or self.commissioner_total > 0,
            "commissioner_total",
            "must be positive",
            "give the commissioner's annual envelope in pounds, or leave it out",
        )
        _require(
            Decimal(5) <= self.holdout_pct <= Decimal(50),
            "holdout",
            "must be between 5 and 50 per cent",
            "hold out e.g. 30 per cent of the baseline population to test the model",
        )


@dataclass(frozen=True, slots=True)
class Tier:
    """A tier of a tiered indicator: achievement at least `at_least` earns `credit_pct`."""

    at_least: Decimal
    credit_pct: Decimal


@dataclass(frozen=True, slots=True)
class ImprovementCredit:
    """Credit for improving on the baseline year, used when it beats attainment.

    Earned fraction from improvement = min(gain / full_credit_gain, 1) x max_credit,
    where gain is the change in the better direction (indicator units).
    """

    full_credit_gain: Decimal
    max_credit_pct: Decimal = Decimal(50)

    def __post_init__(self) -> None:
        _require(
            self.full_credit_gain > 0,
            "full_credit_gain",
            "must be positive",
            "give the improvement (indicator units) that earns the maximum credit",
        )
        _require(
            _is_pct(self.max_credit_pct),
            "max_credit",
            "must be a percentage between 0 and 100",
            "e.g. 50 (improvement can earn at most half the indicator's weight)",
        )


@dataclass(frozen=True, slots=True)
class IndicatorTarget:
    """A quality indicator's weight and how its achievement earns credit."""

    indicator_id: str
    weight_pct: Decimal
    polarity: Polarity = Polarity.HIGHER
    method: ScoringMethod = ScoringMethod.LINEAR
    lower: Decimal | None = None
    upper: Decimal | None = None
    tiers: tuple[Tier, ...] = ()
    improvement: ImprovementCredit | None = None

    def __post_init__(self) -> None:
        _require(
            Decimal(0) < self.weight_pct <= HUNDRED,
            "weight",
            "must be above 0 and at most 100 per cent",
            "give the indicator's share of the quality score",
        )
        if self.method is ScoringMethod.LINEAR:
            _check_linear(self.lower, self.upper, self.polarity)
        else:
            _check_tiers(self.tiers, self.polarity)


def _check_linear(lower: Decimal | None, upper: Decimal | None, pol: Polarity) -> None:
    _require(
        lower is not None and upper is not None,
        "lower",
        "a linear scale needs both `lower` and `upper`",
        "give the achievement earning nothing (`lower`) and full credit (`upper`)",
    )
    assert lower is not None and upper is not None
    if pol is Polarity.HIGHER:
        _require(
            lower < upper,
            "upper",
            f"thresholds reversed: upper ({upper}) is not above lower ({lower}) "
            "for a higher-is-better indicator",
            "swap them, or set `polarity: lower_is_better`",
        )
    else:
        _require(
            lower > upper,
            "upper",
            f"thresholds reversed: for a lower-is-better indicator full credit "
            f"(`upper` = {upper}) must be a lower value than `lower` ({lower})",
            "swap them, or set `polarity: higher_is_better`",
        )


def _check_tiers(tiers: tuple[Tier, ...], pol: Polarity) -> None:
    _require(
        len(tiers) > 0,
        "tiers",
        "a tiered indicator needs at least one tier",
        "list tiers as `- {at_least: 70, credit: 50}`",
    )
    levels = [t.at_least for t in tiers]
    credits = [t.credit_pct for t in tiers]
    increasing = all(a < b for a, b in zip(levels, levels[1:], strict=False))
    decreasing = all(a > b for a, b in zip(levels, levels[1:], strict=False))
    ok = increasing if pol is Polarity.HIGHER else decreasing
    _require(
        ok,
        "tiers",
        "tier thresholds are not in order (ascending for higher-is-better, "
        "descending for lower-is-better)",
        "order the tiers from the easiest to the hardest threshold",
    )
    _require(
        all(_is_pct(c) for c in credits)
        and all(a <= b for a, b in zip(credits, credits[1:], strict=False)),
        "tiers",
        "tier credits must be percentages that do not fall as thresholds get harder",
        "give each tier's credit as a percentage of the weight, non-decreasing",
    )


@dataclass(frozen=True, slots=True)
class InequalityTarget:
    """A target to narrow an inequality in one indicator across a breakdown.

    The gap is measured in the contract year and the baseline year, either as the
    slope index of inequality across the breakdown's ordered categories (``sii``) or
    as the difference between two named categories (``gap``). Credit is linear in
    the relative reduction of the gap's size, from `minimum_reduction_pct` (no
    credit) to `target_reduction_pct` (full credit).
    """

    name: str
    indicator_id: str
    weight_pct: Decimal
    breakdown: str = "imd_quintile"
    measure: GapMeasure = GapMeasure.GAP
    most_deprived: str = "1"
    least_deprived: str = "5"
    category_order: tuple[str, ...] = ("1", "2", "3", "4", "5")
    minimum_reduction_pct: Decimal = Decimal(0)
    target_reduction_pct: Decimal = Decimal(10)

    def __post_init__(self) -> None:
        _require(
            Decimal(0) < self.weight_pct <= HUNDRED,
            "weight",
            "must be above 0 and at most 100 per cent",
            "give the target's share of the quality score",
        )
        _require(
            self.target_reduction_pct > self.minimum_reduction_pct,
            "target_reduction",
            f"thresholds reversed: target reduction ({self.target_reduction_pct}) "
            f"is not above minimum reduction ({self.minimum_reduction_pct})",
            "make `target_reduction` the larger, e.g. minimum 0, target 10",
        )
        if self.measure is GapMeasure.SII:
            _require(
                len(self.category_order) >= 5,
                "category_order",
                "the SII needs at least 5 ordered categories (PHE method)",
                "list the breakdown categories from most to least deprived",
            )
        else:
            _require(
                self.most_deprived != self.least_deprived,
                "least_deprived",
                "is the same category as `most_deprived`",
                "name the two categories whose gap is measured",
            )


@dataclass(frozen=True, slots=True)
class QualitySpec:
    """The quality-linked payment: withhold, indicators, inequality targets, gate."""

    withhold_pct: Decimal
    indicators: tuple[IndicatorTarget, ...]
    inequality_targets: tuple[InequalityTarget, ...]
    gate_min_score_pct: Decimal = Decimal(0)
    scale_savings_by_quality: bool = False
    if_missing: MissingPolicy = MissingPolicy.ZERO

    def __post_init__(self) -> None:
        _require(
            _is_pct(self.withhold_pct) and self.withhold_pct < HUNDRED,
            "withhold",
            "must be a percentage of the budget from 0 up to (not including) 100",
            "e.g. 2.5",
        )
        _require(
            len(self.inequality_targets) >= 1,
            "inequality_targets",
            "the contract has no inequality-gap target",
            "add at least one (every pilot commits to reducing a specific inequality)",
        )
        ids = [t.indicator_id for t in self.indicators]
        _require(
            len(set(ids)) == len(ids),
            "indicators",
            "an indicator is listed twice",
            "list each indicator once",
        )
        total = sum((t.weight_pct for t in self.indicators), Decimal(0)) + sum(
            (t.weight_pct for t in self.inequality_targets), Decimal(0)
        )
        _require(
            total == HUNDRED,
            "indicators",
            f"weights of indicators and inequality targets sum to {total} %, not 100 %",
            "adjust the weights so that they add up to exactly 100",
        )
        _require(
            _is_pct(self.gate_min_score_pct),
            "gate.min_score",
            "must be a percentage between 0 and 100",
            "e.g. 40 (shared savings are forfeited below this quality score)",
        )


@dataclass(frozen=True, slots=True)
class Band:
    """A corridor band on savings (or losses) as a percentage of the budget.

    The part of the savings falling between `lower_pct` and `upper_pct` of the
    budget is shared at `provider_share_pct` (marginal, like tax bands).
    """

    lower_pct: Decimal
    upper_pct: Decimal | None
    provider_share_pct: Decimal

    def __post_init__(self) -> None:
        _require(
            self.upper_pct is None or self.upper_pct > self.lower_pct,
            "to",
            f"band upper bound {self.upper_pct} is not above its lower bound "
            f"{self.lower_pct}",
            "make `to` larger than `from`, or leave `to` out on the last band",
        )
        _require(
            _is_pct(self.provider_share_pct),
            "provider_share",
            "must be a percentage between 0 and 100",
            "give the provider's share of the savings/losses in this band",
        )


def _check_bands(bands: tuple[Band, ...], name: str) -> None:
    if not bands:
        raise FieldError(
            f"{name}[0].from",
            "corridor bands must start at 0 % of the budget",
            "make the first band `from: 0`",
        )
    _require(
        bands[0].lower_pct == 0,
        f"{name}[0].from",
        "corridor bands must start at 0 % of the budget",
        "make the first band `from: 0`",
    )
    for i, (a, b) in enumerate(zip(bands, bands[1:], strict=False)):
        if a.upper_pct is None or a.upper_pct > b.lower_pct:
            raise FieldError(
                f"{name}[{i + 1}].from",
                f"band {i + 1} overlaps band {i} "
                f"(band {i} runs to {a.upper_pct or 'no limit'}, band {i + 1} starts "
                f"at {b.lower_pct})",
                f"start band {i + 1} where band {i} ends",
            )
        if a.upper_pct < b.lower_pct:
            raise FieldError(
                f"{name}[{i + 1}].from",
                f"gap between band {i} (ends {a.upper_pct}) and band {i + 1} "
                f"(starts {b.lower_pct})",
                f"start band {i + 1} at {a.upper_pct}",
            )
    _require(
        bands[-1].upper_pct is None,
        f"{name}[{len(bands) - 1}].to",
        "the last band must be open-ended so every saving/loss falls in a band",
        "leave `to` out on the last band (use the cap to limit the total)",
    )


@dataclass(frozen=True, slots=True)
class RiskShareSpec:
    """Risk-share corridors on spend against budget (MSSP-track-like).

    Savings (budget - spend) count only if they reach the minimum savings rate
    (MSR) of the budget; losses only if they reach the minimum loss rate (MLR).
    With `first_dollar` (as MSSP) sharing then starts from the first pound,
    otherwise only the part beyond the MSR/MLR is shared. Provider amounts are
    capped at `savings_cap_pct` / `loss_cap_pct` of the budget.
    """

    type: RiskShareType
    savings_bands: tuple[Band, ...]
    loss_bands: tuple[Band, ...] = ()
    minimum_savings_rate_pct: Decimal = Decimal(0)
    minimum_loss_rate_pct: Decimal = Decimal(0)
    first_dollar: bool = True
    savings_cap_pct: Decimal = HUNDRED
    loss_cap_pct: Decimal = HUNDRED

    def __post_init__(self) -> None:
        _check_bands(self.savings_bands, "savings_bands")
        if self.type is RiskShareType.TWO_SIDED:
            _check_bands(self.loss_bands, "loss_bands")
        else:
            _require(
                not self.loss_bands,
                "loss_bands",
                "a one-sided contract shares no losses",
                "remove `loss_bands` or set `type: two_sided`",
            )
        for name, value in (
            ("minimum_savings_rate", self.minimum_savings_rate_pct),
            ("minimum_loss_rate", self.minimum_loss_rate_pct),
            ("savings_cap", self.savings_cap_pct),
            ("loss_cap", self.loss_cap_pct),
        ):
            _require(
                _is_pct(value),
                name,
                "must be a percentage of the budget between 0 and 100",
                "e.g. 2 for a 2 % minimum savings rate, 10 for a 10 % cap",
            )


@dataclass(frozen=True, slots=True)
class TariffSpec:
    """How the activity-tariff counterfactual prices the same activity.

    Spells, outpatient and A&E attendances use the tariff price recorded in the
    data (`apcs.tariff_cost`, `opa.cost`, `ec.cost`) for activity payable under
    payment by activity (attended appointments only). Community contacts have no
    national tariff: they use `community_price_per_contact` when given, else their
    recorded cost. Everything is multiplied by the market forces factor.
    """

    market_forces_factor: Decimal = Decimal(1)
    community_price_per_contact: Decimal | None = None

    def __post_init__(self) -> None:
        _require(
            Decimal("0.5") <= self.market_forces_factor <= Decimal(2),
            "market_forces_factor",
            "must be between 0.5 and 2",
            "give the provider's market forces factor, e.g. 1.0265",
        )
        _require(
            self.community_price_per_contact is None
            or self.community_price_per_contact >= 0,
            "community_price_per_contact",
            "must not be negative",
            "give the local price per attended community contact in pounds",
        )


@dataclass(frozen=True, slots=True)
class Contract:
    """An outcome-based contract: who, for whom, how the budget, quality and risk work."""

    id: str
    version: int
    title: str
    parties: Parties
    population: PopulationSpec
    term: Term
    capitation: CapitationSpec
    quality: QualitySpec
    risk_share: RiskShareSpec
    tariff: TariffSpec = field(default_factory=TariffSpec)
    description: str = ""

    def __post_init__(self) -> None:
        _require(
            bool(self.id) and self.id.replace("-", "").replace("_", "").isalnum(),
            "id",
            f"`{self.id}` is not a slug",
            "use letters, digits and hyphens, e.g. `ashford-icp-2010`",
        )
        _require(self.version >= 1, "version", "must be 1 or more", "e.g. 1")
        _require(
            self.capitation.baseline_year < self.term.start.year,
            "capitation.baseline_year",
            "the baseline year must be a whole year before the contract term",
            f"choose a year up to {self.term.start.year - 1}",
        )

    @property
    def indicator_ids(self) -> tuple[str, ...]:
        """Every indicator id the contract reads from the results file."""
        ids = [t.indicator_id for t in self.quality.indicators]
        ids += [t.indicator_id for t in self.quality.inequality_targets]
        return tuple(dict.fromkeys(ids))
