"""Poisson imputation rate ratio: exact on noiseless data, calibrated on noisy data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carepilot.errors import InputDataError, InsufficientDataError
from carepilot.evaluation import poisson_imputation


def _panel(
    seed: int, *, effect: float, pop: float, n: int = 24, periods: int = 12,
    noise: bool = True,
) -> pd.DataFrame:  # fmt: skip
    rng = np.random.default_rng(seed)
    first = np.zeros(n, dtype=int)
    first[:8] = rng.choice([5, 6, 7, 8], 8)
    size = np.exp(rng.normal(np.log(pop), 0.5, n))
    unit_fe = rng.normal(0, 0.2, n)
    period_fe = np.log(
        1 + 0.1 * np.cos(np.arange(periods) * np.pi / 2)
    ) + 0.01 * np.arange(periods)
    rows = []
    for i in range(n):
        for t in range(1, periods + 1):
            d = first[i] > 0 and t >= first[i]
            mu = (
                size[i]
                * 0.03
                * np.exp(unit_fe[i] + period_fe[t - 1])
                * (1 + effect * d)
            )
            y = rng.poisson(mu) if noise else mu
            rows.append((f"P{i}", t, float(y), size[i], first[i]))
    return pd.DataFrame(rows, columns=["unit", "t", "y", "n", "g"])


def _fit(panel: pd.DataFrame):  # noqa: ANN202 - test helper
    return poisson_imputation(
        panel, unit="unit", time="t", count="y", exposure="n", first_treated="g"
    )


def test_noiseless_multiplicative_effect_is_recovered_exactly() -> None:
    res = _fit(_panel(1, effect=-0.08, pop=1000, noise=False))
    assert res.headline.name == "rate_ratio"
    assert res.headline.scale == "ratio"
    assert res.headline.estimate == pytest.approx(0.92, abs=1e-8)
    assert res.effect("relative").estimate == pytest.approx(-0.08, abs=1e-8)
    events = res.tables["event_study"]
    assert np.allclose(events["estimate"], 0.92, atol=1e-8)
    assert res.details["observed_treated_events"] == pytest.approx(
        0.92 * res.details["imputed_untreated_events"]
    )


def test_unbiased_with_nominal_coverage_and_size_on_small_counts() -> None:
    """~6 events per practice-period: the regime where ATT/(post - ATT) was biased."""
    for truth in (-0.08, 0.0):
        est, covers, reject = [], [], []
        for seed in range(150):
            rel = _fit(_panel(seed, effect=truth, pop=200)).effect("relative")
            est.append(rel.estimate)
            covers.append(rel.ci_low <= truth <= rel.ci_high)  # type: ignore[operator]
            reject.append(rel.p_value < 0.05)  # type: ignore[operator]
        arr = np.array(est)
        mc_se = arr.std(ddof=1) / np.sqrt(len(arr))
        assert abs(arr.mean() - truth) <= 2.5 * mc_se + 0.005, (
            truth,
            arr.mean(),
            mc_se,
        )
        assert np.mean(covers) >= 0.9, truth
        if truth == 0.0:
            assert np.mean(reject) <= 0.1


def test_large_population_gives_a_tight_interval_around_the_truth() -> None:
    rel = _fit(_panel(3, effect=-0.08, pop=20_000)).effect("relative")
    assert rel.estimate == pytest.approx(-0.08, abs=0.015)
    assert rel.ci_high - rel.ci_low < 0.06  # type: ignore[operator]


def test_bad_counts_and_exposures_are_named() -> None:
    panel = _panel(1, effect=0.0, pop=200)
    bad = panel.assign(y=panel["y"].where(panel.index != 5, -1.0))
    with pytest.raises(
        InputDataError, match="'y' must hold non-negative event counts; row 5"
    ):
        _fit(bad)
    bad = panel.assign(n=panel["n"].where(panel.index != 7, 0.0))
    with pytest.raises(
        InputDataError, match="'n' must be a positive population at risk; row 7"
    ):
        _fit(bad)
    with pytest.raises(InputDataError, match="duplicate 'unit' x 't'"):
        _fit(pd.concat([panel, panel.iloc[[0]]]))
    with pytest.raises(InsufficientDataError, match="no treated unit-period"):
        _fit(panel.assign(g=0))


def test_treated_unit_without_pre_period_events_is_left_out_with_a_note() -> None:
    panel = _panel(2, effect=0.0, pop=200)
    treated_unit = panel.loc[panel["g"] > 0, "unit"].iloc[0]
    first = int(panel.loc[panel["unit"] == treated_unit, "g"].iloc[0])
    pre = (panel["unit"] == treated_unit) & (panel["t"] < first)
    res = _fit(panel.assign(y=panel["y"].where(~pre, 0.0)))
    assert any(
        "no events before their start" in n and treated_unit in n for n in res.notes
    )
    assert res.n_treated == 7
