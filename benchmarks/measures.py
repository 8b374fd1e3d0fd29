"""Benchmark modelled on the OpenSAFELY measures comparison: 4 measures x 12 months.

    .venv/bin/python benchmarks/measures.py [--patients 1000000] [--months 12]

OpenSAFELY compared ehrQL measures (each monthly interval run separately: 7.5 min)
with a plain pandas script (21 s) for 4 measures x 12 monthly periods x 2
breakdowns (sex and IMD quintile) per practice over about 1M patients. This runs:

1. the carepilot engine: the 4 measures as indicator definitions, every period
   in one pass, breakdowns total / sex / IMD quintile at every area level
   including practices, no disclosure control (raw counts, to compare);
2. a plain pandas implementation of the same 4 measures (one vectorised pass per
   month), in the same process, as the baseline;

checks that both give identical numerators and denominators for every practice,
period, breakdown and category, and prints wall time, CPU time, peak RSS, rows/s
and the ratio. The population is generated once into a cached DuckDB file (as
`benchmarks/indicators.py` does). Target: the engine well under 5 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import measure, peak_rss_mb  # noqa: E402

MEASURES_YAML = {
    "flu-vaccinated-65": """
id: flu-vaccinated-65
version: 1
title: Flu vaccination in the month, aged 65 and over
domain: benchmark
value_type: proportion
polarity: higher_is_better
codelists:
  flu: codelists/flu_vaccination.csv
population: registered and age >= 65
numerator: has(flu, within=period)
""",
    "emergency-admitted": """
id: emergency-admitted
version: 1
title: Emergency admission in the month
domain: benchmark
value_type: proportion
polarity: lower_is_better
population: registered
numerator: count(table=apcs, admission_method="emergency", within=period) >= 1
""",
    "dm-hba1c-recorded": """
id: dm-hba1c-recorded
version: 1
title: HbA1c recorded in the month, people with a diabetes code
domain: benchmark
value_type: proportion
polarity: higher_is_better
codelists:
  diabetes: codelists/diabetes.csv
  hba1c: codelists/hba1c.csv
population: registered and has(diabetes, within=ever)
numerator: has(hba1c, within=period)
""",
    "bp-recorded-40": """
id: bp-recorded-40
version: 1
title: Blood pressure recorded in the month, aged 40 and over
domain: benchmark
value_type: proportion
polarity: higher_is_better
codelists:
  systolic: codelists/systolic_bp.csv
population: registered and age >= 40
numerator: has(systolic, within=period)
""",
}


def load_measures():  # type: ignore[no-untyped-def]
    from carepilot.engine.definitions import SHIPPED_CODELISTS
    from carepilot.indicators.load import load_definition

    def read(path: str) -> str | None:
        file = SHIPPED_CODELISTS.parent / path
        return file.read_text() if file.exists() else None

    return [
        load_definition(text, f"{k}.yaml", read) for k, text in MEASURES_YAML.items()
    ]


# --- the plain pandas baseline ------------------------------------------------------


def _age(dob: pd.Series, on: dt.date) -> np.ndarray:
    years = on.year - dob.dt.year.to_numpy()
    before = (on.month * 100 + on.day) < (
        dob.dt.month.to_numpy() * 100 + dob.dt.day.to_numpy()
    )
    return years - before.astype(int)


def _within(
    ev: pd.DataFrame, col: str, start: pd.Timestamp, end: pd.Timestamp, ids: pd.Series
) -> np.ndarray:
    """Which of `ids` have an event dated from `start` to `end`."""
    hit = ev.loc[(ev[col] >= start) & (ev[col] <= end), "patient_id"]
    return ids.isin(hit.unique()).to_numpy()


def pandas_measures(con, defs, periods) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """The 4 measures in plain pandas, month by month.

    Registered = a registration covering the period end (the latest-starting one,
    then the highest practice id, if several); age at the period end; events on a
    date within the period (or ever before its end for the diabetes register).
    """
    codes = {d.id: {n: set(c.codes) for n, c in d.codelists.items()} for d in defs}
    patients = con.execute(
        "SELECT patient_id, date_of_birth, sex, imd_decile FROM patients"
    ).df()
    patients["date_of_birth"] = pd.to_datetime(patients["date_of_birth"])
    patients["sex"] = patients["sex"].astype(object).fillna("unknown")
    quintile = (patients["imd_decile"] + 1) // 2
    patients["imd_quintile"] = (
        quintile.astype("Int64").astype(str).replace("<NA>", "Unknown")
    )
    regs = con.execute(
        "SELECT patient_id, practice_pseudo_id, start_date, end_date "
        "FROM practice_registrations"
    ).df()
    regs["start_date"] = pd.to_datetime(regs["start_date"])
    regs["end_date"] = pd.to_datetime(regs["end_date"])
    wanted = set().union(*(s for c in codes.values() for s in c.values()))
    events = con.execute(
        "SELECT patient_id, snomedct_code, date FROM clinical_events"
    ).df()
    events = events[events["snomedct_code"].isin(wanted)]
    events["date"] = pd.to_datetime(events["date"])
    apcs = con.execute(
        "SELECT patient_id, admission_date FROM apcs "
        "WHERE admission_method = 'emergency'"
    ).df()
    apcs["admission_date"] = pd.to_datetime(apcs["admission_date"])

    def with_code(codelist: set[str]) -> pd.DataFrame:
        return events[events["snomedct_code"].isin(codelist)]

    flu = with_code(codes["flu-vaccinated-65"]["flu"])
    dm = with_code(codes["dm-hba1c-recorded"]["diabetes"])
    hba1c = with_code(codes["dm-hba1c-recorded"]["hba1c"])
    sbp = with_code(codes["bp-recorded-40"]["systolic"])
    dm_first = dm.groupby("patient_id")["date"].min()

    frames: list[pd.DataFrame] = []
    for period in periods:
        start, end = pd.Timestamp(period.start), pd.Timestamp(period.end)
        current = regs[
            (regs["start_date"] <= end)
            & (regs["end_date"].isna() | (regs["end_date"] >= end))
        ]
        current = current.sort_values(
            ["patient_id", "start_date", "practice_pseudo_id"]
        ).drop_duplicates("patient_id", keep="last")
        pop = current[["patient_id", "practice_pseudo_id"]].merge(
            patients, on="patient_id"
        )
        age = _age(pop["date_of_birth"], period.end)

        ids = pop["patient_id"]
        has_dm = pop["patient_id"].map(dm_first).le(end).to_numpy()
        rules = {
            "flu-vaccinated-65": (age >= 65, _within(flu, "date", start, end, ids)),
            "emergency-admitted": (
                np.ones(len(pop), bool),
                _within(apcs, "admission_date", start, end, ids),
            ),
            "dm-hba1c-recorded": (has_dm, _within(hba1c, "date", start, end, ids)),
            "bp-recorded-40": (age >= 40, _within(sbp, "date", start, end, ids)),
        }
        for indicator, (den, num) in rules.items():
            rows = pop[den].assign(num=num[den].astype(float), den=1.0)
            for breakdown in ("total", "sex", "imd_quintile"):
                key = "all" if breakdown == "total" else rows[breakdown]
                agg = (
                    rows.assign(category=key)
                    .groupby(["practice_pseudo_id", "category"], observed=True)[
                        ["num", "den"]
                    ]
                    .sum()
                    .reset_index()
                )
                agg["indicator_id"] = indicator
                agg["period_start"] = period.start
                agg["breakdown"] = breakdown
                frames.append(agg)
    return pd.concat(frames, ignore_index=True)


# --- the run ------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/carepilot-bench"))
    args = parser.parse_args()

    import ibis

    from carepilot.disclosure import ROW_LEVEL_ACCESS
    from carepilot.engine.run import Engine, run_indicators
    from carepilot.engine.tables import tables_from_connection
    from carepilot.indicators.periods import Frequency, make_periods

    args.workdir.mkdir(parents=True, exist_ok=True)
    # The same cached population as benchmarks/indicators.py (36 months of data).
    db = args.workdir / f"synth_{args.patients}_36.duckdb"
    if not db.exists():
        t0 = time.perf_counter()
        script = Path(__file__).resolve().parent / "indicators.py"
        subprocess.run(
            [
                sys.executable,
                str(script),
                "--prepare",
                str(db),
                "--patients",
                str(args.patients),
                "--months",
                "36",
            ],
            check=True,
        )
        print(
            f"generated {args.patients:,} patients in {time.perf_counter() - t0:.1f} s"
        )

    defs = load_measures()
    first = dt.date(2023, 4, 1)
    periods = make_periods(first, dt.date(2024, 3, 31), Frequency.MONTH)[: args.months]
    con = ibis.duckdb.connect(str(db), read_only=True)
    con.raw_sql(f"SET threads TO {os.cpu_count() or 1}")
    tables = tables_from_connection(con)
    breakdowns = ("total", "sex", "imd_quintile")

    engine = Engine(tables, periods, breakdowns=breakdowns)
    with measure() as m_engine:
        results = run_indicators(engine, defs, ROW_LEVEL_ACCESS)
    print(
        f"engine: {len(defs)} measures x {len(periods)} months x {breakdowns} at every "
        f"area level: {m_engine.seconds:.2f} s wall, {m_engine.cpu_seconds:.2f} s CPU, "
        f"peak RSS {m_engine.peak_rss_mb:,.0f} MB, {len(results):,} rows "
        f"({len(results) / m_engine.seconds:,.0f} rows/s; grid {engine.timings.grid:.2f} s)"
    )

    with measure() as m_pandas:
        baseline = pandas_measures(con.con, defs, periods)
    print(
        f"plain pandas baseline: {m_pandas.seconds:.2f} s wall, "
        f"{m_pandas.cpu_seconds:.2f} s CPU, {len(baseline):,} practice rows "
        f"({len(baseline) / m_pandas.seconds:,.0f} rows/s)"
    )

    practices = con.con.execute(
        "SELECT practice_pseudo_id, practice_code FROM practices"
    ).df()
    base = baseline.merge(practices, on="practice_pseudo_id", how="left")
    base["area_code"] = base["practice_code"].fillna(
        "P" + base["practice_pseudo_id"].astype(str)
    )
    ours = results[results["area_type"] == "practice"]
    key = ["indicator_id", "period_start", "area_code", "breakdown", "category"]
    joined = ours[[*key, "numerator", "denominator"]].merge(
        base[[*key, "num", "den"]], on=key, how="outer", indicator=True
    )
    only = joined["_merge"] != "both"
    assert not only.any(), joined[only].head(20).to_string()
    np.testing.assert_array_equal(joined["numerator"], joined["num"])
    np.testing.assert_array_equal(joined["denominator"], joined["den"])
    print(
        f"identical: {len(joined):,} practice x month x category rows have the same "
        "numerator and denominator in both"
    )
    print(
        f"ratio pandas / engine: {m_pandas.seconds / m_engine.seconds:.1f}x wall, "
        f"{m_pandas.cpu_seconds / m_engine.cpu_seconds:.1f}x CPU "
        "(OpenSAFELY's figures for this shape: ehrQL 7.5 min, pandas 21 s)"
    )
    print(f"peak RSS at end: {peak_rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
