from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from carepilot.programmes.baselines import NoBaselines, ResultsFileBaselines


def _row(
    period: date, area: str, breakdown: str, category: str, num: float, den: float
) -> dict[str, object]:
    return {
        "indicator_id": "diab-003",
        "period_end": period,
        "area_type": "practice",
        "area_code": area,
        "breakdown": breakdown,
        "category": category,
        "numerator": num,
        "denominator": den,
        "value": 100 * num / den,
        "suppressed": False,
    }


@pytest.fixture
def results(tmp_path: Path) -> Path:
    old, new = date(2025, 3, 31), date(2026, 3, 31)
    rows = [
        _row(old, "A1", "total", "all", 10, 100),
        _row(new, "A1", "total", "all", 30, 100),
        _row(new, "A2", "total", "all", 10, 100),
        _row(new, "B9", "total", "all", 99, 100),
        _row(new, "A1", "ethnicity_5", "White", 20, 50),
        _row(new, "A1", "ethnicity_5", "Black", 10, 50),
        _row(new, "A2", "ethnicity_5", "White", 5, 50),
        _row(new, "A2", "ethnicity_5", "Black", 5, 50),
    ]
    path = tmp_path / "results.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def test_total_baseline_pools_numerators_and_keeps_the_per_100_scale(
    results: Path,
) -> None:
    b = ResultsFileBaselines(results).baseline("diab-003", ["A1", "A2"])
    # (30 + 10) / (100 + 100) * 100 = 20, latest period only, B9 not in the bid
    assert b.value == pytest.approx(20.0) and b.period_end == date(2026, 3, 31)


def test_inequality_baseline_is_the_gap_between_categories(results: Path) -> None:
    b = ResultsFileBaselines(results).baseline("diab-003", ["A1", "A2"], "ethnicity_5")
    # White 25/100 = 25, Black 15/100 = 15 -> gap 10
    assert b.value == pytest.approx(10.0) and "White" in b.note and "Black" in b.note


def test_series_and_missing_data(results: Path) -> None:
    provider = ResultsFileBaselines(results)
    assert [round(p.value, 1) for p in provider.series("diab-003", ["A1"])] == [
        10.0,
        30.0,
    ]
    assert provider.baseline("other-001", ["A1"]).value is None
    assert provider.baseline("diab-003", []).value is None


def test_no_baselines_leaves_a_visible_note() -> None:
    b = NoBaselines().baseline("diab-003", ["A1"])
    assert b.value is None and "No indicator results are configured" in b.note
