"""Fixtures for the statistics tests: the PHEindicatormethods oracle folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="session")
def phe_oracles(oracles_dir: Path) -> Path:
    return oracles_dir / "indicator_methods"


def assert_close(
    actual: object, expected: object, rtol: float = 1e-9, atol: float = 0.0
) -> None:
    """NaN-aware closeness check: NaN must match NaN."""
    a = np.asarray(actual, dtype=float)
    e = np.asarray(expected, dtype=float)
    np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, equal_nan=True)


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path)
