"""Long-term conditions: who has them, since when, and which have resolved.

Each condition's prevalence is a logistic model

    logit p = logit(p60) + b_age (age - 60) / 10 + b_dep d + b_eth[group]
              + b_sex + 0.45 frailty + comorbidity terms,

with d the deprivation score (0 = IMD decile 10, 1 = decile 1). Coefficients are
rounded from QOF 2022/23 prevalence by age and from published gradients (e.g.
type 2 diabetes ~2-3x in South Asian groups, COPD ~2x in the most deprived fifth).
Diagnosis dates are the period end minus an exponential duration (mean per
condition), never before the condition's minimum age; diagnoses that would fall
after a patient left or died are not recorded. Some codes are later resolved
(asthma 20 %, depression 35 %, hypertension 3 %, diabetes 1.5 %).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carepilot.synth._sampling import (
    BoolArray,
    Calendar,
    IntArray,
    logistic,
    logit,
)
from carepilot.synth.population import NO_DAY, Patients


@dataclass(frozen=True, slots=True)
class ConditionModel:
    """Prevalence model of one condition (see module docstring)."""

    name: str
    p60: float
    age: float
    dep: float
    eth: tuple[float, float, float, float]  # white, south_asian, black, other
    female: float
    min_age: float
    duration: float
    resolved_share: float = 0.0
    smoking: tuple[float, float] = (0.0, 0.0)  # ex, current


CONDITIONS: tuple[ConditionModel, ...] = (
    ConditionModel("obesity", 0.12, 0.05, 0.6, (0, -0.1, 0.4, 0), 0.1, 18, 8),
    ConditionModel("hypertension", 0.18, 0.55, 0.3, (0, 0.2, 0.5, 0), -0.1, 18, 12, 0.03),
    ConditionModel("diabetes", 0.05, 0.35, 0.6, (0, 1.0, 0.6, 0.3), -0.2, 18, 10, 0.015),
    ConditionModel("atrial_fibrillation", 0.02, 0.8, 0.1, (0, -0.5, -0.5, -0.3), -0.3, 30, 7),
    ConditionModel("chd", 0.018, 0.6, 0.6, (0, 0.5, -0.3, 0), -0.7, 30, 10, 0, (0.3, 0.6)),
    ConditionModel("stroke_tia", 0.011, 0.65, 0.5, (0, 0.1, 0.3, 0), -0.1, 30, 8, 0, (0.2, 0.5)),
    ConditionModel("asthma", 0.055, -0.03, 0.35, (0, 0.0, 0.0, -0.1), 0.15, 2, 15, 0.2),
    ConditionModel("copd", 0.010, 0.5, 1.1, (0, -0.5, -0.6, -0.3), 0.0, 35, 8, 0, (0.8, 1.3)),
    ConditionModel("smi", 0.006, 0.0, 0.9, (0, 0.1, 0.8, 0.2), -0.1, 16, 15),
    ConditionModel("dementia", 0.0018, 1.4, 0.2, (0, -0.1, 0.1, 0), 0.2, 50, 3),
    ConditionModel("depression", 0.12, -0.05, 0.5, (0, -0.5, -0.6, -0.3), 0.55, 18, 8, 0.35),
    ConditionModel("ckd", 0.015, 0.9, 0.3, (0, 0.3, 0.3, 0), 0.2, 18, 7),
    ConditionModel("cancer", 0.05, 0.6, 0.1, (0, -0.6, -0.3, -0.3), 0.0, 18, 5),
)  # fmt: skip

_COMORBIDITY: dict[str, tuple[tuple[str, float], ...]] = {
    "diabetes": (("obesity", 1.0),),
    "hypertension": (("obesity", 0.6),),
    "chd": (("diabetes", 0.5), ("hypertension", 0.4)),
    "stroke_tia": (("hypertension", 0.4), ("atrial_fibrillation", 0.6)),
    "ckd": (("diabetes", 0.9), ("hypertension", 0.7)),
    "depression": (("smi", 0.5),),
}
# A condition used as a risk factor must be drawn earlier in CONDITIONS.
_ORDER_INDEX = {c.name: i for i, c in enumerate(CONDITIONS)}
for _name, _deps in _COMORBIDITY.items():
    for _dep, _ in _deps:
        if _ORDER_INDEX[_dep] >= _ORDER_INDEX[_name]:  # pragma: no cover
            raise RuntimeError(f"condition {_dep} must be drawn before {_name}")


@dataclass(slots=True)
class Conditions:
    """Recorded conditions of a chunk's patients.

    `has[name]` is True when a diagnosis code is in the record (on or before the
    period end); `active[name]` excludes resolved codes; `diag_day` and
    `resolved_day` are NO_DAY when absent.
    """

    has: dict[str, BoolArray]
    active: dict[str, BoolArray]
    diag_day: dict[str, IntArray]
    resolved_day: dict[str, IntArray]

    def count_active(self) -> IntArray:
        """Number of active long-term conditions per patient (excluding obesity)."""
        total = np.zeros(len(next(iter(self.active.values()))), dtype=np.int64)
        for name, flag in self.active.items():
            if name != "obesity":
                total += flag
        return total


def draw_conditions(
    pts: Patients, cal: Calendar, rng: np.random.Generator
) -> Conditions:
    """Draw prevalent conditions, diagnosis dates and resolutions (before deaths)."""
    n = len(pts)
    age = pts.age_at(cal.end_day)
    has: dict[str, BoolArray] = {}
    active: dict[str, BoolArray] = {}
    diag_day: dict[str, IntArray] = {}
    resolved_day: dict[str, IntArray] = {}
    eth = pts.ethnic_group
    current = pts.smoking == 2
    ex = pts.smoking == 1
    for model in CONDITIONS:
        eff = (
            logit(model.p60)
            + model.age * (age - 60) / 10
            + model.dep * pts.deprivation
            + np.asarray(model.eth)[eth]
            + np.where(pts.female, model.female / 2, -model.female / 2)
            + 0.45 * pts.frailty
            + model.smoking[0] * ex
            + model.smoking[1] * current
        )
        for dep_name, coef in _COMORBIDITY.get(model.name, ()):
            if dep_name in has:
                eff = eff + coef * has[dep_name]
        p = logistic(eff) * (age >= model.min_age)
        flag = rng.random(n) < p
        earliest = pts.dob + int(model.min_age * 365.25)
        duration = np.floor(rng.exponential(model.duration, n) * 365.25).astype(
            np.int64
        )
        day = np.maximum(cal.end_day - 1 - duration, earliest)
        last_seen = np.minimum(pts.reg_end, cal.end_day - 1)
        flag &= day <= last_seen
        resolved = flag & (rng.random(n) < model.resolved_share)
        res_day = (
            day
            + 180
            + np.floor(rng.random(n) * np.maximum(last_seen - day - 180, 0)).astype(
                np.int64
            )
        )
        resolved &= res_day <= last_seen
        has[model.name] = flag
        active[model.name] = flag & ~resolved
        diag_day[model.name] = np.where(flag, day, NO_DAY)
        resolved_day[model.name] = np.where(resolved, res_day, NO_DAY)
    return Conditions(has, active, diag_day, resolved_day)


def truncate_at_death(conds: Conditions, death_day: IntArray) -> None:
    """Remove diagnoses and resolutions dated after a patient's death (in place)."""
    for name in list(conds.has):
        late = conds.diag_day[name] > death_day
        conds.has[name] = conds.has[name] & ~late
        conds.active[name] = conds.active[name] & ~late
        conds.diag_day[name] = np.where(late, NO_DAY, conds.diag_day[name])
        res_late = conds.resolved_day[name] > death_day
        unresolved = res_late & conds.has[name] & (conds.resolved_day[name] != NO_DAY)
        conds.active[name] = conds.active[name] | unresolved
        conds.resolved_day[name] = np.where(res_late, NO_DAY, conds.resolved_day[name])
