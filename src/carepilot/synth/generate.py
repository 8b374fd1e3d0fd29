"""Orchestration: organisations once, then patients chunk by chunk, then writing.

Random streams come from `numpy.random.SeedSequence((seed, stream, chunk))`:
stream 0 is organisations, stream 1 the patient chunks (one child per chunk of
`chunk_size` patient ids), stream 2 the workforce noise. A chunk's data depend only
on the seed, the organisations and its own id range, so chunks can be generated
independently (in parallel or streamed to disk) for very large populations.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from carepilot.errors import ConfigError
from carepilot.schema import TABLES
from carepilot.schema import categories as cat
from carepilot.synth import care, community, experience, hospital, mortality
from carepilot.synth._arrow import Cat, Masked, build_table, schema_of
from carepilot.synth._sampling import Calendar
from carepilot.synth.conditions import draw_conditions, truncate_at_death
from carepilot.synth.config import EFFECT_DESCRIPTIONS, EFFECT_KINDS, SynthConfig
from carepilot.synth.organisations import Organisations, build_organisations
from carepilot.synth.population import NO_DAY, Patients, build_patients

log = logging.getLogger(__name__)

ORG_TABLES = (
    "commissioners",
    "practices",
    "providers",
    "pilot_sites",
    "pilot_site_members",
)
Format = Literal["parquet", "csv", "parquet-partitioned"]
FORMATS: tuple[Format, ...] = ("parquet", "csv", "parquet-partitioned")


def _rng(config: SynthConfig, stream: int, chunk: int = 0) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence((config.seed, stream, chunk)))


def organisations(config: SynthConfig) -> tuple[Organisations, Calendar]:
    """The organisations and calendar of a scenario (deterministic in the seed)."""
    cal = Calendar.build(config.start, config.months)
    return build_organisations(config, cal, _rng(config, 0)), cal


def generate_chunk(
    config: SynthConfig,
    orgs: Organisations,
    cal: Calendar,
    chunk: int,
    workforce: np.ndarray,
) -> dict[str, pa.Table]:
    """Generate the patient-level tables for chunk `chunk` (patient ids
    `chunk x chunk_size + 1 ...`), adding community minutes to `workforce`."""
    first = chunk * config.chunk_size + 1
    n = min(config.chunk_size, config.patients - first + 1)
    rng = _rng(config, 1, chunk)
    effects = config.effects
    pts = build_patients(first, n, orgs, cal, rng)
    conds = draw_conditions(pts, cal, rng)
    mortality.draw_deaths(pts, conds, cal, rng)
    truncate_at_death(conds, pts.death_day)
    registrations, windows = mortality.registration_table(pts, orgs.pilot_day, cal)
    deaths, _, in_hospital = mortality.deaths_table(pts, conds, rng)
    died = np.flatnonzero(pts.death_day != NO_DAY)
    events, meds = care.primary_care(pts, conds, windows, orgs, cal, effects, rng)
    # Own stream (3): risk scores were added later without changing other draws.
    scores = care.risk_assessments(pts, conds, windows, cal, _rng(config, 3, chunk))
    events = pa.concat_tables([events, scores])
    ctx = hospital.hospital_context(pts, conds, orgs, cal)
    apcs, spells, joints = hospital.admitted_care(
        pts, conds, windows, orgs, cal, effects, ctx, died[in_hospital], rng
    )
    ec = hospital.emergency_care(
        pts, windows, orgs, cal, effects, ctx, spells, rng, apcs
    )
    opa, referrals = hospital.outpatients(pts, windows, orgs, cal, effects, ctx, rng)
    contacts = community.community_contacts(
        pts, conds, windows, orgs, cal, effects, ctx, workforce, rng
    )
    packages = community.social_care(pts, conds, windows, orgs, cal, ctx, spells, rng)
    return {
        "patients": _patients_table(pts),
        "practice_registrations": registrations,
        "clinical_events": events,
        "medications": meds,
        "apcs": apcs,
        "opa": opa,
        "ec": ec,
        "community_contacts": contacts,
        "social_care_packages": packages,
        "referrals": referrals,
        "proms": experience.proms(pts, windows, orgs, cal, effects, ctx, joints, rng),
        "patient_experience": experience.patient_experience(
            pts, windows, orgs, cal, effects, ctx, rng
        ),
        "record_access_requests": experience.record_access_requests(
            pts, windows, orgs, cal, ctx, rng
        ),
        "ons_deaths": deaths,
    }


def _patients_table(pts: Patients) -> pa.Table:
    n = len(pts)
    n_lsoa = int(pts.lsoa.max()) + 1 if n else 0
    lsoa_codes = pa.array([f"E01{j:06d}" for j in range(n_lsoa)], type=pa.string())
    return build_table(
        "patients",
        n,
        {
            "patient_id": pts.patient_id,
            "date_of_birth": pts.dob,
            "sex": Cat(pts.sex, cat.SEX),
            "ethnicity": Cat(pts.ethnicity, cat.ETHNICITY_2021),
            "religion": Cat(pts.religion, cat.RELIGION),
            "disability": Cat(pts.disability, cat.DISABILITY),
            "sexual_orientation": Cat(pts.sexual_orientation, cat.SEXUAL_ORIENTATION),
            "gender_identity": Cat(pts.gender_identity, cat.GENDER_IDENTITY),
            "lsoa_code": pc.take(lsoa_codes, pa.array(pts.lsoa)),
            "imd_decile": pts.imd_decile,
            "rural_urban": Cat(pts.rural_urban, cat.RURAL_URBAN),
            "date_of_death": Masked(pts.death_day, pts.death_day != NO_DAY),
        },
    )


def n_chunks(config: SynthConfig) -> int:
    """Number of patient chunks."""
    return -(-config.patients // config.chunk_size)


def _chunk_job(config: SynthConfig, chunk: int) -> tuple[dict[str, pa.Table], Any]:
    """Worker-process entry: rebuild the (deterministic) organisations and generate
    one chunk with its own workforce minutes."""
    orgs, cal = organisations(config)
    workforce = _empty_workforce(orgs, cal)
    return generate_chunk(config, orgs, cal, chunk, workforce), workforce


def _empty_workforce(orgs: Organisations, cal: Calendar) -> Any:
    return np.zeros(
        (len(orgs.provider_codes["community"]), len(community.SERVICES), cal.months)
    )


def _chunks_in_parallel(
    config: SynthConfig, workers: int
) -> Iterator[tuple[dict[str, pa.Table], Any]]:
    """Chunks from a process pool, in chunk order, at most `workers` in flight (so
    memory stays bounded by `workers` chunks)."""
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending: deque[Future[tuple[dict[str, pa.Table], Any]]] = deque()
        chunks = iter(range(n_chunks(config)))
        for chunk in chunks:
            pending.append(pool.submit(_chunk_job, config, chunk))
            if len(pending) >= workers:
                break
        while pending:
            result = pending.popleft().result()
            next_chunk = next(chunks, None)
            if next_chunk is not None:
                pending.append(pool.submit(_chunk_job, config, next_chunk))
            yield result


def iter_tables(
    config: SynthConfig, workers: int = 1
) -> Iterator[tuple[str, pa.Table]]:
    """Yield `(table name, table part)` for every table.

    Patient-level tables come chunk by chunk, so memory stays bounded by `chunk_size`
    (times `workers`). With `workers` > 1 chunks are generated in worker processes;
    the output is identical to `workers=1` because every chunk has its own seed.

    Args:
        config: the scenario.
        workers: processes generating chunks (1 = in this process).
    """
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1; got {workers}")
    orgs, cal = organisations(config)
    for name in ORG_TABLES:
        yield name, orgs.tables[name]
    workforce = _empty_workforce(orgs, cal)
    if workers == 1 or n_chunks(config) == 1:
        for chunk in range(n_chunks(config)):
            t0 = time.perf_counter()
            tables = generate_chunk(config, orgs, cal, chunk, workforce)
            log.info("synth chunk %d done in %.1f s", chunk, time.perf_counter() - t0)
            yield from tables.items()
    else:
        for tables, chunk_workforce in _chunks_in_parallel(config, workers):
            workforce += chunk_workforce
            yield from tables.items()
    yield (
        "provider_workforce",
        community.workforce_table(workforce, orgs, cal, _rng(config, 2)),
    )


def generate(config: SynthConfig, workers: int = 1) -> dict[str, pa.Table]:
    """Generate the whole population in memory: one Arrow table per canonical table.

    Every table of `carepilot.schema.TABLES` is present with exactly the model's
    column names, order and Arrow types. Deterministic for a given config.
    """
    parts: dict[str, list[pa.Table]] = {name: [] for name in TABLES}
    for name, table in iter_tables(config, workers):
        parts[name].append(table)
    return {
        name: pa.concat_tables(tables) if tables else schema_of(name).empty_table()
        for name, tables in parts.items()
    }


def scenario(config: SynthConfig, orgs: Organisations, cal: Calendar) -> dict[str, Any]:
    """The "truth" of a scenario: parameters, pilot practices and planted effects."""
    pilot = np.flatnonzero(orgs.is_pilot)
    return {
        "generator": "carepilot.synth",
        "version": 1,
        "parameters": config.to_json(),
        "period": {
            "start": config.start.isoformat(),
            "end_exclusive": str(np.datetime64(cal.end_day, "D")),
            "months": config.months,
        },
        "pilot": {
            "practices": [
                {
                    "practice_pseudo_id": int(i + 1),
                    "practice_code": orgs.practice_code[i],
                    "start_date": str(np.datetime64(int(orgs.pilot_day[i]), "D")),
                    "start_month_index": int(orgs.pilot_month[i]),
                }
                for i in pilot
            ],
            "staggered": config.staggered,
            "selection": _selection_summary(orgs),
        },
        "effects": [
            {
                "outcome": name,
                "kind": EFFECT_KINDS[name],
                "value": config.effects.get(name),
                "description": EFFECT_DESCRIPTIONS[name],
                "applies_from": "each pilot practice's start_date, to events dated "
                "on or after it while the patient is registered there",
            }
            for name in EFFECT_KINDS
        ],
        "notes": (
            "Relative effects multiply event rates by (1 + value); absolute effects "
            "add value to a probability (or to the mean EQ-5D gain). Pilot practices "
            "were selected with a bias towards larger, less deprived, better-"
            "performing PCNs, so compare against matched practices."
        ),
    }


def _selection_summary(orgs: Organisations) -> dict[str, float]:
    """Baseline differences between pilot and other practices (the selection bias
    an evaluation must adjust for), on the generator's latent scales."""
    p = orgs.is_pilot
    if not p.any() or p.all():
        return {}
    return {
        "pilot_mean_deprivation_latent": round(float(orgs.deprivation[p].mean()), 4),
        "other_mean_deprivation_latent": round(float(orgs.deprivation[~p].mean()), 4),
        "pilot_mean_list_share": round(float(orgs.list_weight[p].mean()), 6),
        "other_mean_list_share": round(float(orgs.list_weight[~p].mean()), 6),
        "pilot_mean_quality_effect": round(float(orgs.quality_re[p].mean()), 4),
        "other_mean_quality_effect": round(float(orgs.quality_re[~p].mean()), 4),
    }


def write_population(
    config: SynthConfig, out_dir: Path, fmt: Format = "parquet", workers: int = 1
) -> dict[str, int]:
    """Generate and write every table plus `scenario.json`.

    `parquet` and `csv` write one file per table, `out_dir/<table>.<fmt>`;
    `parquet-partitioned` writes one folder per table with one Parquet file per
    patient chunk, `out_dir/<table>/part-00000.parquet` ... (the layout Spark
    reads in parallel, one task per file; `carepilot indicators run --data`).

    Tables are streamed chunk by chunk (Parquet row groups or files / CSV appends),
    so peak memory does not grow with the number of patients beyond one chunk per
    worker. `workers` > 1 generates chunks in parallel processes; the files are
    identical.

    Returns:
        Rows written per table.

    Raises:
        ConfigError: `fmt` is unknown, or `out_dir` is a file.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"--out {out_dir} exists and is not a directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet-partitioned":
        rows = _write_partitioned(config, out_dir, workers)
    else:
        rows = _write_single_files(config, out_dir, fmt, workers)
    orgs, cal = organisations(config)
    truth = scenario(config, orgs, cal)
    truth["rows"] = rows
    (out_dir / "scenario.json").write_text(json.dumps(truth, indent=2) + "\n")
    return rows


def _parquet_options(name: str) -> dict[str, Any]:
    schema = schema_of(name)
    # dictionary-encode only the (repetitive) string columns: trying it on ids,
    # dates and values costs time for nothing
    strings = [f.name for f in schema if f.type == pa.string()]
    return {"compression": "snappy", "use_dictionary": strings}


def _write_single_files(
    config: SynthConfig, out_dir: Path, fmt: Format, workers: int
) -> dict[str, int]:
    writers: dict[str, Any] = {}
    rows: dict[str, int] = dict.fromkeys(TABLES, 0)
    try:
        for name, table in iter_tables(config, workers):
            path = out_dir / f"{name}.{fmt}"
            if name not in writers:
                if fmt == "parquet":
                    writers[name] = pq.ParquetWriter(
                        path, schema_of(name), **_parquet_options(name)
                    )
                else:
                    writers[name] = pacsv.CSVWriter(path, schema_of(name))
            writers[name].write_table(table)
            rows[name] += table.num_rows
        for name in TABLES:
            if name not in writers:
                empty = schema_of(name).empty_table()
                path = out_dir / f"{name}.{fmt}"
                if fmt == "parquet":
                    pq.write_table(empty, path)
                else:
                    pacsv.write_csv(empty, path)
    finally:
        for writer in writers.values():
            writer.close()
    return rows


def _write_partitioned(
    config: SynthConfig, out_dir: Path, workers: int
) -> dict[str, int]:
    """One folder per table, one file per chunk (empty chunks skipped; a table
    with no rows at all gets one empty file so its schema is still known)."""
    rows: dict[str, int] = dict.fromkeys(TABLES, 0)
    parts: dict[str, int] = dict.fromkeys(TABLES, 0)
    for name in TABLES:
        folder = out_dir / name
        if folder.is_dir():  # a previous run's parts would be read as data
            for old in folder.glob("part-*.parquet"):
                old.unlink()
        folder.mkdir(exist_ok=True)
    for name, table in iter_tables(config, workers):
        if table.num_rows == 0:
            continue
        path = out_dir / name / f"part-{parts[name]:05d}.parquet"
        pq.write_table(table, path, **_parquet_options(name))
        parts[name] += 1
        rows[name] += table.num_rows
    for name in TABLES:
        if parts[name] == 0:
            pq.write_table(
                schema_of(name).empty_table(), out_dir / name / "part-00000.parquet"
            )
    return rows


__all__ = [
    "generate",
    "iter_tables",
    "organisations",
    "scenario",
    "write_population",
]
