"""Choose a practice or service: nearby practices compared on what patients ask.

`nearby_practices` finds practices within a distance of a point (great-circle
distance from the practices' latitude/longitude in the data model) and compares
them on the indicators patients care about, grouped into four topics: getting an
appointment (access), experience of care, outcomes, and waiting times. Each
figure comes with a plain-English sentence. Public page: the results table must
be disclosure controlled, and suppressed figures are explained, not shown.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from carepilot.errors import InputDataError
from carepilot.publication.periods import period_label
from carepilot.publication.results import (
    IndicatorMeta,
    meta_for,
    public_rows,
    verify_released,
)

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
    verify_released(results)
    frame = public_rows(results)
    frame = frame[(frame["area_type"] == "practice") & (frame["breakdown"] == "total")]
    info = meta_for(frame, meta)
    located = practices.dropna(subset=["latitude", "longitude"]).copy()
    located["distance_km"] = haversine_km(
        latitude,
        longitude,
        located["latitude"].to_numpy(float),
        located["longitude"].to_numpy(float),
    )
    near = located[located["distance_km"] <= radius_km].nsmallest(limit, "distance_km")
    latest = frame.groupby("indicator_id")["period_start"].transform("max")
    frame = frame[frame["period_start"] == latest]
    out: list[PracticeChoice] = []
    for _, p in near.iterrows():
        own = frame[frame["area_code"] == p["practice_code"]].set_index("indicator_id")
        figures: dict[str, list[dict[str, object]]] = {}
        for topic, ids in topics.items():
            items = []
            for indicator_id in ids:
                if indicator_id not in own.index:
                    continue
                row = own.loc[indicator_id]
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
                code=str(p["practice_code"]),
                name=str(p["practice_name"]),
                distance_km=round(float(p["distance_km"]), 2),
                postcode=None
                if postcode is None or pd.isna(postcode)
                else str(postcode),
                figures=figures,
            )
        )
    return out
