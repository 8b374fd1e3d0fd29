"""Shared released/raw results tables for the publication unit tests."""

from __future__ import annotations

import pandas as pd
import pytest

from carepilot.disclosure import SUPPRESS_1_TO_7

from .builders import raw_results, released_results


@pytest.fixture(scope="package")
def released() -> pd.DataFrame:
    return released_results()


@pytest.fixture(scope="package")
def raw() -> pd.DataFrame:
    return raw_results()


@pytest.fixture(scope="package")
def suppressed() -> pd.DataFrame:
    return released_results(SUPPRESS_1_TO_7)
