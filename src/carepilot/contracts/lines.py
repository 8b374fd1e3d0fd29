"""The numbered lines of a reconciliation statement, in the order a finance officer reads them.

`statement_lines(settlement, contract)` turns a `Settlement` into lines
(reference, description, formula in terms of earlier references, amount). Every
amount comes from the settlement (nothing is recomputed here).

Disclosure: statements are shared outside the analytics environment, so every
patient count on them (registered patients, patients whose costs were pooled,
the cost model's patient numbers) goes through `carepilot.disclosure`
(`disclose_count`; OpenSAFELY policy by default: 0-7 redacted, others rounded to
the nearest 5). Money is aggregate and shown exactly, as it must reconcile.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from carepilot.contracts.model import SETTING_LABELS, Contract
from carepilot.contracts.rules import round_points
from carepilot.contracts.settlement import Settlement
from carepilot.disclosure import OPENSAFELY, DisclosurePolicy
from carepilot.disclosure.rounding import is_small, round_to_base

REDACTED = "[REDACTED]"


@dataclass(frozen=True, slots=True)
class Line:
    """One statement line: `amount` in pounds, or a non-money `value`."""

    section: str
    ref: str
    description: str
    formula: str = ""
    amount: Decimal | None = None
    value: str = ""


def _pct(value: Decimal) -> str:
    return f"{round_points(value)} %"


def disclose_count(n: int, policy: DisclosurePolicy = OPENSAFELY) -> str:
    """A patient count as it may be shown under `policy`.

    OpenSAFELY (ehrQL measures): counts <= 7 (zero included) are redacted, others
    rounded to the nearest 5 (``5 * floor(n / 5 + 1/2)``); "suppress" policies hide
    counts below the threshold (true zeros shown unless `redact_zero`); "none"
    (row-level access) shows the count.
    """
    if policy.kind == "none":
        return str(n)
    counts = np.array([float(n)])
    small = is_small(
        counts,
        policy.threshold,
        inclusive=policy.kind == "opensafely",
        zero=policy.redact_zero,
    )
    if bool(small[0]):
        return REDACTED
    if policy.kind == "opensafely":
        return str(int(round_to_base(counts, policy.rounding_base)[0]))
    return str(n)


def _budget_lines(s: Settlement, c: Contract, policy: DisclosurePolicy) -> list[Line]:
    b = s.build_up
    sec = "A. Budget build-up"
    return [
        Line(
            sec,
            "A1",
            "Registered patients in the period",
            value=disclose_count(b.registered_patients, policy),
        ),
        Line(
            sec,
            "A2",
            "Patient-months registered (entry, exit and deaths pro rata)",
            value=str(b.patient_months),
        ),
        Line(
            sec,
            "A3",
            "Expected cost at baseline-year prices",
            "sum of modelled annual cost x share of year registered",
            b.expected_cost,
        ),
        Line(
            sec,
            "A4",
            f"Trend factor ({c.capitation.trend_pct} % a year from {c.capitation.baseline_year})",
            "(1 + trend)^years",
            value=str(b.trend_factor),
        ),
        Line(sec, "A5", "Trended expected cost", "A3 x A4", b.trended_cost),
        Line(
            sec,
            "A6",
            "Scale factor to the commissioner's envelope",
            "envelope / whole-population cost (1 if none)",
            value=str(b.scale_factor),
        ),
        Line(sec, "A7", "Risk-adjusted capitated budget", "A5 x A6", s.budget),
        Line(
            sec,
            "A8",
            f"Withheld for quality ({c.quality.withhold_pct} %)",
            "A7 x withhold %",
            s.withheld,
        ),
        Line(
            sec, "A9", "Capitation paid during the period", "A7 - A8", s.capitation_paid
        ),
    ]


def _spend_lines(s: Settlement, c: Contract, policy: DisclosurePolicy) -> list[Line]:
    sec = "B. Actual spend by setting"
    lines = [
        Line(
            sec,
            f"B{i}",
            SETTING_LABELS[k],
            "recorded cost of activity while registered",
            v,
        )
        for i, (k, v) in enumerate(s.gross_spend.items(), start=1)
    ]
    n = len(lines)
    hc = c.capitation.high_cost
    pool_desc = (
        "no high-cost protection"
        if hc is None
        else f"{hc.pooled_share_pct} % of each patient's annual spend above {hc.threshold:,}"
    )
    lines += [
        Line(sec, f"B{n + 1}", "Gross spend", f"B1 + ... + B{n}", s.gross_total),
        Line(
            sec,
            f"B{n + 2}",
            f"Pooled high-cost excess ({pool_desc}; patients: {disclose_count(s.pooled_patients, policy)})",
            "paid from the high-cost pool",
            s.pooled_excess,
        ),
        Line(
            sec,
            f"B{n + 3}",
            "Spend against the budget",
            f"B{n + 1} - B{n + 2}",
            s.spend,
        ),
    ]
    return lines


def _risk_lines(s: Settlement, c: Contract, spend_ref: str) -> list[Line]:
    r = s.risk
    sec = "C. Savings, losses and risk-share corridors"
    kind = "savings" if r.direction == "savings" else "losses"
    lines = [
        Line(sec, "C1", "Savings (+) or losses (-)", f"A7 - {spend_ref}", r.variance),
        Line(
            sec,
            "C2",
            f"{kind.capitalize()} as a share of the budget",
            "|C1| / A7",
            value=_pct(r.rate_pct),
        ),
        Line(
            sec,
            "C3",
            f"Minimum {'savings' if kind == 'savings' else 'loss'} rate",
            "",
            value=f"{_pct(r.threshold_pct)}: {'met' if r.threshold_met else 'not met, nothing shared'}",
        ),
    ]
    for i, band in enumerate(r.bands, start=1):
        upper = "no limit" if band.upper_pct is None else f"{band.upper_pct} %"
        lines.append(
            Line(
                sec,
                f"C4.{i}",
                f"Band {band.lower_pct} % to {upper} of budget: {band.amount_in_band:,} at {band.provider_share_pct} %",
                "amount in band x provider share",
                band.provider_amount,
            )
        )
    cap_name = "savings_cap" if kind == "savings" else "loss_cap"
    lines += [
        Line(
            sec, "C5", "Provider share before cap", "sum of C4", r.provider_before_cap
        ),
        Line(sec, "C6", f"Cap ({cap_name} % of budget)", "A7 x cap %", r.cap_amount),
        Line(
            sec, "C7", "Provider share after cap", "min(C5, C6)", r.provider_after_cap
        ),
    ]
    if r.direction == "savings":
        gate = f"quality score {s.quality.score_pct} % vs minimum {c.quality.gate_min_score_pct} %: {'met' if r.quality_gate_met else 'NOT met, savings forfeited'}"
        lines.append(
            Line(
                sec,
                "C8",
                "Quality gate",
                gate,
                value=f"factor {r.quality_factor.normalize()}",
            )
        )
        lines.append(
            Line(
                sec,
                "C9",
                "Savings kept by the provider",
                "C7 x C8",
                s.provider_savings_share,
            )
        )
        lines.append(
            Line(
                sec,
                "C10",
                "Savings returned to the commissioner",
                "C1 - C9",
                s.commissioner_savings_share,
            )
        )
    elif r.direction == "losses":
        lines.append(
            Line(sec, "C9", "Losses borne by the provider", "C7", s.provider_loss_share)
        )
        lines.append(
            Line(
                sec,
                "C10",
                "Losses covered by the commissioner",
                "|C1| - C9",
                s.commissioner_loss_share,
            )
        )
    return lines


def _quality_lines(s: Settlement) -> list[Line]:
    sec = "D. Quality-linked payment"
    lines: list[Line] = []
    for i, q in enumerate(s.quality.lines, start=1):
        label = (
            f"indicator {q.id}"
            if q.kind == "indicator"
            else f"inequality target {q.id} ({q.indicator_id})"
        )
        detail = "no result" if q.value is None else f"value {q.value.normalize()}"
        if q.baseline is not None:
            detail += f", baseline {q.baseline.normalize()}"
        detail += f"; earned {(q.earned * 100).quantize(Decimal('0.01'))} % of weight ({q.basis})"
        if q.note:
            detail += f"; {q.note}"
        weight = f"weight {q.effective_weight_pct} %"
        lines.append(
            Line(
                sec,
                f"D{i}",
                f"{label}: {detail}",
                f"{weight} x earned = {q.points} points",
                q.payment,
            )
        )
    n = len(lines)
    lines += [
        Line(
            sec,
            f"D{n + 1}",
            "Quality score",
            f"sum of points D1..D{n}",
            value=_pct(s.quality.score_pct),
        ),
        Line(
            sec,
            f"D{n + 2}",
            "Quality payment earned",
            f"A8 x D{n + 1} (apportioned to D1..D{n})",
            s.quality.earned,
        ),
        Line(
            sec,
            f"D{n + 3}",
            "Withhold forfeited",
            f"A8 - D{n + 2}",
            s.quality.forfeited,
        ),
    ]
    return lines


def _final_lines(
    s: Settlement, gross_ref: str, pooled_ref: str, earned_ref: str
) -> list[Line]:
    sec = "E. Final payment"
    return [
        Line(sec, "E1", "Quality payment earned", earned_ref, s.quality.earned),
        Line(
            sec,
            "E2",
            "Less: savings returned to the commissioner",
            "C10 (savings)",
            s.commissioner_savings_share,
        ),
        Line(
            sec,
            "E3",
            "Plus: losses covered by the commissioner",
            "C10 (losses)",
            s.commissioner_loss_share,
        ),
        Line(
            sec,
            "E4",
            "Year-end settlement payment to the provider (negative: provider pays)",
            "E1 - E2 + E3",
            s.year_end_payment,
        ),
        Line(sec, "E5", "Capitation paid during the period", "A9", s.capitation_paid),
        Line(sec, "E6", "High-cost pool reimbursement", pooled_ref, s.pooled_excess),
        Line(sec, "E7", "Total paid to the provider", "E5 + E4 + E6", s.total_paid),
        Line(
            sec,
            "E8",
            "Provider result (income - spend)",
            f"E7 - {gross_ref}",
            s.provider_result,
        ),
    ]


def _tariff_lines(s: Settlement) -> list[Line]:
    sec = "F. Activity-tariff comparison"
    lines = [
        Line(
            sec,
            f"F{i}",
            f"{SETTING_LABELS[k]} at tariff",
            "payable activity x tariff x market forces factor",
            v,
        )
        for i, (k, v) in enumerate(s.tariff.items(), start=1)
    ]
    n = len(lines)
    gain = s.commissioner_gain_vs_tariff
    who = (
        "the commissioner"
        if gain > 0
        else "the provider"
        if gain < 0
        else "neither party"
    )
    lines += [
        Line(
            sec,
            f"F{n + 1}",
            "Cost under payment by activity",
            f"F1 + ... + F{n}",
            s.tariff_total,
        ),
        Line(
            sec,
            f"F{n + 2}",
            f"Commissioner saving under the contract vs tariff ({who} gains)",
            f"F{n + 1} - E7",
            gain,
        ),
        Line(
            sec,
            f"F{n + 3}",
            "Provider result under payment by activity",
            f"F{n + 1} - gross spend",
            s.provider_result_under_tariff,
        ),
        Line(
            sec,
            f"F{n + 4}",
            "Provider gain under the contract vs tariff",
            f"E8 - F{n + 3}",
            s.provider_result - s.provider_result_under_tariff,
        ),
    ]
    return lines


def statement_lines(
    s: Settlement, contract: Contract, policy: DisclosurePolicy = OPENSAFELY
) -> list[Line]:
    """Every line of the reconciliation statement of one period, in order.

    Patient counts are shown as `policy` allows (see `disclose_count`).
    """
    budget = _budget_lines(s, contract, policy)
    spend = _spend_lines(s, contract, policy)
    gross_ref, pooled_ref, spend_ref = spend[-3].ref, spend[-2].ref, spend[-1].ref
    quality = _quality_lines(s)
    return [
        *budget,
        *spend,
        *_risk_lines(s, contract, spend_ref),
        *quality,
        *_final_lines(s, gross_ref, pooled_ref, quality[-2].ref),
        *_tariff_lines(s),
    ]
