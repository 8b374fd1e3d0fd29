"""Organisations: SHAs, PCTs (commissioners), PCNs, practices, providers and pilots.

Practices have lognormal list sizes (median ~8,000, range ~2k-20k+) and are grouped
into PCNs of about five practices and PCTs of about eight PCNs; SHAs group PCTs.
Each practice carries latent characteristics that drive its patients: deprivation
(correlated within a PCT), ethnic diversity and rurality (both correlated with
deprivation) and random effects on admission rates and care quality.

Pilot practices are chosen by PCN with a realistic selection bias (bigger, less
deprived, better-performing practices volunteer more often), so a naive
pilot-versus-rest comparison is biased and matching matters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from carepilot.schema import categories as cat
from carepilot.synth._arrow import Cat, Masked, build_table
from carepilot.synth._sampling import (
    BoolArray,
    Calendar,
    FloatArray,
    IntArray,
    logistic,
)
from carepilot.synth.config import SynthConfig

SHAS: tuple[tuple[str, str], ...] = (
    ("Q30", "North East Strategic Health Authority"),
    ("Q31", "North West Strategic Health Authority"),
    ("Q32", "Yorkshire and the Humber Strategic Health Authority"),
    ("Q33", "East Midlands Strategic Health Authority"),
    ("Q34", "West Midlands Strategic Health Authority"),
    ("Q35", "East of England Strategic Health Authority"),
    ("Q36", "London Strategic Health Authority"),
    ("Q37", "South East Coast Strategic Health Authority"),
    ("Q38", "South Central Strategic Health Authority"),
    ("Q39", "South West Strategic Health Authority"),
)

_PLACES: tuple[str, ...] = (
    "Ashbourne Vale", "Brackenfield", "Castlemere", "Dunholme", "Eastwick",
    "Fernleigh", "Greystone", "Harrowgate Fields", "Ivybridge Moor", "Kingsmead",
    "Larkhill", "Millbrook", "Northcote", "Oakhampton", "Pennington", "Queensbury",
    "Redcliffe", "Stanmoor", "Thornbury", "Upperton", "Westmarch", "Yarrowdale",
)  # fmt: skip
_STREETS: tuple[str, ...] = (
    "High Street", "Church Lane", "Station Road", "Park View", "Mill Road",
    "Market Square", "The Green", "Victoria Road", "Bridge Street", "Elm Grove",
)  # fmt: skip
_PROVIDER_KINDS: tuple[tuple[str, str, str], ...] = (
    ("acute", "RA", "{place} Hospitals NHS Trust"),
    ("community", "RY", "{place} Community Health Services"),
    ("mental_health", "RX", "{place} Mental Health NHS Trust"),
    ("social_care", "LA", "{place} Council Adult Social Care"),
    ("third_sector", "NL", "{place} Community Voluntary Services"),
    ("social_enterprise", "NQ", "{place} Health Social Enterprise CIC"),
    ("private", "NT", "{place} Independent Treatment Centre"),
)
STAGGER_MONTHS: tuple[int, ...] = (0, 3, 6, 9)


def _place(i: int) -> str:
    base = _PLACES[i % len(_PLACES)]
    return base if i < len(_PLACES) else f"{base} {i // len(_PLACES) + 1}"


@dataclass(frozen=True, slots=True)
class Organisations:
    """Practice-level arrays (index = practice_pseudo_id - 1) and provider codes.

    Attributes:
        practice_code: ODS code per practice.
        pct: commissioner index per practice.
        pcn: PCN index per practice.
        list_weight: share of patients registered with each practice (sums to 1).
        deprivation: latent deprivation (standard normal; high = deprived).
        diversity: probability a patient is drawn from the ethnically diverse mix.
        rural_share: share of the practice's LSOAs that are rural.
        admission_re: log-rate random effect on hospital use.
        quality_re: logit random effect on monitoring/control quality.
        is_pilot: practice joins the pilot.
        pilot_day: day the practice joined (period end + 1 for non-pilots).
        pilot_month: 0-based month the practice joined (-1 for non-pilots).
        provider_codes: provider type -> ODS code per PCT.
        tables: the organisation tables.
    """

    practice_code: list[str]
    pct: IntArray
    pcn: IntArray
    list_weight: FloatArray
    deprivation: FloatArray
    diversity: FloatArray
    rural_share: FloatArray
    admission_re: FloatArray
    quality_re: FloatArray
    is_pilot: BoolArray
    pilot_day: IntArray
    pilot_month: IntArray
    provider_codes: dict[str, list[str]]
    tables: dict[str, pa.Table]

    @property
    def n(self) -> int:
        """Number of practices."""
        return len(self.practice_code)


def build_organisations(
    config: SynthConfig, cal: Calendar, rng: np.random.Generator
) -> Organisations:
    """Generate every organisation and the practice-level latent characteristics."""
    k = config.n_practices
    n_pcn = max(1, round(k / 5))
    n_pct = max(2, round(n_pcn / 8)) if n_pcn >= 2 else 1
    n_sha = min(len(SHAS), max(1, round(n_pct / 4)))
    pcn = np.sort(rng.integers(0, n_pcn, k))
    pcn[:n_pcn] = np.arange(n_pcn)  # every PCN has at least one practice
    pcn = np.sort(pcn)
    pct_of_pcn = np.sort(np.r_[np.arange(n_pct), rng.integers(0, n_pct, n_pcn)])[:n_pcn]
    pct = pct_of_pcn[pcn]
    sha_of_pct = np.arange(n_pct) % n_sha

    pct_dep = rng.normal(0.0, 1.0, n_pct)
    deprivation = 0.6 * pct_dep[pct] + 0.8 * rng.normal(0.0, 1.0, k)
    list_size = np.clip(np.exp(rng.normal(np.log(8_000), 0.55, k)), 1_500, 35_000)
    list_weight = list_size / list_size.sum()
    pct_urban = rng.normal(0.0, 1.0, n_pct)
    diversity = logistic(-1.4 + 0.9 * deprivation + 0.7 * pct_urban[pct])
    rural_share = logistic(-1.3 - 0.8 * deprivation - 0.9 * pct_urban[pct])
    admission_re = rng.normal(0.0, 0.12, k)
    quality_re = rng.normal(0.0, 0.35, k)

    is_pilot, pilot_month = _choose_pilots(
        config, rng, pcn, list_size, deprivation, quality_re
    )
    pilot_day = np.where(
        is_pilot, cal.month_days[np.maximum(pilot_month, 0)], cal.end_day + 1
    )

    practice_code = [f"{'ABCDEFGHJKLMNPY'[p % 15]}{81001 + i:05d}" for i, p in
                     enumerate(pct.tolist())]  # fmt: skip
    provider_codes = {
        kind: [f"{prefix}{j + 1:03d}" for j in range(n_pct)]
        for kind, prefix, _ in _PROVIDER_KINDS
    }
    tables = _org_tables(
        rng, pcn, pct, sha_of_pct, practice_code, provider_codes, is_pilot, pilot_day,
        config.pilots,
    )  # fmt: skip
    return Organisations(
        practice_code=practice_code,
        pct=pct,
        pcn=pcn,
        list_weight=list_weight,
        deprivation=deprivation,
        diversity=diversity,
        rural_share=rural_share,
        admission_re=admission_re,
        quality_re=quality_re,
        is_pilot=is_pilot,
        pilot_day=pilot_day,
        pilot_month=pilot_month,
        provider_codes=provider_codes,
        tables=tables,
    )


def _choose_pilots(
    config: SynthConfig,
    rng: np.random.Generator,
    pcn: IntArray,
    list_size: FloatArray,
    deprivation: FloatArray,
    quality_re: FloatArray,
) -> tuple[BoolArray, IntArray]:
    """Pick pilot practices PCN by PCN with selection on size, deprivation, quality.

    PCN score = 0.8 log(mean list) - 0.5 mean deprivation + mean quality + Gumbel
    noise; PCNs join in score order until `n_pilot_practices` practices are in (the
    last PCN may join partly). Staggered start: each PCN starts 0/3/6/9 months after
    the pilot month (never after the period's last month).
    """
    k = len(pcn)
    n_pcn = int(pcn.max()) + 1
    counts = np.bincount(pcn, minlength=n_pcn)
    mean_size = np.bincount(pcn, list_size, n_pcn) / counts
    mean_dep = np.bincount(pcn, deprivation, n_pcn) / counts
    mean_q = np.bincount(pcn, quality_re, n_pcn) / counts
    score = (
        0.8 * np.log(mean_size) - 0.5 * mean_dep + mean_q + rng.gumbel(0, 0.6, n_pcn)
    )
    pcn_rank = np.empty(n_pcn, dtype=np.int64)
    pcn_rank[np.argsort(-score)] = np.arange(n_pcn)
    order = np.lexsort((np.arange(k), pcn_rank[pcn]))
    is_pilot = np.zeros(k, dtype=bool)
    is_pilot[order[: config.n_pilot_practices]] = True
    offsets = np.asarray(STAGGER_MONTHS)[rng.integers(0, len(STAGGER_MONTHS), n_pcn)]
    if not config.staggered:
        offsets[:] = 0
    month = np.minimum(config.pilot_month + offsets[pcn], config.months - 1)
    return is_pilot, np.where(is_pilot, month, -1)


def _org_tables(
    rng: np.random.Generator,
    pcn: IntArray,
    pct: IntArray,
    sha_of_pct: IntArray,
    practice_code: list[str],
    provider_codes: dict[str, list[str]],
    is_pilot: BoolArray,
    pilot_day: IntArray,
    max_sites: int | None = None,
) -> dict[str, pa.Table]:
    k = len(pcn)
    n_pct = len(sha_of_pct)
    pct_codes = [f"5{chr(65 + j // 10 % 26)}{j % 10}" for j in range(n_pct)]
    commissioners = build_table(
        "commissioners",
        n_pct,
        {
            "commissioner_code": pct_codes,
            "commissioner_name": [f"{_place(j)} Primary Care Trust" for j in range(n_pct)],
            "sha_code": Cat(sha_of_pct, [s[0] for s in SHAS]),
            "sha_name": Cat(sha_of_pct, [s[1] for s in SHAS]),
        },
    )  # fmt: skip
    pct_lat = rng.uniform(50.8, 54.8, n_pct)
    pct_lon = rng.uniform(-2.9, 0.9, n_pct)
    streets = rng.integers(0, len(_STREETS), k)
    practices = build_table(
        "practices",
        k,
        {
            "practice_pseudo_id": np.arange(1, k + 1),
            "practice_code": practice_code,
            "practice_name": [
                f"{_STREETS[s]} Surgery {_place(p)}"
                for s, p in zip(streets.tolist(), pct.tolist(), strict=True)
            ],
            "pcn_code": [f"U{10001 + p:05d}" for p in pcn.tolist()],
            "pcn_name": [f"{_place(p)} PCN {p + 1}" for p in pcn.tolist()],
            "commissioner_code": Cat(pct, pct_codes),
            "postcode": [f"ZZ{p % 90 + 10} {i % 9 + 1}AB" for i, p in
                         enumerate(pct.tolist())],
            "latitude": np.round(pct_lat[pct] + rng.normal(0, 0.08, k), 5),
            "longitude": np.round(pct_lon[pct] + rng.normal(0, 0.12, k), 5),
        },
    )  # fmt: skip
    prov_codes: list[str] = list(practice_code)
    prov_names: list[str] = [f"{c} (GP practice)" for c in practice_code]
    prov_types: list[str] = ["gp"] * k
    prov_pct: list[str] = [pct_codes[p] for p in pct.tolist()]
    prov_post: list[str] = practices["postcode"].to_pylist()
    prov_lat: list[float] = practices["latitude"].to_pylist()
    prov_lon: list[float] = practices["longitude"].to_pylist()
    for i, (kind, _, name) in enumerate(_PROVIDER_KINDS):
        # Main sites on a fixed ring around the PCT centre (no random draws, so
        # adding locations left every other synthetic table unchanged).
        angle = 2 * np.pi * i / len(_PROVIDER_KINDS)
        for j in range(n_pct):
            prov_codes.append(provider_codes[kind][j])
            prov_names.append(name.format(place=_place(j)))
            prov_types.append(kind)
            prov_pct.append(pct_codes[j])
            prov_post.append(f"ZZ{j % 90 + 10} {i + 1}PV")
            prov_lat.append(round(float(pct_lat[j] + 0.05 * np.sin(angle)), 5))
            prov_lon.append(round(float(pct_lon[j] + 0.08 * np.cos(angle)), 5))
    providers = build_table(
        "providers",
        len(prov_codes),
        {
            "provider_code": prov_codes,
            "provider_name": prov_names,
            "provider_type": prov_types,
            "commissioner_code": prov_pct,
            "postcode": prov_post,
            "latitude": prov_lat,
            "longitude": prov_lon,
        },
    )
    pilot_sites, members = _pilot_tables(
        rng, pct, pct_codes, provider_codes, is_pilot, pilot_day, max_sites
    )
    return {
        "commissioners": commissioners,
        "practices": practices,
        "providers": providers,
        "pilot_sites": pilot_sites,
        "pilot_site_members": members,
    }


def _pilot_tables(
    rng: np.random.Generator,
    pct: IntArray,
    pct_codes: list[str],
    provider_codes: dict[str, list[str]],
    is_pilot: BoolArray,
    pilot_day: IntArray,
    max_sites: int | None = None,
) -> tuple[pa.Table, pa.Table]:
    """Pilot sites and their members.

    By default one site per commissioner with pilot practices; `max_sites` caps
    the number of sites (commissioners are dealt to sites in turn, so 1 puts
    every pilot practice in ``ICP01``). A site is named after, and commissioned
    by, its first commissioner; each commissioner's community provider joins with
    the site's earliest practice.
    """
    pilot_pcts = sorted(set(pct[is_pilot].tolist()))
    n_sites = len(pilot_pcts) if max_sites is None else min(max_sites, len(pilot_pcts))
    site_of_pct = {p: i % max(n_sites, 1) for i, p in enumerate(pilot_pcts)}
    first_pct = pilot_pcts[:n_sites]
    ids = [f"ICP{i + 1:02d}" for i in range(n_sites)]
    site_start = [
        int(pilot_day[is_pilot & np.isin(pct, [p for p in pilot_pcts if site_of_pct[p] == s])].min())
        for s in range(n_sites)
    ]  # fmt: skip
    ineq = rng.integers(0, len(cat.INEQUALITY_DIMENSIONS), n_sites)
    sites = build_table(
        "pilot_sites",
        len(ids),
        {
            "pilot_id": ids,
            "pilot_name": [f"{_place(p)} Integrated Care Pilot" for p in first_pct],
            "commissioner_code": [pct_codes[p] for p in first_pct],
            "start_date": np.asarray(site_start, dtype=np.int64),
            "specific_inequality": Cat(ineq, cat.INEQUALITY_DIMENSIONS),
        },
    )
    prac = np.flatnonzero(is_pilot)
    m_pilot = [ids[site_of_pct[p]] for p in pct[prac].tolist()]
    m_type = ["practice"] * len(prac)
    m_prac = list((prac + 1).tolist())
    m_prov: list[str | None] = [None] * len(prac)
    m_start = list(pilot_day[prac].tolist())
    for p in pilot_pcts:
        m_pilot.append(ids[site_of_pct[p]])
        m_type.append("provider")
        m_prac.append(0)
        m_prov.append(provider_codes["community"][p])
        m_start.append(site_start[site_of_pct[p]])
    n = len(m_pilot)
    valid_prac = np.asarray([t == "practice" for t in m_type], dtype=bool)
    members = build_table(
        "pilot_site_members",
        n,
        {
            "pilot_id": m_pilot,
            "member_type": m_type,
            "practice_pseudo_id": Masked(
                np.asarray(m_prac, dtype=np.int64), valid_prac
            ),
            "provider_code": pa.array(m_prov, type=pa.string()),
            "start_date": np.asarray(m_start, dtype=np.int64),
        },
    )
    return sites, members
