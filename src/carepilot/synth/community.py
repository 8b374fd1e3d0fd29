"""Community health services, their workforce, and adult social care packages.

Community contacts are Poisson processes per service whose rates depend on age,
frailty and conditions; the planted effect `community_contacts` multiplies them
in the pilot period (integrated care shifts activity into the community). Minutes
are lognormal around a service median; cost = minutes x cost per minute of the
staff group, 0 when not attended. `provider_workforce` WTE per provider, service
and month is the attended minutes divided by 5,360 patient-facing minutes per WTE
per month (37.5 h x 52 / 12 x 55 %), with +-5 % noise.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from carepilot.schema import categories as cat
from carepilot.synth._arrow import Cat, Masked, build_table
from carepilot.synth._sampling import Calendar, Windows, categorical, draw_events
from carepilot.synth.conditions import Conditions
from carepilot.synth.config import PilotEffects
from carepilot.synth.hospital import HospitalContext, Spells, make_ids
from carepilot.synth.organisations import Organisations
from carepilot.synth.population import NO_DAY, Patients

SERVICES: tuple[tuple[str, str, float, float, str], ...] = (
    # service, staff group, median minutes, GBP per minute, provider kind
    ("district_nursing", "Registered nurse", 30, 1.1, "community"),
    ("community_physiotherapy", "Allied health professional", 40, 0.9, "community"),
    ("podiatry", "Allied health professional", 25, 0.8, "community"),
    ("health_visiting", "Health visitor", 45, 1.0, "community"),
    ("community_mental_health", "Mental health nurse", 50, 1.1, "mental_health"),
    ("intermediate_care", "Registered nurse", 60, 1.2, "community"),
    ("speech_and_language_therapy", "Allied health professional", 45, 0.9, "community"),
)
MINUTES_PER_WTE_MONTH = 37.5 * 60 * 52 / 12 * 0.55


def community_contacts(
    pts: Patients,
    conds: Conditions,
    windows: Windows,
    orgs: Organisations,
    cal: Calendar,
    effects: PilotEffects,
    ctx: HospitalContext,
    workforce: np.ndarray,
    rng: np.random.Generator,
) -> pa.Table:
    """Build `community_contacts`; add attended minutes to `workforce[pct, service,
    month]` (in place) for `provider_workforce`."""
    a = conds.active
    age = ctx.age
    frail = np.exp(0.4 * pts.frailty + 0.2 * ctx.n_ltc)
    per_year = [
        np.where(age >= 75, 6.0, np.where(age >= 65, 1.0, 0.1)) * frail,
        np.where(age >= 65, 0.6, 0.3 * (age >= 18)) * frail,
        np.where(a["diabetes"], 1.5, 0.5 * (age >= 65)),
        np.where(age < 5, 3.0, 0.0),
        np.where(a["smi"], 8.0, 0.5 * a["depression"]),
        (age >= 75) * 0.3 * frail,
        np.where(a["stroke_tia"], 2.0, 0.3 * (age < 12)),
    ]
    mult = effects.multiplier("community_contacts")
    owners, days, svcs = [], [], []
    for s, rate in enumerate(per_year):
        e = draw_events(rng, windows, rate / 12, cal, pilot_multiplier=mult)
        owners.append(e.owner)
        days.append(e.day)
        svcs.append(np.full(len(e), s))
    owner, day, svc = np.concatenate(owners), np.concatenate(days), np.concatenate(svcs)
    order = np.argsort(owner, kind="stable")
    owner, day, svc = owner[order], day[order], svc[order]
    n = len(owner)
    median = np.asarray([s[2] for s in SERVICES], dtype=float)[svc]
    minutes = np.clip(np.round(median * np.exp(rng.normal(0, 0.35, n))), 5, 480)
    p_dna = 0.04 + 0.03 * pts.deprivation[owner]
    u = rng.random(n)
    status = np.where(u < p_dna, 1, np.where(u < p_dna + 0.04, 2, 0))
    attended = status == 0
    cost = np.where(attended, minutes * np.asarray([s[3] for s in SERVICES])[svc], 0.0)
    pct = ctx.acute[owner]
    month = cal.month_index(day)
    np.add.at(
        workforce, (pct[attended], svc[attended], month[attended]), minutes[attended]
    )
    staff_groups = sorted({s[1] for s in SERVICES})
    staff = np.asarray([staff_groups.index(s[1]) for s in SERVICES])[svc]
    mh = np.asarray([s[4] == "mental_health" for s in SERVICES])[svc]
    n_pct = len(orgs.provider_codes["community"])
    prov_codes = [
        *orgs.provider_codes["community"],
        *orgs.provider_codes["mental_health"],
    ]
    return build_table(
        "community_contacts",
        n,
        {
            "contact_id": make_ids(pts, owner),
            "patient_id": pts.patient_id[owner],
            "contact_date": day,
            "service": Cat(svc, [s[0] for s in SERVICES]),
            "staff_group": Cat(staff, staff_groups),
            "minutes": minutes.astype(np.int64),
            "attendance_status": Cat(status, cat.ATTENDANCE_STATUS),
            "cost": np.round(cost, 2),
            "provider_code": Cat(pct + n_pct * mh, prov_codes),
        },
    )


def workforce_table(
    workforce: np.ndarray, orgs: Organisations, cal: Calendar, rng: np.random.Generator
) -> pa.Table:
    """`provider_workforce` from accumulated attended minutes (all chunks)."""
    pct, svc, month = np.nonzero(workforce > 0)
    wte = workforce[pct, svc, month] / MINUTES_PER_WTE_MONTH
    wte = np.round(wte * rng.normal(1.0, 0.05, len(wte)).clip(0.8, 1.2), 2)
    mh = np.asarray([s[4] == "mental_health" for s in SERVICES])[svc]
    n_pct = len(orgs.provider_codes["community"])
    prov_codes = [
        *orgs.provider_codes["community"],
        *orgs.provider_codes["mental_health"],
    ]
    return build_table(
        "provider_workforce",
        len(pct),
        {
            "provider_code": Cat(pct + n_pct * mh, prov_codes),
            "service": Cat(svc, [s[0] for s in SERVICES]),
            "month_start": cal.month_days[month],
            "wte": wte,
        },
    )


_PACKAGE_WEEKLY = {
    "home_care": (250, 350),
    "reablement": (380, 80),
    "residential": (750, 200),
    "nursing": (1000, 250),
    "direct_payment": (250, 200),
}
_PACKAGE_DAYS = {
    "home_care": 200,
    "reablement": 42,
    "residential": 600,
    "nursing": 400,
    "direct_payment": 500,
}


def social_care(
    pts: Patients,
    conds: Conditions,
    windows: Windows,
    orgs: Organisations,
    cal: Calendar,
    ctx: HospitalContext,
    spells: Spells,
    rng: np.random.Generator,
) -> pa.Table:
    """Build `social_care_packages`: after-discharge packages (linked to the spell)
    and packages started from the community."""
    types = list(cat.SOCIAL_CARE_PACKAGE_TYPES)
    age = ctx.age
    dementia = conds.active["dementia"]
    # after discharge: 65+ emergency spells discharged alive
    alive_out = spells.emergency & (spells.discharge != NO_DAY)
    alive_out &= spells.destination != cat.DISCHARGE_DESTINATIONS.index("died")
    so = spells.owner
    p = alive_out * (age[so] >= 65) * (0.12 + 0.2 * dementia[so])
    link = np.flatnonzero(rng.random(len(so)) < p)
    to_care_home = spells.destination[link] == 1
    kind_d = categorical(rng, np.array([0.35, 0.5, 0.1, 0.05, 0.0]), len(link))
    kind_d = np.where(to_care_home, np.where(rng.random(len(link)) < 0.6, 2, 3), kind_d)
    start_d = spells.discharge[link] + rng.integers(0, 4, len(link))
    e = draw_events(
        rng, windows, (age >= 75) * 0.03 / 12 * np.exp(0.5 * pts.frailty), cal
    )
    kind_c = categorical(rng, np.array([0.55, 0.1, 0.15, 0.05, 0.15]), len(e))
    owner = np.r_[so[link], e.owner]
    start = np.r_[start_d, e.day]
    kind = np.r_[kind_d, kind_c]
    spell = np.r_[spells.spell_id[link], np.zeros(len(e), dtype=np.int64)]
    has_spell = np.r_[np.ones(len(link), bool), np.zeros(len(e), bool)]
    keep = start < np.minimum(cal.end_day, pts.death_day[owner])
    owner, start, kind, spell, has_spell = (
        x[keep] for x in (owner, start, kind, spell, has_spell)
    )
    order = np.lexsort((start, owner))
    owner, start, kind, spell, has_spell = (
        x[order] for x in (owner, start, kind, spell, has_spell)
    )
    n = len(owner)
    mean_days = np.asarray([_PACKAGE_DAYS[t] for t in types], dtype=float)[kind]
    end = start + np.ceil(rng.exponential(mean_days)).astype(np.int64)
    end = np.minimum(end, pts.death_day[owner])
    open_ = end >= cal.end_day
    wk = np.asarray([_PACKAGE_WEEKLY[t] for t in types], dtype=float)[kind]
    weekly = wk[:, 0] + wk[:, 1] * rng.random(n)
    return build_table(
        "social_care_packages",
        n,
        {
            "package_id": make_ids(pts, owner),
            "patient_id": pts.patient_id[owner],
            "start_date": start,
            "end_date": Masked(end, ~open_),
            "package_type": Cat(kind, types),
            "weekly_cost": np.round(weekly, 2),
            "after_discharge_spell_id": Masked(spell, has_spell),
        },
    )
