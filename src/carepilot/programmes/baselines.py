"""Baselines for bid commitments, from the indicator results table.

`BaselineProvider` is the seam the integrator connects to the indicator engine. The
default `ResultsFileBaselines` reads an indicator RESULTS Parquet file (the shared
results contract); `NoBaselines` leaves baselines empty with a visible note.

Pooling over a bid's practices: value = scale · Σ numerator / Σ denominator, where
`scale` is the indicator's own multiplier recovered from the rows (value ÷ (num/den)),
so a per-100 or per-100,000 indicator keeps its units. For a specific inequality the
baseline is the gap between the highest and lowest category of the matching breakdown
(e.g. ethnicity_5 for race) in the latest period.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Baseline:
    value: float | None
    period_end: date | None
    note: str


@dataclass(frozen=True, slots=True)
class TrajectoryPoint:
    period_end: date
    value: float


class BaselineProvider(Protocol):
    def baseline(
        self, indicator_id: str, practice_codes: Sequence[str], breakdown: str = "total"
    ) -> Baseline: ...

    def series(
        self, indicator_id: str, practice_codes: Sequence[str]
    ) -> list[TrajectoryPoint]: ...


class NoBaselines:
    """Used when no indicator results are configured: baselines stay empty."""

    NOTE = (
        "No indicator results are configured, so the baseline is empty; it is filled "
        "from the indicator engine once results exist for the bid's practices."
    )

    def baseline(
        self, indicator_id: str, practice_codes: Sequence[str], breakdown: str = "total"
    ) -> Baseline:
        return Baseline(None, None, self.NOTE)

    def series(
        self, indicator_id: str, practice_codes: Sequence[str]
    ) -> list[TrajectoryPoint]:
        return []


_COLUMNS = [
    "indicator_id",
    "period_end",
    "area_type",
    "area_code",
    "breakdown",
    "category",
    "numerator",
    "denominator",
    "value",
    "suppressed",
]


class ResultsFileBaselines:
    """Read baselines from an indicator results Parquet file (shared results contract)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _rows(
        self, indicator_id: str, practice_codes: Sequence[str], breakdown: str | None
    ) -> list[dict[str, object]]:
        import pyarrow.parquet as pq

        filters: list[tuple[str, str, object]] = [
            ("indicator_id", "=", indicator_id),
            ("area_type", "=", "practice"),
            ("area_code", "in", list(practice_codes)),
        ]
        if breakdown is not None:
            filters.append(("breakdown", "=", breakdown))
        table = pq.read_table(self.path, columns=_COLUMNS, filters=filters)  # type: ignore[arg-type]
        return table.to_pylist()

    def _pooled(self, rows: list[dict[str, object]]) -> dict[tuple[date, str], float]:
        groups: dict[tuple[date, str], list[dict[str, object]]] = defaultdict(list)
        for r in rows:
            groups[(r["period_end"], str(r["category"]))].append(r)  # type: ignore[index]
        out: dict[tuple[date, str], float] = {}
        for key, group in groups.items():
            num = sum(float(r["numerator"] or 0) for r in group)  # type: ignore[arg-type]
            den = sum(float(r["denominator"] or 0) for r in group)  # type: ignore[arg-type]
            scales = [
                float(r["value"]) / (float(r["numerator"]) / float(r["denominator"]))  # type: ignore[arg-type]
                for r in group
                if r["numerator"] and r["denominator"] and r["value"] is not None
            ]
            if den > 0:
                scale = sorted(scales)[len(scales) // 2] if scales else 1.0
                out[key] = scale * num / den
        return out

    def baseline(
        self, indicator_id: str, practice_codes: Sequence[str], breakdown: str = "total"
    ) -> Baseline:
        if not practice_codes:
            return Baseline(
                None, None, "Add the practices covered to fill the baseline."
            )
        pooled = self._pooled(self._rows(indicator_id, practice_codes, breakdown))
        if not pooled:
            return Baseline(
                None,
                None,
                f"No results for indicator {indicator_id} ({breakdown}) at the bid's "
                f"{len(practice_codes)} practice(s).",
            )
        latest = max(p for p, _ in pooled)
        values = {c: v for (p, c), v in pooled.items() if p == latest}
        if breakdown == "total":
            return Baseline(
                values.get("all"),
                latest,
                f"Pooled over {len(practice_codes)} practice(s)",
            )
        hi = max(values, key=lambda c: values[c])
        lo = min(values, key=lambda c: values[c])
        return Baseline(
            values[hi] - values[lo],
            latest,
            f"Gap between {hi} ({values[hi]:.1f}) and {lo} ({values[lo]:.1f}) by {breakdown}",
        )

    def series(
        self, indicator_id: str, practice_codes: Sequence[str]
    ) -> list[TrajectoryPoint]:
        pooled = self._pooled(self._rows(indicator_id, practice_codes, "total"))
        return [
            TrajectoryPoint(p, v) for (p, c), v in sorted(pooled.items()) if c == "all"
        ]
