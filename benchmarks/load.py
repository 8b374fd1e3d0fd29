"""Benchmark `carepilot load` on a large synthetic population.

Generates (or reuses) a population as Parquet files, then in the same process:

1. loads it with full validation (`carepilot.ingest.load_extract`);
2. loads it with a *baseline*: plain `CREATE TABLE ... AS SELECT * FROM
   read_parquet(...)` into a fresh DuckDB file, no validation, no atomic swap;

and prints wall time, rows/s, peak RSS and the ratio validated/baseline, i.e. the
honest cost of validation + atomicity.

The population comes either from `carepilot.synth` (`--source synth`: realistic,
~30 rows per patient) or, by default (`--source simple`), from the small
vectorised generator below, sized to the target workload of ~100 rows per
patient (most of them coded clinical events), i.e. ~100M rows for 1M patients.

Usage:
    .venv/bin/python benchmarks/load.py --patients 1000000 --data var/bench/pop-1m
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from carepilot.ingest import LoadMode, load_extract
from carepilot.schema.codes import verhoeff_check_digit

_CHUNK = 5_000_000
_DAY0 = (dt.date(2005, 1, 1) - dt.date(1970, 1, 1)).days
_SPAN = 365 * 5


def _valid_sctids(rng: np.random.Generator, n: int) -> np.ndarray:
    bases = rng.integers(10_000_000, 999_999_999, n)
    return np.array([f"{b}{verhoeff_check_digit(str(b))}" for b in bases])


def _dates(
    rng: np.random.Generator, n: int, start: int = _DAY0, span: int = _SPAN
) -> pa.Array:
    return pa.array((start + rng.integers(0, span, n)).astype(np.int32)).cast(
        pa.date32()
    )


def _dict(
    rng: np.random.Generator, values: np.ndarray, n: int, p: np.ndarray | None = None
) -> pa.Array:
    idx = rng.choice(len(values), n, p=p).astype(np.int32)
    return pa.DictionaryArray.from_arrays(pa.array(idx), pa.array(values))


def _write_chunked(path: Path, n: int, make: object, rng: np.random.Generator) -> None:
    writer: pq.ParquetWriter | None = None
    done = 0
    while done < n:
        size = min(_CHUNK, n - done)
        table = make(rng, done, size)  # type: ignore[operator]
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
        done += size
    assert writer is not None
    writer.close()


def generate(directory: Path, n_patients: int, seed: int = 2009) -> None:
    """Write a population of `n_patients` as Parquet files (vectorised, seeded)."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    n_practices = max(10, n_patients // 5000)
    n_pcts = max(2, n_practices // 50)
    pct_codes = np.array([f"5Q{i:03d}" for i in range(n_pcts)])
    pq.write_table(
        pa.table(
            {
                "commissioner_code": pct_codes,
                "commissioner_name": [f"PCT {i}" for i in range(n_pcts)],
                "sha_code": np.array(["Q30"] * n_pcts),
            }
        ),
        directory / "commissioners.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "practice_pseudo_id": np.arange(1, n_practices + 1),
                "practice_code": [f"P{i:05d}" for i in range(n_practices)],
                "practice_name": [f"Practice {i}" for i in range(n_practices)],
                "pcn_code": [f"U{i // 8:05d}" for i in range(n_practices)],
                "commissioner_code": pct_codes[np.arange(n_practices) % n_pcts],
            }
        ),
        directory / "practices.parquet",
    )
    providers = np.array(["RX1", "RX2", "RX3", "RX4"])
    pq.write_table(
        pa.table(
            {
                "provider_code": providers,
                "provider_name": [f"Trust {p}" for p in providers],
                "provider_type": ["acute", "acute", "community", "mental_health"],
            }
        ),
        directory / "providers.parquet",
    )
    ids = np.arange(1, n_patients + 1)
    dob_months = rng.integers(0, 12 * 95, n_patients)
    dob = np.datetime64("1915-01") + dob_months
    eth = np.array(
        [
            "White: English, Welsh, Scottish, Northern Irish or British",
            "Asian: Pakistani",
            "Black: African",
            "Not stated",
        ]
    )
    pq.write_table(
        pa.table(
            {
                "patient_id": ids,
                "date_of_birth": pa.array(dob.astype("datetime64[D]")),
                "sex": _dict(rng, np.array(["female", "male"]), n_patients),
                "ethnicity": _dict(
                    rng, eth, n_patients, np.array([0.8, 0.08, 0.04, 0.08])
                ),
                "lsoa_code": pa.array(
                    [f"E01{i:06d}" for i in rng.integers(0, 32000, n_patients)]
                ),
                "imd_decile": rng.integers(1, 11, n_patients),
            }
        ),
        directory / "patients.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "patient_id": ids,
                "start_date": _dates(rng, n_patients, _DAY0 - 3650, 3650),
                "practice_pseudo_id": rng.integers(1, n_practices + 1, n_patients),
            }
        ),
        directory / "practice_registrations.parquet",
    )
    sct = _valid_sctids(rng, 3000)
    dmd = _valid_sctids(rng, 1500)

    def events(rng: np.random.Generator, _: int, n: int) -> pa.Table:
        has_value = rng.random(n) < 0.3
        values = np.where(has_value, rng.normal(100, 30, n), np.nan)
        return pa.table(
            {
                "patient_id": rng.integers(1, n_patients + 1, n),
                "date": _dates(rng, n),
                "snomedct_code": _dict(rng, sct, n),
                "numeric_value": pa.array(values, mask=~has_value),
            }
        )

    def meds(rng: np.random.Generator, _: int, n: int) -> pa.Table:
        return pa.table(
            {
                "patient_id": rng.integers(1, n_patients + 1, n),
                "date": _dates(rng, n),
                "dmd_code": _dict(rng, dmd, n),
            }
        )

    def activity(
        id_name: str,
        date_name: str,
        extra: dict[str, tuple[np.ndarray, np.ndarray | None]],
    ):  # noqa: ANN202
        def make(rng: np.random.Generator, offset: int, n: int) -> pa.Table:
            cols: dict[str, pa.Array | np.ndarray] = {
                id_name: np.arange(offset + 1, offset + n + 1),
                "patient_id": rng.integers(1, n_patients + 1, n),
                date_name: _dates(rng, n),
            }
            for name, (values, p) in extra.items():
                cols[name] = _dict(rng, values, n, p)
            cols["cost"] = np.round(rng.gamma(2, 60, n), 2)
            cols["provider_code"] = _dict(rng, providers, n)
            return pa.table(cols)

        return make

    _write_chunked(directory / "clinical_events.parquet", 70 * n_patients, events, rng)
    _write_chunked(directory / "medications.parquet", 22 * n_patients, meds, rng)
    status = (np.array(["attended", "dna", "cancelled"]), np.array([0.85, 0.08, 0.07]))
    _write_chunked(
        directory / "opa.parquet",
        3 * n_patients,
        activity(
            "appointment_id",
            "appointment_date",
            {
                "attendance_type": (np.array(["first", "follow_up"]), None),
                "attendance_status": status,
            },
        ),
        rng,
    )
    _write_chunked(
        directory / "ec.parquet",
        n_patients,
        activity(
            "attendance_id",
            "arrival_date",
            {"department_type": (np.array(["type_1", "type_3"]), None)},
        ),
        rng,
    )
    _write_chunked(
        directory / "community_contacts.parquet",
        2 * n_patients,
        activity(
            "contact_id",
            "contact_date",
            {
                "service": (np.array(["District nursing", "Physiotherapy"]), None),
                "attendance_status": status,
            },
        ),
        rng,
    )
    n_spells = n_patients // 2
    adm = _DAY0 + rng.integers(0, _SPAN - 30, n_spells)
    pq.write_table(
        pa.table(
            {
                "spell_id": np.arange(1, n_spells + 1),
                "patient_id": rng.integers(1, n_patients + 1, n_spells),
                "admission_date": pa.array(adm.astype(np.int32)).cast(pa.date32()),
                "discharge_date": pa.array(
                    (adm + rng.integers(0, 20, n_spells)).astype(np.int32)
                ).cast(pa.date32()),
                "admission_method": _dict(
                    rng, np.array(["elective", "emergency"]), n_spells
                ),
                "primary_diagnosis": _dict(
                    rng, np.array(["I21.4", "J18.9", "I50.0", "K80.2"]), n_spells
                ),
                "tariff_cost": np.round(rng.gamma(2, 1500, n_spells), 2),
                "provider_code": _dict(rng, providers[:2], n_spells),
            }
        ),
        directory / "apcs.parquet",
    )
    n_deaths = n_patients // 100
    dead = rng.choice(ids, n_deaths, replace=False)
    pq.write_table(
        pa.table(
            {
                "patient_id": dead,
                "date": _dates(rng, n_deaths),
                "underlying_cause_of_death": _dict(
                    rng, np.array(["C34.9", "I21.9", "J44.9"]), n_deaths
                ),
            }
        ),
        directory / "ons_deaths.parquet",
    )


def _baseline(directory: Path, db: Path) -> float:
    db.unlink(missing_ok=True)
    t0 = time.perf_counter()
    conn = duckdb.connect(str(db))
    conn.execute("SET enable_progress_bar = false")
    for path in sorted(directory.glob("*.parquet")):
        conn.execute(
            f"CREATE TABLE \"{path.stem}\" AS SELECT * FROM read_parquet('{path}')"
        )
    conn.execute("CHECKPOINT")
    conn.close()
    return time.perf_counter() - t0


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument(
        "--data", type=Path, default=None, help="population folder (reused if present)"
    )
    parser.add_argument("--db", type=Path, default=None, help="database to load into")
    parser.add_argument("--source", choices=["simple", "synth"], default="simple")
    parser.add_argument("--generate-only", action="store_true")
    parser.add_argument("-v", "--verbose", action="store_true", help="per-file timings")
    args = parser.parse_args()
    if args.verbose:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(name)s: %(message)s"
        )
    data = args.data or Path(f"var/bench/pop-{args.patients}")
    db = args.db or data.parent / f"bench-{args.patients}.duckdb"
    if not (data / "patients.parquet").exists():
        t0 = time.perf_counter()
        if args.source == "synth":
            code = (
                "import sys; from pathlib import Path\n"
                "from carepilot.synth import SynthConfig, write_population\n"
                "write_population(SynthConfig(patients=int(sys.argv[1]), seed=2009), "
                "Path(sys.argv[2]))\n"
            )
            subprocess.run(
                [sys.executable, "-c", code, str(args.patients), str(data)], check=True
            )
        elif args.generate_only:
            generate(data, args.patients)
        else:
            # Generate in a child process so its memory does not count in our peak RSS.
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--patients",
                    str(args.patients),
                    "--data",
                    str(data),
                    "--generate-only",
                ],
                check=True,
            )
        if not args.generate_only:
            print(f"generated {data} in {time.perf_counter() - t0:.1f} s")
    if args.generate_only:
        return
    size = sum(p.stat().st_size for p in data.iterdir())
    for leftover in db.parent.glob(db.name + "*"):
        leftover.unlink()
    cpu0 = time.process_time()
    result = load_extract(data, db, LoadMode.NEW)
    validated = result.seconds
    cpu_validated = time.process_time() - cpu0
    rss_validated = _peak_rss_mb()
    base_db = db.with_name(db.stem + "-baseline.duckdb")
    cpu0 = time.process_time()
    baseline = _baseline(data, base_db)
    cpu_baseline = time.process_time() - cpu0
    rows = result.total_rows
    print(
        f"population: {args.patients:,} patients, {rows:,} rows, {size / 1e9:.2f} GB Parquet, {os.cpu_count()} CPUs"
    )
    print(
        f"validated atomic load: {validated:6.1f} s wall, {cpu_validated:6.1f} s CPU, "
        f"{rows / validated / 1e6:6.2f} M rows/s, peak RSS {rss_validated:,.0f} MB"
    )
    print(
        f"baseline read_parquet: {baseline:6.1f} s wall, {cpu_baseline:6.1f} s CPU, "
        f"{rows / baseline / 1e6:6.2f} M rows/s"
    )
    print(
        f"validation overhead:   x{validated / baseline:.2f} wall time, "
        f"x{cpu_validated / cpu_baseline:.2f} CPU time of the baseline"
    )
    print(
        f"load average at the end: {os.getloadavg()[0]:.1f} "
        "(CPU time is the fairer figure on a busy machine)"
    )
    base_db.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
