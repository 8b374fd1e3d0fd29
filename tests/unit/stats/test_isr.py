from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carepilot.stats.isr import calculate_isr, indirectly_standardised_ratio

from .conftest import assert_close

LIMITS = ["lower95_0cl", "upper95_0cl", "lower99_8cl", "upper99_8cl"]


def _check(out: pd.DataFrame, exp: pd.DataFrame) -> None:
    merged = exp.merge(out, on="area", suffixes=("_exp", ""), validate="one_to_one")
    assert len(merged) == len(exp) > 0
    cols = ["observed", "expected", "value", *LIMITS]
    if "ref_rate" in out:
        cols.append("ref_rate")
    for col in cols:
        if col not in out:
            continue
        present = merged[f"{col}_exp"].notna()
        assert_close(merged.loc[present, col], merged.loc[present, f"{col}_exp"])
    assert (merged["statistic"] == merged["statistic_exp"]).all()
    assert (merged["method"] == merged["method_exp"]).all()


@pytest.mark.parametrize("how", ["vector", "field", "observed_totals"])
def test_isr_multiarea_oracle(phe_oracles: Path, how: str) -> None:
    folder = phe_oracles / "calculate_ISR"
    data = pd.read_csv(folder / "input_multiarea.csv")
    ref = pd.read_csv(folder / "reference_population.csv")
    totals = pd.read_csv(folder / "observed_totals.csv")
    expected = pd.read_csv(folder / "expected.csv")
    expected = expected[expected["input_file"] == "input_multiarea.csv"]
    x_ref = "refcount" if how == "field" else ref["refcount"].tolist()
    n_ref = "refpop" if how == "field" else ref["refpop"].tolist()
    x = "total_count" if how == "observed_totals" else "count"
    obs = totals if how == "observed_totals" else None
    for row_fn, kind in [("calculate_ISRate", "rate"), ("calculate_ISRatio", "ratio")]:
        exp_fn = expected[expected["function"] == row_fn]
        for scale, exp in exp_fn.groupby("multiplier_or_refvalue"):
            out = calculate_isr(
                data,
                x,
                "pop",
                x_ref,
                n_ref,
                kind=kind,
                group_by="area",
                observed_totals=obs,
                refvalue=float(scale),
                multiplier=float(scale),
            )
            _check(out, exp)


def test_isr_zero_population_oracle(phe_oracles: Path) -> None:
    folder = phe_oracles / "calculate_ISR"
    data = pd.read_csv(folder / "input_zero_population.csv")
    ref = pd.read_csv(folder / "reference_population.csv")
    expected = pd.read_csv(folder / "expected.csv")
    expected = expected[expected["input_file"] == "input_zero_population.csv"]
    for fn, kind in [("calculate_ISRate", "rate"), ("calculate_ISRatio", "ratio")]:
        exp = expected[expected["function"] == fn]
        scale = float(exp["multiplier_or_refvalue"].iloc[0])
        out = calculate_isr(
            data,
            "count",
            "pop",
            ref["refcount"].tolist(),
            ref["refpop"].tolist(),
            kind=kind,
            group_by="area",
            confidence=0.95,
            refvalue=scale,
            multiplier=scale,
        )
        _check(out, exp)


def test_isr_zero_expected_gives_nan() -> None:
    res = indirectly_standardised_ratio([0, 0], [0, 0], [1, 2], [100, 100])
    assert res.expected == 0 and np.isnan(res.value) and np.isnan(res.lower)
    res = indirectly_standardised_ratio([0, 0], [10, 10], [1, 2], [100, 100])
    assert res.value == 0 and res.lower == 0 and res.upper > 0
