"""Organisations: realistic structure and a biased (not random) pilot selection."""

from __future__ import annotations

import numpy as np
import pytest

from carepilot.errors import ConfigError
from carepilot.synth import SynthConfig
from carepilot.synth.generate import organisations
from carepilot.synth.organisations import STAGGER_MONTHS


def test_structure_and_list_sizes() -> None:
    orgs, _ = organisations(SynthConfig(patients=1_000_000, seed=4))
    assert orgs.n == 133
    pcn_sizes = np.bincount(orgs.pcn)
    assert 3 <= pcn_sizes.mean() <= 7
    assert orgs.tables["commissioners"].num_rows >= 2
    assert np.isclose(orgs.list_weight.sum(), 1.0)
    ratio = orgs.list_weight.max() / orgs.list_weight.min()
    assert 4 < ratio < 30  # ~2k-20k+ list sizes
    types = set(orgs.tables["providers"].column("provider_type").to_pylist())
    assert types == {
        "gp", "community", "acute", "mental_health", "social_care",
        "third_sector", "social_enterprise", "private",
    }  # fmt: skip


def test_pilot_selection_is_biased_towards_less_deprived_larger_practices() -> None:
    gaps_dep, gaps_size = [], []
    for seed in range(6):
        orgs, _ = organisations(
            SynthConfig(patients=1_500_000, seed=seed, pilot_practices=40)
        )
        p = orgs.is_pilot
        assert p.sum() == 40
        gaps_dep.append(orgs.deprivation[p].mean() - orgs.deprivation[~p].mean())
        gaps_size.append(orgs.list_weight[p].mean() / orgs.list_weight[~p].mean())
    assert np.mean(gaps_dep) < -0.1
    assert np.mean(gaps_size) > 1.05


def test_staggered_start_months() -> None:
    config = SynthConfig(patients=500_000, seed=9, staggered=True, pilot_practices=30)
    orgs, cal = organisations(config)
    offsets = set((orgs.pilot_month[orgs.is_pilot] - config.pilot_month).tolist())
    assert offsets <= set(STAGGER_MONTHS)
    assert len(offsets) > 1
    assert (orgs.pilot_month[~orgs.is_pilot] == -1).all()
    assert (orgs.pilot_day[~orgs.is_pilot] > cal.end_day).all()
    members = orgs.tables["pilot_site_members"]
    assert set(members.column("member_type").to_pylist()) == {"practice", "provider"}


def _sites(config: SynthConfig) -> tuple[list[str], dict[str, list[str]]]:
    orgs, _ = organisations(config)
    sites = orgs.tables["pilot_sites"].column("pilot_id").to_pylist()
    members = orgs.tables["pilot_site_members"].to_pylist()
    by_type: dict[str, list[str]] = {}
    for m in members:
        by_type.setdefault(m["member_type"], []).append(m["pilot_id"])
    return sites, by_type


def test_one_pilot_site_holds_every_pilot_practice() -> None:
    base = dict(patients=600_000, seed=3, pilot_practices=40, staggered=True)
    sites, members = _sites(SynthConfig(**base))  # type: ignore[arg-type]
    assert len(sites) > 1  # the default opens one site per commissioner
    one = SynthConfig(**base, pilots=1)  # type: ignore[arg-type]
    orgs, _ = organisations(one)
    sites1, members1 = _sites(one)
    assert sites1 == ["ICP01"]
    assert members1["practice"] == ["ICP01"] * 40
    assert set(members1["provider"]) == {"ICP01"}
    # same practices and start dates as the default layout: only the grouping changes
    default_orgs, _ = organisations(SynthConfig(**base))  # type: ignore[arg-type]
    assert (orgs.is_pilot == default_orgs.is_pilot).all()
    assert (orgs.pilot_day == default_orgs.pilot_day).all()
    start = orgs.tables["pilot_sites"].column("start_date").to_pylist()[0]
    assert start == np.datetime64(int(orgs.pilot_day[orgs.is_pilot].min()), "D").item()


def test_pilots_caps_the_number_of_sites() -> None:
    config = SynthConfig(patients=600_000, seed=3, pilot_practices=40, pilots=2)
    sites, members = _sites(config)
    assert sites == ["ICP01", "ICP02"]
    assert set(members["practice"]) == {"ICP01", "ICP02"}


def test_pilots_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="--pilots must be at least 1; got 0"):
        SynthConfig(pilots=0)
