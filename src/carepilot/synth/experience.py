"""Patient-reported outcomes, patient experience and record access requests.

* PROMs: every elective hip/knee replacement gets an EQ-5D episode (pre 7-60 days
  before admission, post ~6 months after, 70 % returned). Hip: pre index ~0.35,
  gain ~0.45; knee: pre ~0.42, gain ~0.32 (NHS PROMs 2019/20 national means,
  rounded). Long-term-condition episodes (pre ~0.68, no average gain) carry the
  planted `ltc_eq5d_gain` for baselines in the pilot period. Deprived patients
  start lower.
* GP patient survey (January-March each year, ~2.5 % of adults a year): five
  questions answered positive / neutral / negative; positive is less likely in
  deprived areas and in some ethnic groups, better in better practices, and
  `experience_positive` adds to it in the pilot period.
* Subject access requests: ~1.2 % of adults a year; 85 % answered within 30 days,
  11 % within 31-90, 4 % outstanding.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from carepilot.synth._arrow import Cat, Masked, build_table
from carepilot.synth._sampling import (
    Calendar,
    Events,
    Windows,
    draw_events,
    logistic,
    logit,
)
from carepilot.synth.config import PilotEffects
from carepilot.synth.hospital import HospitalContext, make_ids
from carepilot.synth.organisations import Organisations
from carepilot.synth.population import Patients

QUESTIONS: tuple[tuple[str, float], ...] = (
    ("overall_experience", 0.72),
    ("ease_of_getting_through", 0.50),
    ("involved_in_decisions", 0.88),
    ("confidence_and_trust", 0.90),
    ("support_managing_conditions", 0.65),
)
_SURVEY_MONTHS = {1: 0.3, 2: 1.0, 3: 0.7}


def proms(
    pts: Patients,
    windows: Windows,
    orgs: Organisations,
    cal: Calendar,
    effects: PilotEffects,
    ctx: HospitalContext,
    joints: Events,
    rng: np.random.Generator,
) -> pa.Table:
    """Build `proms`. `joints` are hip/knee spells (`post` marks knee)."""
    ltc = draw_events(rng, windows, (ctx.n_ltc >= 1) * 0.04 / 12, cal)
    owner = np.r_[joints.owner, ltc.owner]
    n_j = len(joints)
    proc = np.r_[joints.post.astype(np.int64), np.full(len(ltc), 2)]
    pre_date = np.r_[joints.day - np.asarray(rng.integers(7, 61, n_j)), ltc.day]
    post_date = np.r_[
        joints.day + np.asarray(rng.integers(170, 200, n_j)),
        ltc.day + np.asarray(rng.integers(170, 200, len(ltc))),
    ]
    in_pilot = np.r_[np.zeros(n_j, bool), ltc.post]
    order = np.lexsort((pre_date, owner))
    owner, proc, pre_date, post_date, in_pilot = (
        x[order] for x in (owner, proc, pre_date, post_date, in_pilot)
    )
    n = len(owner)
    dep = pts.deprivation[owner]
    pre_mean = np.asarray([0.35, 0.42, 0.68])[proc] - 0.08 * dep
    gain_mean = np.asarray([0.45, 0.32, 0.0])[proc]
    gain_mean = gain_mean + effects.get("ltc_eq5d_gain") * (in_pilot & (proc == 2))
    pre = np.clip(rng.normal(pre_mean, 0.25), -0.59, 1.0)
    post = np.clip(pre + rng.normal(gain_mean, 0.2), -0.59, 1.0)
    vas_pre = np.clip(rng.normal(66 - 8 * dep, 18), 0, 100)
    vas_post = np.clip(
        vas_pre + rng.normal(np.asarray([9.0, 6.0, 1.0])[proc], 15), 0, 100
    )
    returned = (rng.random(n) < np.where(proc == 2, 0.6, 0.7)) & (
        post_date < np.minimum(cal.end_day, pts.death_day[owner])
    )
    instrument = (rng.random(n) < 0.15).astype(np.int64)
    provider = np.where(
        proc == 2,
        ctx.acute[owner] + len(orgs.provider_codes["acute"]),
        ctx.acute[owner],
    )
    codes = [*orgs.provider_codes["acute"], *orgs.provider_codes["community"]]
    return build_table(
        "proms",
        n,
        {
            "proms_id": make_ids(pts, owner),
            "patient_id": pts.patient_id[owner],
            "instrument": Cat(instrument, ("EQ-5D-5L", "EQ-5D-3L")),
            "procedure": Cat(proc, ("hip_replacement", "knee_replacement", "long_term_condition")),
            "pre_date": pre_date,
            "post_date": Masked(post_date, returned),
            "pre_eq5d_index": np.round(pre, 3),
            "post_eq5d_index": Masked(np.round(post, 3), returned),
            "pre_eq5d_vas": np.round(vas_pre),
            "post_eq5d_vas": Masked(np.round(vas_post), returned),
            "provider_code": Cat(provider, codes),
        },
    )  # fmt: skip


def patient_experience(
    pts: Patients,
    windows: Windows,
    orgs: Organisations,
    cal: Calendar,
    effects: PilotEffects,
    ctx: HospitalContext,
    rng: np.random.Generator,
) -> pa.Table:
    """Build `patient_experience` (GP patient survey answers)."""
    weight = np.asarray([_SURVEY_MONTHS.get(int(m), 0.0) for m in cal.month_of_year])
    if weight.max() == 0:
        return build_table("patient_experience", 0, {})
    rate = (ctx.age >= 16) * 0.025 / sum(_SURVEY_MONTHS.values())
    resp = draw_events(rng, windows, rate, cal, month_weight=weight)
    m = len(resp)
    n_q = len(QUESTIONS)
    owner = np.repeat(resp.owner, n_q)
    day = np.repeat(resp.day, n_q)
    post = np.repeat(resp.post, n_q)
    practice = np.repeat(resp.practice, n_q)
    q = np.tile(np.arange(n_q), m)
    keep = (q != n_q - 1) | (ctx.n_ltc[owner] > 0)
    owner, day, post, practice, q = (x[keep] for x in (owner, day, post, practice, q))
    n = len(owner)
    base = np.asarray([logit(b) for _, b in QUESTIONS])[q]
    p_pos = logistic(
        base - 0.6 * (pts.deprivation[owner] - 0.5) - 0.2 * (pts.ethnic_group[owner] != 0)
        + 0.6 * orgs.quality_re[practice]
    ) + effects.get("experience_positive") * post  # fmt: skip
    u = rng.random(n)
    p_pos = np.clip(p_pos, 0, 1)
    response = np.where(u < p_pos, 0, np.where(u < p_pos + (1 - p_pos) * 0.45, 1, 2))
    return build_table(
        "patient_experience",
        n,
        {
            "response_id": make_ids(pts, owner),
            "patient_id": pts.patient_id[owner],
            "survey": Cat(np.zeros(n, np.int64), ("gpps",)),
            "survey_date": day,
            "question": Cat(q, [x for x, _ in QUESTIONS]),
            "response": Cat(response, ("positive", "neutral", "negative")),
            "provider_code": Cat(practice, orgs.practice_code),
        },
    )


def record_access_requests(
    pts: Patients,
    windows: Windows,
    orgs: Organisations,
    cal: Calendar,
    ctx: HospitalContext,
    rng: np.random.Generator,
) -> pa.Table:
    """Build `record_access_requests` (subject access requests to the practice)."""
    e = draw_events(rng, windows, (ctx.age >= 16) * 0.012 / 12, cal)
    n = len(e)
    u = rng.random(n)
    delay = np.where(
        u < 0.85,
        rng.integers(1, 31, n),
        np.where(u < 0.96, rng.integers(31, 91, n), -1),
    )
    resp = e.day + delay
    answered = (delay > 0) & (resp < cal.end_day)
    return build_table(
        "record_access_requests",
        n,
        {
            "request_id": make_ids(pts, e.owner),
            "patient_id": pts.patient_id[e.owner],
            "request_date": e.day,
            "response_date": Masked(resp, answered),
            "provider_code": Cat(e.practice, orgs.practice_code),
        },
    )
