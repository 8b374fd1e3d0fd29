from __future__ import annotations

from pathlib import Path

import pandas as pd

from carepilot.stats.standard_populations import ESP1976, ESP2013, ESP2013_21_BANDS

from .conftest import assert_close


def test_esp2013_matches_reference_file(shared_dir: Path) -> None:
    ref = pd.read_csv(shared_dir / "reference" / "esp2013.csv")
    assert list(ref["ageband"]) == list(ESP2013.labels)
    assert list(ref["age_from"]) == list(ESP2013.age_from)
    assert_close(ESP2013.array, ref["esp2013"])
    assert ESP2013.array.sum() == 100_000


def test_esp2013_21_bands_matches_reference_file(shared_dir: Path) -> None:
    ref = pd.read_csv(shared_dir / "reference" / "esp2013_21bands.csv")
    assert list(ref["age_from"]) == list(ESP2013_21_BANDS.age_from)
    assert_close(ESP2013_21_BANDS.array, ref["esp2013"])


def test_esp1976_sums_to_100000() -> None:
    assert ESP1976.array.sum() == 100_000
    assert len(ESP1976) == 18
