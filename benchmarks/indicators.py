"""Benchmark the indicator engine: N patients x 36 monthly periods x 20 indicators.

    .venv/bin/python benchmarks/indicators.py [--patients 1000000] [--months 36] [--library]

1. A child process generates the synthetic population (`carepilot.synth`) into a
   DuckDB file (cached under --workdir), so generation memory does not count.
2. This process runs 20 indicators (the shipped examples, repeated with new ids;
   with --library, 20 distinct standard-library indicators) over every monthly period, all breakdowns and area levels, with OpenSAFELY
   disclosure control, and prints wall time, peak RSS and output rows.
3. For two indicators it compares the engine (fresh grid, full results) with a
   hand-written DuckDB query computing the same per-practice breakdown
   aggregates in one GROUP BY GROUPING SETS over a patient x period grid.

Targets (issue 4): < 60 s and < 8 GB for 1M patients on 2 cores; engine within
1.5x of the hand-written SQL.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import measure, peak_rss_mb  # noqa: E402


def prepare(path: Path, patients: int, months: int) -> None:
    """Generate the synthetic population into a DuckDB file (child process)."""
    import duckdb

    from carepilot.synth.config import SynthConfig
    from carepilot.synth.generate import iter_tables

    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    created: set[str] = set()
    for name, table in iter_tables(SynthConfig(patients=patients, months=months)):
        con.register("_part", table)
        if name in created:
            con.execute(f'INSERT INTO "{name}" SELECT * FROM _part')
        else:
            con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _part')
            created.add(name)
        con.unregister("_part")
    con.close()
    tmp.rename(path)


def hand_written_sql(kind: str, periods, codes: list[str]) -> str:  # type: ignore[no-untyped-def]
    """Hand-written DuckDB SQL for the same aggregates the engine computes."""
    rows = ", ".join(
        f"({i}, DATE '{p.start}', DATE '{p.end}', DATE '{p.ws}')"
        for i, p in enumerate(periods)
    )
    code_list = ", ".join(f"'{c}'" for c in codes)
    if kind == "rate":
        features = f"""
        ev AS (
          SELECT a.patient_id, p.period_id, count(*) AS n
          FROM apcs a JOIN periods p
            ON a.admission_date >= p.ws AND a.admission_date <= p.period_end
          WHERE a.admission_method = 'emergency' AND a.primary_diagnosis IN ({code_list})
          GROUP BY 1, 2),
        pl AS (
          SELECT g.*, coalesce(ev.n, 0)::DOUBLE AS num
          FROM grid g LEFT JOIN ev USING (patient_id, period_id)
          WHERE g.end_date IS NULL OR g.end_date >= g.period_end)"""
    else:
        features = f"""
        dx AS (
          SELECT e.patient_id, p.period_id,
                 max(CASE WHEN e.snomedct_code IN ({code_list}) THEN e.date END) AS dx,
                 max(CASE WHEN e.snomedct_code NOT IN ({code_list}) THEN e.date END) AS res
          FROM clinical_events e JOIN periods p ON e.date <= p.period_end
          WHERE e.snomedct_code IN ({code_list}) OR e.snomedct_code IN (SELECT * FROM res_codes)
          GROUP BY 1, 2),
        pl AS (
          SELECT g.*, (dx.dx IS NOT NULL AND (dx.res IS NULL OR dx.dx >= dx.res))::DOUBLE AS num
          FROM grid g LEFT JOIN dx USING (patient_id, period_id)
          WHERE (g.end_date IS NULL OR g.end_date >= g.period_end) AND g.age >= 17)"""
    sets = ", ".join(
        f"(period_id, practice_pseudo_id, {c})"
        for c in (
            "sex",
            "age_band",
            "ethnicity",
            "imd_decile",
            "religion",
            "disability",
            "sexual_orientation",
            "rural_urban",
        )
    )
    return f"""
    WITH periods AS (
      SELECT * FROM (VALUES {rows}) AS p(period_id, period_start, period_end, ws)),
    regs AS (
      SELECT r.patient_id, p.period_id, p.period_start, p.period_end, r.practice_pseudo_id,
             r.start_date, r.end_date,
             row_number() OVER (
               PARTITION BY r.patient_id, p.period_id
               ORDER BY (coalesce(r.end_date, DATE '9999-12-31') >= p.period_end) DESC,
                        r.start_date DESC, r.practice_pseudo_id DESC) AS rn
      FROM practice_registrations r JOIN periods p
        ON r.start_date <= p.period_end
       AND coalesce(r.end_date, DATE '9999-12-31') >= p.period_start),
    grid AS (
      SELECT g.*, pt.sex, pt.ethnicity, pt.imd_decile, pt.religion, pt.disability,
             pt.sexual_orientation, pt.rural_urban,
             date_diff('year', pt.date_of_birth, g.period_end)
               - (strftime(g.period_end, '%m%d') < strftime(pt.date_of_birth, '%m%d'))::INT
               AS age
      FROM regs g JOIN patients pt USING (patient_id) WHERE rn = 1),
    {features}
    SELECT period_id, practice_pseudo_id, sex, least(age // 5, 18) AS age_band, ethnicity,
           imd_decile, religion, disability, sexual_orientation, rural_urban,
           sum(num) AS num, count(*) AS den
    FROM pl
    GROUP BY GROUPING SETS ({sets})
    """


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--indicators", type=int, default=20)
    parser.add_argument(
        "--practice-breakdowns",
        default="total",
        help="breakdowns reported for practices and PCNs (comma-separated, or 'all'); "
        "default total only, as `carepilot indicators run`",
    )
    parser.add_argument(
        "--library",
        action="store_true",
        help="run N distinct indicators of the standard library (spread over its "
        "sorted ids) instead of the examples repeated under new ids",
    )
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/carepilot-bench"))
    parser.add_argument("--prepare", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        prepare(args.prepare, args.patients, args.months)
        return

    import ibis

    from carepilot.disclosure import OPENSAFELY
    from carepilot.engine.definitions import SHIPPED_LIBRARY, load_definitions
    from carepilot.engine.run import Engine, run_indicators
    from carepilot.engine.tables import tables_from_connection
    from carepilot.indicators.periods import Frequency, make_periods, rule_window_start

    args.workdir.mkdir(parents=True, exist_ok=True)
    db = args.workdir / f"synth_{args.patients}_{args.months}.duckdb"
    if not db.exists():
        t0 = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--prepare",
                str(db),
                "--patients",
                str(args.patients),
                "--months",
                str(args.months),
            ],
            check=True,
        )
        print(
            f"generated {args.patients:,} patients in {time.perf_counter() - t0:.1f} s"
        )

    examples = load_definitions([SHIPPED_LIBRARY / "examples"])
    if args.library:
        # Distinct definitions, so no two share all their event reads.
        from carepilot.library import definition_paths

        library = sorted(load_definitions(definition_paths()), key=lambda d: d.id)
        n = min(args.indicators, len(library))
        defs = [library[i * len(library) // n] for i in range(n)]
        print("library indicators:", ", ".join(d.id for d in defs))
    else:
        defs = [
            dataclasses.replace(
                examples[i % len(examples)], id=f"{examples[i % len(examples)].id}-{i}"
            )
            for i in range(args.indicators)
        ]
    first = dt.date(2021, 4, 1)
    periods = make_periods(
        first,
        first.replace(year=first.year + 3) - dt.timedelta(days=1),
        Frequency.MONTH,
    )
    periods = periods[: args.months]

    con = ibis.duckdb.connect(str(db), read_only=True)
    con.raw_sql(f"SET threads TO {os.cpu_count() or 1}")
    tables = tables_from_connection(con)
    practice_breakdowns = (
        None
        if args.practice_breakdowns == "all"
        else tuple(args.practice_breakdowns.split(","))
    )
    engine = Engine(tables, periods, practice_breakdowns=practice_breakdowns)
    with measure() as m:
        results = run_indicators(engine, defs, OPENSAFELY)
    print(
        f"engine: {len(defs)} indicators x {len(periods)} periods x all breakdowns/areas "
        f"(practice/PCN breakdowns: {args.practice_breakdowns}): "
        f"{m.seconds:.1f} s wall, {m.cpu_seconds:.1f} s CPU, peak RSS "
        f"{m.peak_rss_mb:,.0f} MB, {len(results):,} output rows "
        f"({len(results) / m.seconds:,.0f} rows/s; grid {engine.timings.grid:.1f} s)"
    )
    print(
        f"  post-processing (derive, roll up, statistics, format): "
        f"{sum(engine.timings.post_cpu.values()):.1f} s CPU for all {len(defs)}"
    )
    for d in defs[: max(len(examples), len(defs) if args.library else 0)]:
        print(
            f"  {d.id:<32} db {engine.timings.database[d.id]:5.2f} s"
            f"  post {engine.timings.post[d.id]:5.2f} s"
            f" ({engine.timings.post_cpu[d.id]:5.2f} s CPU)"
        )

    if args.skip_baseline:
        return
    by_id = {d.id: d for d in examples}
    for ind, kind in (("acsc-emergency-admissions", "rate"), ("dm-prevalence", "dx")):
        d = by_id[ind]
        fresh = Engine(tables, periods, practice_breakdowns=practice_breakdowns)
        t0 = time.perf_counter()
        fresh.results(d)
        t_engine = time.perf_counter() - t0
        if kind == "rate":
            codes = list(d.codelists["acsc"].codes)
        else:
            codes = list(d.codelists["diabetes"].codes)
            res = ", ".join(f"('{c}')" for c in d.codelists["diabetes_resolved"].codes)
            con.raw_sql(
                f"CREATE OR REPLACE TEMP TABLE res_codes AS SELECT * FROM (VALUES {res}) t(c)"
            )
        ps = [
            type(
                "P",
                (),
                {
                    "start": p.start,
                    "end": p.end,
                    "ws": rule_window_start(p, d.period_rule),
                },
            )
            for p in periods
        ]
        sql = hand_written_sql(kind, ps, codes)
        t0 = time.perf_counter()
        n = len(con.raw_sql(sql).fetchall())
        t_sql = time.perf_counter() - t0
        print(
            f"  {ind}: engine (own grid, full results) {t_engine:.2f} s vs hand-written SQL "
            f"{t_sql:.2f} s ({n:,} rows): ratio {t_engine / t_sql:.2f}x"
        )
    print(f"peak RSS at end: {peak_rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
