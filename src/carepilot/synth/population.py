"""Patients: demographics, protected characteristics, deprivation and registrations.

Distributions (all vectorised, per chunk):

* age: ONS mid-2021 England 5-year bands, uniform within band; deprived practices
  are younger (part of their over-60s are redrawn). Sex: female share rises from
  49 % below 60 to ~61 % at 90+.
* IMD decile: a latent deprivation = 0.75 x practice deprivation + 0.66 x noise, cut
  at standard-normal deciles (1 = most deprived), so deciles are ~uniform nationally
  with a strong gradient between practices.
* LSOA: 4 LSOAs per (practice, decile); each LSOA has one decile and one
  rural/urban class (rural share per practice, higher in less deprived areas).
* ethnicity: a mix of a "white-majority area" and a "diverse urban area"
  distribution of the 19 ONS 2021 groups, weighted by the practice's diversity;
  5 % Not stated. Religion is drawn conditional on ethnicity (ONS 2021 cross-tabs,
  rounded). Disability rises with age and deprivation; sexual orientation and
  gender identity follow ONS 2021 census shares for 16+ (children Not stated).
* registrations: 77 % registered throughout, 10 % join in the period (a third of
  them newborns), 8 % leave, 5 % move to another practice of the same PCN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from carepilot.schema import categories as cat
from carepilot.synth._sampling import (
    BoolArray,
    Calendar,
    FloatArray,
    IntArray,
    categorical,
    logistic,
    logit,
)
from carepilot.synth.organisations import Organisations

AGE_BANDS = np.array(
    [5.4, 6.0, 6.1, 5.7, 6.0, 6.6, 6.9, 6.7, 6.3, 6.3, 6.8, 6.6, 5.8, 5.0, 5.0, 3.7,
     2.5, 1.5, 0.9]
)  # fmt: skip
"""Share (%) of England's population in 0-4, 5-9, ..., 85-89, 90+ (ONS mid-2021)."""

_WHITE_MIX = np.array(
    [0.880, 0.008, 0.002, 0.001, 0.045, 0.007, 0.003, 0.006, 0.005, 0.008, 0.005,
     0.002, 0.004, 0.004, 0.005, 0.003, 0.001, 0.002, 0.004]
)  # fmt: skip
_DIVERSE_MIX = np.array(
    [0.380, 0.012, 0.002, 0.004, 0.120, 0.020, 0.012, 0.015, 0.020, 0.080, 0.080,
     0.050, 0.015, 0.040, 0.070, 0.035, 0.015, 0.012, 0.030]
)  # fmt: skip
ETHNIC_GROUP_NAMES = ("white", "south_asian", "black", "other")
# ONS 2021 category index (0-18) -> coarse group used by clinical risk models.
_ETH_TO_GROUP = np.array([0, 0, 0, 0, 0, 3, 3, 3, 3, 1, 1, 1, 3, 3, 2, 2, 2, 3, 3, 3])
# Religion by ethnicity row: No religion, Christian, Buddhist, Hindu, Jewish, Muslim,
# Sikh, Other, Not stated.
_RELIGION_BY_ROW = np.array(
    [
        [0.40, 0.51, 0.003, 0.0, 0.006, 0.002, 0.0, 0.012, 0.067],  # White British
        [0.30, 0.55, 0.005, 0.002, 0.02, 0.05, 0.0, 0.01, 0.063],  # Other White
        [0.42, 0.33, 0.01, 0.02, 0.01, 0.10, 0.01, 0.02, 0.08],  # Mixed
        [0.05, 0.03, 0.005, 0.44, 0.0, 0.14, 0.25, 0.02, 0.065],  # Indian
        [0.02, 0.01, 0.0, 0.002, 0.0, 0.92, 0.002, 0.005, 0.041],  # Pak/Bangladeshi
        [0.35, 0.20, 0.15, 0.10, 0.0, 0.12, 0.01, 0.02, 0.05],  # Chinese/other Asian
        [0.08, 0.62, 0.002, 0.003, 0.0, 0.23, 0.0, 0.01, 0.055],  # Black
        [0.12, 0.20, 0.02, 0.02, 0.01, 0.52, 0.01, 0.04, 0.05],  # Arab/other
        [0.30, 0.30, 0.01, 0.02, 0.005, 0.05, 0.01, 0.01, 0.295],  # Not stated
    ]
)
_ETH_TO_RELIGION_ROW = np.array(
    [0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 4, 4, 5, 5, 6, 6, 6, 7, 7, 8]
)
_SEXUAL_ORIENTATION_P = np.array([0.891, 0.015, 0.013, 0.003, 0.078])
_GENDER_IDENTITY_P = np.array([0.935, 0.005, 0.060])

REG_STABLE, REG_JOINER, REG_LEAVER, REG_MOVER = 0, 1, 2, 3
NO_DAY = np.iinfo(np.int32).max
"""Sentinel day meaning "never" (no end date / no death)."""


@dataclass(slots=True)
class Patients:
    """Patient-level arrays of one chunk (index = position in the chunk)."""

    patient_id: IntArray
    practice: IntArray
    dob: IntArray
    sex: IntArray
    female: BoolArray
    ethnicity: IntArray
    ethnic_group: IntArray
    religion: IntArray
    disability: IntArray
    sexual_orientation: IntArray
    gender_identity: IntArray
    imd_decile: IntArray
    deprivation: FloatArray
    lsoa: IntArray
    rural_urban: IntArray
    frailty: FloatArray
    smoking: IntArray
    reg_kind: IntArray
    reg_start: IntArray
    reg_end: IntArray
    move_day: IntArray
    new_practice: IntArray
    death_day: IntArray

    def __len__(self) -> int:
        return len(self.patient_id)

    def age_at(self, day: IntArray | int) -> FloatArray:
        """Age in years on `day` (per patient, or per event with `dob[owner]`)."""
        return (np.asarray(day) - self.dob) / 365.25


def build_patients(
    first_id: int,
    n: int,
    orgs: Organisations,
    cal: Calendar,
    rng: np.random.Generator,
) -> Patients:
    """Generate `n` patients with ids `first_id ...`: demographics and registrations."""
    practice = categorical(rng, orgs.list_weight, n)
    pdep = orgs.deprivation[practice]
    age = _draw_age(rng, n, pdep)
    female_p = 0.49 + 0.12 * np.clip((age - 60) / 30, 0, 1)
    u = rng.random(n)
    sex = np.where(u < female_p, 0, 1)
    sex = np.where(u > 0.9995, np.where(u > 0.9999, 2, 3), sex)

    latent = 0.75 * pdep + 0.66 * rng.normal(0.0, 1.0, n)
    cuts = ndtri(np.arange(1, 10) / 10)
    imd_decile = 10 - np.searchsorted(cuts, latent)
    deprivation = (10 - imd_decile) / 9.0
    lsoa = practice * 40 + (imd_decile - 1) * 4 + rng.integers(0, 4, n)
    lsoa_u = ((lsoa * 2654435761) % 4294967296) / 4294967296.0
    rural_urban = np.where(lsoa_u < orgs.rural_share[practice], 1, 0)
    rural_urban[rng.random(n) < 0.005] = 2

    ethnicity = _draw_ethnicity(rng, n, orgs.diversity[practice])
    religion = categorical(rng, _RELIGION_BY_ROW[_ETH_TO_RELIGION_ROW[ethnicity]])
    reg_kind, reg_start, reg_end, move_day, dob, new_practice = _draw_registrations(
        rng, n, age, cal, practice, orgs
    )
    age_now = (cal.start_day - dob) / 365.25
    adult = age_now >= 16
    disability = np.where(
        rng.random(n) < logistic(-2.3 + 0.035 * (age_now - 40) + 0.5 * deprivation),
        0,
        1,
    )
    disability[rng.random(n) < 0.04] = 2
    sexual_orientation = np.where(adult, categorical(rng, _SEXUAL_ORIENTATION_P, n), 4)
    gender_identity = np.where(adult, categorical(rng, _GENDER_IDENTITY_P, n), 2)
    smoking = _draw_smoking(rng, age_now, deprivation, ethnicity)
    return Patients(
        patient_id=np.arange(first_id, first_id + n, dtype=np.int64),
        practice=practice,
        dob=dob,
        sex=sex,
        female=sex == 0,
        ethnicity=ethnicity,
        ethnic_group=_ETH_TO_GROUP[ethnicity],
        religion=religion,
        disability=disability,
        sexual_orientation=sexual_orientation,
        gender_identity=gender_identity,
        imd_decile=imd_decile.astype(np.int64),
        deprivation=deprivation,
        lsoa=lsoa,
        rural_urban=rural_urban,
        frailty=rng.normal(0.0, 1.0, n),
        smoking=smoking,
        reg_kind=reg_kind,
        reg_start=reg_start,
        reg_end=reg_end,
        move_day=move_day,
        new_practice=new_practice,
        death_day=np.full(n, NO_DAY, dtype=np.int64),
    )


def _draw_age(rng: np.random.Generator, n: int, pdep: FloatArray) -> FloatArray:
    band = categorical(rng, AGE_BANDS, n)
    width = np.where(band == len(AGE_BANDS) - 1, 12.0, 5.0)
    age = band * 5.0 + rng.random(n) * width
    redraw = (age >= 60) & (rng.random(n) < np.clip(0.15 * pdep, 0.0, 0.35))
    young = categorical(rng, AGE_BANDS[:12], int(redraw.sum()))
    age[redraw] = young * 5.0 + rng.random(int(redraw.sum())) * 5.0
    return age


def _draw_ethnicity(
    rng: np.random.Generator, n: int, diversity: FloatArray
) -> IntArray:
    diverse = rng.random(n) < diversity
    eth = np.empty(n, dtype=np.int64)
    eth[diverse] = categorical(rng, _DIVERSE_MIX, int(diverse.sum()))
    eth[~diverse] = categorical(rng, _WHITE_MIX, int((~diverse).sum()))
    eth[rng.random(n) < 0.05] = len(cat.ETHNICITY_2021) - 1
    return eth


def _draw_smoking(
    rng: np.random.Generator,
    age: FloatArray,
    deprivation: FloatArray,
    ethnicity: IntArray,
) -> IntArray:
    """0 never, 1 ex, 2 current, -1 under 16 (no status recorded)."""
    p_current = logistic(
        logit(0.13) + 1.3 * (deprivation - 0.5) - 0.012 * (age - 45)
        - 0.6 * (_ETH_TO_GROUP[ethnicity] == 1)
    )  # fmt: skip
    p_ex = np.clip(0.05 + 0.006 * (age - 16), 0.05, 0.45)
    u = rng.random(len(age))
    status = np.where(u < p_current, 2, np.where(u < p_current + p_ex, 1, 0))
    return np.where(age < 16, -1, status)


def _draw_registrations(
    rng: np.random.Generator,
    n: int,
    age: FloatArray,
    cal: Calendar,
    practice: IntArray,
    orgs: Organisations,
) -> tuple[IntArray, IntArray, IntArray, IntArray, IntArray, IntArray]:
    """Registration pattern, first start, last end, move day, date of birth and the
    practice moved to (movers only; else the same practice)."""
    s, e = cal.start_day, cal.end_day
    kind = categorical(rng, np.array([0.77, 0.10, 0.08, 0.05]), n)
    birth = (kind == REG_JOINER) & (rng.random(n) < 0.33)
    dob_raw = s - np.floor(age * 365.25).astype(np.int64)
    dob_raw = np.where(birth, s + rng.integers(0, e - s, n), dob_raw)
    dob = (
        dob_raw.astype("datetime64[D]").astype("datetime64[M]").astype("datetime64[D]")
    ).astype(np.int64)
    historic = s - np.floor(rng.exponential(12.0, n) * 365.25).astype(np.int64)
    start = np.maximum(historic, dob)
    joined = s + rng.integers(0, e - s, n)
    start = np.where(kind == REG_JOINER, np.maximum(joined, dob), start)
    start = np.where(birth, dob + rng.integers(0, 42, n), start)
    start = np.minimum(start, e - 1)
    end = np.full(n, NO_DAY, dtype=np.int64)
    leave = np.maximum(start, s) + np.floor(
        rng.random(n) * (e - np.maximum(start, s))
    ).astype(np.int64)
    end = np.where(kind == REG_LEAVER, leave, end)
    move = np.where(kind == REG_MOVER, s + 1 + rng.integers(0, e - s - 1, n), NO_DAY)
    # movers go to another practice of the same PCN (a random one; may be itself
    # in a single-practice PCN, which still records two registrations)
    pcn = orgs.pcn[practice]
    pcn_first = np.searchsorted(orgs.pcn, pcn, side="left")
    pcn_size = np.searchsorted(orgs.pcn, pcn, side="right") - pcn_first
    shift = 1 + rng.integers(0, np.maximum(pcn_size - 1, 1))
    new_practice = pcn_first + (practice - pcn_first + shift) % pcn_size
    new_practice = np.where(kind == REG_MOVER, new_practice, practice)
    return kind, start, end, move, dob, new_practice
