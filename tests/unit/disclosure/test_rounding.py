"""Tests for `carepilot.disclosure.rounding`."""

from __future__ import annotations

import numpy as np

from carepilot.disclosure.rounding import is_small, midpoint6, round_to_base


def test_round_to_nearest_five_matches_hand_values() -> None:
    x = np.array([0.0, 2.0, 3.0, 7.0, 8.0, 12.0, 13.0, 102.0, np.nan])
    out = round_to_base(x, 5)
    assert out[:-1].tolist() == [0.0, 0.0, 5.0, 5.0, 10.0, 10.0, 15.0, 100.0]
    assert np.isnan(out[-1])
    assert (round_to_base(out, 5)[:-1] == out[:-1]).all()


def test_is_small_inclusive_exclusive_and_zero() -> None:
    x = np.array([0.0, 1.0, 5.0, 6.0, 7.0, 8.0, np.nan])
    assert is_small(x, 7, inclusive=True, zero=True).tolist() == [
        True,
        True,
        True,
        True,
        True,
        False,
        False,
    ]
    assert is_small(x, 6, inclusive=False, zero=False).tolist() == [
        False,
        True,
        True,
        False,
        False,
        False,
        False,
    ]


def test_midpoint6_bands() -> None:
    x = np.arange(0.0, 20.0)
    out = midpoint6(x)
    assert out[0] == 0
    assert (
        set(out[1:7]) == {3.0} and set(out[7:13]) == {9.0} and set(out[13:19]) == {15.0}
    )
