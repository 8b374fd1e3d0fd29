"""Settle one period of a contract: budget, spend, quality, risk share, tariff comparison.

`settle(contract, inputs)` is pure: it takes already-measured quantities
(`SettlementInputs`: the budget build-up, spend by setting, pooled high-cost
amounts, tariff prices, indicator achievements and inequality gaps) and returns a
`Settlement` whose every amount follows from the lines above it by the rounding
rule in `contracts.rules`. `reconcile(settlement)` re-checks that the components
add up to the totals to the penny.

Payment flows (capitation with a quality withhold and risk corridors):

* B  budget; W = round(B x withhold %) withheld; C = B - W paid during the year;
* G  gross spend of the population by setting; H pooled high-cost excess (paid to
  the provider from the commissioner's high-cost pool); X = G - H spend against
  the budget;
* savings/losses B - X shared through the corridors: provider keeps PS of savings
  (returns CS = savings - PS) or bears PL of losses (commissioner covers CL);
* E quality payment earned out of W;
* year-end settlement = E - CS + CL; total paid to the provider = C + settlement + H;
* provider result = total paid - G = PS - PL - (W - E).

Pure module: imports no I/O, web, database or CLI code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from carepilot.contracts.model import HUNDRED, Contract, MissingPolicy, Setting
from carepilot.contracts.rules import (
    ZERO,
    GapObservation,
    RiskShareResult,
    apply_risk_share,
    apportion,
    gap_reduction_pct,
    inequality_fraction,
    round_money,
    round_points,
    score_indicator,
)
from carepilot.errors import InternalError


@dataclass(frozen=True, slots=True)
class BudgetBuildUp:
    """The measured pieces of the capitated budget for one period.

    budget = round_money(expected_cost x trend_factor x scale_factor).
    """

    registered_patients: int
    patient_months: Decimal
    expected_cost: Decimal
    """Sum over patients of modelled annual cost x share of the year registered, £."""
    trend_factor: Decimal
    scale_factor: Decimal

    @property
    def trended_cost(self) -> Decimal:
        """Expected cost grown to the contract year, £."""
        return round_money(self.expected_cost * self.trend_factor)

    @property
    def budget(self) -> Decimal:
        """The risk-adjusted budget, £."""
        return round_money(self.trended_cost * self.scale_factor)


@dataclass(frozen=True, slots=True)
class IndicatorObservation:
    """An indicator's value for the contract area in the period and the baseline."""

    value: Decimal | None
    baseline: Decimal | None = None
    numerator: float | None = None
    denominator: float | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class InequalityObservation:
    """An inequality gap in the period and in the baseline year (None if unmeasurable)."""

    current: GapObservation | None
    baseline: GapObservation | None
    note: str = ""


@dataclass(frozen=True, slots=True)
class SettlementInputs:
    """Everything measured for one settlement period."""

    period_label: str
    period_start: date
    period_end: date
    """Last day of the period (inclusive)."""
    budget: BudgetBuildUp
    gross_spend: dict[Setting, Decimal]
    pooled_excess: Decimal = ZERO
    pooled_patients: int = 0
    tariff_base: dict[Setting, Decimal] = field(default_factory=dict[Setting, Decimal])
    """Tariff price of payable activity by setting, before the market forces factor."""
    community_attended_contacts: int = 0
    indicators: dict[str, IndicatorObservation] = field(
        default_factory=dict[str, IndicatorObservation]
    )
    inequalities: dict[str, InequalityObservation] = field(
        default_factory=dict[str, InequalityObservation]
    )


@dataclass(frozen=True, slots=True)
class QualityLine:
    """One indicator's or inequality target's contribution to the quality score."""

    kind: str
    """``indicator`` or ``inequality``."""
    id: str
    indicator_id: str
    weight_pct: Decimal
    effective_weight_pct: Decimal
    value: Decimal | None
    baseline: Decimal | None
    attainment: Decimal | None
    improvement: Decimal | None
    earned: Decimal
    basis: str
    points: Decimal
    payment: Decimal
    note: str = ""


@dataclass(frozen=True, slots=True)
class QualityResult:
    """Quality score (0-100) and the withheld amount it earns back."""

    lines: tuple[QualityLine, ...]
    score_pct: Decimal
    withheld: Decimal
    earned: Decimal

    @property
    def forfeited(self) -> Decimal:
        """Withheld money not earned, £."""
        return self.withheld - self.earned


@dataclass(frozen=True, slots=True)
class Settlement:
    """A settled period: every amount of the reconciliation statement."""

    contract_id: str
    contract_version: int
    period_label: str
    period_start: date
    period_end: date
    build_up: BudgetBuildUp
    budget: Decimal
    withheld: Decimal
    capitation_paid: Decimal
    gross_spend: dict[Setting, Decimal]
    gross_total: Decimal
    pooled_excess: Decimal
    pooled_patients: int
    spend: Decimal
    risk: RiskShareResult
    quality: QualityResult
    year_end_payment: Decimal
    total_paid: Decimal
    provider_result: Decimal
    tariff: dict[Setting, Decimal]
    tariff_total: Decimal

    @property
    def provider_savings_share(self) -> Decimal:
        """Savings the provider keeps (0 when there were losses)."""
        return self.risk.provider_amount if self.risk.direction == "savings" else ZERO

    @property
    def commissioner_savings_share(self) -> Decimal:
        """Savings returned to the commissioner."""
        return (
            self.risk.commissioner_amount if self.risk.direction == "savings" else ZERO
        )

    @property
    def provider_loss_share(self) -> Decimal:
        """Losses the provider bears (0 when there were savings)."""
        return self.risk.provider_amount if self.risk.direction == "losses" else ZERO

    @property
    def commissioner_loss_share(self) -> Decimal:
        """Losses the commissioner covers."""
        return (
            self.risk.commissioner_amount if self.risk.direction == "losses" else ZERO
        )

    @property
    def commissioner_gain_vs_tariff(self) -> Decimal:
        """Tariff counterfactual - total paid: positive when the contract costs less."""
        return self.tariff_total - self.total_paid

    @property
    def provider_result_under_tariff(self) -> Decimal:
        """What the provider would have made under payment by activity: T - G."""
        return self.tariff_total - self.gross_total


def score_quality(
    contract: Contract, inputs: SettlementInputs, withheld: Decimal
) -> QualityResult:
    """Score every indicator and inequality target and earn back the withhold.

    points_i = round(effective weight_i x earned fraction_i, 2 dp);
    score = sum of points; earned = round_money(W x score / 100), apportioned
    across the lines by largest remainder so that the lines add up to it.
    """
    spec = contract.quality
    raw: list[tuple[str, str, str, Decimal, Decimal | None, Decimal | None]] = []
    scored: list[tuple[Decimal | None, Decimal | None, Decimal, str, str]] = []
    for target in spec.indicators:
        obs = inputs.indicators.get(target.indicator_id, IndicatorObservation(None))
        raw.append(
            (
                "indicator",
                target.indicator_id,
                target.indicator_id,
                target.weight_pct,
                obs.value,
                obs.baseline,
            )
        )
        if obs.value is None:
            scored.append((None, None, ZERO, "missing", obs.note or "no result"))
        else:
            s = score_indicator(target, obs.value, obs.baseline)
            scored.append((s.attainment, s.improvement, s.earned, s.basis, obs.note))
    for target in spec.inequality_targets:
        obs_i = inputs.inequalities.get(target.name, InequalityObservation(None, None))
        cur = obs_i.current.value if obs_i.current else None
        base = obs_i.baseline.value if obs_i.baseline else None
        raw.append(
            (
                "inequality",
                target.name,
                target.indicator_id,
                target.weight_pct,
                cur,
                base,
            )
        )
        if cur is None or base is None:
            scored.append(
                (None, None, ZERO, "missing", obs_i.note or "gap not measurable")
            )
        else:
            reduction = gap_reduction_pct(base, cur)
            frac = inequality_fraction(target, reduction)
            note = f"gap size reduced by {round_points(reduction)} %"
            scored.append((frac, None, frac, "gap reduction", note))
    weights = [r[3] for r in raw]
    if spec.if_missing is MissingPolicy.REWEIGHT:
        assessed = [
            w if s[3] != "missing" else ZERO
            for w, s in zip(weights, scored, strict=True)
        ]
        effective = (
            apportion(HUNDRED, assessed)
            if sum(assessed, ZERO) > 0
            else [ZERO] * len(raw)
        )
    else:
        effective = list(weights)
    points = [round_points(w * s[2]) for w, s in zip(effective, scored, strict=True)]
    score = sum(points, ZERO)
    earned = round_money(withheld * score / HUNDRED)
    payments = apportion(earned, points)
    lines = tuple(
        QualityLine(
            kind=r[0],
            id=r[1],
            indicator_id=r[2],
            weight_pct=r[3],
            effective_weight_pct=w,
            value=r[4],
            baseline=r[5],
            attainment=s[0],
            improvement=s[1],
            earned=s[2],
            basis=s[3],
            points=p,
            payment=pay,
            note=s[4],
        )
        for r, s, w, p, pay in zip(
            raw, scored, effective, points, payments, strict=True
        )
    )
    return QualityResult(lines, score, withheld, earned)


def price_tariff(
    contract: Contract, inputs: SettlementInputs
) -> dict[Setting, Decimal]:
    """Price the period's activity at tariff, by setting, with the market forces factor."""
    spec = contract.tariff
    out: dict[Setting, Decimal] = {}
    for setting in contract.capitation.settings:
        base = inputs.tariff_base.get(setting, ZERO)
        if (
            setting is Setting.COMMUNITY
            and spec.community_price_per_contact is not None
        ):
            base = spec.community_price_per_contact * inputs.community_attended_contacts
        out[setting] = round_money(base * spec.market_forces_factor)
    return out


def settle(contract: Contract, inputs: SettlementInputs) -> Settlement:
    """Settle one period of `contract` from measured `inputs` (pure; see module doc)."""
    budget = inputs.budget.budget
    withheld = round_money(budget * contract.quality.withhold_pct / HUNDRED)
    capitation_paid = budget - withheld
    gross = {
        s: round_money(inputs.gross_spend.get(s, ZERO))
        for s in contract.capitation.settings
    }
    gross_total = sum(gross.values(), ZERO)
    pooled = round_money(inputs.pooled_excess)
    spend = gross_total - pooled
    quality = score_quality(contract, inputs, withheld)
    risk = apply_risk_share(
        contract.risk_share,
        budget,
        spend,
        quality_score_pct=quality.score_pct,
        gate_min_score_pct=contract.quality.gate_min_score_pct,
        scale_by_quality=contract.quality.scale_savings_by_quality,
    )
    cs = risk.commissioner_amount if risk.direction == "savings" else ZERO
    cl = risk.commissioner_amount if risk.direction == "losses" else ZERO
    year_end = quality.earned - cs + cl
    total_paid = capitation_paid + year_end + pooled
    tariff = price_tariff(contract, inputs)
    settlement = Settlement(
        contract_id=contract.id,
        contract_version=contract.version,
        period_label=inputs.period_label,
        period_start=inputs.period_start,
        period_end=inputs.period_end,
        build_up=inputs.budget,
        budget=budget,
        withheld=withheld,
        capitation_paid=capitation_paid,
        gross_spend=gross,
        gross_total=gross_total,
        pooled_excess=pooled,
        pooled_patients=inputs.pooled_patients,
        spend=spend,
        risk=risk,
        quality=quality,
        year_end_payment=year_end,
        total_paid=total_paid,
        provider_result=total_paid - gross_total,
        tariff=tariff,
        tariff_total=sum(tariff.values(), ZERO),
    )
    reconcile(settlement)
    return settlement


def reconciliation_checks(s: Settlement) -> list[tuple[str, Decimal, Decimal]]:
    """Each identity the statement must satisfy, as (description, left, right)."""
    risk = s.risk
    band_sum = sum((b.provider_amount for b in risk.bands), ZERO)
    return [
        (
            "budget = capitation paid + withheld",
            s.budget,
            s.capitation_paid + s.withheld,
        ),
        (
            "gross spend = sum of settings",
            s.gross_total,
            sum(s.gross_spend.values(), ZERO),
        ),
        (
            "spend against budget = gross spend - pooled",
            s.spend,
            s.gross_total - s.pooled_excess,
        ),
        ("variance = budget - spend", risk.variance, s.budget - s.spend),
        (
            "|variance| = provider share + commissioner share",
            abs(risk.variance),
            risk.provider_amount + risk.commissioner_amount,
        ),
        (
            "provider share before cap = sum of bands",
            risk.provider_before_cap,
            band_sum,
        ),
        (
            "quality points = sum of lines",
            s.quality.score_pct,
            sum((q.points for q in s.quality.lines), ZERO),
        ),
        (
            "quality payment = sum of lines",
            s.quality.earned,
            sum((q.payment for q in s.quality.lines), ZERO),
        ),
        (
            "withheld = earned + forfeited",
            s.withheld,
            s.quality.earned + s.quality.forfeited,
        ),
        (
            "year-end payment = quality earned - savings returned + losses covered",
            s.year_end_payment,
            s.quality.earned - s.commissioner_savings_share + s.commissioner_loss_share,
        ),
        (
            "total paid = capitation paid + year-end payment + pooled",
            s.total_paid,
            s.capitation_paid + s.year_end_payment + s.pooled_excess,
        ),
        (
            "provider result = savings kept - losses borne - withhold forfeited",
            s.provider_result,
            s.provider_savings_share - s.provider_loss_share - s.quality.forfeited,
        ),
        (
            "tariff total = sum of settings",
            s.tariff_total,
            sum(s.tariff.values(), ZERO),
        ),
    ]


def reconcile(settlement: Settlement) -> None:
    """Check every identity to the penny.

    Raises:
        InternalError: naming the identity that fails (a bug, never user input).
    """
    for description, left, right in reconciliation_checks(settlement):
        if left != right:
            raise InternalError(
                f"contract `{settlement.contract_id}` {settlement.period_label}: "
                f"statement does not reconcile: {description} ({left} != {right})"
            )
