"""Area roll-ups: practice → pcn → commissioner → national, and pilots (their
member practices in every period; period 0 is January, 1 February)."""

import datetime as dt

import pandas as pd

from carepilot.engine.areas import roll_up

PRACTICES = pd.DataFrame(
    {
        "practice_pseudo_id": [1, 2, 3],
        "practice_code": ["A1", "A2", "A3"],
        "practice_name": ["One", "Two", "Three"],
        "pcn_code": ["N1", "N1", "N2"],
        "pcn_name": ["PCN 1", "PCN 1", "PCN 2"],
        "commissioner_code": ["C1", "C1", "C2"],
    }
)
COMMISSIONERS = pd.DataFrame(
    {"commissioner_code": ["C1", "C2"], "commissioner_name": ["Comm 1", "Comm 2"]}
)
PILOTS = pd.DataFrame({"pilot_id": ["P"], "pilot_name": ["Pilot"]})
MEMBERS = pd.DataFrame(
    {
        "pilot_id": ["P", "P"],
        "member_type": ["practice", "practice"],
        "practice_pseudo_id": [1, 3],
        "start_date": [dt.date(2024, 1, 1), dt.date(2024, 2, 1)],
    }
)


def test_roll_up_sums_every_level() -> None:
    rows = pd.DataFrame(
        {
            "practice_pseudo_id": [1, 2, 3, 1, 2, 3],
            "period_id": [0, 0, 0, 1, 1, 1],
            "num": [1.0, 2.0, 4.0, 1.0, 1.0, 1.0],
        }
    )
    out = roll_up(
        rows, ["period_id"], ["num"], PRACTICES, COMMISSIONERS, PILOTS, MEMBERS
    )
    got = {
        (r.area_type, r.area_code, r.period_id): (r.num, r.parent_area_code)
        for r in out.itertuples()
    }
    assert got[("practice", "A1", 0)] == (1.0, "N1")
    assert got[("pcn", "N1", 0)] == (3.0, "C1")
    assert got[("commissioner", "C2", 0)] == (4.0, "national")
    assert got[("national", "national", 0)][0] == 7.0
    # practice 3 joins the pilot in February, but a pilot area is its member
    # practices in every period (baselines before the start exist)
    assert got[("pilot", "P", 0)] == (5.0, "national")
    assert got[("pilot", "P", 1)] == (2.0, "national")
    names = out.set_index(["area_type", "area_code"])["area_name"].to_dict()
    assert names[("commissioner", "C1")] == "Comm 1" and names[("pcn", "N2")] == "PCN 2"


def test_group_sum_matches_pandas_groupby() -> None:
    import numpy as np

    from carepilot.engine.areas import group_sum

    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 7, 500), rng.integers(0, 3, 500)
    v = rng.random(500)
    v[::50] = np.nan
    first, (second,), (sums,) = group_sum([a, b], [7, 3], [v])
    want = pd.DataFrame({"a": a, "b": b, "v": v}).groupby(["a", "b"])["v"].sum()
    got = pd.Series(sums, index=pd.MultiIndex.from_arrays([first, second]))
    pd.testing.assert_series_equal(
        got.sort_index(), want.sort_index(), check_names=False, check_index_type=False
    )
