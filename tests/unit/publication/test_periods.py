"""Fingertips period labels and the chi-squared test for trend."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy import stats as sps

from carepilot.publication.periods import (
    period_label,
    period_range,
    recent_trend,
    sortable,
    trend_test,
)

D = dt.date


@pytest.mark.parametrize(
    ("start", "end", "label", "span"),
    [
        (D(2023, 4, 1), D(2024, 3, 31), "2023/24", "1y"),
        (D(2023, 1, 1), D(2023, 12, 31), "2023", "1y"),
        (D(2023, 7, 1), D(2023, 9, 30), "2023 Q3", "3m"),
        (D(2023, 4, 1), D(2023, 4, 30), "Apr 2023", "1m"),
        (D(2023, 2, 1), D(2023, 5, 31), "2023-02-01 to 2023-05-31", "4m"),
    ],
)
def test_labels(start: dt.date, end: dt.date, label: str, span: str) -> None:
    assert period_label(start, end) == label
    assert period_range(start, end) == span


def test_sortable_orders_chronologically() -> None:
    assert sortable(D(2022, 12, 1)) < sortable(D(2023, 1, 1)) == 20230101


def test_trend_test_matches_logistic_free_formula() -> None:
    # Cochran-Armitage by hand: equals the chi-squared of a weighted regression
    o = np.array([10.0, 14, 18, 22, 26])
    n = np.array([100.0, 100, 100, 100, 100])
    t = np.arange(5.0)
    p = o.sum() / n.sum()
    stat = (t * (o - n * p)).sum()
    var = p * (1 - p) * ((n * t**2).sum() - (n * t).sum() ** 2 / n.sum())
    expected = sps.chi2.sf(stat**2 / var, 1)
    got_stat, got_p = trend_test(o, n)
    assert got_stat == pytest.approx(stat)
    assert got_p == pytest.approx(expected)
    assert got_p < 0.001


def test_recent_trend_wording() -> None:
    up = np.array([10.0, 14, 18, 22, 26])
    n = np.full(5, 100.0)
    assert recent_trend(up, n, "higher_is_better", "proportion") == (
        "Increasing and getting better"
    )
    assert recent_trend(up, n, "lower_is_better", "proportion") == (
        "Increasing and getting worse"
    )
    assert recent_trend(up[::-1], n, "no_judgement", "proportion") == "Decreasing"
    flat = np.array([20.0, 21, 19, 20, 20])
    assert recent_trend(flat, n, "higher_is_better", "proportion") == (
        "No significant change"
    )
    assert recent_trend(up[:4], n[:4], "higher_is_better", "proportion") == (
        "Cannot be calculated"
    )
    assert recent_trend(up, n, "higher_is_better", "dsr") == "Cannot be calculated"
    with_gap = up.copy()
    with_gap[2] = np.nan
    assert recent_trend(with_gap, n, "higher_is_better", "proportion") == (
        "Cannot be calculated"
    )
