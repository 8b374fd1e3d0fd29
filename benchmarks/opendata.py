"""Benchmark the Fingertips open-data conversion (`opendata.to_fingertips`).

    .venv/bin/python benchmarks/opendata.py [--patients 5000] [--copies 80]

1. Generates a synthetic population (`carepilot.synth`) in memory, runs six
   indicators (practice- and provider-attributed) by quarter over two years with
   OpenSAFELY disclosure control: a real released results table.
2. Makes it multi-million-row by repeating the practice rows `--copies` times
   under new practice codes (the released, rounded counts are kept, so the table
   still passes `verify_released`).
3. Times the current `to_fingertips` and the previous implementation
   (`_opendata_baseline.py`) on the same table in this process, checks that both
   give identical frames, and prints wall and CPU time, peak RSS, rows/s and the
   ratio. The machine may be shared: CPU time is the steadier figure.
4. Times the "Recent Trend" step alone (current integer-coded version and the
   previous pandas group-by, with the shipped library's metadata so proportions
   are tested) and checks both give the same labels.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import measure  # noqa: E402

INDICATORS = (
    "diabetes-hba1c-58",
    "hypertension-bp-140-90-under-80",
    "flu-vaccination-65-plus",
    "emergency-readmissions-30-days",
    "outpatient-dna",
    "emergency-admissions-rate",
)


def released_results(patients: int):  # type: ignore[no-untyped-def]
    """A released results table from a synthetic population (in memory)."""
    import ibis

    from carepilot.disclosure import OPENSAFELY
    from carepilot.engine.run import Engine, run_indicators
    from carepilot.engine.tables import load_tables
    from carepilot.indicators.periods import Frequency, make_periods
    from carepilot.library import get_definition
    from carepilot.synth import SynthConfig, generate

    data = generate(
        SynthConfig(patients=patients, seed=5, start=dt.date(2022, 4, 1), months=24)
    )
    tables = load_tables(ibis.duckdb.connect(), data)
    periods = make_periods(dt.date(2022, 4, 1), dt.date(2024, 1, 1), Frequency.QUARTER)
    definitions = [get_definition(i) for i in INDICATORS]
    return run_indicators(Engine(tables, periods), definitions, OPENSAFELY)


def enlarge(results, copies: int):  # type: ignore[no-untyped-def]
    """Repeat the practice rows under new practice codes (same released counts)."""
    import pandas as pd

    practice = results[results["area_type"] == "practice"]
    parts = [results]
    for k in range(1, copies):
        part = practice.copy()
        part["area_code"] = part["area_code"] + f"-{k}"
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--patients", type=int, default=5_000)
    parser.add_argument("--copies", type=int, default=80)
    args = parser.parse_args()

    import pandas as pd

    import _opendata_baseline as baseline
    from carepilot.publication import opendata

    with measure() as m_prep:
        table = enlarge(released_results(args.patients), args.copies)
    print(f"released results: {len(table):,} rows (prepared in {m_prep.seconds:.1f} s)")
    with measure() as m_new:
        new = opendata.to_fingertips(table)
    with measure() as m_old:
        old = baseline.to_fingertips(table)
    # "Compared to goal" is newer than the baseline; every other column must match.
    pd.testing.assert_frame_equal(old, new.drop(columns=["Compared to goal"]))
    rows = len(table)
    for name, m in (("current", m_new), ("previous", m_old)):
        print(
            f"{name:>8}: {m.seconds:6.1f} s wall, {m.cpu_seconds:6.1f} s CPU, "
            f"{rows / m.seconds:,.0f} rows/s, peak RSS {m.peak_rss_mb:,.0f} MB"
        )
    print(
        f"identical output; speed-up x{m_old.seconds / m_new.seconds:.2f} wall, "
        f"x{m_old.cpu_seconds / m_new.cpu_seconds:.2f} CPU"
    )

    # "Recent Trend" alone: integer codes + bincount vs pandas on string keys.
    from carepilot.publication.results import default_meta, meta_for, public_rows

    frame = public_rows(table).reset_index(drop=True)
    info = meta_for(frame, default_meta())
    with measure() as t_new:
        trend_new = opendata._trends(frame, info)  # pyright: ignore[reportPrivateUsage]
    with measure() as t_old:
        trend_old = baseline._trends(frame, info)  # pyright: ignore[reportPrivateUsage]
    pd.testing.assert_series_equal(trend_old, trend_new)
    tested = int((trend_new != "Cannot be calculated").sum())
    print(
        f"Recent Trend ({tested:,} series tested): current {t_new.seconds:.2f} s "
        f"wall / {t_new.cpu_seconds:.2f} s CPU, previous {t_old.seconds:.2f} s wall "
        f"/ {t_old.cpu_seconds:.2f} s CPU; identical "
        f"(x{t_old.cpu_seconds / max(t_new.cpu_seconds, 1e-3):.1f} CPU)"
    )


if __name__ == "__main__":
    main()
