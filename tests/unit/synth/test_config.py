"""Configuration validation gives actionable errors."""

from __future__ import annotations

from datetime import date

import pytest

from carepilot.errors import ConfigError
from carepilot.synth import EFFECT_KINDS, PilotEffects, SynthConfig


def test_defaults_are_valid() -> None:
    config = SynthConfig()
    assert config.n_practices >= 4
    assert 1 <= config.n_pilot_practices < config.n_practices
    assert config.to_json()["effects"]["bp_control"] == 0.05


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"patients": 0}, "--patients"),
        ({"start": date(2021, 4, 2)}, "first day of a month"),
        ({"months": 0}, "--months"),
        ({"practices": 5, "pilot_practices": 5}, "--pilot-practices"),
        ({"months": 12, "pilot_start_month": 12}, "pilot start month"),
    ],
)
def test_invalid_config(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SynthConfig(**kwargs)  # type: ignore[arg-type]


def test_effects_validation() -> None:
    with pytest.raises(ConfigError, match="unknown pilot effect"):
        PilotEffects({"made_up": 0.1})
    with pytest.raises(ConfigError, match="must be > -1"):
        PilotEffects({"emergency_admissions": -1.0})
    with pytest.raises(ConfigError, match="between -1 and 1"):
        PilotEffects({"bp_control": 1.5})


def test_null_effects_are_all_zero() -> None:
    null = PilotEffects.null()
    assert set(null.values) == set(EFFECT_KINDS)
    assert all(v == 0 for v in null.values.values())
    assert null.multiplier("emergency_admissions") == 1.0
