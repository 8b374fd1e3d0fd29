"""Effects by inequality group and the test that the gap changed."""

from __future__ import annotations

import pytest

from carepilot.errors import InputDataError, InsufficientDataError
from carepilot.evaluation import callaway_santanna, effects_by_group, twfe_gap_change

from .simulate import staggered_panel

CS = dict(unit="practice", time="period", outcome="y", first_treated="first")


@pytest.fixture(scope="module")
def panel():
    data = staggered_panel(21, n_units=300)
    data["imd5"] = (data["imd"] == 5).map({True: "most deprived", False: "other"})
    return data


def test_gap_change_recovered_by_subgroups(panel):
    res = effects_by_group(
        panel,
        group="imd5",
        estimate=lambda d: callaway_santanna(d, **CS),
        reference="other",
    )
    gap = res.effect("gap:imd5=most deprived-vs-other")
    assert gap.ci_low <= -0.5 <= gap.ci_high
    assert gap.p_value < 0.05
    assert res.details["heterogeneity_test"]["df"] == 1
    assert set(res.tables["by_group"]["group"]) == {"most deprived", "other"}


def test_gap_change_by_interaction(panel):
    res = twfe_gap_change(
        panel,
        unit="practice",
        time="period",
        outcome="y",
        treated="d",
        group="imd5",
        reference="other",
    )
    gap = res.effect("gap:imd5=most deprived-vs-other")
    assert gap.ci_low <= -0.5 <= gap.ci_high


def test_group_without_enough_data_is_noted_not_fatal(panel):
    data = panel.copy()
    data.loc[(data.imd == 1) & (data["first"] > 0), "imd"] = (
        9  # keep imd 1 without treated units
    )
    data.loc[data.imd == 9, "imd"] = 2
    res = effects_by_group(
        data, group="imd", estimate=lambda d: callaway_santanna(d, **CS), reference=2
    )
    assert any(n.startswith("group 1") for n in res.notes)


def test_single_group_rejected(panel):
    with pytest.raises(InsufficientDataError, match="at least 2"):
        effects_by_group(
            panel.assign(one="a"),
            group="one",
            estimate=lambda d: callaway_santanna(d, **CS),
        )


def test_unknown_reference(panel):
    with pytest.raises(InputDataError, match="reference"):
        effects_by_group(
            panel,
            group="imd5",
            estimate=lambda d: callaway_santanna(d, **CS),
            reference="nope",
        )
