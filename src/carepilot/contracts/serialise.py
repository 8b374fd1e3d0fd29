"""Turn a contract back into its YAML-shaped structure, for storage and editing.

`contract_to_dict` gives plain data (Decimals and dates as strings) that
`definition.contract_from_dict` reloads to an equal contract, and `contract_to_yaml`
the YAML text a commissioner edits in the web app.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import yaml

from carepilot.contracts.model import (
    Band,
    ConditionFlag,
    Contract,
    Party,
)


def _condition_to_dict(f: ConditionFlag) -> dict[str, Any]:
    if f.codelist is not None:
        from carepilot.codelists import load_codelist

        if f.snomedct_codes == load_codelist(f.codelist).codes:
            return {"name": f.name, "codelist": f.codelist}
    return {"name": f.name, "snomedct": list(f.snomedct_codes)}


def _num(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def contract_to_dict(c: Contract) -> dict[str, Any]:
    """The contract as JSON-safe YAML-shaped data (Decimals and dates as strings)."""
    cap = c.capitation
    q = c.quality
    rs = c.risk_share

    def party(p: Party) -> dict[str, Any]:
        return {"code": p.code, "name": p.name}

    def bands(bs: tuple[Band, ...]) -> list[dict[str, Any]]:
        return [
            _drop_none(
                {
                    "from": _num(b.lower_pct),
                    "to": _num(b.upper_pct),
                    "provider_share": _num(b.provider_share_pct),
                }
            )
            for b in bs
        ]

    indicators = [
        _drop_none(
            {
                "id": t.indicator_id,
                "weight": _num(t.weight_pct),
                "polarity": t.polarity.value,
                "method": t.method.value,
                "lower": _num(t.lower),
                "upper": _num(t.upper),
                "tiers": [
                    {"at_least": _num(x.at_least), "credit": _num(x.credit_pct)}
                    for x in t.tiers
                ]
                or None,
                "improvement": None
                if t.improvement is None
                else {
                    "full_credit_gain": _num(t.improvement.full_credit_gain),
                    "max_credit": _num(t.improvement.max_credit_pct),
                },
            }
        )
        for t in q.indicators
    ]
    targets = [
        {
            "name": t.name,
            "indicator": t.indicator_id,
            "weight": _num(t.weight_pct),
            "breakdown": t.breakdown,
            "measure": t.measure.value,
            "most_deprived": t.most_deprived,
            "least_deprived": t.least_deprived,
            "category_order": list(t.category_order),
            "minimum_reduction": _num(t.minimum_reduction_pct),
            "target_reduction": _num(t.target_reduction_pct),
        }
        for t in q.inequality_targets
    ]
    return {
        "id": c.id,
        "version": c.version,
        "title": c.title,
        "description": c.description,
        "parties": {
            "commissioner": party(c.parties.commissioner),
            "lead_provider": party(c.parties.lead_provider),
            "subcontractors": [party(s) for s in c.parties.subcontractors],
        },
        "population": _drop_none(
            {
                "pilot_id": c.population.pilot_id,
                "practice_codes": list(c.population.practice_codes) or None,
            }
        ),
        "term": {"start": c.term.start.isoformat(), "end": c.term.end.isoformat()},
        "capitation": _drop_none(
            {
                "baseline_year": cap.baseline_year,
                "settings": [s.value for s in cap.settings],
                "age_bands": list(cap.age_bands),
                "conditions": [_condition_to_dict(f) for f in cap.conditions],
                "trend": _num(cap.trend_pct),
                "commissioner_total": _num(cap.commissioner_total),
                "high_cost": None
                if cap.high_cost is None
                else {
                    "threshold": _num(cap.high_cost.threshold),
                    "pooled_share": _num(cap.high_cost.pooled_share_pct),
                },
                "holdout": _num(cap.holdout_pct),
                "seed": cap.seed,
            }
        ),
        "quality": {
            "withhold": _num(q.withhold_pct),
            "gate": {
                "min_score": _num(q.gate_min_score_pct),
                "scale_savings_by_quality": q.scale_savings_by_quality,
            },
            "if_missing": q.if_missing.value,
            "indicators": indicators,
            "inequality_targets": targets,
        },
        "risk_share": {
            "type": rs.type.value,
            "minimum_savings_rate": _num(rs.minimum_savings_rate_pct),
            "minimum_loss_rate": _num(rs.minimum_loss_rate_pct),
            "first_dollar": rs.first_dollar,
            "savings_cap": _num(rs.savings_cap_pct),
            "loss_cap": _num(rs.loss_cap_pct),
            "savings_bands": bands(rs.savings_bands),
            "loss_bands": bands(rs.loss_bands),
        },
        "tariff": _drop_none(
            {
                "market_forces_factor": _num(c.tariff.market_forces_factor),
                "community_price_per_contact": _num(
                    c.tariff.community_price_per_contact
                ),
            }
        ),
    }


def contract_to_yaml(c: Contract) -> str:
    """The contract as YAML text (keys in definition order), loadable again."""
    return yaml.safe_dump(contract_to_dict(c), sort_keys=False, allow_unicode=True)
