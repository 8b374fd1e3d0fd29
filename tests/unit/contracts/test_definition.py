"""Contract YAML loading: the example loads, round-trips, and bad definitions fail precisely."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from carepilot.contracts.definition import (
    contract_from_dict,
    contract_to_dict,
    load_contract,
)
from carepilot.errors import DefinitionError

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "examples" / "contracts" / "capitated_outcomes.yaml"


def write_variant(tmp_path: Path, old: str, new: str) -> Path:
    text = EXAMPLE.read_text()
    assert old in text, old
    path = tmp_path / "contract.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def line_of(path: Path, needle: str) -> int:
    for i, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return i
    raise AssertionError(needle)


def test_example_loads_and_round_trips_through_plain_data() -> None:
    c = load_contract(EXAMPLE)
    assert c.id == "demo-icp-capitated"
    assert c.quality.withhold_pct == pytest.approx(2.5)
    assert str(c.quality.withhold_pct) == "2.5"
    assert c.indicator_ids == ("hyp008", "dm020", "smok002")
    assert contract_from_dict(contract_to_dict(c)) == c


def test_reversed_thresholds_name_file_line_field_and_fix(tmp_path: Path) -> None:
    path = write_variant(
        tmp_path, "lower: 40\n      upper: 85", "lower: 85\n      upper: 40"
    )
    with pytest.raises(DefinitionError) as info:
        load_contract(path)
    msg = str(info.value)
    assert str(path) in msg
    assert f"line {line_of(path, 'upper: 40')}" in msg
    assert "`quality.indicators[0].upper`" in msg
    assert "thresholds reversed" in msg
    assert "fix:" in msg


def test_weights_not_summing_to_100(tmp_path: Path) -> None:
    path = write_variant(
        tmp_path, "weight: 25\n      lower: 35", "weight: 20\n      lower: 35"
    )
    with pytest.raises(DefinitionError, match=r"sum to 95 %, not 100 %.*fix: adjust"):
        load_contract(path)


def test_unknown_indicator_suggests_the_closest(tmp_path: Path) -> None:
    known = {"hyp008", "dm020", "smok002", "hyp009"}
    path = write_variant(tmp_path, "- id: dm020", "- id: dm02O")
    with pytest.raises(DefinitionError) as info:
        load_contract(path, known_indicator_ids=known)
    msg = str(info.value)
    assert "unknown indicator `dm02O`" in msg
    assert "did you mean `dm020`" in msg
    assert f"line {line_of(path, 'dm02O')}" in msg


def test_overlapping_corridors(tmp_path: Path) -> None:
    path = write_variant(
        tmp_path,
        "- {from: 5, provider_share: 25}\n  loss_bands",
        "- {from: 4, provider_share: 25}\n  loss_bands",
    )
    with pytest.raises(
        DefinitionError, match=r"savings_bands\[1\]\.from`: band 1 overlaps band 0"
    ):
        load_contract(path)


def test_gapped_corridors(tmp_path: Path) -> None:
    path = write_variant(
        tmp_path,
        "- {from: 5, provider_share: 25}\n  loss_bands",
        "- {from: 6, provider_share: 25}\n  loss_bands",
    )
    with pytest.raises(
        DefinitionError, match=r"gap between band 0 \(ends 5\) and band 1"
    ):
        load_contract(path)


def test_corridor_not_open_ended(tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace(
        "- {from: 5, provider_share: 25}\n  loss_bands",
        "- {from: 5, to: 20, provider_share: 25}\n  loss_bands",
    )
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(DefinitionError, match="open-ended"):
        load_contract(path)


def test_unknown_field_suggests_spelling(tmp_path: Path) -> None:
    path = write_variant(tmp_path, "withhold: 2.5", "withold: 2.5")
    with pytest.raises(
        DefinitionError,
        match=r"`quality.withold`: unknown field; fix: did you mean `withhold`",
    ):
        load_contract(path)


def test_missing_inequality_target(tmp_path: Path) -> None:
    text = EXAMPLE.read_text()
    start = text.index("  inequality_targets:")
    end = text.index("risk_share:")
    path = tmp_path / "c.yaml"
    path.write_text(text[:start] + text[end:].replace("", "", 1))
    with pytest.raises(DefinitionError):
        load_contract(path)


def test_two_sided_without_loss_bands(tmp_path: Path) -> None:
    text = EXAMPLE.read_text()
    start = text.index("  loss_bands:")
    end = text.index("tariff:")
    path = tmp_path / "c.yaml"
    path.write_text(text[:start] + text[end:])
    with pytest.raises(DefinitionError, match="needs loss bands"):
        load_contract(path)


@pytest.mark.parametrize(
    ("old", "new", "pattern"),
    [
        (
            "withhold: 2.5",
            "withhold: lots",
            r"`quality.withhold`: `lots` is not a number",
        ),
        ("type: two_sided", "type: both", r"`risk_share.type`: `both` is not allowed"),
        (
            "start: 2021-04-01, end: 2024-03-31",
            "start: 2021-04-01, end: 2020-03-31",
            r"`term.end`",
        ),
        ("trend: 3.0", "trend: 300", r"`capitation.trend`"),
        (
            "pilot_id: PILOT01",
            "pilot_id: PILOT01\n  practice_codes: [A81001]",
            "exactly one",
        ),
        ("baseline_year: 2020", "baseline_year: 2021", "baseline year"),
        ("min_score: 40", "min_score: 140", r"`quality.gate.min_score`"),
    ],
)
def test_other_bad_values(tmp_path: Path, old: str, new: str, pattern: str) -> None:
    path = write_variant(tmp_path, old, new)
    with pytest.raises(DefinitionError, match=pattern) as info:
        load_contract(path)
    assert re.search(r", line \d+: ", str(info.value))


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: [unclosed\n")
    with pytest.raises(DefinitionError, match="not valid YAML"):
        load_contract(bad)
    with pytest.raises(DefinitionError, match="cannot read"):
        load_contract(tmp_path / "absent.yaml")


def test_duplicate_key(tmp_path: Path) -> None:
    path = write_variant(tmp_path, "version: 1", "version: 1\nversion: 2")
    with pytest.raises(DefinitionError, match="appears twice"):
        load_contract(path)


def test_yaml_text_round_trips_through_serialise() -> None:
    from carepilot.contracts.definition import contract_to_yaml, load_contract_text

    original = load_contract(EXAMPLE)
    again = load_contract_text(contract_to_yaml(original), "edited.yaml")
    assert again == original


def test_bad_yaml_text_names_source_and_line() -> None:
    from carepilot.contracts.definition import load_contract_text

    with pytest.raises(DefinitionError, match=r"upload\.yaml, line 3"):
        load_contract_text("id: x\nversion: 1\ntitle: a: b\n", "upload.yaml")
