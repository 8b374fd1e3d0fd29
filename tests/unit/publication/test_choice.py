"""Choose a practice: distance, ordering and plain-English figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carepilot.errors import InputDataError
from carepilot.publication.choice import (
    explain,
    haversine_km,
    nearby_practices,
    nearby_services,
)

from .builders import META, PRACTICES

TOPICS = {"outcomes": ("bp-control",), "waiting": ("ae-rate",)}


@pytest.fixture
def practices() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "practice_code": c,
                "practice_name": v[0],
                "latitude": v[2],
                "longitude": v[3],
                "postcode": None,
            }
            for c, v in PRACTICES.items()
        ]
    )


def test_haversine_london_paris() -> None:
    km = haversine_km(51.5074, -0.1278, np.array([48.8566]), np.array([2.3522]))
    assert km[0] == pytest.approx(343.5, abs=1.0)


def test_nearby_practices_nearest_first(
    released: pd.DataFrame, practices: pd.DataFrame
) -> None:
    found = nearby_practices(
        released, practices, 54.53, -1.54, radius_km=20, meta=META, topics=TOPICS
    )
    assert [p.code for p in found][0] == "A81001"
    assert "A81004" not in [p.code for p in found]  # ~42 km away
    dists = [p.distance_km for p in found]
    assert dists == sorted(dists)
    item = found[0].figures["outcomes"][0]
    latest = released[
        (released["area_code"] == "A81001")
        & (released["indicator_id"] == "bp-control")
        & (released["breakdown"] == "total")
    ].iloc[-1]
    assert item["value"] == pytest.approx(latest["value"])
    assert item["explanation"].startswith("Hypertension: BP 140/90 or less: ")


def test_explanations_are_plain_english() -> None:
    m = META["bp-control"]
    assert explain(m, 81.4, "better") == (
        "Hypertension: BP 140/90 or less: 81%, better than the England average."
    )
    assert "too small to publish" in explain(m, float("nan"), "not compared")
    assert "similar to the England average" in explain(META["ae-rate"], 20.0, "similar")


def test_practices_need_coordinates(released: pd.DataFrame) -> None:
    with pytest.raises(InputDataError, match="latitude"):
        nearby_practices(
            released,
            pd.DataFrame({"practice_code": ["A"], "practice_name": ["x"]}),
            0,
            0,
        )


def _as_providers(released: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The practices relabelled as providers (two acute, one community, one
    mental health), so provider rows carry the same released figures."""
    kinds = {
        "A81001": "acute",
        "A81002": "community",
        "A81003": "acute",
        "A81004": "mental_health",
    }
    results = released.copy()
    results.loc[results["area_type"] == "practice", "area_type"] = "provider"
    providers = pd.DataFrame(
        [
            {
                "provider_code": c,
                "provider_name": v[0],
                "provider_type": kinds[c],
                "latitude": v[2],
                "longitude": v[3],
                "postcode": f"ZZ1 {i}AA",
            }
            for i, (c, v) in enumerate(PRACTICES.items())
        ]
    )
    return results, providers


def test_nearby_services_by_type_on_provider_rows(released: pd.DataFrame) -> None:
    results, providers = _as_providers(released)
    found = nearby_services(
        results, providers, 54.53, -1.54, 30, meta=META, topics=TOPICS, kinds=["acute"]
    )
    assert [p.code for p in found] == ["A81001", "A81003"]  # community one excluded
    assert {p.kind for p in found} == {"acute"}
    assert found[0].postcode == "ZZ1 0AA"
    item = found[1].figures["outcomes"][0]
    latest = results[
        (results["area_code"] == "A81003")
        & (results["area_type"] == "provider")
        & (results["indicator_id"] == "bp-control")
        & (results["breakdown"] == "total")
    ].iloc[-1]
    assert item["value"] == pytest.approx(latest["value"])
    assert item["explanation"].endswith("England average.")
    # Practice rows are not provider rows: a practice search finds no figures.
    assert not nearby_services(
        released, providers, 54.53, -1.54, 30, meta=META, topics=TOPICS
    )[0].figures


def test_services_need_location_columns(released: pd.DataFrame) -> None:
    providers = pd.DataFrame(
        {"provider_code": ["RA1"], "provider_name": ["x"], "provider_type": ["acute"]}
    )
    with pytest.raises(InputDataError, match="providers table lacks latitude"):
        nearby_services(released, providers, 0, 0)
