"""Primary care record: diagnoses, monitoring values, reviews, care processes,
personalised care adjustments (`clinical_events`) and medicines (`medications`).

Every code is drawn from the shipped codelists (`carepilot.codelists`), so the
indicator library built on the same lists finds these events. Monitoring and
review events are Poisson processes over each registration window (see
`_sampling.draw_events`); control of blood pressure and HbA1c is worse in deprived
patients and varies by practice, and the planted pilot effects `bp_control` and
`hba1c_control` add to the control probability of readings taken in the pilot
period.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from carepilot.synth._coded import CodedRows
from carepilot.synth._sampling import (
    BoolArray,
    Calendar,
    Events,
    FloatArray,
    Windows,
    draw_events,
    logistic,
    logit,
)
from carepilot.synth.conditions import Conditions
from carepilot.synth.config import PilotEffects
from carepilot.synth.medicines import prescribe
from carepilot.synth.organisations import Organisations
from carepilot.synth.population import NO_DAY, Patients

_FLU_SEASON = {9: 0.35, 10: 1.0, 11: 0.6, 12: 0.25, 1: 0.1}
_REGISTERS = (
    "hypertension", "diabetes", "chd", "stroke_tia", "copd", "asthma", "dementia",
    "smi", "depression", "atrial_fibrillation", "ckd",
)  # fmt: skip


def primary_care(
    pts: Patients,
    conds: Conditions,
    windows: Windows,
    orgs: Organisations,
    cal: Calendar,
    effects: PilotEffects,
    rng: np.random.Generator,
) -> tuple[pa.Table, pa.Table]:
    """Build `clinical_events` and `medications` for one chunk."""
    ev = CodedRows()
    _diagnoses(pts, conds, cal, rng, ev)
    age = pts.age_at(cal.start_day + (cal.end_day - cal.start_day) // 2)
    adult = age >= 18
    a = conds.active
    quality = orgs.quality_re[pts.practice]
    meds = CodedRows()
    on_statin = prescribe(pts, conds, windows, cal, age, rng, meds)
    _blood_pressure(pts, a, windows, cal, effects, age, quality, rng, ev)
    _hba1c(pts, a, windows, cal, effects, age, quality, rng, ev)
    high_risk = (
        a["diabetes"] | a["chd"] | a["stroke_tia"] | a["hypertension"] | a["ckd"]
    )
    chol = draw_events(
        rng, windows, np.where(high_risk, 0.08, 0.01 * ((age >= 40) & (age < 75))), cal
    )
    chol_v = rng.normal(5.1 - 0.9 * on_statin[chol.owner], 0.9)
    ev.add(
        rng, "cholesterol", chol.owner, chol.day, np.round(np.clip(chol_v, 2, 11), 1)
    )
    bmi_rate = adult * (0.02 + 0.04 * (a["obesity"] | a["diabetes"]))
    bmi = draw_events(rng, windows, bmi_rate, cal)
    _add_bmi(pts, a["obesity"], bmi, rng, ev)
    n_ltc = conds.count_active()
    smok = draw_events(
        rng, windows, (pts.smoking >= 0) * (0.025 + 0.03 * (n_ltc > 0)), cal
    )
    _add_smoking(pts, smok, rng, ev)
    audit = draw_events(rng, windows, adult * 0.012, cal)
    ev.add(rng, "audit_c", audit.owner, audit.day, _audit_scores(pts, audit, rng))
    _reviews(pts, conds, windows, cal, age, quality, rng, ev)
    _smi_health_checks(pts, a, windows, cal, on_statin, rng, ev)
    _flu(pts, a, windows, cal, age, rng, ev)
    _screening(pts, a, windows, cal, age, rng, ev)
    _pca(pts, a, windows, cal, rng, ev)
    return ev.table("clinical_events", pts, "snomedct_code"), meds.table(
        "medications", pts, "dmd_code"
    )


def _diagnoses(
    pts: Patients,
    conds: Conditions,
    cal: Calendar,
    rng: np.random.Generator,
    ev: CodedRows,
) -> None:
    for name, flag in conds.has.items():
        owner = np.flatnonzero(flag)
        ev.add(rng, name, owner, conds.diag_day[name][owner])
        resolved = np.flatnonzero(conds.resolved_day[name] != NO_DAY)
        if len(resolved):
            ev.add(
                rng, f"{name}_resolved", resolved, conds.resolved_day[name][resolved]
            )
    age = pts.age_at(cal.end_day)
    p = (0.004 + 0.02 * pts.deprivation) * ((age >= 16) & (age < 70))
    p *= np.where(pts.female, 0.6, 1.4)
    owner = np.flatnonzero(rng.random(len(pts)) < p)
    back = np.floor(rng.exponential(4.0, len(owner)) * 365.25).astype(np.int64)
    day = np.maximum(cal.end_day - 1 - back, pts.dob[owner] + int(16 * 365.25))
    keep = day <= np.minimum(pts.death_day[owner], cal.end_day - 1)
    ev.add(rng, "drug_misuse", owner[keep], day[keep])


def _blood_pressure(
    pts: Patients,
    a: dict[str, BoolArray],
    windows: Windows,
    cal: Calendar,
    effects: PilotEffects,
    age: FloatArray,
    quality: FloatArray,
    rng: np.random.Generator,
    ev: CodedRows,
) -> None:
    htn = a["hypertension"]
    rate = np.where(htn, 1.4, np.where(age >= 40, 0.25, 0.08 * (age >= 18))) / 12
    rate = rate + 0.5 / 12 * (a["diabetes"] | a["chd"] | a["ckd"] | a["stroke_tia"])
    bp = draw_events(rng, windows, rate, cal)
    o = bp.owner
    p_ctrl = logistic(
        logit(0.64) - 0.9 * (pts.deprivation[o] - 0.5) + quality[o]
        - 0.01 * (age[o] - 65) - 0.25 * (pts.ethnic_group[o] == 2)
    )  # fmt: skip
    p_ctrl = np.where(htn[o], p_ctrl, 0.85)
    p_ctrl = p_ctrl + effects.get("bp_control") * (bp.post & htn[o])
    controlled = rng.random(len(o)) < np.clip(p_ctrl, 0, 1)
    n = len(o)
    sys = np.where(
        controlled,
        np.clip(140 - rng.gamma(2.0, 7.0, n), 95, 140),
        np.clip(141 + rng.gamma(2.0, 9.0, n), 141, 230),
    )
    dia = np.where(
        controlled,
        np.clip(88 - rng.gamma(2.0, 6.0, n), 50, 90),
        np.clip(rng.normal(86, 9, n), 60, 130),
    )
    ev.add(rng, "systolic_bp", o, bp.day, np.round(sys))
    ev.add(rng, "diastolic_bp", o, bp.day, np.round(dia))


def _hba1c(
    pts: Patients,
    a: dict[str, BoolArray],
    windows: Windows,
    cal: Calendar,
    effects: PilotEffects,
    age: FloatArray,
    quality: FloatArray,
    rng: np.random.Generator,
    ev: CodedRows,
) -> None:
    dm = a["diabetes"]
    rate = np.where(dm, 2.0 / 12, 0.03 * (age >= 40))
    h = draw_events(rng, windows, rate, cal)
    o = h.owner
    p_ctrl = logistic(
        logit(0.66) - 1.0 * (pts.deprivation[o] - 0.5) + quality[o]
        - 0.3 * (pts.ethnic_group[o] == 1) + 0.01 * (age[o] - 60)
    )  # fmt: skip
    p_ctrl = p_ctrl + effects.get("hba1c_control") * h.post
    controlled = rng.random(len(o)) < np.clip(p_ctrl, 0, 1)
    n = len(o)
    value = np.where(
        controlled,
        np.clip(42 + rng.gamma(3.0, 3.5, n), 30, 58),
        np.clip(59 + rng.gamma(1.8, 10.0, n), 59, 160),
    )
    value = np.where(dm[o], value, np.clip(rng.normal(37, 4, n), 25, 47))
    ev.add(rng, "hba1c", o, h.day, np.round(value))


def _add_bmi(
    pts: Patients,
    obese: BoolArray,
    bmi: Events,
    rng: np.random.Generator,
    ev: CodedRows,
) -> None:
    o = bmi.owner
    n = len(o)
    value = np.where(
        obese[o],
        30 + rng.gamma(2.0, 2.8, n),
        np.clip(rng.normal(25.0 + 1.5 * pts.deprivation[o], 3.2), 15, 29.9),
    )
    ev.add(rng, "bmi", o, bmi.day, np.round(value, 1))


def _add_smoking(
    pts: Patients, smok: Events, rng: np.random.Generator, ev: CodedRows
) -> None:
    status = pts.smoking[smok.owner]
    for code, lst in ((0, "smoking_never"), (1, "smoking_ex"), (2, "smoking_current")):
        sel = status == code
        ev.add(rng, lst, smok.owner[sel], smok.day[sel])


def _audit_scores(pts: Patients, audit: Events, rng: np.random.Generator) -> FloatArray:
    male = ~pts.female[audit.owner]
    mean = 2.5 + 1.2 * male - 1.8 * (pts.ethnic_group[audit.owner] == 1)
    return np.clip(rng.poisson(np.maximum(mean, 0.3)), 0, 12).astype(float)


def _reviews(
    pts: Patients,
    conds: Conditions,
    windows: Windows,
    cal: Calendar,
    age: FloatArray,
    quality: FloatArray,
    rng: np.random.Generator,
    ev: CodedRows,
) -> None:
    a = conds.active
    q = np.exp(0.5 * quality - 0.3 * pts.deprivation)
    for lst, flag, per_year in (
        ("asthma_review", a["asthma"], 0.65),
        ("copd_review", a["copd"], 0.8),
        ("dementia_review", a["dementia"], 0.75),
        ("depression_review", a["depression"], 0.12),
    ):
        e = draw_events(rng, windows, flag * q * per_year / 12, cal)
        ev.add(rng, lst, e.owner, e.day)
    # a review 10-56 days after a new depression diagnosis (QOF DEP003)
    dday = conds.diag_day["depression"]
    new = np.flatnonzero((dday >= cal.start_day) & (dday < cal.end_day))
    reviewed = new[rng.random(len(new)) < 0.75 - 0.15 * pts.deprivation[new]]
    rday = dday[reviewed] + rng.integers(10, 57, len(reviewed))
    ok = rday < np.minimum(pts.death_day[reviewed], cal.end_day)
    ev.add(rng, "depression_review", reviewed[ok], rday[ok])
    iapt = draw_events(
        rng, windows, np.where(a["depression"], 0.12, 0.004 * (age >= 16)) / 12, cal
    )
    ev.add(rng, "iapt_referral", iapt.owner, iapt.day)
    quit_ = draw_events(rng, windows, (pts.smoking == 2) * 0.35 / 12, cal)
    ev.add(rng, "smoking_cessation_offered", quit_.owner, quit_.day)


def _smi_health_checks(
    pts: Patients,
    a: dict[str, BoolArray],
    windows: Windows,
    cal: Calendar,
    on_statin: BoolArray,
    rng: np.random.Generator,
    ev: CodedRows,
) -> None:
    """SMI physical health check: the QOF bundle recorded on one day (BP, BMI,
    cholesterol, HbA1c, smoking status, alcohol)."""
    rate = a["smi"] * (0.55 - 0.2 * pts.deprivation) / 12
    chk = draw_events(rng, windows, rate, cal)
    o, d, n = chk.owner, chk.day, len(chk)
    ev.add(rng, "systolic_bp", o, d, np.round(np.clip(rng.normal(128, 15, n), 90, 200)))
    ev.add(rng, "diastolic_bp", o, d, np.round(np.clip(rng.normal(80, 9, n), 50, 120)))
    _add_bmi(pts, a["obesity"], chk, rng, ev)
    chol = np.clip(rng.normal(5.2 - 0.9 * on_statin[o], 1.0), 2, 11)
    ev.add(rng, "cholesterol", o, d, np.round(chol, 1))
    ev.add(rng, "hba1c", o, d, np.round(np.clip(rng.normal(40, 7, n), 25, 120)))
    _add_smoking(pts, chk, rng, ev)
    ev.add(rng, "audit_c", o, d, _audit_scores(pts, chk, rng))


def _flu(
    pts: Patients,
    a: dict[str, BoolArray],
    windows: Windows,
    cal: Calendar,
    age: FloatArray,
    rng: np.random.Generator,
    ev: CodedRows,
) -> None:
    """Seasonal flu vaccination (September-January), uptake ~78 % at 65+ and
    ~50 % in at-risk under-65s, lower in deprived areas and some ethnic groups."""
    at_risk = a["diabetes"] | a["chd"] | a["stroke_tia"] | a["copd"] | a["asthma"]
    at_risk |= a["ckd"]
    p = np.where(age >= 65, 0.80, np.where(at_risk, 0.52, 0.0))
    p = p * (1 - 0.22 * pts.deprivation) * np.where(pts.ethnic_group == 2, 0.7, 1.0)
    p = np.where(pts.ethnic_group == 1, p * 0.9, p)
    weight = np.asarray([_FLU_SEASON.get(int(m), 0.0) for m in cal.month_of_year])
    if weight.max() == 0:
        return
    season_total = sum(_FLU_SEASON.values())
    monthly = -np.log1p(-np.clip(p, 0, 0.99)) / season_total
    e = draw_events(rng, windows, monthly, cal, month_weight=weight)
    ev.add(rng, "flu_vaccination", e.owner, e.day)


def _screening(
    pts: Patients,
    a: dict[str, BoolArray],
    windows: Windows,
    cal: Calendar,
    age: FloatArray,
    rng: np.random.Generator,
    ev: CodedRows,
) -> None:
    dep = pts.deprivation
    cerv = pts.female * np.where(
        (age >= 25) & (age < 50), 0.3, 0.2 * ((age >= 50) & (age < 65))
    )
    e = draw_events(rng, windows, cerv * (1 - 0.3 * dep) / 12, cal)
    ev.add(rng, "cervical_screening", e.owner, e.day)
    chl = ((age >= 15) & (age < 25)) * np.where(pts.female, 0.18, 0.06)
    e = draw_events(rng, windows, chl / 12, cal)
    ev.add(rng, "chlamydia_test", e.owner, e.day)
    excluded = a["hypertension"] | a["diabetes"] | a["chd"] | a["stroke_tia"] | a["ckd"]
    hc = ((age >= 40) & (age < 75) & ~excluded) * 0.09 * (1 - 0.25 * dep)
    e = draw_events(rng, windows, hc / 12, cal)
    ev.add(rng, "nhs_health_check", e.owner, e.day)


def _pca(
    pts: Patients,
    a: dict[str, BoolArray],
    windows: Windows,
    cal: Calendar,
    rng: np.random.Generator,
    ev: CodedRows,
) -> None:
    """QOF personalised care adjustments for a few % of register patients."""
    on_register = np.zeros(len(pts), dtype=bool)
    for name in _REGISTERS:
        on_register |= a[name]
    rate = on_register * 0.02 * (1 + 0.6 * pts.deprivation) / 12
    e = draw_events(rng, windows, rate, cal)
    declined = rng.random(len(e)) < 0.75
    ev.add(rng, "qof_pca_declined", e.owner[declined], e.day[declined])
    ev.add(rng, "qof_pca_unsuitable", e.owner[~declined], e.day[~declined])


_SCORED_CONDITIONS = (
    ("hypertension", 1),
    ("diabetes", 1),
    ("stroke_tia", 2),
    ("chd", 1),
)
"""CHA2DS2-VASc points from modelled conditions (CHD stands for vascular disease)."""


def risk_assessments(
    pts: Patients,
    conds: Conditions,
    windows: Windows,
    cal: Calendar,
    rng: np.random.Generator,
) -> pa.Table:
    """CHA2DS2-VASc scores of AF patients and electronic frailty index categories.

    Returned as extra `clinical_events` rows. Drawn from their own random stream
    (the caller passes a separate generator) so that adding them leaves every
    other generated table, drawn from the main stream, unchanged.

    CHA2DS2-VASc: 80 % of AF patients have a score recorded 0-28 days after the
    diagnosis and scores are re-recorded about every 18 months while registered.
    The value is computed on the day from age, sex and the conditions diagnosed
    by then (heart failure is not a modelled condition: 15 % of AF patients carry
    its point), so a patient's score can rise from below 2 to 2 or more. A few
    scores (5 %) are recorded up to a year before the AF code, as happens when
    AF is suspected before it is coded.

    Frailty: patients aged 65 or over are assessed with the eFI about once every
    two years (more with more long-term conditions); the index grows with age,
    conditions and latent frailty, and is coded as mild (0.13-0.24), moderate
    (0.25-0.36) or severe (> 0.36) frailty; "fit" results are not coded. Because
    each assessment redraws the noise, a later mild code can follow a moderate
    one (frailty resolved).
    """
    ev = CodedRows()
    n = len(pts)
    last_seen = np.minimum(np.minimum(pts.reg_end, cal.end_day - 1), pts.death_day)
    af_day = conds.diag_day["atrial_fibrillation"]
    af = conds.has["atrial_fibrillation"]
    heart_failure = rng.random(n) < 0.15
    # Baseline score near the diagnosis (a few before it), then re-scoring.
    base = np.flatnonzero(af & (rng.random(n) < 0.8))
    early = rng.random(len(base)) < 0.05
    offset = np.where(
        early,
        -rng.integers(1, 366, len(base)),
        rng.integers(0, 29, len(base)),
    )
    bday = af_day[base] + offset
    keep = bday <= last_seen[base]
    rescored = draw_events(rng, windows, af * (1 / 18), cal)
    later = rescored.day >= af_day[rescored.owner]
    owner = np.concatenate([base[keep], rescored.owner[later]])
    day = np.concatenate([bday[keep], rescored.day[later]])
    ev.add(
        rng,
        "cha2ds2_vasc",
        owner,
        day,
        _cha2ds2_vasc(pts, conds, heart_failure, owner, day),
    )
    # Electronic frailty index categories at 65 and over.
    n_ltc = conds.count_active()
    old = (pts.age_at(cal.end_day) >= 65).astype(float)
    efi = draw_events(rng, windows, old * (0.3 + 0.1 * np.minimum(n_ltc, 4)) / 12, cal)
    o = efi.owner
    age = (efi.day - pts.dob[o]) / 365.25
    index = (
        0.035 * n_ltc[o]
        + 0.025 * np.maximum(age - 65, 0) / 5
        + 0.05 * pts.frailty[o]
        + rng.normal(0.0, 0.05, len(o))
    )
    ok = age >= 65
    mild = ok & (index >= 0.13) & (index < 0.25)
    severe = index > 0.36
    mod_sev = ok & (index >= 0.25)
    ev.add(rng, "frailty_mild", o[mild], efi.day[mild])
    ev.add(
        rng,
        "frailty_moderate_severe",
        o[mod_sev],
        efi.day[mod_sev],
        code_idx=severe[mod_sev].astype(np.int64),
    )
    return ev.table("clinical_events", pts, "snomedct_code")


def _cha2ds2_vasc(
    pts: Patients,
    conds: Conditions,
    heart_failure: BoolArray,
    owner: np.ndarray,
    day: np.ndarray,
) -> FloatArray:
    """CHA2DS2-VASc (0-9) of patient `owner` on `day` from modelled data."""
    age = (day - pts.dob[owner]) / 365.25
    score = (
        pts.female[owner].astype(np.int64)
        + heart_failure[owner]
        + np.where(age >= 75, 2, np.where(age >= 65, 1, 0))
    )
    for name, points in _SCORED_CONDITIONS:
        score = score + points * (conds.diag_day[name][owner] <= day)
    return score.astype(float)
