"""Read the payment sections of a contract definition: quality, risk share, tariff.

Part of `contracts.definition` (split by concept); errors name file, line, field
and the fix, including "did you mean" hints for unknown indicator ids.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection
from decimal import Decimal
from typing import Any

from carepilot.contracts.model import (
    Band,
    GapMeasure,
    ImprovementCredit,
    IndicatorTarget,
    InequalityTarget,
    MissingPolicy,
    Polarity,
    QualitySpec,
    RiskShareSpec,
    RiskShareType,
    ScoringMethod,
    TariffSpec,
    Tier,
)
from carepilot.contracts.yaml_reader import Reader


def _indicator(
    r: Reader, value: Any, path: str, known: Collection[str] | None
) -> IndicatorTarget:
    d = r.mapping(
        value,
        path,
        (
            "id",
            "weight",
            "polarity",
            "method",
            "lower",
            "upper",
            "tiers",
            "improvement",
        ),
        ("id", "weight"),
    )
    ind_id = r.text(d["id"], f"{path}.id")
    _check_known(r, ind_id, f"{path}.id", known)
    tiers: list[Tier] = []
    for i, t in enumerate(r.items(d.get("tiers"), f"{path}.tiers")):
        tp = f"{path}.tiers[{i}]"
        td = r.mapping(t, tp, ("at_least", "at_most", "credit"), ("credit",))
        level = td.get("at_least", td.get("at_most"))
        if level is None:
            raise r.error(
                tp,
                "has no threshold",
                "write `at_least:` (or `at_most:` for lower-is-better)",
            )
        tiers.append(
            Tier(r.decimal(level, tp), r.decimal(td["credit"], f"{tp}.credit"))
        )
    improvement = None
    if d.get("improvement") is not None:
        ip = f"{path}.improvement"
        idd = r.mapping(
            d["improvement"],
            ip,
            ("full_credit_gain", "max_credit"),
            ("full_credit_gain",),
        )
        improvement = r.build(
            ip,
            lambda: ImprovementCredit(
                r.decimal(idd["full_credit_gain"], f"{ip}.full_credit_gain"),
                r.opt_decimal(idd, "max_credit", ip, Decimal(50)) or Decimal(0),
            ),
        )
    method = r.choice(
        ScoringMethod,
        [m.value for m in ScoringMethod],
        d.get("method", "tiered" if tiers else "linear"),
        f"{path}.method",
    )
    return r.build(
        path,
        lambda: IndicatorTarget(
            indicator_id=ind_id,
            weight_pct=r.decimal(d["weight"], f"{path}.weight"),
            polarity=r.choice(
                Polarity,
                [x.value for x in Polarity],
                d.get("polarity", "higher_is_better"),
                f"{path}.polarity",
            ),
            method=method,
            lower=r.opt_decimal(d, "lower", path),
            upper=r.opt_decimal(d, "upper", path),
            tiers=tuple(tiers),
            improvement=improvement,
        ),
    )


def _check_known(
    r: Reader, ind_id: str, path: str, known: Collection[str] | None
) -> None:
    if known is None or ind_id in known:
        return
    close = difflib.get_close_matches(ind_id, sorted(known), n=3)
    hint = (
        f"did you mean {', '.join(f'`{c}`' for c in close)}?"
        if close
        else "use an id from the indicator library (`carepilot indicators list`)"
    )
    raise r.error(path, f"unknown indicator `{ind_id}`", hint)


def _inequality(
    r: Reader, value: Any, path: str, known: Collection[str] | None
) -> InequalityTarget:
    d = r.mapping(
        value,
        path,
        (
            "name",
            "indicator",
            "weight",
            "breakdown",
            "measure",
            "most_deprived",
            "least_deprived",
            "category_order",
            "minimum_reduction",
            "target_reduction",
        ),
        ("name", "indicator", "weight"),
    )
    ind_id = r.text(d["indicator"], f"{path}.indicator")
    _check_known(r, ind_id, f"{path}.indicator", known)
    kwargs: dict[str, Any] = {
        "name": r.text(d["name"], f"{path}.name"),
        "indicator_id": ind_id,
        "weight_pct": r.decimal(d["weight"], f"{path}.weight"),
        "measure": r.choice(
            GapMeasure,
            [m.value for m in GapMeasure],
            d.get("measure", "gap"),
            f"{path}.measure",
        ),
    }
    for key in ("breakdown", "most_deprived", "least_deprived"):
        if d.get(key) is not None:
            kwargs[key] = r.text(d[key], f"{path}.{key}")
    if d.get("category_order") is not None:
        kwargs["category_order"] = tuple(
            r.text(c, f"{path}.category_order[{i}]")
            for i, c in enumerate(
                r.items(d["category_order"], f"{path}.category_order")
            )
        )
    for key, attr in (
        ("minimum_reduction", "minimum_reduction_pct"),
        ("target_reduction", "target_reduction_pct"),
    ):
        if d.get(key) is not None:
            kwargs[attr] = r.decimal(d[key], f"{path}.{key}")
    return r.build(path, lambda: InequalityTarget(**kwargs))


def read_quality(r: Reader, value: Any, known: Collection[str] | None) -> QualitySpec:
    p = "quality"
    d = r.mapping(
        value,
        p,
        ("withhold", "indicators", "inequality_targets", "gate", "if_missing"),
        ("withhold", "indicators"),
    )
    indicators = tuple(
        _indicator(r, v, f"{p}.indicators[{i}]", known)
        for i, v in enumerate(r.items(d["indicators"], f"{p}.indicators"))
    )
    targets = tuple(
        _inequality(r, v, f"{p}.inequality_targets[{i}]", known)
        for i, v in enumerate(
            r.items(d.get("inequality_targets"), f"{p}.inequality_targets")
        )
    )
    gate = r.mapping(
        d.get("gate") or {}, f"{p}.gate", ("min_score", "scale_savings_by_quality")
    )
    return r.build(
        p,
        lambda: QualitySpec(
            withhold_pct=r.decimal(d["withhold"], f"{p}.withhold"),
            indicators=indicators,
            inequality_targets=targets,
            gate_min_score_pct=r.opt_decimal(gate, "min_score", f"{p}.gate", Decimal(0))
            or Decimal(0),
            scale_savings_by_quality=r.boolean(
                gate.get("scale_savings_by_quality", False),
                f"{p}.gate.scale_savings_by_quality",
            ),
            if_missing=r.choice(
                MissingPolicy,
                [m.value for m in MissingPolicy],
                d.get("if_missing", "zero"),
                f"{p}.if_missing",
            ),
        ),
    )


def _bands(r: Reader, value: Any, path: str) -> tuple[Band, ...]:
    out: list[Band] = []
    for i, b in enumerate(r.items(value, path)):
        bp = f"{path}[{i}]"
        bd = r.mapping(
            b, bp, ("from", "to", "provider_share"), ("from", "provider_share")
        )
        out.append(
            r.build(
                bp,
                lambda bd=bd, bp=bp: Band(
                    r.decimal(bd["from"], f"{bp}.from"),
                    r.opt_decimal(bd, "to", bp),
                    r.decimal(bd["provider_share"], f"{bp}.provider_share"),
                ),
            )
        )
    return tuple(out)


def read_risk_share(r: Reader, value: Any) -> RiskShareSpec:
    p = "risk_share"
    d = r.mapping(
        value,
        p,
        (
            "type",
            "minimum_savings_rate",
            "minimum_loss_rate",
            "first_dollar",
            "savings_bands",
            "loss_bands",
            "savings_cap",
            "loss_cap",
        ),
        ("type", "savings_bands"),
    )
    kind = r.choice(
        RiskShareType, [t.value for t in RiskShareType], d["type"], f"{p}.type"
    )
    if kind is RiskShareType.TWO_SIDED and not d.get("loss_bands"):
        raise r.error(
            f"{p}.loss_bands",
            "a two-sided contract needs loss bands",
            "add `loss_bands:` or set `type: one_sided`",
        )
    hundred = Decimal(100)
    return r.build(
        p,
        lambda: RiskShareSpec(
            type=kind,
            savings_bands=_bands(r, d["savings_bands"], f"{p}.savings_bands"),
            loss_bands=_bands(r, d.get("loss_bands"), f"{p}.loss_bands"),
            minimum_savings_rate_pct=r.opt_decimal(
                d, "minimum_savings_rate", p, Decimal(0)
            )
            or Decimal(0),
            minimum_loss_rate_pct=r.opt_decimal(d, "minimum_loss_rate", p, Decimal(0))
            or Decimal(0),
            first_dollar=r.boolean(d.get("first_dollar", True), f"{p}.first_dollar"),
            savings_cap_pct=r.opt_decimal(d, "savings_cap", p, hundred) or Decimal(0),
            loss_cap_pct=r.opt_decimal(d, "loss_cap", p, hundred) or Decimal(0),
        ),
    )


def read_tariff(r: Reader, value: Any) -> TariffSpec:
    p = "tariff"
    d = r.mapping(value, p, ("market_forces_factor", "community_price_per_contact"))
    return r.build(
        p,
        lambda: TariffSpec(
            market_forces_factor=r.opt_decimal(d, "market_forces_factor", p, Decimal(1))
            or Decimal(1),
            community_price_per_contact=r.opt_decimal(
                d, "community_price_per_contact", p
            ),
        ),
    )
