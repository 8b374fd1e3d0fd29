"""`carepilot synth`: write a seeded synthetic population with a planted pilot effect.

Output is patient-level synthetic data (no real patients), so it is classified as
no-aggregate-output for disclosure control; the command prints only row counts.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import typer
from rich.console import Console

from carepilot.errors import ConfigError
from carepilot.synth import DEFAULT_EFFECTS, PilotEffects, SynthConfig, write_population
from carepilot.synth.generate import FORMATS, Format

console = Console()


def _parse_start(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(
            f"--start must be an ISO date YYYY-MM-DD (first of a month); got {value!r}"
        ) from None


def synth(
    patients: int = typer.Option(10_000, "--patients", help="Number of patients."),
    seed: int = typer.Option(1, "--seed", help="Root random seed (same seed = same bytes)."),
    out: Path = typer.Option(..., "--out", help="Output directory."),
    fmt: str = typer.Option("parquet", "--format", help="parquet, csv (one file per table) or parquet-partitioned (one folder per table, one file per patient chunk: for Spark)."),
    start: str = typer.Option("2021-04-01", "--start", help="First day of the period."),
    months: int = typer.Option(36, "--months", help="Length of the period in months."),
    practices: int | None = typer.Option(None, "--practices", help="Number of GP practices (default ~1 per 7,500 patients)."),
    pilot_practices: int | None = typer.Option(None, "--pilot-practices", help="Practices in the pilot (default ~20 %)."),
    pilot_start_month: int | None = typer.Option(None, "--pilot-start-month", help="0-based month the pilot starts (default months // 3)."),
    staggered: bool = typer.Option(False, "--staggered", help="Stagger PCN start dates by 0/3/6/9 months."),
    pilots: int | None = typer.Option(None, "--pilots", help="Most pilot sites to open (default one per commissioner with pilot practices; 1 = every pilot practice in ICP01)."),
    workers: int = typer.Option(1, "--workers", help="Processes generating patient chunks in parallel (same output; ~2 GB RAM each at the default chunk size)."),
    chunk_size: int = typer.Option(250_000, "--chunk-size", help="Patients per chunk (bounds memory; part of the random stream layout, so it changes the data)."),
    null_effects: bool = typer.Option(False, "--null-effects", help="Plant no effect at all (null scenario)."),
    effect_emergency_admissions: float | None = typer.Option(None, "--effect-emergency-admissions", help=f"Relative change (default {DEFAULT_EFFECTS['emergency_admissions']})."),
    effect_ae_attendances: float | None = typer.Option(None, "--effect-ae-attendances", help=f"Relative change (default {DEFAULT_EFFECTS['ae_attendances']})."),
    effect_outpatient_follow_ups: float | None = typer.Option(None, "--effect-outpatient-follow-ups", help=f"Relative change (default {DEFAULT_EFFECTS['outpatient_follow_ups']})."),
    effect_community_contacts: float | None = typer.Option(None, "--effect-community-contacts", help=f"Relative change (default {DEFAULT_EFFECTS['community_contacts']})."),
    effect_bp_control: float | None = typer.Option(None, "--effect-bp-control", help=f"Absolute change in probability (default {DEFAULT_EFFECTS['bp_control']})."),
    effect_hba1c_control: float | None = typer.Option(None, "--effect-hba1c-control", help=f"Absolute change in probability (default {DEFAULT_EFFECTS['hba1c_control']})."),
    effect_experience_positive: float | None = typer.Option(None, "--effect-experience-positive", help=f"Absolute change in probability (default {DEFAULT_EFFECTS['experience_positive']})."),
    effect_ltc_eq5d_gain: float | None = typer.Option(None, "--effect-ltc-eq5d-gain", help=f"Absolute change in mean EQ-5D gain (default {DEFAULT_EFFECTS['ltc_eq5d_gain']})."),
) -> None:  # fmt: skip
    """Generate a synthetic population: one file per table plus scenario.json."""
    overrides = {
        "emergency_admissions": effect_emergency_admissions,
        "ae_attendances": effect_ae_attendances,
        "outpatient_follow_ups": effect_outpatient_follow_ups,
        "community_contacts": effect_community_contacts,
        "bp_control": effect_bp_control,
        "hba1c_control": effect_hba1c_control,
        "experience_positive": effect_experience_positive,
        "ltc_eq5d_gain": effect_ltc_eq5d_gain,
    }
    values = PilotEffects.null().values if null_effects else dict(DEFAULT_EFFECTS)
    values.update({k: v for k, v in overrides.items() if v is not None})
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    config = SynthConfig(
        patients=patients,
        seed=seed,
        start=_parse_start(start),
        months=months,
        practices=practices,
        pilot_practices=pilot_practices,
        pilot_start_month=pilot_start_month,
        staggered=staggered,
        pilots=pilots,
        effects=PilotEffects(values),
        chunk_size=chunk_size,
    )
    fmt_literal: Format = next(f for f in FORMATS if f == fmt)
    t0 = time.perf_counter()
    rows = write_population(config, out, fmt_literal, workers=workers)
    elapsed = time.perf_counter() - t0
    for name, count in rows.items():
        console.print(f"{name:<24} {count:>12,}")
    console.print(f"wrote {sum(rows.values()):,} rows to {out} in {elapsed:.1f} s")


def register(app: typer.Typer) -> None:
    """Add `carepilot synth` to the root CLI."""
    app.command("synth")(synth)
