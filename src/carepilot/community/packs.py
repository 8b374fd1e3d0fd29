"""Information packs for GP consortia (PCNs / practice-based commissioning groups).

A pack holds, for one consortium and period: its practices against all other
practices on library indicators (released results: disclosure-controlled),
its registered population's hospital use and cost per 1,000 against the other
consortia, and inequality gaps (slope index of inequality across IMD quintiles,
`carepilot.stats.inequality`). Written as CSV files and a readable HTML report
(Jinja2; charts by Altair rendered to SVG with vl-convert).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from carepilot.disclosure import DisclosurePolicy

DEFAULT_INDICATORS: tuple[str, ...] = (
    "hypertension-bp-140-90-under-80",
    "diabetes-hba1c-58",
    "flu-vaccination-65-plus",
    "smoking-status-recorded-ltc",
    "prevalence-hypertension",
    "prevalence-diabetes",
)
"""Library indicators a pack shows unless the caller chooses others."""

HOSPITAL_MEASURES: tuple[tuple[str, str, str, str], ...] = (
    # label, table, date column, filter (column=value or "")
    ("Emergency admissions", "apcs", "admission_date", "admission_method=emergency"),
    ("Elective admissions", "apcs", "admission_date", "admission_method=elective"),
    ("A&E attendances", "ec", "arrival_date", ""),
    ("Outpatient attendances", "opa", "appointment_date", "attendance_status=attended"),
)
COST_COLUMN = {"apcs": "tariff_cost", "ec": "cost", "opa": "cost"}


@dataclass
class Pack:
    """Everything in one consortium's pack (all frames already released)."""

    pcn_code: str
    pcn_name: str
    period_start: dt.date
    period_end: dt.date
    practices: pd.DataFrame
    hospital_use: pd.DataFrame
    inequality: pd.DataFrame
    charts: dict[str, str] = field(default_factory=dict[str, str])


def hospital_use(
    data: Mapping[str, pd.DataFrame],
    registered: pd.DataFrame,
    start: dt.date,
    end: dt.date,
    policy: DisclosurePolicy,
) -> pd.DataFrame:
    """Events and cost per 1,000 registered patients for every PCN.

    Args:
        data: pandas frames of `apcs`, `ec`, `opa`.
        registered: one row per patient registered at `end`: `patient_id`,
            `pcn_code`, `pcn_name`.
        policy: counts are released under it (<= threshold redacted, rounded).
    """
    pop = registered.groupby(["pcn_code", "pcn_name"]).size().rename("population")
    rows = []
    for label, table, date_col, filt in HOSPITAL_MEASURES:
        frame = data[table]
        if filt:
            col, val = filt.split("=")
            frame = frame[frame[col] == val]
        d = pd.to_datetime(frame[date_col]).dt.date
        frame = frame[(d >= start) & (d <= end)].merge(registered, on="patient_id")
        agg = frame.groupby(["pcn_code", "pcn_name"]).agg(
            events=("patient_id", "size"), cost=(COST_COLUMN[table], "sum")
        )
        agg = agg.reindex(pop.index).fillna(0).join(pop)
        agg["measure"] = label
        rows.append(agg.reset_index())
    out = pd.concat(rows, ignore_index=True)
    if policy.kind == "opensafely":
        small = out["events"] <= policy.threshold
        out["events"] = (
            out["events"] / policy.rounding_base
        ).round() * policy.rounding_base
        out.loc[small, ["events", "cost"]] = np.nan
    elif policy.kind == "suppress":
        small = (out["events"] > 0) & (out["events"] < policy.threshold)
        out.loc[small, ["events", "cost"]] = np.nan
    out["per_1000"] = 1000 * out["events"] / out["population"]
    out["cost_per_head"] = out["cost"] / out["population"]
    return out[
        [
            "measure",
            "pcn_code",
            "pcn_name",
            "population",
            "events",
            "per_1000",
            "cost",
            "cost_per_head",
        ]
    ]


def inequality_gaps(
    results: pd.DataFrame, pcn_code: str, repetitions: int = 2000
) -> pd.DataFrame:
    """SII and gap (most minus least deprived quintile) per indicator for a PCN.

    `results` is the released engine results with the `imd_quintile` breakdown.
    """
    from carepilot.stats.inequality import slope_index_of_inequality

    sel = results[
        (results["area_type"] == "pcn")
        & (results["area_code"] == pcn_code)
        & (results["breakdown"] == "imd_quintile")
        & results["category"].isin(["1", "2", "3", "4", "5"])
    ]
    rows = []
    for (ind, end), grp in sel.groupby(["indicator_id", "period_end"]):
        grp = grp.sort_values("category")
        values = grp["value"].to_numpy(float)
        pops = grp["denominator"].to_numpy(float)
        ok = np.isfinite(values) & np.isfinite(pops) & (pops > 0)
        sii = np.nan
        if ok.sum() == 5:
            try:
                sii = slope_index_of_inequality(
                    values, pops, repetitions=repetitions, rng=1
                ).sii
            except Exception:  # noqa: BLE001 - insufficient data: reported as missing
                sii = np.nan
        by = dict(zip(grp["category"], values, strict=False))
        rows.append(
            dict(
                indicator_id=ind,
                period_end=end,
                most_deprived=by.get("1", np.nan),
                least_deprived=by.get("5", np.nan),
                gap=by.get("1", np.nan) - by.get("5", np.nan),
                sii=sii,
            )
        )
    return pd.DataFrame(
        rows,
        columns=[
            "indicator_id",
            "period_end",
            "most_deprived",
            "least_deprived",
            "gap",
            "sii",
        ],
    )


def practice_comparison(results: pd.DataFrame, pcn_code: str) -> pd.DataFrame:
    """The consortium's practices and the PCN itself on each indicator (total rows)."""
    tot = results[results["breakdown"] == "total"]
    mine = tot[
        ((tot["area_type"] == "practice") & (tot["parent_area_code"] == pcn_code))
        | ((tot["area_type"] == "pcn") & (tot["area_code"] == pcn_code))
    ]
    national = tot[tot["area_type"] == "national"][
        ["indicator_id", "period_end", "value"]
    ]
    national = national.rename(columns={"value": "england_value"})
    cols = [
        "indicator_id",
        "period_end",
        "area_type",
        "area_code",
        "area_name",
        "numerator",
        "denominator",
        "value",
        "lower_ci_95",
        "upper_ci_95",
        "comparison",
        "suppressed",
    ]
    return mine[cols].merge(national, on=["indicator_id", "period_end"], how="left")


def chart_svg(
    results: pd.DataFrame, indicator_id: str, title: str, pcn_code: str
) -> str:
    """Dot chart of every practice's value, the consortium's practices highlighted."""
    import altair as alt
    import vl_convert as vlc

    tot = results[
        (results["breakdown"] == "total")
        & (results["area_type"] == "practice")
        & (results["indicator_id"] == indicator_id)
    ].copy()
    last = tot["period_end"].max()
    tot = tot[tot["period_end"] == last]
    tot["group"] = np.where(
        tot["parent_area_code"] == pcn_code, "this consortium", "other practices"
    )
    chart = (
        alt.Chart(tot[["area_name", "value", "group"]].dropna())
        .mark_circle(size=80)
        .encode(
            x=alt.X("value:Q", title=title),
            y=alt.Y("group:N", title=None),
            color=alt.Color(
                "group:N", scale=alt.Scale(range=["#005eb8", "#aeb7bd"]), legend=None
            ),
            tooltip=["area_name", "value"],
        )
        .properties(width=520, height=90)
    )
    return vlc.vegalite_to_svg(chart.to_json())


_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Information pack: {{ pack.pcn_name }}</title>
<style>
body{font-family:Arial,Helvetica,sans-serif;max-width:960px;margin:2em auto;color:#212b32}
h1{color:#005eb8} table{border-collapse:collapse;margin:1em 0;font-size:14px}
th,td{border:1px solid #d8dde0;padding:4px 8px;text-align:right}
th:first-child,td:first-child{text-align:left} .better{color:#007f3b}.worse{color:#d5281b}
.note{color:#4c6272;font-size:13px}
</style></head><body>
<h1>Information pack: {{ pack.pcn_name }} ({{ pack.pcn_code }})</h1>
<p>Period {{ pack.period_start }} to {{ pack.period_end }}. Figures are disclosure
controlled: small counts are redacted and counts rounded ({{ policy }}).</p>
<h2>1. Your practices against their peers</h2>
<p class="note">Comparison with England (all practices in the data) the Fingertips way:
better / worse when the 95 % interval excludes the England value.</p>
{% for ind, rows in practices %}
<h3>{{ titles.get(ind, ind) }}</h3>
{% if charts.get(ind) %}{{ charts[ind] | safe }}{% endif %}
<table><tr><th>Area</th><th>Numerator</th><th>Denominator</th><th>Value</th>
<th>95 % CI</th><th>England</th><th>Compared with England</th></tr>
{% for r in rows %}<tr><td>{{ r.area_name }}{% if r.area_type == 'pcn' %} (consortium){% endif %}</td>
<td>{{ fmt(r.numerator, 0) }}</td><td>{{ fmt(r.denominator, 0) }}</td><td>{{ fmt(r.value) }}</td>
<td>{{ fmt(r.lower_ci_95) }} - {{ fmt(r.upper_ci_95) }}</td><td>{{ fmt(r.england_value) }}</td>
<td class="{{ r.comparison }}">{{ r.comparison }}</td></tr>{% endfor %}
</table>{% endfor %}
<h2>2. Your population's hospital use and cost</h2>
<table><tr><th>Measure</th><th>Events</th><th>Per 1,000</th><th>Other consortia per 1,000</th>
<th>Cost £</th><th>Cost per head £</th></tr>
{% for r in hospital %}<tr><td>{{ r.measure }}</td><td>{{ fmt(r.events, 0) }}</td>
<td>{{ fmt(r.per_1000) }}</td><td>{{ fmt(r.peer_per_1000) }}</td><td>{{ fmt(r.cost, 0) }}</td>
<td>{{ fmt(r.cost_per_head, 2) }}</td></tr>{% endfor %}</table>
<h2>3. Inequality gaps (IMD quintiles, 1 = most deprived)</h2>
<table><tr><th>Indicator</th><th>Most deprived</th><th>Least deprived</th><th>Gap</th>
<th>Slope index of inequality</th></tr>
{% for r in inequality %}<tr><td>{{ titles.get(r.indicator_id, r.indicator_id) }}</td>
<td>{{ fmt(r.most_deprived) }}</td><td>{{ fmt(r.least_deprived) }}</td><td>{{ fmt(r.gap) }}</td>
<td>{{ fmt(r.sii) }}</td></tr>{% endfor %}</table>
<p class="note">SII: the modelled difference between the most and least deprived ends
of the population (Low &amp; Low 2004, PHE method); a negative SII means worse values
in more deprived areas for indicators where higher is better.</p>
</body></html>
"""


def _fmt(x: object, digits: int = 1) -> str:
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "-"
    if not np.isfinite(v):
        return "*"
    return f"{v:,.{digits}f}"


def render_html(pack: Pack, titles: Mapping[str, str], policy: DisclosurePolicy) -> str:
    """The readable HTML report of a pack."""
    from jinja2 import Environment

    env = Environment(autoescape=True)
    template = env.from_string(_TEMPLATE)
    mine = pack.hospital_use[pack.hospital_use["pcn_code"] == pack.pcn_code]
    others = pack.hospital_use[pack.hospital_use["pcn_code"] != pack.pcn_code]
    sums = others.groupby("measure")[["events", "population"]].sum()
    peer = 1000 * sums["events"] / sums["population"]
    hospital = mine.assign(peer_per_1000=mine["measure"].map(peer))
    practices: list[tuple[str, list[object]]] = [
        (str(ind), list(g.sort_values(["area_type", "area_name"]).itertuples()))
        for ind, g in pack.practices.groupby("indicator_id", sort=False)
    ]
    return template.render(
        pack=pack,
        practices=practices,
        hospital=list(hospital.itertuples()),
        inequality=list(pack.inequality.itertuples()),
        titles=titles,
        charts=pack.charts,
        fmt=_fmt,
        policy=policy.name,
    )


def write_pack(
    pack: Pack, out_dir: Path, titles: Mapping[str, str], policy: DisclosurePolicy
) -> list[Path]:
    """Write `practices.csv`, `hospital_use.csv`, `inequality.csv` and `report.html`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "practices.csv": pack.practices,
        "hospital_use.csv": pack.hospital_use,
        "inequality.csv": pack.inequality,
    }
    written = []
    for name, frame in files.items():
        frame.to_csv(out_dir / name, index=False)
        written.append(out_dir / name)
    html = out_dir / "report.html"
    html.write_text(render_html(pack, titles, policy), encoding="utf-8")
    written.append(html)
    return written


def build_pack(
    tables: Mapping[str, object],
    pcn_code: str,
    start: dt.date,
    end: dt.date,
    policy: DisclosurePolicy,
    indicators: Sequence[str] = DEFAULT_INDICATORS,
    charts: bool = True,
) -> tuple[Pack, dict[str, str]]:
    """Run the indicators and hospital-use measures and assemble a PCN's pack.

    Returns:
        The pack and indicator titles by id.

    Raises:
        InputDataError: `pcn_code` is not a consortium in the data.
    """
    from carepilot.engine.run import Engine
    from carepilot.errors import InputDataError
    from carepilot.indicators.periods import Period
    from carepilot.library import get_definition

    engine = Engine(tables, [Period(start, end)], breakdowns=("total", "imd_quintile"))  # type: ignore[arg-type]
    practices = engine.organisations.practices
    if pcn_code not in set(practices["pcn_code"]):
        known = ", ".join(sorted(set(practices["pcn_code"].astype(str))))
        raise InputDataError(
            f"no consortium (PCN) `{pcn_code}` in the data; PCNs: {known}"
        )
    pcn_name = str(practices.loc[practices["pcn_code"] == pcn_code, "pcn_name"].iloc[0])
    defs = [get_definition(i) for i in indicators]
    released = pd.concat([engine.release(d, policy) for d in defs], ignore_index=True)
    titles = {d.id: d.title.strip() for d in defs}
    data = {t: tables[t].execute() for t in ("apcs", "ec", "opa")}  # type: ignore[attr-defined]
    regs = tables["practice_registrations"].execute()  # type: ignore[attr-defined]
    e = pd.Timestamp(end)
    current = regs[
        (pd.to_datetime(regs["start_date"]) <= e)
        & (regs["end_date"].isna() | (pd.to_datetime(regs["end_date"]) >= e))
    ]
    current = current.merge(
        practices[["practice_pseudo_id", "pcn_code", "pcn_name"]],
        on="practice_pseudo_id",
    )[["patient_id", "pcn_code", "pcn_name"]].drop_duplicates("patient_id")
    pack = Pack(
        pcn_code=pcn_code,
        pcn_name=pcn_name,
        period_start=start,
        period_end=end,
        practices=practice_comparison(released, pcn_code),
        hospital_use=hospital_use(data, current, start, end, policy),
        inequality=inequality_gaps(released, pcn_code),
    )
    if charts:
        pack.charts = {
            d.id: chart_svg(released, d.id, titles[d.id], pcn_code) for d in defs
        }
    return pack, titles
