"""Fixtures for the evaluation tests: oracle datasets and their reference.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest


@pytest.fixture(scope="session")
def eval_dir(oracles_dir: Path) -> Path:
    return oracles_dir / "evaluation"


def _load(eval_dir: Path, name: str, file: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    ref = json.loads((eval_dir / name / "reference.json").read_text())
    return pd.read_csv(eval_dir / name / file), ref


@pytest.fixture(scope="session")
def card_krueger(eval_dir: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    return _load(eval_dir, "card_krueger", "njmin3.csv")


@pytest.fixture(scope="session")
def mpdta(eval_dir: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    return _load(eval_dir, "mpdta", "mpdta.csv")


@pytest.fixture(scope="session")
def sicily(eval_dir: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    return _load(eval_dir, "sicily_its", "sicily.csv")


@pytest.fixture(scope="session")
def prop99(eval_dir: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    return _load(eval_dir, "prop99", "california_prop99.csv")


@pytest.fixture(scope="session")
def cattaneo2(eval_dir: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    data, ref = _load(eval_dir, "cattaneo2", "cattaneo2.csv")
    data = data.assign(mage2=data["mage"].astype("float64") ** 2)  # int8 overflow trap
    return data, ref
