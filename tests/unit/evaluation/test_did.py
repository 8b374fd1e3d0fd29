"""2x2 DiD and TWFE: Card & Krueger (1994) and Prop 99 oracles, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carepilot.errors import InputDataError, InsufficientDataError
from carepilot.evaluation import did_2x2, twfe


@pytest.mark.parametrize("index", [0, 1, 2])
def test_card_krueger_did_regressions(card_krueger, index):
    data, ref = card_krueger
    spec = ref["estimates"][index]
    res = did_2x2(
        data, outcome="fte", group="nj", post="d", covariates=spec["controls"]
    )
    tol = ref["tolerance"]
    assert res.n_obs == spec["nobs"]
    assert res.headline.estimate == pytest.approx(
        spec["published_estimate"], abs=tol["estimate_abs"]
    )
    assert res.headline.estimate == pytest.approx(spec["reproduced_estimate"], abs=1e-5)
    assert res.headline.se == pytest.approx(
        spec["reproduced_se_ols"], abs=tol["se_abs"]
    )
    if spec["published_se"] is not None:
        assert res.headline.se == pytest.approx(spec["published_se"], abs=tol["se_abs"])


def test_card_krueger_hc1_and_cell_means(card_krueger):
    data, ref = card_krueger
    res = did_2x2(data, outcome="fte", group="nj", post="d", se_type="hc1")
    assert res.headline.se == pytest.approx(
        ref["estimates"][0]["reproduced_se_hc1"], abs=1e-4
    )
    cells = ref["cell_means_fte"]
    assert res.details["cell_means"]["treated_pre"] == pytest.approx(
        cells["NJ_before"], abs=1e-5
    )
    assert res.details["cell_means"]["comparison_post"] == pytest.approx(
        cells["PA_after"], abs=1e-5
    )
    assert any("dropped 26" in n for n in res.notes)


def test_twfe_equals_did_of_means_on_prop99(prop99):
    data, ref = prop99
    res = twfe(
        data, unit="State", time="Year", outcome="PacksPerCapita", treated="treated"
    )
    assert res.headline.estimate == pytest.approx(
        ref["estimates"]["did"]["published"], abs=ref["tolerance"]["did_abs"]
    )
    assert res.headline.se is not None and res.headline.se > 0
    assert res.n_units == 39


def test_twfe_cluster_column_and_covariate(prop99):
    data, _ = prop99
    data = data.assign(
        region=data["State"].str[0], trend=data["Year"] - 1970.0 + np.sin(data.index)
    )
    res = twfe(
        data,
        unit="State",
        time="Year",
        outcome="PacksPerCapita",
        treated="treated",
        covariates=["trend"],
        cluster="region",
    )
    assert res.details["cluster"] == "region"
    assert np.isfinite(res.headline.estimate)


def test_missing_column_is_named(card_krueger):
    data, _ = card_krueger
    with pytest.raises(InputDataError, match="'nope'"):
        did_2x2(data, outcome="nope", group="nj", post="d")


def test_collinear_covariates_are_named(card_krueger):
    data, _ = card_krueger
    data = data.assign(kfc2=data["kfc"] * 2)
    with pytest.raises(InputDataError, match="collinear.*kfc"):
        did_2x2(data, outcome="fte", group="nj", post="d", covariates=["kfc", "kfc2"])


def test_empty_cell_is_insufficient(card_krueger):
    data, _ = card_krueger
    with pytest.raises(InsufficientDataError, match="treated group, pre period"):
        did_2x2(
            data[~((data.nj == 1) & (data.d == 0))], outcome="fte", group="nj", post="d"
        )


def test_non_binary_flag_rejected(card_krueger):
    data, _ = card_krueger
    with pytest.raises(InputDataError, match="0/1"):
        did_2x2(data.assign(nj=data.nj * 2), outcome="fte", group="nj", post="d")


def _panel(n_units=6, n_t=4, start=2, treated_units=(0, 1)):
    rows = []
    for u in range(n_units):
        for t in range(n_t):
            rows.append(
                {
                    "u": u,
                    "t": t,
                    "y": u + t + (2.0 if (u in treated_units and t >= start) else 0.0),
                    "d": int(u in treated_units and t >= start),
                }
            )
    return pd.DataFrame(rows)


def test_twfe_recovers_exact_effect_without_noise():
    res = twfe(_panel(), unit="u", time="t", outcome="y", treated="d")
    assert res.headline.estimate == pytest.approx(2.0, abs=1e-9)


def test_twfe_treated_from_start_has_no_pre_period():
    with pytest.raises(InsufficientDataError, match="no pre-period"):
        twfe(_panel(start=0), unit="u", time="t", outcome="y", treated="d")


def test_twfe_needs_comparators():
    with pytest.raises(InsufficientDataError, match="comparison"):
        twfe(
            _panel(treated_units=range(6)), unit="u", time="t", outcome="y", treated="d"
        )


def test_twfe_duplicate_rows():
    p = _panel()
    with pytest.raises(InputDataError, match="duplicate"):
        twfe(pd.concat([p, p.head(1)]), unit="u", time="t", outcome="y", treated="d")


def test_twfe_treatment_absorbed_by_fixed_effects_is_explained():
    """Treated unit observed only after its start: d is its unit dummy."""
    p = _panel(treated_units=(0,))
    p = p[(p.u != 0) | (p.t >= 2)]
    with pytest.raises(InsufficientDataError, match="absorbed by the unit and period"):
        twfe(p, unit="u", time="t", outcome="y", treated="d")
