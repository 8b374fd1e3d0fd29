"""Load contract definitions from YAML (or plain dicts) with precise errors, and dump them.

Every error is a `DefinitionError` naming the file, the line, the field and how to
fix it, e.g. ``contract.yaml, line 41: `quality.indicators[1].upper`: thresholds
reversed ...; fix: swap them``. Numbers are read from the YAML text itself (not
through floats) so ``2.5`` becomes Decimal('2.5') exactly.

Split by concept: `yaml_reader` (YAML with line numbers, value checks),
`payment_definition` (quality, risk share, tariff sections) and `serialise`
(`contract_to_dict`, re-exported here: a contract back to the same YAML-shaped
structure, stored as JSON and reloaded with `contract_from_dict`).

Reads the file it is given; imports no web, database or CLI code.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection
from decimal import Decimal
from pathlib import Path
from typing import Any

from carepilot.contracts.model import (
    CapitationSpec,
    ConditionFlag,
    Contract,
    HighCostProtection,
    Parties,
    Party,
    PopulationSpec,
    Setting,
    Term,
)
from carepilot.contracts.payment_definition import (
    read_quality,
    read_risk_share,
    read_tariff,
)
from carepilot.contracts.serialise import contract_to_dict, contract_to_yaml
from carepilot.contracts.yaml_reader import Reader, compose
from carepilot.errors import DefinitionError

__all__ = [
    "contract_from_dict",
    "contract_to_dict",
    "contract_to_yaml",
    "load_contract",
    "load_contract_text",
]


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
    return load_contract_text(text, source, known_indicator_ids)


def load_contract_text(
    text: str,
    source: str = "<contract>",
    known_indicator_ids: Collection[str] | None = None,
) -> Contract:
    """Load and validate a contract from YAML text (e.g. uploaded in the web app).

    Args:
        text: the YAML document.
        source: how errors name the document (a file name).
        known_indicator_ids: as for `load_contract`.

    Raises:
        DefinitionError: with source, line, field and fix.
    """
    data, lines = compose(text, source)
    return _contract(Reader(source, lines), data, known_indicator_ids)


def contract_from_dict(
    data: dict[str, Any],
    source: str = "<contract>",
    known_indicator_ids: Collection[str] | None = None,
) -> Contract:
    """Build a contract from the structure `contract_to_dict` produces (no line numbers)."""
    return _contract(Reader(source, {}), data, known_indicator_ids)


def _contract(r: Reader, data: Any, known: Collection[str] | None) -> Contract:
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
    quality = read_quality(r, top["quality"], known)
    risk = read_risk_share(r, top["risk_share"])
    tariff = read_tariff(r, top.get("tariff") or {})
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


def _party(r: Reader, value: Any, path: str) -> Party:
    d = r.mapping(value, path, ("code", "name"), ("code", "name"))
    return r.build(
        path,
        lambda: Party(
            r.text(d["code"], f"{path}.code"), r.text(d["name"], f"{path}.name")
        ),
    )


def _parties(r: Reader, value: Any) -> Parties:
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


def _population(r: Reader, value: Any) -> PopulationSpec:
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


def _capitation(r: Reader, value: Any) -> CapitationSpec:
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


def _codelist_codes(r: Reader, name: str, path: str) -> tuple[str, ...]:
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
