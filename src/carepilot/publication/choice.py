"""Choose a practice or service: nearby places compared on what patients ask.

`nearby_practices` finds practices within a distance of a point (great-circle
distance from the practices' latitude/longitude in the data model) and compares
them on the indicators patients care about, grouped into four topics: getting an
appointment (access), experience of care, outcomes, and waiting times. Each
figure comes with a plain-English sentence. `nearby_services` does the same for
providers (acute, community, mental health trusts; `providers` table location)
on their provider rows - figures about the provider's own activity
(`carepilot.engine.providers`). Public page: the results table must be disclosure
controlled, and suppressed figures are explained, not shown.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from carepilot.errors import InputDataError
from carepilot.publication.periods import period_label
from carepilot.publication.results import IndicatorMeta, meta_for_ids
from carepilot.publication.views import partitioned

TOPICS: dict[str, tuple[str, ...]] = {
    "access": (
        "experience-ease-of-getting-through",
        "record-access-one-month",
    ),
    "experience": (
        "experience-overall-experience",
        "experience-confidence-and-trust",
        "experience-involved-in-decisions",
        "experience-support-managing-conditions",
    ),
    "outcomes": (
        "diabetes-hba1c-58",
        "hypertension-bp-140-90-under-80",
        "dm-hba1c-58",
        "hyp-bp-140-90",
        "flu-vaccination-65-plus",
        "flu-vaccination-65",
        "cervical-screening-25-49",
        "acsc-emergency-admissions",
        "emergency-admissions-rate",
    ),
    "waiting": ("rtt-incomplete-18-weeks",),
}
"""Topic → indicator ids (those present in the results are used)."""

SERVICE_TOPICS: dict[str, tuple[str, ...]] = {
    "access": ("outpatient-dna", "community-contacts-dna"),
    # Provider-level survey results only: the GP Patient Survey questions
    # describe GP practices (their answers carry the practice's code).
    "experience": ("experience-inpatient-overall",),
    "outcomes": (
        "emergency-readmissions-30-days",
        "proms-hip-eq5d-improved",
        "proms-knee-eq5d-improved",
        "proms-ltc-eq5d-improved",
        "social-care-after-discharge",
    ),
    "waiting": ("rtt-incomplete-18-weeks",),
}
"""Topic → indicator ids with provider rows (those present are used)."""

SERVICE_TOPIC_MISSING: dict[str, str] = {
    "experience": "No patient survey results about hospitals or other services "
    "are published in this data (no inpatient survey answers have been loaded), "
    "so this page cannot yet say what their patients think of their care.",
    "waiting": "No waiting-time figures for these services are published in this "
    "data (no referral-to-treatment pathways have been loaded).",
    "access": "No missed-appointment figures for these services are published in "
    "this data.",
    "outcomes": "No figures on the results of care at these services are "
    "published in this data.",
}
"""What the choose-a-service page says when no service has figures for a topic."""

SERVICE_TOPIC_TITLES: dict[str, str] = {
    "access": "Turning up: missed appointments",
    "experience": "What patients say",
    "outcomes": "Results of care",
    "waiting": "Waiting times",
}

SERVICE_TYPES: dict[str, str] = {
    "acute": "Hospitals",
    "community": "Community health services",
    "mental_health": "Mental health services",
}
"""Provider types offered on the choose-a-service page (their provider rows)."""

TOPIC_TITLES: dict[str, str] = {
    "access": "Getting an appointment and your record",
    "experience": "What patients say",
    "outcomes": "Care and outcomes",
    "waiting": "Waiting times",
}

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG), for the haversine distance."""


def haversine_km(
    lat1: float, lon1: float, lat2: np.ndarray, lon2: np.ndarray
) -> np.ndarray:
    """Great-circle distance in km (haversine formula, mean Earth radius)."""
    p1, p2 = math.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(lon2) - math.radians(lon1)
    a = np.sin(dphi / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a))


def explain(m: IndicatorMeta, value: float, comparison: str) -> str:
    """One plain-English sentence about a practice's figure."""
    if math.isnan(value):
        return (
            f"{m.title}: not shown, because the numbers are too small to "
            "publish without risking identifying patients."
        )
    unit = "%" if m.value_type == "proportion" else f" {m.unit}".rstrip()
    figure = f"{value:.0f}{unit}" if unit == "%" else f"{value:.1f}{unit}"
    if comparison in ("better", "worse"):
        verdict = f"{comparison} than the England average"
    elif comparison == "similar":
        verdict = "similar to the England average"
    elif comparison in ("higher", "lower"):
        verdict = f"{comparison} than the England average (neither good nor bad)"
    else:
        verdict = "not compared with England"
    return f"{m.title}: {figure}, {verdict}."


@dataclass(frozen=True)
class PracticeChoice:
    """One nearby practice with its figures by topic."""

    code: str
    name: str
    distance_km: float
    postcode: str | None
    figures: dict[str, list[dict[str, object]]] = field(
        default_factory=dict[str, list[dict[str, object]]]
    )
    kind: str = ""
    """Provider type for services (``acute``, ...); empty for practices."""


def nearby_practices(
    results: pd.DataFrame,
    practices: pd.DataFrame,
    latitude: float,
    longitude: float,
    radius_km: float = 5.0,
    limit: int = 10,
    meta: Mapping[str, IndicatorMeta] | None = None,
    topics: Mapping[str, Sequence[str]] = TOPICS,
) -> list[PracticeChoice]:
    """Practices within `radius_km`, nearest first, with figures by topic.

    Args:
        results: Released results table (checked).
        practices: The ``practices`` table (``practice_code``, ``practice_name``,
            ``latitude``, ``longitude``, optional ``postcode``).
        latitude: Latitude of the patient's location (WGS84).
        longitude: Longitude.
        radius_km: Search radius.
        limit: Most practices returned.
        meta: Indicator metadata.
        topics: Topic → indicator ids.

    Raises:
        InputDataError: practices lack coordinates columns.
        PermissionDenied: the results table is not disclosure controlled.
    """
    missing = {"practice_code", "practice_name", "latitude", "longitude"} - set(
        practices.columns
    )
    if missing:
        raise InputDataError(
            f"practices table lacks {', '.join(sorted(missing))}; load the "
            "`practices` table of the data model"
        )
    sites = pd.DataFrame(
        {
            "code": practices["practice_code"],
            "name": practices["practice_name"],
            "latitude": practices["latitude"],
            "longitude": practices["longitude"],
            "postcode": practices["postcode"] if "postcode" in practices else None,
            "kind": "",
        }
    )
    return _nearby(
        results, sites, "practice", latitude, longitude, radius_km, limit, meta, topics
    )


def nearby_services(
    results: pd.DataFrame,
    providers: pd.DataFrame,
    latitude: float,
    longitude: float,
    radius_km: float = 25.0,
    limit: int = 10,
    meta: Mapping[str, IndicatorMeta] | None = None,
    topics: Mapping[str, Sequence[str]] = SERVICE_TOPICS,
    kinds: Sequence[str] = tuple(SERVICE_TYPES),
) -> list[PracticeChoice]:
    """Providers of `kinds` within `radius_km`, nearest first, with figures by topic.

    Figures are the provider rows of the results (patients attributed to the
    provider of their denominator event), so a trust is compared on its own
    activity, not on its local population.

    Args:
        results: Released results table (checked).
        providers: The ``providers`` table (``provider_code``,
            ``provider_name``, ``provider_type``, ``latitude``, ``longitude``,
            optional ``postcode``).
        latitude, longitude: The patient's location (WGS84).
        radius_km: Search radius.
        limit: Most providers returned.
        meta: Indicator metadata.
        topics: Topic → indicator ids.
        kinds: Provider types to include.

    Raises:
        InputDataError: providers lack the location or type columns.
        PermissionDenied: the results table is not disclosure controlled.
    """
    needed = {
        "provider_code",
        "provider_name",
        "provider_type",
        "latitude",
        "longitude",
    }
    missing = needed - set(providers.columns)
    if missing:
        raise InputDataError(
            f"providers table lacks {', '.join(sorted(missing))}; load the "
            "`providers` table of the data model with its optional location columns"
        )
    chosen = providers[providers["provider_type"].isin(list(kinds))]
    sites = pd.DataFrame(
        {
            "code": chosen["provider_code"],
            "name": chosen["provider_name"],
            "latitude": chosen["latitude"],
            "longitude": chosen["longitude"],
            "postcode": chosen["postcode"] if "postcode" in chosen else None,
            "kind": chosen["provider_type"],
        }
    )
    return _nearby(
        results, sites, "provider", latitude, longitude, radius_km, limit, meta, topics
    )


def _nearby(
    results: pd.DataFrame,
    sites: pd.DataFrame,
    area_type: str,
    latitude: float,
    longitude: float,
    radius_km: float,
    limit: int,
    meta: Mapping[str, IndicatorMeta] | None,
    topics: Mapping[str, Sequence[str]],
) -> list[PracticeChoice]:
    """Sites (`code`, `name`, `latitude`, `longitude`, `postcode`, `kind`) near a
    point, with the latest total figures of their `area_type` rows by topic."""
    idx = partitioned(results, True)  # checked, blanked and indexed once
    info = meta_for_ids(idx.indicators, meta)
    located = sites.dropna(subset=["latitude", "longitude"]).copy()
    located["distance_km"] = haversine_km(
        latitude,
        longitude,
        located["latitude"].to_numpy(float),
        located["longitude"].to_numpy(float),
    )
    near = located[located["distance_km"] <= radius_km].nsmallest(limit, "distance_km")
    # Each topic indicator's latest period of this area type: only those rows.
    frame = idx.rows_many(
        [
            (i, area_type, periods[-1])
            for i in dict.fromkeys(i for ids in topics.values() for i in ids)
            if (periods := idx.periods(i, area_type))
        ]
    )
    by_code = frame.groupby("area_code").indices if len(frame) else {}
    out: list[PracticeChoice] = []
    for _, p in near.iterrows():
        where = by_code.get(p["code"], np.zeros(0, dtype=np.int64))
        own: dict[str, dict[Any, Any]] = {
            str(r["indicator_id"]): r for r in frame.iloc[where].to_dict("records")
        }
        figures: dict[str, list[dict[str, object]]] = {}
        for topic, ids in topics.items():
            items = []
            for indicator_id in ids:
                row = own.get(indicator_id)
                if row is None:
                    continue
                m = info[indicator_id]
                value = float(row["value"])
                items.append(
                    {
                        "indicator_id": indicator_id,
                        "title": m.title,
                        "value": None if math.isnan(value) else value,
                        "unit": m.unit,
                        "comparison": str(row["comparison"]),
                        "period": period_label(row["period_start"], row["period_end"]),
                        "explanation": explain(m, value, str(row["comparison"])),
                    }
                )
            if items:
                figures[topic] = items
        postcode = p.get("postcode")
        out.append(
            PracticeChoice(
                code=str(p["code"]),
                name=str(p["name"]),
                distance_km=round(float(p["distance_km"]), 2),
                postcode=None
                if postcode is None or pd.isna(postcode)
                else str(postcode),
                figures=figures,
                kind=str(p["kind"]),
            )
        )
    return out
