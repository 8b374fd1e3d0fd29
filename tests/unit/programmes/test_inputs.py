from __future__ import annotations

import pytest

from carepilot.programmes.inputs import (
    BidUpdate,
    InequalityInput,
    PartnerInput,
    ProgrammeCreate,
    parse,
)
from carepilot.programmes.model import FormInvalid


def test_programme_dates_must_be_in_order() -> None:
    data = {
        "title": "t",
        "summary": "s",
        "opens_at": "2026-01-02T00:00",
        "closes_at": "2026-01-01T00:00",
        "selection_at": "2026-02-01T00:00",
        "frontrunners_at": "2026-03-01T00:00",
        "criteria": [{"title": "c", "weight": 1}],
    }
    with pytest.raises(FormInvalid) as err:
        parse(ProgrammeCreate, data)
    assert err.value.errors == {
        "closes_at": "The closing date must be after the opening date"
    }
    ok = parse(ProgrammeCreate, data | {"closes_at": "2026-01-20T00:00"})
    assert ok.opens_at.tzinfo is not None  # naive input is taken as UTC


def test_missing_fields_say_enter() -> None:
    with pytest.raises(FormInvalid) as err:
        parse(PartnerInput, {"org_code": "", "name": None, "org_type": "gp_practice"})
    assert err.value.errors["name"] == "Enter name"


def test_codes_are_normalised_and_deduplicated() -> None:
    upd = parse(
        BidUpdate, {"title": "t", "sha_code": "q30", "pct_codes": ["5qj", "5QJ", " "]}
    )
    assert upd.sha_code == "Q30" and upd.pct_codes == ["5QJ"]
    with pytest.raises(FormInvalid):
        parse(BidUpdate, {"title": "t", "sha_code": "Q30; DROP"})


def test_trajectory_needs_three_years() -> None:
    with pytest.raises(FormInvalid) as err:
        parse(
            InequalityInput,
            {
                "inequality": "race",
                "indicator_id": "diab-003",
                "commitment": "c",
                "trajectory": [1, 2],
            },
        )
    assert "trajectory" in err.value.errors
