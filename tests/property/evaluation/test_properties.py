"""Hypothesis properties of the evaluation estimators."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from carepilot.evaluation import balance_table, callaway_santanna, did_2x2
from carepilot.evaluation._simplex import simplex_lstsq
from carepilot.evaluation.results import Effect

finite = st.floats(-100, 100, allow_nan=False, allow_infinity=False)


def _two_by_two(values: np.ndarray) -> pd.DataFrame:
    n = len(values)
    return pd.DataFrame(
        {"y": values, "g": np.arange(n) % 2, "p": (np.arange(n) // 2) % 2}
    )


@given(
    arrays(float, st.integers(8, 40), elements=finite),
    finite,
    finite,
    st.floats(0.1, 10),
)
def test_did_invariant_to_group_and_period_shifts(values, a, b, scale):
    df = _two_by_two(values)
    base = did_2x2(df, outcome="y", group="g", post="p").headline.estimate
    shifted = df.assign(y=scale * df.y + a * df.g + b * df.p)
    assert np.isclose(
        did_2x2(shifted, outcome="y", group="g", post="p").headline.estimate,
        scale * base,
        atol=1e-6 * (1 + abs(base) * scale),
    )


@given(
    arrays(
        float,
        st.tuples(st.integers(3, 12), st.integers(2, 8)),
        elements=st.floats(-10, 10),
    ),
    arrays(float, 12, elements=st.floats(-10, 10)),
)
def test_simplex_weights_are_feasible_and_beat_vertices(a, b_full):
    b = b_full[: a.shape[0]]
    w = simplex_lstsq(a, b)
    assert np.all(w >= -1e-12) and np.isclose(w.sum(), 1.0)
    obj = np.sum((a @ w - b) ** 2)
    vertices = [np.sum((a[:, j] - b) ** 2) for j in range(a.shape[1])]
    assert obj <= min(vertices) + 1e-6 * (1 + min(vertices))


@given(finite, st.floats(0, 50, allow_nan=False))
def test_wald_interval_contains_estimate(est, se):
    e = Effect.from_normal("x", est, se)
    assert e.ci_low <= est <= e.ci_high
    assert np.isclose(e.ci_high - e.ci_low, 2 * 1.959963984540054 * se)


@given(arrays(float, st.integers(6, 30), elements=finite))
def test_smd_flips_sign_with_labels(x):
    t = np.arange(len(x)) % 2
    df = pd.DataFrame({"x": x, "t": t})
    a = balance_table(df, treatment="t", covariates=["x"])["smd_before"].iloc[0]
    b = balance_table(df.assign(t=1 - t), treatment="t", covariates=["x"])[
        "smd_before"
    ].iloc[0]
    assert np.isclose(a, -b)


@settings(max_examples=10)
@given(st.integers(0, 10_000), arrays(float, 12, elements=st.floats(-50, 50)))
def test_cs_att_invariant_to_unit_fixed_effects(seed, unit_shift):
    rng = np.random.default_rng(seed)
    rows = []
    cohorts = [0, 0, 0, 0, 3, 3, 3, 3, 4, 4, 4, 4]
    for i, g in enumerate(cohorts):
        for t in range(1, 6):
            rows.append(
                {
                    "u": i,
                    "t": t,
                    "g": g,
                    "y": rng.normal() + (1.0 if g and t >= g else 0.0),
                }
            )
    df = pd.DataFrame(rows)
    base = callaway_santanna(df, unit="u", time="t", outcome="y", first_treated="g")
    moved = callaway_santanna(
        df.assign(y=df.y + unit_shift[df.u]),
        unit="u",
        time="t",
        outcome="y",
        first_treated="g",
    )
    assert np.allclose(
        base.tables["att_gt"]["att"], moved.tables["att_gt"]["att"], atol=1e-8
    )
