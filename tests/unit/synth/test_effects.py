"""The planted pilot effects are present in the generated data.

Difference-in-differences on event counts: with pilot (P) and comparison (C)
practices and pre/post periods split at the pilot start, the rate ratio
(P_post / P_pre) / (C_post / C_pre) estimates 1 + effect for a relative effect;
its log has standard error sqrt(sum of 1 / count) (Poisson counts). For a
probability, the DiD of proportions estimates the absolute effect.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as _pc
import pytest

from carepilot.codelists import load_codelist
from carepilot.synth import PilotEffects, SynthConfig, generate

# pyarrow.compute functions are generated at import time; its stubs lack them.
pc: Any = _pc

START = date(2021, 4, 1)


def _pilot_and_post(
    tables: dict[str, pa.Table], patient_id: np.ndarray, day: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pilot flag of each event's patient's first practice, and whether the event is
    on/after the pilot start (all pilots start together in these scenarios)."""
    regs = tables["practice_registrations"].sort_by(
        [("patient_id", "ascending"), ("start_date", "descending")]
    )
    practice = np.zeros(int(pc.max(regs.column("patient_id")).as_py()) + 1, np.int64)
    practice[regs.column("patient_id").to_numpy()] = regs.column(
        "practice_pseudo_id"
    ).to_numpy()
    members = tables["pilot_site_members"].filter(
        pc.equal(tables["pilot_site_members"].column("member_type"), "practice")
    )
    pilot_ids = members.column("practice_pseudo_id").to_numpy()
    start = members.column("start_date").to_numpy().min()
    return np.isin(practice[patient_id], pilot_ids), day >= start


def _rate_did(
    tables: dict[str, pa.Table], table: str, mask: pa.Array
) -> tuple[float, float]:
    t = tables[table].filter(mask)
    date_col = {"apcs": "admission_date", "opa": "appointment_date"}[table]
    pilot, post = _pilot_and_post(
        tables, t.column("patient_id").to_numpy(), t.column(date_col).to_numpy()
    )
    n = {
        (p, q): int(((pilot == p) & (post == q)).sum()) for p in (0, 1) for q in (0, 1)
    }
    ratio = (n[1, 1] / n[1, 0]) / (n[0, 1] / n[0, 0])
    se = math.sqrt(sum(1 / c for c in n.values()))
    return math.log(ratio), se


def _bp_did(tables: dict[str, pa.Table]) -> tuple[float, float]:
    events = tables["clinical_events"]
    htn_codes = pa.array(load_codelist("hypertension").codes)
    htn = pc.unique(
        events.filter(
            pc.is_in(events.column("snomedct_code"), value_set=htn_codes)
        ).column("patient_id")
    )

    def readings(codelist: str) -> pa.Table:
        codes = pa.array(load_codelist(codelist).codes)
        sel = events.filter(
            pc.and_(
                pc.is_in(events.column("snomedct_code"), value_set=codes),
                pc.is_in(events.column("patient_id"), value_set=htn),
            )
        )
        return (
            sel.select(["patient_id", "date", "numeric_value"])
            .group_by(["patient_id", "date"])
            .aggregate([("numeric_value", "max")])
        )

    bp = readings("systolic_bp").join(
        readings("diastolic_bp"), ["patient_id", "date"], right_suffix="_d"
    )
    sys_v = bp.column("numeric_value_max").to_numpy()
    dia_v = bp.column("numeric_value_max_d").to_numpy()
    ctrl = (sys_v <= 140) & (dia_v <= 90)
    pilot, post = _pilot_and_post(
        tables, bp.column("patient_id").to_numpy(), bp.column("date").to_numpy()
    )
    cells = {(p, q): ctrl[(pilot == p) & (post == q)] for p in (0, 1) for q in (0, 1)}
    did = (cells[1, 1].mean() - cells[1, 0].mean()) - (
        cells[0, 1].mean() - cells[0, 0].mean()
    )
    se = math.sqrt(sum(c.mean() * (1 - c.mean()) / len(c) for c in cells.values()))
    return did, se


def _emergency(tables: dict[str, pa.Table]) -> pa.Array:
    return pc.equal(tables["apcs"].column("admission_method"), "emergency")


def _follow_ups(tables: dict[str, pa.Table]) -> pa.Array:
    return pc.equal(tables["opa"].column("attendance_type"), "follow_up")


def test_large_planted_effects_show_at_small_size() -> None:
    effects = PilotEffects(
        {"emergency_admissions": -0.5, "outpatient_follow_ups": -0.5, "bp_control": 0.2}
    )
    tables = generate(
        SynthConfig(patients=12_000, seed=21, practices=12, pilot_practices=5,
                    effects=effects)
    )  # fmt: skip
    log_rr, se = _rate_did(tables, "apcs", _emergency(tables))
    assert abs(log_rr - math.log(0.5)) < 4 * se + 0.05
    log_rr, se = _rate_did(tables, "opa", _follow_ups(tables))
    assert abs(log_rr - math.log(0.5)) < 4 * se + 0.03
    did, se = _bp_did(tables)
    assert abs(did - 0.2) < 4 * se + 0.03


@pytest.mark.slow
def test_default_effects_recovered_and_null_case_on_50k() -> None:
    """DiD on 50,000 patients recovers the planted defaults (emergency -8 %,
    follow-ups -20 %, BP control +5 pp); with null effects the estimates are ~0."""
    config = dict(patients=50_000, seed=8, practices=40, pilot_practices=12)
    tables = generate(SynthConfig(**config))  # type: ignore[arg-type]
    log_rr, se = _rate_did(tables, "apcs", _emergency(tables))
    assert abs(log_rr - math.log(0.92)) < 3 * se
    log_rr, se = _rate_did(tables, "opa", _follow_ups(tables))
    assert abs(log_rr - math.log(0.80)) < 3 * se
    did, se = _bp_did(tables)
    assert abs(did - 0.05) < 4 * se
    null = generate(SynthConfig(**config, effects=PilotEffects.null()))  # type: ignore[arg-type]
    log_rr, se = _rate_did(null, "apcs", _emergency(null))
    assert abs(log_rr) < 3 * se
    log_rr, se = _rate_did(null, "opa", _follow_ups(null))
    assert abs(log_rr) < 3 * se
    did, se = _bp_did(null)
    assert abs(did) < 4 * se


def test_staggered_effect_starts_at_each_practices_own_start() -> None:
    """Readings of a pilot practice dated after the first pilot start but before
    the practice's own start carry no effect; those after it do."""
    config = SynthConfig(
        patients=12_000, seed=10, practices=20, pilot_practices=10, staggered=True,
        effects=PilotEffects({"bp_control": 0.3}),
    )  # fmt: skip
    tables = generate(config)
    members = tables["pilot_site_members"].filter(
        pc.equal(tables["pilot_site_members"].column("member_type"), "practice")
    )
    starts = dict(
        zip(
            members.column("practice_pseudo_id").to_pylist(),
            members.column("start_date").to_numpy(),
            strict=True,
        )
    )
    first_start = min(starts.values())
    assert len(set(starts.values())) > 1, "scenario should stagger starts"
    events = tables["clinical_events"]
    htn = pc.unique(
        events.filter(
            pc.is_in(
                events.column("snomedct_code"),
                value_set=pa.array(load_codelist("hypertension").codes),
            )
        ).column("patient_id")
    )
    sys_codes = pa.array(load_codelist("systolic_bp").codes)
    bp = events.filter(
        pc.and_(
            pc.is_in(events.column("snomedct_code"), value_set=sys_codes),
            pc.is_in(events.column("patient_id"), value_set=htn),
        )
    )
    regs = tables["practice_registrations"]
    practice = np.zeros(config.patients + 1, np.int64)
    practice[regs.column("patient_id").to_numpy()[::-1]] = regs.column(
        "practice_pseudo_id"
    ).to_numpy()[::-1]  # first registration wins
    prac = practice[bp.column("patient_id").to_numpy()]
    day = bp.column("date").to_numpy()
    own = np.array([starts.get(int(p), np.datetime64("2100-01-01")) for p in prac])
    controlled = bp.column("numeric_value").to_numpy() <= 140
    in_pilot = np.isin(prac, list(starts))
    waiting = in_pilot & (day >= first_start) & (day < own)
    before = in_pilot & (day < first_start)
    after = in_pilot & (day >= own)
    assert waiting.sum() > 100
    assert abs(controlled[waiting].mean() - controlled[before].mean()) < 0.08
    assert controlled[after].mean() - controlled[before].mean() > 0.15
