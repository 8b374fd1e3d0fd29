"""Medicines issued in primary care (`medications`, dm+d codes).

Each patient on a register is put on treatment for a class with a probability
that reflects typical treatment rates (e.g. statins for ~75 % of people with CHD,
stroke/TIA or diabetes aged 40+; anticoagulants for ~85 % of AF patients 65+) and
keeps one product of the class; issues are a Poisson process (~0.7 a month, 0.45
for inhalers) over the registration windows.
"""

from __future__ import annotations

import numpy as np

from carepilot.codelists import load_codelist
from carepilot.synth._coded import CodedRows
from carepilot.synth._sampling import (
    BoolArray,
    Calendar,
    FloatArray,
    Windows,
    draw_events,
    pick_codes,
)
from carepilot.synth.conditions import Conditions
from carepilot.synth.population import Patients

_MED_CLASSES: tuple[tuple[str, float], ...] = (
    ("statins", 0.7),
    ("anticoagulants", 0.7),
    ("ace_inhibitors_arbs", 0.7),
    ("antihypertensives", 0.7),
    ("inhalers", 0.45),
    ("metformin", 0.7),
    ("nice_ta_medicines", 0.7),
)


def prescribe(
    pts: Patients,
    conds: Conditions,
    windows: Windows,
    cal: Calendar,
    age: FloatArray,
    rng: np.random.Generator,
    meds: CodedRows,
) -> BoolArray:
    """Repeat prescriptions (~monthly issues) for treated patients; returns who is
    on a statin (lowers their cholesterol values)."""
    a = conds.active
    n = len(pts)
    u = rng.random((n, len(_MED_CLASSES)))
    secondary = a["chd"] | a["stroke_tia"] | (a["diabetes"] & (age >= 40))
    p = {
        "statins": np.where(
            secondary, 0.75, np.where(a["hypertension"], 0.3, 0.06 * (age >= 60))
        ),
        "anticoagulants": a["atrial_fibrillation"] * np.where(age >= 65, 0.85, 0.5),
        "ace_inhibitors_arbs": np.maximum.reduce(
            [a["hypertension"] * 0.55, a["diabetes"] * 0.4, a["ckd"] * 0.5]
        ),
        "antihypertensives": a["hypertension"] * 0.55,
        "inhalers": np.maximum(a["asthma"] * 0.75, a["copd"] * 0.9),
        "metformin": a["diabetes"] * 0.7,
        "nice_ta_medicines": a["diabetes"] * 0.18,
    }
    on_statin = np.zeros(n, dtype=bool)
    for j, (name, rate) in enumerate(_MED_CLASSES):
        on = u[:, j] < p[name]
        if name == "statins":
            on_statin = on
        e = draw_events(rng, windows, on * rate, cal)
        n_codes = len(load_codelist(name).codes)
        if name == "nice_ta_medicines":
            per_patient = np.full(n, n_codes - 1)  # empagliflozin for diabetes
        else:
            per_patient = pick_codes(rng, n_codes, n)
        meds.add(rng, name, e.owner, e.day, code_idx=per_patient[e.owner])
    return on_statin
