"""Standard populations for direct age standardisation.

* `ESP2013` — European Standard Population 2013 in the 19 five-year bands PHE and
  Fingertips use (0-4 … 85-89, 90+), summing to 100,000 (Eurostat 2013,
  KS-RA-13-028; 0 and 1-4 merged, 90-94 and 95+ merged).
* `ESP2013_21_BANDS` — the same population as Eurostat publishes it (<1, 1-4, …, 95+).
* `ESP1976` — the 1976 European Standard Population (18 bands, 85+ open), used for
  older published series.

Constants only: nothing here reads a file at import time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carepilot.stats._common import FloatArray


@dataclass(frozen=True)
class StandardPopulation:
    """A named standard population: band labels, band start ages and weights."""

    name: str
    labels: tuple[str, ...]
    age_from: tuple[int, ...]
    weights: tuple[float, ...]

    def __post_init__(self) -> None:
        if not (len(self.labels) == len(self.age_from) == len(self.weights)):
            raise ValueError(f"standard population {self.name}: lengths differ")

    @property
    def array(self) -> FloatArray:
        """The weights as a float64 array (in band order)."""
        return np.asarray(self.weights, dtype=np.float64)

    def __len__(self) -> int:
        return len(self.weights)


ESP2013 = StandardPopulation(
    name="esp2013",
    labels=(
        "0-4", "5-9", "10-14", "15-19", "20-24", "25-29", "30-34", "35-39", "40-44",
        "45-49", "50-54", "55-59", "60-64", "65-69", "70-74", "75-79", "80-84",
        "85-89", "90+",
    ),
    age_from=(0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90),
    weights=(
        5000.0, 5500.0, 5500.0, 5500.0, 6000.0, 6000.0, 6500.0, 7000.0, 7000.0,
        7000.0, 7000.0, 6500.0, 6000.0, 5500.0, 5000.0, 4000.0, 2500.0, 1500.0,
        1000.0,
    ),
)  # fmt: skip

ESP2013_21_BANDS = StandardPopulation(
    name="esp2013_21",
    labels=(
        "0", "1-4", "5-9", "10-14", "15-19", "20-24", "25-29", "30-34", "35-39",
        "40-44", "45-49", "50-54", "55-59", "60-64", "65-69", "70-74", "75-79",
        "80-84", "85-89", "90-94", "95+",
    ),
    age_from=(
        0, 1, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 95,
    ),
    weights=(
        1000.0, 4000.0, 5500.0, 5500.0, 5500.0, 6000.0, 6000.0, 6500.0, 7000.0,
        7000.0, 7000.0, 7000.0, 6500.0, 6000.0, 5500.0, 5000.0, 4000.0, 2500.0,
        1500.0, 800.0, 200.0,
    ),
)  # fmt: skip

ESP1976 = StandardPopulation(
    name="esp1976",
    labels=(
        "0-4", "5-9", "10-14", "15-19", "20-24", "25-29", "30-34", "35-39", "40-44",
        "45-49", "50-54", "55-59", "60-64", "65-69", "70-74", "75-79", "80-84", "85+",
    ),
    age_from=(0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85),
    weights=(
        8000.0, 7000.0, 7000.0, 7000.0, 7000.0, 7000.0, 7000.0, 7000.0, 7000.0,
        7000.0, 7000.0, 6000.0, 5000.0, 4000.0, 3000.0, 2000.0, 1000.0, 1000.0,
    ),
)  # fmt: skip

STANDARD_POPULATIONS: dict[str, StandardPopulation] = {
    p.name: p for p in (ESP2013, ESP2013_21_BANDS, ESP1976)
}
"""Standard populations by name (``esp2013``, ``esp2013_21``, ``esp1976``)."""
