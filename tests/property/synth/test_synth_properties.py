"""Properties that hold for any seed and small configuration."""

from __future__ import annotations

from typing import Any

import pyarrow.compute as _pc
from hypothesis import given, settings
from hypothesis import strategies as st

from carepilot.schema import TABLES
from carepilot.synth import SynthConfig, generate

# pyarrow.compute functions are generated at import time; its stubs lack them.
pc: Any = _pc


@settings(max_examples=5, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    patients=st.integers(1, 600),
    months=st.integers(2, 30),
    staggered=st.booleans(),
)
def test_any_small_population_is_well_formed(
    seed: int, patients: int, months: int, staggered: bool
) -> None:
    config = SynthConfig(
        patients=patients, seed=seed, months=months, practices=5, pilot_practices=2,
        staggered=staggered,
    )  # fmt: skip
    tables = generate(config)
    assert set(tables) == set(TABLES)
    assert tables["patients"].num_rows == patients
    ids = set(tables["patients"].column("patient_id").to_pylist())
    for name, table in tables.items():
        assert table.column_names == list(TABLES[name].column_names)
        if "patient_id" in table.column_names and name != "patients":
            assert set(pc.unique(table.column("patient_id")).to_pylist()) <= ids
    # every patient has at least one registration and no event precedes birth
    assert set(tables["practice_registrations"].column("patient_id").to_pylist()) == ids
    members = tables["pilot_site_members"]
    assert members.num_rows >= 2
    assert generate(config)["clinical_events"].equals(tables["clinical_events"])
