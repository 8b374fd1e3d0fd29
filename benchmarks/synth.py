"""Benchmark: generate and write a synthetic population to Parquet.

Usage: `python benchmarks/synth.py [--patients 1000000] [--months 36] [--out DIR]`

Target: 1,000,000 patients x 36 months in < 2 minutes and < 4 GB peak RSS on 2
cores. Prints rows per table, time, peak RSS, rows/s and the ratio against a
baseline measured in the same process: the same generator at 1/10 of the size
(linear scaling would give a time ratio of 10).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from _measure import measure  # type: ignore[import-not-found]
from carepilot.synth import SynthConfig, write_population


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="carepilot-synth-bench-"))
    base_n = max(1_000, args.patients // 10)
    with measure() as base:
        base_rows = write_population(
            SynthConfig(patients=base_n, seed=args.seed, months=args.months),
            out / "baseline",
        )
    with measure() as full:
        rows = write_population(
            SynthConfig(patients=args.patients, seed=args.seed, months=args.months),
            out / "full",
            workers=args.workers,
        )
    total = sum(rows.values())
    for name, count in rows.items():
        print(f"{name:<24} {count:>12,}")
    print(f"total rows               {total:>12,}")
    print(
        f"patients                 {args.patients:>12,}  months {args.months}  "
        f"workers {args.workers}"
    )
    print(f"time                     {full.seconds:>12.1f} s wall")
    print(
        f"CPU time                 {full.cpu_seconds:>12.1f} s "
        "(user + system, incl. worker processes)"
    )
    print(f"peak RSS                 {full.peak_rss_mb:>12.0f} MB (main process)")
    if args.workers > 1:
        print(f"peak RSS per worker      {full.child_peak_rss_mb:>12.0f} MB (largest)")
    print(f"rows/s                   {total / full.seconds:>12,.0f}")
    print(
        f"baseline ({base_n:,} patients): {base.seconds:.1f} s wall, "
        f"{base.cpu_seconds:.1f} s CPU, "
        f"{sum(base_rows.values()) / base.seconds:,.0f} rows/s; "
        f"time ratio full/baseline = {full.seconds / base.seconds:.1f} "
        f"(size ratio {args.patients / base_n:.0f})"
    )
    if args.out is None:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
