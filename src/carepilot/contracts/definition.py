"""Load contract definitions from YAML (or plain dicts) with precise errors, and dump them.

Every error is a `DefinitionError` naming the file, the line, the field and how to
fix it, e.g. ``contract.yaml, line 41: `quality.indicators[1].upper`: thresholds
reversed ...; fix: swap them``. Numbers are read from the YAML text itself (not
through floats) so ``2.5`` becomes Decimal('2.5') exactly.

`contract_to_dict` turns a contract back into the same YAML-shaped structure
(Decimals and dates as strings) so it can be stored as JSON and reloaded with
`contract_from_dict`.

Reads the file it is given; imports no web, database or CLI code.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

import yaml

from carepilot.contracts.model import (
    Band,
    CapitationSpec,
    ConditionFlag,
    Contract,
    FieldError,
    GapMeasure,
    HighCostProtection,
    ImprovementCredit,
    IndicatorTarget,
    InequalityTarget,
    MissingPolicy,
    Parties,
    Party,
    Polarity,
    PopulationSpec,
    QualitySpec,
    RiskShareSpec,
    RiskShareType,
    ScoringMethod,
    Setting,
    TariffSpec,
    Term,
    Tier,
)
from carepilot.errors import DefinitionError

T = TypeVar("T")
_E = TypeVar("_E", bound=str)


class _Reader:
    """Plain data plus the line of every field path, for error messages."""

    def __init__(self, source: str, lines: dict[str, int]) -> None:
        self.source = source
        self.lines = lines

    def line_of(self, path: str) -> int | None:
        probe = path
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            cut = max(probe.rfind("."), probe.rfind("["))
            probe = probe[:cut] if cut > 0 else ""
        return self.lines.get("")

    def error(self, path: str, problem: str, fix: str) -> DefinitionError:
        line = self.line_of(path)
        where = f"{self.source}, line {line}" if line else self.source
        return DefinitionError(f"{where}: `{path}`: {problem}; fix: {fix}")

    def mapping(
        self,
        value: Any,
        path: str,
        allowed: Iterable[str],
        required: Iterable[str] = (),
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(
                path,
                "is not a mapping of fields",
                "write `field: value` lines under it",
            )
        data: dict[str, Any] = value  # pyright: ignore[reportUnknownVariableType]
        allowed_set = set(allowed)
        for key in data:
            if key not in allowed_set:
                close = difflib.get_close_matches(str(key), sorted(allowed_set), n=1)
                hint = (
                    f"did you mean `{close[0]}`?"
                    if close
                    else f"allowed fields: {', '.join(sorted(allowed_set))}"
                )
                raise self.error(_join(path, str(key)), "unknown field", hint)
        for key in required:
            if key not in data or data[key] is None:
                raise self.error(
                    _join(path, key),
                    "is missing",
                    f"add `{key}:` under `{path or 'the top level'}`",
                )
        return data

    def decimal(self, value: Any, path: str) -> Decimal:
        if isinstance(value, bool) or value is None:
            raise self.error(path, "is not a number", "write a number such as 2.5")
        try:
            return Decimal(
                str(value).replace("_", "").replace(",", "").strip().rstrip("%")
            )
        except InvalidOperation:
            raise self.error(
                path, f"`{value}` is not a number", "write a number such as 2.5"
            ) from None

    def opt_decimal(
        self, data: dict[str, Any], key: str, path: str, default: Decimal | None = None
    ) -> Decimal | None:
        value = data.get(key)
        return default if value is None else self.decimal(value, _join(path, key))

    def integer(self, value: Any, path: str) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise self.error(path, "is not a whole number", "write e.g. 2009")
        try:
            return int(value)
        except ValueError:
            raise self.error(
                path, f"`{value}` is not a whole number", "write e.g. 2009"
            ) from None

    def text(self, value: Any, path: str) -> str:
        if value is None or isinstance(value, (dict, list)):
            raise self.error(path, "is not text", "write a single value")
        return str(value)

    def day(self, value: Any, path: str) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise self.error(
                path, f"`{value}` is not a date", "write YYYY-MM-DD"
            ) from None

    def boolean(self, value: Any, path: str) -> bool:
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
        raise self.error(path, f"`{value}` is not true/false", "write true or false")

    def choice(
        self, enum: Callable[[str], _E], options: Iterable[str], value: Any, path: str
    ) -> _E:
        try:
            return enum(str(value))
        except ValueError:
            raise self.error(
                path, f"`{value}` is not allowed", f"use one of {', '.join(options)}"
            ) from None

    def items(self, value: Any, path: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(path, "is not a list", "write one `- item` per line")
        return list(value)  # pyright: ignore[reportUnknownArgumentType]

    def build(self, path: str, factory: Callable[[], T]) -> T:
        try:
            return factory()
        except FieldError as exc:
            full = exc.within(path)
            raise self.error(full.field, full.problem, full.fix) from None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# --- YAML with line numbers -----------------------------------------------------------


def _walk(node: yaml.Node, path: str, lines: dict[str, int], source: str) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            sub = _join(path, key)
            if key in out:
                raise DefinitionError(
                    f"{source}, line {key_node.start_mark.line + 1}: `{sub}`: "
                    "appears twice; fix: keep one"
                )
            lines[sub] = key_node.start_mark.line + 1
            out[key] = _walk(value_node, sub, lines, source)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _walk(item, f"{path}[{i}]", lines, source)
            for i, item in enumerate(node.value)
        ]
    assert isinstance(node, yaml.ScalarNode)
    if node.tag.endswith(":float") or node.tag.endswith(":int"):
        return node.value  # keep the text: converted to Decimal/int by the reader
    return yaml.SafeLoader("").construct_object(node)  # pyright: ignore[reportUnknownMemberType]


def load_contract(
    path: Path, known_indicator_ids: Collection[str] | None = None
) -> Contract:
    """Load and validate a contract YAML file.

    Args:
        path: the YAML file.
        known_indicator_ids: ids of the indicator library (or results file); when
            given, any other indicator id is an error.

    Raises:
        DefinitionError: with file, line, field and fix.
    """
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DefinitionError(
            f"{source}: cannot read the contract file ({exc.strerror})"
        ) from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        raise DefinitionError(
            f"{source}{line}: not valid YAML ({getattr(exc, 'problem', exc)}); fix the syntax"
        ) from None
    if root is None:
        raise DefinitionError(
            f"{source}: the file is empty; fix: write a contract (see docs/contracts.md)"
        )
    lines: dict[str, int] = {}
    data = _walk(root, "", lines, source)
    return _contract(_Reader(source, lines), data, known_indicator_ids)


def contract_from_dict(
    data: dict[str, Any],
    source: str = "<contract>",
    known_indicator_ids: Collection[str] | None = None,
) -> Contract:
    """Build a contract from the structure `contract_to_dict` produces (no line numbers)."""
    return _contract(_Reader(source, {}), data, known_indicator_ids)


def _contract(r: _Reader, data: Any, known: Collection[str] | None) -> Contract:
    top = r.mapping(
        data,
        "",
        (
            "id",
            "version",
            "title",
            "description",
            "parties",
            "population",
            "term",
            "capitation",
            "quality",
            "risk_share",
            "tariff",
        ),
        (
            "id",
            "version",
            "title",
            "parties",
            "population",
            "term",
            "capitation",
            "quality",
            "risk_share",
        ),
    )
    parties = _parties(r, top["parties"])
    population = _population(r, top["population"])
    term_data = r.mapping(top["term"], "term", ("start", "end"), ("start", "end"))
    term = r.build(
        "term",
        lambda: Term(
            r.day(term_data["start"], "term.start"), r.day(term_data["end"], "term.end")
        ),
    )
    capitation = _capitation(r, top["capitation"])
    quality = _quality(r, top["quality"], known)
    risk = _risk_share(r, top["risk_share"])
    tariff = _tariff(r, top.get("tariff") or {})
    return r.build(
        "",
        lambda: Contract(
            id=r.text(top["id"], "id"),
            version=r.integer(top["version"], "version"),
            title=r.text(top["title"], "title"),
            description=str(top.get("description") or ""),
            parties=parties,
            population=population,
            term=term,
            capitation=capitation,
            quality=quality,
            risk_share=risk,
            tariff=tariff,
        ),
    )


def _party(r: _Reader, value: Any, path: str) -> Party:
    d = r.mapping(value, path, ("code", "name"), ("code", "name"))
    return r.build(
        path,
        lambda: Party(
            r.text(d["code"], f"{path}.code"), r.text(d["name"], f"{path}.name")
        ),
    )


def _parties(r: _Reader, value: Any) -> Parties:
    d = r.mapping(
        value,
        "parties",
        ("commissioner", "lead_provider", "subcontractors"),
        ("commissioner", "lead_provider"),
    )
    subs = tuple(
        _party(r, v, f"parties.subcontractors[{i}]")
        for i, v in enumerate(
            r.items(d.get("subcontractors"), "parties.subcontractors")
        )
    )
    return Parties(
        _party(r, d["commissioner"], "parties.commissioner"),
        _party(r, d["lead_provider"], "parties.lead_provider"),
        subs,
    )


def _population(r: _Reader, value: Any) -> PopulationSpec:
    d = r.mapping(value, "population", ("pilot_id", "practice_codes"))
    pilot = d.get("pilot_id")
    codes = tuple(
        r.text(c, f"population.practice_codes[{i}]")
        for i, c in enumerate(
            r.items(d.get("practice_codes"), "population.practice_codes")
        )
    )
    return r.build(
        "population",
        lambda: PopulationSpec(
            None if pilot is None else r.text(pilot, "population.pilot_id"), codes
        ),
    )


def _capitation(r: _Reader, value: Any) -> CapitationSpec:
    p = "capitation"
    d = r.mapping(
        value,
        p,
        (
            "baseline_year",
            "settings",
            "age_bands",
            "conditions",
            "trend",
            "commissioner_total",
            "high_cost",
            "holdout",
            "seed",
        ),
        ("baseline_year",),
    )
    settings = tuple(
        r.choice(Setting, [s.value for s in Setting], s, f"{p}.settings[{i}]")
        for i, s in enumerate(r.items(d.get("settings"), f"{p}.settings"))
    ) or tuple(Setting)
    bands = tuple(
        r.integer(b, f"{p}.age_bands[{i}]")
        for i, b in enumerate(r.items(d.get("age_bands"), f"{p}.age_bands"))
    )
    conditions: list[ConditionFlag] = []
    for i, c in enumerate(r.items(d.get("conditions"), f"{p}.conditions")):
        cp = f"{p}.conditions[{i}]"
        cd = r.mapping(c, cp, ("name", "snomedct", "codelist"), ("name",))
        codes = tuple(
            r.text(x, f"{cp}.snomedct[{j}]")
            for j, x in enumerate(r.items(cd.get("snomedct"), f"{cp}.snomedct"))
        )
        listname = None
        if cd.get("codelist") is not None:
            listname = r.text(cd["codelist"], f"{cp}.codelist")
            codes = codes + _codelist_codes(r, listname, f"{cp}.codelist")
        conditions.append(
            r.build(
                cp,
                lambda cd=cd, codes=codes, cp=cp, ln=listname: ConditionFlag(
                    r.text(cd["name"], f"{cp}.name"), codes, ln
                ),
            )
        )
    high_cost = None
    if d.get("high_cost") is not None:
        hp = f"{p}.high_cost"
        hd = r.mapping(
            d["high_cost"], hp, ("threshold", "pooled_share"), ("threshold",)
        )
        high_cost = r.build(
            hp,
            lambda: HighCostProtection(
                r.decimal(hd["threshold"], f"{hp}.threshold"),
                r.opt_decimal(hd, "pooled_share", hp, Decimal(100)) or Decimal(0),
            ),
        )
    kwargs: dict[str, Any] = {
        "baseline_year": r.integer(d["baseline_year"], f"{p}.baseline_year"),
        "settings": settings,
        "conditions": tuple(conditions),
        "trend_pct": r.opt_decimal(d, "trend", p, Decimal(0)),
        "commissioner_total": r.opt_decimal(d, "commissioner_total", p),
        "high_cost": high_cost,
        "holdout_pct": r.opt_decimal(d, "holdout", p, Decimal(30)),
    }
    if bands:
        kwargs["age_bands"] = bands
    if d.get("seed") is not None:
        kwargs["seed"] = r.integer(d["seed"], f"{p}.seed")
    return r.build(p, lambda: CapitationSpec(**kwargs))


def _codelist_codes(r: _Reader, name: str, path: str) -> tuple[str, ...]:
    from carepilot.codelists import codelist_names, load_codelist

    if name not in codelist_names():
        close = difflib.get_close_matches(name, codelist_names(), n=3)
        hint = (
            f"did you mean {', '.join(f'`{c}`' for c in close)}?"
            if close
            else "use a codelist shipped in carepilot/codelists"
        )
        raise r.error(path, f"unknown codelist `{name}`", hint)
    return load_codelist(name).codes


def _condition_to_dict(f: ConditionFlag) -> dict[str, Any]:
    if f.codelist is not None:
        from carepilot.codelists import load_codelist

        if f.snomedct_codes == load_codelist(f.codelist).codes:
            return {"name": f.name, "codelist": f.codelist}
    return {"name": f.name, "snomedct": list(f.snomedct_codes)}


def _indicator(
    r: _Reader, value: Any, path: str, known: Collection[str] | None
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
    r: _Reader, ind_id: str, path: str, known: Collection[str] | None
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
    r: _Reader, value: Any, path: str, known: Collection[str] | None
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


def _quality(r: _Reader, value: Any, known: Collection[str] | None) -> QualitySpec:
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


def _bands(r: _Reader, value: Any, path: str) -> tuple[Band, ...]:
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


def _risk_share(r: _Reader, value: Any) -> RiskShareSpec:
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


def _tariff(r: _Reader, value: Any) -> TariffSpec:
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


# --- Dump -----------------------------------------------------------------------------


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
