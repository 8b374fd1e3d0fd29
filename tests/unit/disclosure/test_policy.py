"""Tests for `carepilot.disclosure.policy`."""

from __future__ import annotations

import pytest

from carepilot.disclosure.policy import (
    NHS_DIGITAL_SUPPRESS_1_TO_5,
    OPENSAFELY,
    POLICIES,
    DisclosurePolicy,
    get_policy,
)
from carepilot.errors import ConfigError


def test_named_policies_cite_a_source_and_hold_their_thresholds() -> None:
    assert OPENSAFELY.threshold == 7 and OPENSAFELY.rounding_base == 5
    assert OPENSAFELY.redact_zero
    assert NHS_DIGITAL_SUPPRESS_1_TO_5.threshold == 6
    for policy in POLICIES.values():
        assert len(policy.source) > 20
    assert not POLICIES["row-level-access"].public


def test_get_policy_names_the_choices_when_unknown() -> None:
    assert get_policy("opensafely") is OPENSAFELY
    with pytest.raises(ConfigError, match="opensafely"):
        get_policy("nope")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "bogus"}, "kind must be"),
        ({"kind": "suppress", "threshold": -1}, "threshold"),
        ({"kind": "opensafely", "rounding_base": 0}, "rounding_base"),
        ({"kind": "suppress", "checked_columns": ("value",)}, "checked_columns"),
        ({"kind": "none"}, "never be public"),
    ],
)
def test_inconsistent_policies_are_refused(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        DisclosurePolicy(name="x", source="test", **kwargs)  # type: ignore[arg-type]
