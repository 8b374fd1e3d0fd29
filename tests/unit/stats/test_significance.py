from __future__ import annotations

import numpy as np
import pytest

from carepilot.errors import DefinitionError
from carepilot.stats.significance import Polarity, compare_to_benchmark

VALUES = np.array([12.0, 9.0, 10.0, np.nan, 10.5, 9.5])
LOWER = np.array([11.0, 8.0, 9.0, np.nan, 10.0, 9.0])
UPPER = np.array([13.0, 9.5, 11.0, np.nan, 11.0, 10.0])


@pytest.mark.parametrize(
    ("polarity", "expected"),
    [
        (
            Polarity.HIGHER_IS_BETTER,
            ["better", "worse", "similar", "not compared", "similar", "similar"],
        ),
        (
            Polarity.LOWER_IS_BETTER,
            ["worse", "better", "similar", "not compared", "similar", "similar"],
        ),
        (
            Polarity.NO_JUDGEMENT,
            ["higher", "lower", "similar", "not compared", "similar", "similar"],
        ),
    ],
)
def test_compare_to_benchmark(polarity: Polarity, expected: list[str]) -> None:
    # an interval touching the benchmark (rows 5, 6) is "similar", as in Fingertips
    assert (
        compare_to_benchmark(VALUES, LOWER, UPPER, 10.0, polarity).tolist() == expected
    )


def test_benchmark_array_and_missing_benchmark() -> None:
    out = compare_to_benchmark([5, 5], [4, 4], [6, 6], [3, np.nan], "higher_is_better")
    assert out.tolist() == ["better", "not compared"]


def test_unknown_polarity() -> None:
    with pytest.raises(DefinitionError, match="polarity"):
        compare_to_benchmark([1], [0], [2], 1, "up")
