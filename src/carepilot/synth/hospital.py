"""Secondary care: admitted spells (`apcs`), A&E (`ec`), outpatients (`opa`) and
consultant-led referrals with RTT clocks (`referrals`).

Rates per 1,000 patients per year by age (shaped like HES 2019/20 for England)
are scaled by exp(0.3 frailty + 0.15 long-term conditions + 0.5 (d - 0.5)) and a
practice random effect, with winter seasonality (+-12 %) and a 1.5 %/year upward
trend for emergency care. The planted effects `emergency_admissions`,
`ae_attendances` and `outpatient_follow_ups` multiply those rates from the
practice's pilot start. Identifiers are `patient_id x 10,000 + sequence`, so they
are unique and do not depend on chunking.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from carepilot.codelists import load_codelist
from carepilot.schema import categories as cat
from carepilot.synth._arrow import Cat, Masked, build_table
from carepilot.synth._sampling import (
    BoolArray,
    Calendar,
    Events,
    FloatArray,
    IntArray,
    Windows,
    categorical,
    draw_events,
    sequence_within,
)
from carepilot.synth.conditions import Conditions
from carepilot.synth.config import PilotEffects
from carepilot.synth.organisations import Organisations
from carepilot.synth.population import NO_DAY, Patients

ID_STRIDE = 10_000
SPECIALTIES: tuple[str, ...] = (
    "Trauma and Orthopaedics", "General Surgery", "Cardiology", "Respiratory Medicine",
    "Gastroenterology", "Ophthalmology", "Dermatology", "ENT", "Gynaecology",
    "Urology", "Diabetes and Endocrinology", "Paediatrics", "Geriatric Medicine",
    "Rheumatology", "Neurology",
)  # fmt: skip


def rate_by_age(
    age: FloatArray, ages: list[float], per_1000: list[float]
) -> FloatArray:
    """Monthly rate from a per-1,000-per-year curve, linear between ages."""
    return np.interp(age, ages, per_1000) / 1000.0 / 12.0


def make_ids(pts: Patients, owner: IntArray) -> IntArray:
    """`patient_id x ID_STRIDE + k` for the k-th row of a patient (owner sorted)."""
    return pts.patient_id[owner] * ID_STRIDE + sequence_within(owner) + 1


def seasonal_weight(cal: Calendar, amplitude: float, trend: float) -> FloatArray:
    """Calendar weight: winter peak (January) and a linear yearly trend."""
    t = np.arange(cal.months) / 12.0
    season = 1 + amplitude * np.cos(2 * np.pi * (cal.month_of_year - 1) / 12)
    return season * (1 + trend * t)


@dataclass(frozen=True, slots=True)
class Spells:
    """Emergency spells with what later modules need (social care after discharge)."""

    owner: IntArray
    spell_id: IntArray
    discharge: IntArray
    destination: IntArray
    emergency: BoolArray


@dataclass(frozen=True, slots=True)
class HospitalContext:
    """Patient-level drivers shared by the hospital models."""

    age: FloatArray
    n_ltc: IntArray
    risk: FloatArray
    acute: IntArray


def hospital_context(
    pts: Patients, conds: Conditions, orgs: Organisations, cal: Calendar
) -> HospitalContext:
    """Patient-level drivers: age at mid-period, active conditions, the relative
    risk of hospital use (frailty, conditions, deprivation, practice effect) and the
    PCT whose providers the patient uses."""
    age = pts.age_at(cal.start_day + (cal.end_day - cal.start_day) // 2)
    n_ltc = conds.count_active()
    risk = np.exp(
        0.3 * pts.frailty + 0.15 * n_ltc + 0.5 * (pts.deprivation - 0.5)
        + orgs.admission_re[pts.practice]
    )  # fmt: skip
    return HospitalContext(age, n_ltc, risk, orgs.pct[pts.practice])


def admitted_care(
    pts: Patients,
    conds: Conditions,
    windows: Windows,
    orgs: Organisations,
    cal: Calendar,
    effects: PilotEffects,
    ctx: HospitalContext,
    in_hospital_death: IntArray,
    rng: np.random.Generator,
) -> tuple[pa.Table, Spells, Events]:
    """Build `apcs`. Returns the table, spell facts and the elective hip/knee spells
    (for PROMs, as Events with `post` = pilot period)."""
    age = ctx.age
    mult = effects.multiplier("emergency_admissions")
    em_rate = rate_by_age(age, [0, 5, 15, 45, 65, 75, 85, 100],
                          [110, 30, 45, 55, 100, 190, 340, 420]) * ctx.risk  # fmt: skip
    em = draw_events(
        rng, windows, em_rate, cal, pilot_multiplier=mult,
        month_weight=seasonal_weight(cal, 0.12, 0.015),
    )  # fmt: skip
    # readmissions within 30 days of an emergency spell, thinned in the pilot period
    p_re = 0.06 + 0.04 * (ctx.n_ltc[em.owner] >= 2) + 0.03 * (age[em.owner] >= 75)
    re = em.take(rng.random(len(em)) < p_re)
    re_day = re.day + rng.integers(3, 31, len(re))
    re_post = re_day >= orgs.pilot_day[re.practice]
    keep = (re_day < np.minimum(pts.death_day[re.owner], cal.end_day)) & (
        rng.random(len(re)) < np.where(re_post, min(1.0, mult), 1.0)
    )
    re = Events(re.owner[keep], re_day[keep], re_post[keep], re.practice[keep])
    # terminal spells of patients who die in hospital
    d_owner = in_hospital_death
    term_los = rng.integers(0, 15, len(d_owner))
    term = Events(
        d_owner,
        np.maximum(pts.death_day[d_owner] - term_los, cal.start_day),
        np.zeros(len(d_owner), bool),
        pts.practice[d_owner],
    )
    el_rate = rate_by_age(age, [0, 18, 45, 65, 75, 100], [30, 70, 150, 260, 300, 220])
    el = draw_events(rng, windows, el_rate * np.exp(0.1 * ctx.n_ltc), cal)
    mat_rate = pts.female * ((age >= 16) & (age < 45)) * 0.06 / 12
    mat = draw_events(rng, windows, mat_rate, cal)

    blocks = [em, re, term, el, mat]
    kind = np.concatenate([np.full(len(b), i) for i, b in enumerate(blocks)])
    owner = np.concatenate([b.owner for b in blocks])
    adm = np.concatenate([b.day for b in blocks])
    post = np.concatenate([b.post for b in blocks])
    order = np.lexsort((adm, owner))
    kind, owner, adm, post = kind[order], owner[order], adm[order], post[order]
    n = len(owner)
    a_age = age[owner]
    emergency = kind <= 2
    method = np.where(emergency, 1, np.where(kind == 3, 0, 2))

    # elective case mix: hip / knee replacements for 50+, else other procedures
    u = rng.random(n)
    hip = (kind == 3) & (a_age >= 50) & (u < 0.05)
    knee = (kind == 3) & (a_age >= 50) & (u >= 0.05) & (u < 0.11)

    los = np.where(
        rng.random(n) < 0.3, 0, 1 + rng.gamma(1.2, 3 + 0.08 * np.maximum(a_age - 50, 0))
    )
    los = np.where(
        kind == 3, np.where(rng.random(n) < 0.75, 0, rng.integers(1, 4, n)), los
    )
    los = np.where(hip | knee, rng.integers(2, 6, n), los)
    los = np.where(kind == 4, rng.integers(0, 4, n), los).astype(np.int64)
    delayed = np.where(
        emergency & (a_age >= 75) & (rng.random(n) < 0.12), rng.poisson(6, n) + 1, 0
    )
    los = los + delayed
    discharge = adm + los
    is_term = kind == 2
    discharge = np.where(is_term, pts.death_day[owner], discharge)
    # an ordinary spell cannot outlast its patient's death: drop those overlapping it
    ok = is_term | (discharge < pts.death_day[owner])
    (kind, owner, adm, post, method, hip, knee, los, delayed, discharge, emergency,
     is_term) = (x[ok] for x in (kind, owner, adm, post, method, hip, knee, los,
                                  delayed, discharge, emergency, is_term))  # fmt: skip
    n = len(owner)
    a_age = age[owner]
    in_hosp = discharge >= cal.end_day

    dementia = conds.active["dementia"][owner]
    dest_p = np.column_stack(
        [
            np.full(n, 0.9),
            0.02 + 0.08 * (a_age >= 80) + 0.15 * dementia,
            np.full(n, 0.03),
            np.zeros(n),
            np.full(n, 0.02),
        ]
    )
    dest = categorical(rng, dest_p) if n else np.zeros(0, dtype=np.int64)
    dest = np.where(is_term, cat.DISCHARGE_DESTINATIONS.index("died"), dest)
    dest = np.where(emergency | is_term, dest, 0)

    diag, proc, hrg, categories = _coding(rng, kind, hip, knee, ctx.n_ltc[owner])
    cost = np.where(
        emergency,
        1500 + 320 * np.maximum(los - 2, 0) + 800 * rng.random(n),
        np.where(hip, 6500, np.where(knee, 6000, np.where(kind == 4, 2600, 900 + 1600 * rng.random(n)))),
    )  # fmt: skip
    spell_id = make_ids(pts, owner)
    table = build_table(
        "apcs",
        n,
        {
            "spell_id": spell_id,
            "patient_id": pts.patient_id[owner],
            "admission_date": adm,
            "discharge_date": Masked(discharge, ~in_hosp),
            "admission_method": Cat(method, cat.ADMISSION_METHODS),
            "primary_diagnosis": Cat(diag, categories["diag"]),
            "primary_procedure": Cat(
                np.maximum(proc, 0), categories["proc"], proc >= 0
            ),
            "hrg_code": Cat(hrg, categories["hrg"]),
            "tariff_cost": np.round(cost, 2),
            "discharge_destination": Cat(dest, cat.DISCHARGE_DESTINATIONS),
            "delayed_discharge_days": delayed,
            "provider_code": Cat(ctx.acute[owner], orgs.provider_codes["acute"]),
        },
    )
    spells = Spells(
        owner, spell_id, np.where(in_hosp, NO_DAY, discharge), dest, emergency
    )
    joints = (hip | knee) & ~in_hosp
    proms_events = Events(
        owner[joints], adm[joints], knee[joints], pts.practice[owner[joints]]
    )
    return table, spells, proms_events


def _coding(
    rng: np.random.Generator,
    kind: IntArray,
    hip: BoolArray,
    knee: BoolArray,
    n_ltc: IntArray,
) -> tuple[IntArray, IntArray, IntArray, dict[str, list[str]]]:
    """ICD-10 diagnosis, OPCS-4 procedure (-1 = none) and HRG of each spell."""
    n = len(kind)
    acsc = load_codelist("acsc_icd10").codes
    emerg = load_codelist("emergency_icd10").codes
    elect = load_codelist("elective_icd10").codes
    mat = load_codelist("maternity_icd10").codes
    diag_cats = list(dict.fromkeys([*acsc, *emerg, *elect, *mat]))
    di = {c: i for i, c in enumerate(diag_cats)}

    def idx(codes: tuple[str, ...], m: int) -> IntArray:
        return np.asarray([di[c] for c in codes])[rng.integers(0, len(codes), m)]

    diag = idx(emerg, n)
    is_acsc = (kind <= 2) & (rng.random(n) < 0.12 + 0.25 * (n_ltc > 0))
    diag[is_acsc] = idx(acsc, int(is_acsc.sum()))
    el = kind == 3
    diag[el] = idx(elect[2:], int(el.sum()))
    diag[hip] = di[elect[0]]
    diag[knee] = di[elect[1]]
    diag[kind == 4] = idx(mat, int((kind == 4).sum()))

    hips = load_codelist("hip_replacement_opcs4").codes
    knees = load_codelist("knee_replacement_opcs4").codes
    others = load_codelist("elective_procedures_opcs4").codes
    proc_cats = [*hips, *knees, *others]
    proc = np.full(n, -1, dtype=np.int64)
    proc[el] = len(hips) + len(knees) + rng.integers(0, len(others), int(el.sum()))
    proc[hip] = rng.integers(0, len(hips), int(hip.sum()))
    proc[knee] = len(hips) + rng.integers(0, len(knees), int(knee.sum()))

    h_em = load_codelist("hrg_emergency").codes
    h_el = load_codelist("hrg_elective").codes
    h_mat = load_codelist("hrg_maternity").codes
    hrg_cats = [*h_em, *h_el, *h_mat]
    hrg = rng.integers(0, len(h_em), n)
    hrg[el] = len(h_em) + 2 + rng.integers(0, len(h_el) - 2, int(el.sum()))
    hrg[hip] = len(h_em)
    hrg[knee] = len(h_em) + 1
    hrg[kind == 4] = (
        len(h_em) + len(h_el) + rng.integers(0, len(h_mat), int((kind == 4).sum()))
    )
    return diag, proc, hrg, {"diag": diag_cats, "proc": proc_cats, "hrg": hrg_cats}


def emergency_care(
    pts: Patients,
    windows: Windows,
    orgs: Organisations,
    cal: Calendar,
    effects: PilotEffects,
    ctx: HospitalContext,
    spells: Spells,
    rng: np.random.Generator,
    apcs: pa.Table,
) -> pa.Table:
    """Build `ec`: attendances that led to emergency admissions plus the rest."""
    em_idx = np.flatnonzero(spells.emergency)
    with_ae = em_idx[rng.random(len(em_idx)) < 0.75]
    adm_days = apcs.column("admission_date").to_numpy().astype("datetime64[D]")
    adm_days = adm_days.astype(np.int64)
    admitted = Events(
        spells.owner[with_ae],
        adm_days[with_ae],
        np.zeros(len(with_ae), bool),
        pts.practice[spells.owner[with_ae]],
    )
    age = ctx.age
    rate = rate_by_age(
        age, [0, 5, 15, 25, 65, 85, 100], [450, 250, 300, 330, 300, 450, 500]
    )
    rate = rate * np.exp(0.6 * (pts.deprivation - 0.5) + 0.2 * pts.frailty)
    other = draw_events(
        rng, windows, rate, cal, pilot_multiplier=effects.multiplier("ae_attendances"),
        month_weight=seasonal_weight(cal, 0.08, 0.01),
    )  # fmt: skip
    owner = np.r_[admitted.owner, other.owner]
    day = np.r_[admitted.day, other.day]
    is_adm = np.r_[np.ones(len(admitted), bool), np.zeros(len(other), bool)]
    order = np.argsort(owner, kind="stable")
    owner, day, is_adm = owner[order], day[order], is_adm[order]
    n = len(owner)
    dept = np.where(is_adm, 0, categorical(rng, np.array([0.63, 0.02, 0.35]), n))
    disp = categorical(rng, np.array([0.88, 0.0, 0.04, 0.0, 0.08]), n)
    disp = np.where(is_adm, cat.EC_DISPOSALS.index("admitted"), disp)
    codes = load_codelist("ec_diagnosis_icd10").codes
    dx = rng.integers(0, len(codes), n)
    coded = rng.random(n) < 0.7
    cost = np.where(dept == 2, 80 + 40 * rng.random(n), 160 + 180 * rng.random(n))
    return build_table(
        "ec",
        n,
        {
            "attendance_id": make_ids(pts, owner),
            "patient_id": pts.patient_id[owner],
            "arrival_date": day,
            "department_type": Cat(dept, cat.EC_DEPARTMENT_TYPES),
            "disposal": Cat(disp, cat.EC_DISPOSALS),
            "primary_diagnosis": Cat(dx, codes, coded),
            "cost": np.round(cost, 2),
            "provider_code": Cat(ctx.acute[owner], orgs.provider_codes["acute"]),
        },
    )


def outpatients(
    pts: Patients,
    windows: Windows,
    orgs: Organisations,
    cal: Calendar,
    effects: PilotEffects,
    ctx: HospitalContext,
    rng: np.random.Generator,
) -> tuple[pa.Table, pa.Table]:
    """Build `opa` (first and follow-up, with DNAs) and `referrals` (RTT clocks).

    RTT waits are lognormal with median 8 weeks and sigma 0.8, so ~84 % of
    completed pathways stop within 18 weeks; clocks that would stop after the
    period end are still open (no stop date).
    """
    age = ctx.age
    first_rate = rate_by_age(
        age, [0, 18, 45, 65, 75, 100], [150, 250, 380, 550, 650, 500]
    )
    first_rate = first_rate * np.exp(0.1 * ctx.n_ltc)
    first = draw_events(rng, windows, first_rate, cal)
    fu = draw_events(
        rng, windows, first_rate * 1.9 * np.exp(0.05 * ctx.n_ltc), cal,
        pilot_multiplier=effects.multiplier("outpatient_follow_ups"),
    )  # fmt: skip
    owner = np.r_[first.owner, fu.owner]
    day = np.r_[first.day, fu.day]
    att = np.r_[np.zeros(len(first), np.int64), np.ones(len(fu), np.int64)]
    order = np.argsort(owner, kind="stable")
    owner, day, att = owner[order], day[order], att[order]
    n = len(owner)
    p_dna = 0.05 + 0.08 * pts.deprivation[owner] + 0.04 * (age[owner] < 30)
    u = rng.random(n)
    status = np.where(u < p_dna, 1, np.where(u < p_dna + 0.06, 2, 0))
    spec = categorical(rng, 1.0 / np.arange(1, len(SPECIALTIES) + 1), n)
    cost = np.where(status == 0, np.where(att == 0, 190.0, 110.0), 0.0)
    opa = build_table(
        "opa",
        n,
        {
            "appointment_id": make_ids(pts, owner),
            "patient_id": pts.patient_id[owner],
            "appointment_date": day,
            "attendance_type": Cat(att, cat.OPA_ATTENDANCE_TYPES),
            "attendance_status": Cat(status, cat.ATTENDANCE_STATUS),
            "specialty": Cat(spec, SPECIALTIES),
            "cost": cost,
            "provider_code": Cat(ctx.acute[owner], orgs.provider_codes["acute"]),
        },
    )
    ref = draw_events(rng, windows, first_rate * 0.9, cal)
    m = len(ref)
    wait = np.floor(np.exp(rng.normal(np.log(56), 0.8, m))).astype(np.int64)
    stop = ref.day + wait
    open_ = stop >= np.minimum(cal.end_day, pts.death_day[ref.owner])
    referrals = build_table(
        "referrals",
        m,
        {
            "referral_id": make_ids(pts, ref.owner),
            "patient_id": pts.patient_id[ref.owner],
            "referral_date": ref.day,
            "clock_start_date": ref.day,
            "clock_stop_date": Masked(stop, ~open_),
            "specialty": Cat(categorical(rng, 1.0 / np.arange(1, len(SPECIALTIES) + 1), m), SPECIALTIES),
            "provider_code": Cat(ctx.acute[ref.owner], orgs.provider_codes["acute"]),
        },
    )  # fmt: skip
    return opa, referrals
