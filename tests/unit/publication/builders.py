"""Hand-built indicator results tables for the publication tests.

Four practices in two PCNs of one commissioner, a pilot of two practices, six
quarters, breakdowns total / sex / IMD decile, two indicators: a proportion
(higher is better, improving over time, with a deprivation gradient) and a crude
rate per 1,000 (lower is better). Counts add up from practices to England; the
table goes through `carepilot.disclosure.release` like the engine's output.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from carepilot.disclosure import OPENSAFELY, DisclosurePolicy, release
from carepilot.publication.results import IndicatorMeta
from carepilot.stats.proportions import wilson_interval
from carepilot.stats.rates import byars_interval
from carepilot.stats.significance import compare_to_benchmark

PRACTICES = {
    "A81001": ("Riverside Surgery", "P1", 54.52, -1.55),
    "A81002": ("Hill Top Practice", "P1", 54.56, -1.30),
    "A81003": ("Market Street Medical", "P2", 54.60, -1.20),
    "A81004": ("Harbour Health Centre", "P2", 54.90, -1.40),
}
PCNS = {"P1": "West PCN", "P2": "East PCN"}
PILOT = ("PIL01", "Northern Integrated Care Pilot", ("A81001", "A81003"))

META = {
    "bp-control": IndicatorMeta(
        id="bp-control",
        title="Hypertension: BP 140/90 or less",
        domain="cardiovascular",
        description="Patients with hypertension whose last BP is 140/90 or less.",
        polarity="higher_is_better",
        value_type="proportion",
        multiplier=100.0,
        target=80.0,
    ),
    "ae-rate": IndicatorMeta(
        id="ae-rate",
        title="A&E attendances per 1,000",
        domain="hospital",
        description="A&E attendances per 1,000 registered patients.",
        polarity="lower_is_better",
        value_type="crude_rate",
        multiplier=1000.0,
    ),
}

PERIODS = [
    dt.date(2022, 4, 1),
    dt.date(2022, 7, 1),
    dt.date(2022, 10, 1),
    dt.date(2023, 1, 1),
    dt.date(2023, 4, 1),
    dt.date(2023, 7, 1),
]


def _period_end(start: dt.date) -> dt.date:
    month = start.month + 3
    year = start.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return dt.date(year, month, 1) - dt.timedelta(days=1)


def _cells(rng: np.random.Generator) -> pd.DataFrame:
    """Practice-level counts per indicator x period x sex x IMD decile."""
    rows = []
    for code, (_, _, _, _) in PRACTICES.items():
        quality = {"A81001": 0.05, "A81002": 0.0, "A81003": -0.04, "A81004": 0.02}[code]
        for p, start in enumerate(PERIODS):
            for sex in ("female", "male"):
                for decile in range(1, 11):
                    pop = int(rng.integers(20, 60))
                    prob = 0.62 + 0.02 * decile + 0.015 * p + quality
                    rows.append(
                        (
                            "bp-control",
                            start,
                            code,
                            sex,
                            str(decile),
                            float(rng.binomial(pop, min(prob, 0.98))),
                            float(pop),
                        )
                    )
                    list_size = pop * 12
                    rate = 0.030 - 0.0015 * decile - quality / 20
                    rows.append(
                        (
                            "ae-rate",
                            start,
                            code,
                            sex,
                            str(decile),
                            float(rng.poisson(list_size * rate)),
                            float(list_size),
                        )
                    )
    return pd.DataFrame(
        rows,
        columns=[
            "indicator_id",
            "period_start",
            "practice",
            "sex",
            "decile",
            "numerator",
            "denominator",
        ],
    )


def _area_levels() -> list[tuple[str, str, str, str | None, list[str]]]:
    """(area_type, code, name, parent, member practices)."""
    levels: list[tuple[str, str, str, str | None, list[str]]] = [
        ("national", "E92000001", "England", None, list(PRACTICES)),
        ("commissioner", "5J9", "North PCT", "E92000001", list(PRACTICES)),
    ]
    for pcn, name in PCNS.items():
        members = [c for c, v in PRACTICES.items() if v[1] == pcn]
        levels.append(("pcn", pcn, name, "5J9", members))
    for code, (name, pcn, _, _) in PRACTICES.items():
        levels.append(("practice", code, name, pcn, [code]))
    levels.append(("pilot", PILOT[0], PILOT[1], "E92000001", list(PILOT[2])))
    return levels


def _stats(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    num = out["numerator"].to_numpy(float)
    den = out["denominator"].to_numpy(float)
    prop = out["indicator_id"].to_numpy(str) == "bp-control"
    value = np.full(len(out), np.nan)
    for conf, lo, hi in (
        (0.95, "lower_ci_95", "upper_ci_95"),
        (0.998, "lower_ci_99_8", "upper_ci_99_8"),
    ):
        wl, wu = wilson_interval(num, den, conf)
        bl, bu = byars_interval(num, conf)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[lo] = np.where(prop, wl * 100, bl / den * 1000)
            out[hi] = np.where(prop, wu * 100, bu / den * 1000)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(prop, num / den * 100, num / den * 1000)
    out["value"] = value
    return out


def _compare(frame: pd.DataFrame) -> pd.DataFrame:
    keys = ["indicator_id", "period_start", "breakdown", "category"]
    nat = frame.loc[frame["area_type"] == "national", [*keys, "value"]].rename(
        columns={"value": "_b"}
    )
    merged = frame.merge(nat, on=keys, how="left")
    comparison = np.empty(len(merged), dtype=object)
    for ind, idx in merged.groupby("indicator_id").indices.items():
        rows = merged.iloc[idx]
        comparison[idx] = compare_to_benchmark(
            rows["value"],
            rows["lower_ci_95"],
            rows["upper_ci_95"],
            rows["_b"],
            META[str(ind)].polarity,
        )
    merged["comparison"] = np.where(
        merged["area_type"] == "national", "not compared", comparison
    )
    return merged.drop(columns="_b")


def raw_results(seed: int = 3) -> pd.DataFrame:
    """The unreleased ("--disclosure none") results table."""
    cells = _cells(np.random.default_rng(seed))
    frames = []
    for area_type, code, name, parent, members in _area_levels():
        part = cells[cells["practice"].isin(members)]
        for breakdown, by in (
            ("total", None),
            ("sex", "sex"),
            ("imd_decile", "decile"),
        ):
            group = ["indicator_id", "period_start"] + ([by] if by else [])
            agg = part.groupby(group, as_index=False)[
                ["numerator", "denominator"]
            ].sum()
            agg["category"] = agg[by] if by else "all"
            agg["breakdown"] = breakdown
            agg["area_type"], agg["area_code"], agg["area_name"] = (
                area_type,
                code,
                name,
            )
            agg["parent_area_code"] = parent
            frames.append(agg.drop(columns=[by] if by else []))
    out = pd.concat(frames, ignore_index=True)
    out["period_end"] = [_period_end(s) for s in out["period_start"]]
    out["indicator_version"] = 1
    out["exceptions"] = np.nan
    out = _compare(_stats(out))
    out["suppressed"] = False
    out["suppression_reason"] = None
    from carepilot.publication.results import RESULT_COLUMNS

    return out[list(RESULT_COLUMNS)]


def _recompute(rows: pd.DataFrame) -> pd.DataFrame:
    stats = _stats(rows)
    cols = ["value", "lower_ci_95", "upper_ci_95", "lower_ci_99_8", "upper_ci_99_8"]
    return stats[cols]


def released_results(
    policy: DisclosurePolicy = OPENSAFELY, seed: int = 3
) -> pd.DataFrame:
    """The results table after disclosure control, as the engine publishes it."""
    return release(raw_results(seed), policy, value_fn=_recompute)


TRUSTS = {
    # provider code: (practice whose released rows it reuses, name, type, lat, lon)
    "RA001": ("A81001", "Riverside Hospitals NHS Trust", "acute", 54.53, -1.56),
    "RY001": ("A81002", "Hill Community Health Services", "community", 54.57, -1.31),
    "RA002": ("A81004", "Harbour Hospitals NHS Trust", "acute", 54.90, -1.40),
}


def released_with_trusts() -> pd.DataFrame:
    """Released results plus provider rows: three practices' released rows
    relabelled as trusts, so the provider figures stay disclosure controlled."""
    released = released_results()
    frames = [released]
    for code, (practice, name, *_) in TRUSTS.items():
        rows = released[released["area_code"] == practice].copy()
        rows["area_type"], rows["area_code"], rows["area_name"] = "provider", code, name
        rows["parent_area_code"] = "E92000001"
        frames.append(rows)
    return pd.concat(frames, ignore_index=True)


def trust_table() -> pd.DataFrame:
    """The `providers` table of `TRUSTS` (host commissioner 5J9), with locations."""
    return pd.DataFrame(
        [
            {
                "provider_code": code,
                "provider_name": name,
                "provider_type": kind,
                "commissioner_code": "5J9",
                "postcode": "ZZ1 1PV",
                "latitude": lat,
                "longitude": lon,
            }
            for code, (_, name, kind, lat, lon) in TRUSTS.items()
        ]
    )
