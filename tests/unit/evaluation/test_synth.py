"""Synthetic control / synthetic DiD: Arkhangelsky et al. (2021) Prop 99 oracle."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carepilot.errors import InputDataError, InsufficientDataError
from carepilot.evaluation import synthetic_control, synthetic_did

KW = dict(unit="State", time="Year", outcome="PacksPerCapita", treated="treated")


@pytest.mark.parametrize(
    ("estimator", "tol_key"),
    [
        ("did", "did_abs"),
        ("sc", "sc_abs_if_synthdid_frank_wolfe"),
        ("sdid", "sdid_abs_if_synthdid_frank_wolfe"),
    ],
)
def test_synthdid_estimates_match_published(prop99, estimator, tol_key):
    data, ref = prop99
    res = synthetic_did(data, **KW, estimator=estimator, placebo_se=False)
    assert res.headline.estimate == pytest.approx(
        ref["estimates"][estimator]["published"], abs=ref["tolerance"][tol_key]
    )


def test_sdid_weights_match_reproduction(prop99):
    data, ref = prop99
    res = synthetic_did(data, **KW, estimator="sdid", placebo_se=False)
    tol = ref["tolerance"]["weights_abs"]
    uw = res.tables["unit_weights"].set_index("unit")["weight"]
    for state, w in ref["estimates"]["sdid"]["reproduced_unit_weights"].items():
        assert uw[state] == pytest.approx(w, abs=tol), state
    tw = res.tables["time_weights"].set_index("time")["weight"]
    for year, w in ref["estimates"]["sdid"]["reproduced_time_weights"].items():
        assert tw[int(year)] == pytest.approx(w, abs=tol), year


def test_exact_synthetic_control_and_placebo(prop99):
    data, ref = prop99
    exact = ref["estimates"]["sc"]["exact_simplex_least_squares"]
    res = synthetic_control(data, **KW)
    assert res.headline.estimate == pytest.approx(exact["reproduced"], abs=1e-3)
    w = res.tables["weights"].set_index("unit")["weight"]
    for state, v in exact["weights"].items():
        assert w[state] == pytest.approx(v, abs=ref["tolerance"]["weights_abs"])
    assert w.sum() == pytest.approx(1.0) and (w >= 0).all()
    # California has the largest post/pre RMSPE ratio or close to it: small p
    placebo = res.tables["placebo"]
    assert len(placebo) == 39
    assert res.headline.p_value == pytest.approx(
        (placebo["ratio"] >= placebo["ratio"].iloc[0]).mean()
    )
    assert res.headline.p_value <= 0.1


def test_synthdid_solver_in_synthetic_control(prop99):
    data, ref = prop99
    res = synthetic_control(data, **KW, solver="synthdid", placebo=False)
    assert res.headline.estimate == pytest.approx(
        ref["estimates"]["sc"]["published"],
        abs=ref["tolerance"]["sc_abs_if_synthdid_frank_wolfe"],
    )


def test_predictors_with_v_weights():
    rng = np.random.default_rng(3)
    rows = []
    for u in range(12):
        level = 10.0 if u == 0 else rng.normal(10, 2)
        for t in range(10):
            rows.append(
                {
                    "u": u,
                    "t": t,
                    "y": level
                    + 0.5 * t
                    + rng.normal(0, 0.1)
                    + (3.0 if u == 0 and t >= 7 else 0.0),
                    "x": level + rng.normal(0, 0.1),
                    "d": int(u == 0 and t >= 7),
                }
            )
    df = pd.DataFrame(rows)
    res = synthetic_control(
        df,
        unit="u",
        time="t",
        outcome="y",
        treated="d",
        predictors=["x", "y"],
        placebo=False,
    )
    assert sum(res.details["v_weights"].values()) == pytest.approx(1.0)
    assert res.headline.estimate == pytest.approx(3.0, abs=0.6)


def test_placebo_se_for_sdid(prop99):
    data, _ = prop99
    res = synthetic_did(
        data[data.State.isin(sorted(data.State.unique())[:12] + ["California"])],
        **KW,
        estimator="did",
    )
    assert res.headline.se is not None and res.headline.se > 0


def test_too_few_donors(prop99):
    data, _ = prop99
    with pytest.raises(InsufficientDataError, match="donor"):
        synthetic_control(data[data.State.isin(["California", "Utah"])], **KW)


def test_treated_from_start(prop99):
    data, _ = prop99
    data = data.assign(treated=np.where(data.State == "California", 1, 0))
    with pytest.raises(InsufficientDataError, match="pre-intervention"):
        synthetic_control(data, **KW)


def test_staggered_starts_rejected(prop99):
    data, _ = prop99
    data = data.assign(
        treated=np.where((data.State == "Utah") & (data.Year >= 1995), 1, data.treated)
    )
    with pytest.raises(InputDataError, match="different times"):
        synthetic_did(data, **KW)


def test_gaps_rejected(prop99):
    data, _ = prop99
    with pytest.raises(InputDataError, match="balanced"):
        synthetic_control(data.iloc[5:], **KW)
