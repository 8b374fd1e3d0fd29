"""Deaths (ONS mortality) and the registration episodes they truncate.

Annual mortality hazard (Gompertz in age, proportional effects):

    h = exp(-10.95 + 0.085 age) x exp(b_dep d + 0.25 frailty + sum_c b_c)
        x 1.35 if male,

with b_dep = 0.9 under 75 and 0.35 from 75 (the premature-mortality deprivation
gradient of PHE's "Mortality Profile"), and log hazard ratios b_c for cancer 1.1,
dementia 1.0, COPD 0.6, SMI 0.6, stroke/TIA 0.4, CHD 0.35, CKD 0.3, diabetes 0.3,
AF 0.2. A patient dies in the period with probability 1 - exp(-h x years
registered in the period), on a uniform day of that span. The underlying cause is
drawn from cancer / circulatory / respiratory / dementia / other with weights raised
by the matching conditions; place of death depends on cause (hospice for cancer,
care home for dementia).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from carepilot.codelists import load_codelist
from carepilot.schema import categories as cat
from carepilot.synth._arrow import Cat, Masked, build_table
from carepilot.synth._sampling import (
    BoolArray,
    Calendar,
    IntArray,
    Windows,
    categorical,
)
from carepilot.synth.conditions import Conditions
from carepilot.synth.population import NO_DAY, REG_MOVER, Patients

_LOG_HR = {
    "cancer": 1.1,
    "dementia": 1.0,
    "copd": 0.6,
    "smi": 0.6,
    "stroke_tia": 0.4,
    "chd": 0.35,
    "ckd": 0.3,
    "diabetes": 0.3,
    "atrial_fibrillation": 0.2,
}
_CONTRIBUTING = (
    ("hypertension", "I10"),
    ("diabetes", "E11.9"),
    ("atrial_fibrillation", "I48"),
    ("ckd", "N18.9"),
    ("copd", "J44.9"),
    ("dementia", "F03"),
    ("obesity", "E66.9"),
    ("chd", "I25.9"),
)
_PLACES = ("home", "care_home", "hospice", "hospital", "other")


def draw_deaths(
    pts: Patients, conds: Conditions, cal: Calendar, rng: np.random.Generator
) -> None:
    """Set `pts.death_day` (NO_DAY for survivors) in place."""
    n = len(pts)
    span_start = np.maximum(pts.reg_start, cal.start_day)
    span_end = np.minimum(pts.reg_end + 1, cal.end_day)
    years = np.maximum(span_end - span_start, 0) / 365.25
    age = pts.age_at(cal.start_day + 365)
    log_h = -10.95 + 0.085 * age
    log_h += np.where(age < 75, 0.9, 0.35) * pts.deprivation + 0.25 * pts.frailty
    log_h += np.where(pts.female, 0.0, np.log(1.35))
    for name, hr in _LOG_HR.items():
        log_h += hr * conds.active[name]
    p_die = 1.0 - np.exp(-np.exp(log_h) * years)
    dies = rng.random(n) < p_die
    day = span_start + np.floor(rng.random(n) * (span_end - span_start)).astype(
        np.int64
    )
    pts.death_day = np.where(dies, day, NO_DAY)


def deaths_table(
    pts: Patients, conds: Conditions, rng: np.random.Generator
) -> tuple[pa.Table, IntArray, BoolArray]:
    """The `ons_deaths` rows, plus (owner, in_hospital) of each death."""
    owner = np.flatnonzero(pts.death_day != NO_DAY)
    m = len(owner)
    age = (pts.death_day[owner] - pts.dob[owner]) / 365.25
    a = {k: v[owner] for k, v in conds.active.items()}
    young = age < 75
    w = np.column_stack(
        [
            0.6 + 6.0 * a["cancer"],
            0.7 + 1.5 * (a["chd"] | a["stroke_tia"] | a["atrial_fibrillation"])
            + 0.5 * a["hypertension"],
            0.3 + 2.5 * a["copd"],
            0.05 + 0.1 * (age > 80) + 4.0 * a["dementia"],
            0.6 + 1.0 * young,
        ]
    )  # fmt: skip
    group = categorical(rng, w)
    lists = [
        load_codelist(x).codes
        for x in ("cancer_icd10", "cvd_icd10", "respiratory_death_icd10")
    ]
    other = load_codelist("other_death_icd10").codes
    dementia_codes = other[:2]
    general_other = other[2:]
    pools: list[tuple[str, ...]] = [*lists, dementia_codes, general_other]
    all_codes: list[str] = sorted(
        {c for pool in pools for c in pool} | {c for _, c in _CONTRIBUTING}
    )
    index = {c: i for i, c in enumerate(all_codes)}
    cause = np.zeros(m, dtype=np.int64)
    for g, pool in enumerate(pools):
        rows = group == g
        pick = rng.integers(0, len(pool), int(rows.sum()))
        cause[rows] = np.asarray([index[c] for c in pool])[pick]
    place_p = np.tile(np.array([0.28, 0.18, 0.05, 0.47, 0.02]), (m, 1))
    place_p[group == 0] = [0.30, 0.10, 0.20, 0.38, 0.02]
    place_p[group == 3] = [0.12, 0.55, 0.01, 0.30, 0.02]
    place = categorical(rng, place_p) if m else np.zeros(0, dtype=np.int64)
    place_idx = np.asarray([cat.PLACE_OF_DEATH.index(p) for p in _PLACES])[place]
    columns: dict[str, Cat | Masked | IntArray] = {
        "patient_id": pts.patient_id[owner],
        "date": pts.death_day[owner],
        "underlying_cause_of_death": Cat(cause, all_codes),
        "place_of_death": Cat(place_idx, cat.PLACE_OF_DEATH),
        "cause_of_death_01": Cat(cause, all_codes),
    }
    slot = np.full(m, 2, dtype=np.int64)
    slots = np.full((m, 15), -1, dtype=np.int64)
    for name, code in _CONTRIBUTING:
        rows = a[name] & (cause != index[code]) & (slot <= 15)
        slots[rows, slot[rows] - 1] = index[code]
        slot[rows] += 1
    for i in range(2, 16):
        col = slots[:, i - 1]
        if (col >= 0).any():
            columns[f"cause_of_death_{i:02d}"] = Cat(
                np.maximum(col, 0), all_codes, col >= 0
            )
    table = build_table("ons_deaths", m, columns)
    return table, owner, place == _PLACES.index("hospital")


def registration_table(
    pts: Patients, orgs_pilot_day: IntArray, cal: Calendar
) -> tuple[pa.Table, Windows]:
    """`practice_registrations` rows and the in-period exposure windows.

    Registrations end on the day of death. A mover has two rows: the old practice
    up to the day before the move and the new practice from the move day.
    """
    last = np.minimum(pts.reg_end, pts.death_day)
    mover = (pts.reg_kind == REG_MOVER) & (pts.move_day <= last)
    first_end = np.where(mover, pts.move_day - 1, last)
    m_idx = np.flatnonzero(mover)
    n = len(pts)
    owner = np.r_[np.arange(n), m_idx]
    start = np.r_[pts.reg_start, pts.move_day[m_idx]]
    end = np.r_[first_end, last[m_idx]]
    practice = np.r_[pts.practice, pts.new_practice[m_idx]]
    order = np.lexsort((start, owner))
    owner, start, end, practice = (
        owner[order],
        start[order],
        end[order],
        practice[order],
    )
    table = build_table(
        "practice_registrations",
        len(owner),
        {
            "patient_id": pts.patient_id[owner],
            "start_date": start,
            "end_date": Masked(np.where(end == NO_DAY, 0, end), end != NO_DAY),
            "practice_pseudo_id": practice + 1,
        },
    )
    w_start = np.maximum(start, cal.start_day)
    w_end = np.minimum(np.where(end == NO_DAY, cal.end_day, end + 1), cal.end_day)
    keep = w_end > w_start
    windows = Windows(
        owner[keep],
        w_start[keep],
        w_end[keep],
        orgs_pilot_day[practice[keep]],
        practice[keep],
    )
    return table, windows
