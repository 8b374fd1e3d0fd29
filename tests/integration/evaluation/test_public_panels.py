"""Methods run end to end through the CLI on the public panels in shared/datasets."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from carepilot.cli.main import app

runner = CliRunner()


def _json(*args):
    res = runner.invoke(app, ["evaluate-panel", *args, "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def test_castle_doctrine_staggered_and_twfe(shared_dir, tmp_path):
    castle = pd.read_csv(shared_dir / "datasets" / "goodman_bacon" / "castle.csv")
    castle["first"] = castle["effyear"].fillna(0)
    castle["d"] = ((castle["first"] > 0) & (castle["year"] >= castle["first"])).astype(
        int
    )
    path = tmp_path / "castle.parquet"
    castle.to_parquet(path)
    common = [
        "--data",
        str(path),
        "--unit",
        "state",
        "--time",
        "year",
        "--outcome",
        "l_homicide",
        "--treated",
        "d",
    ]
    cs = _json(
        "staggered", *common, "--first-treated", "first", "-o", "control_group=notyet"
    )
    tw = _json("twfe", *common)
    # Cheng & Hoekstra (2013): castle-doctrine laws raised homicide by roughly 8-10 %
    assert 0.0 < cs["estimate"]["estimate"] < 0.2
    assert 0.0 < tw["estimate"]["estimate"] < 0.2
    assert any("Goodman-Bacon" in n for n in tw["notes"])


def test_basque_synthetic_control(shared_dir, tmp_path):
    basque = pd.read_csv(shared_dir / "datasets" / "basque_sc" / "basque.csv")
    basque = basque[basque["regionno"] != 1]  # drop Spain as a whole
    basque["d"] = ((basque["regionno"] == 17) & (basque["year"] >= 1970)).astype(int)
    path = tmp_path / "basque.csv"
    basque[["regionno", "year", "gdpcap", "d"]].to_csv(path, index=False)
    doc = _json(
        "synth",
        "--data",
        str(path),
        "--unit",
        "regionno",
        "--time",
        "year",
        "--outcome",
        "gdpcap",
        "--treated",
        "d",
    )
    # Abadie & Gardeazabal (2003): per-capita GDP about 10 % (~0.5-0.9 thousand) below the synthetic Basque Country
    assert -1.2 < doc["estimate"]["estimate"] < 0
    weights = pd.DataFrame(doc["tables"]["weights"])
    assert np.isclose(weights["weight"].sum(), 1.0)
    assert 0 < doc["details"]["permutation_p_value"] <= 1


def _divorce(shared_dir, tmp_path, keep_always_treated):
    div = pd.read_csv(shared_dir / "datasets" / "divorce_event_study" / "divorce.csv")
    div = div[div["sex"] == 2].copy()  # female suicide rates (Stevenson & Wolfers 2006)
    law = div.groupby("st")["lfdivlaw"].transform("first")  # recorded on some rows only
    div["first"] = law.where(law < 2000, 0)
    if not keep_always_treated:
        div = div[~div["first"].between(1, 1964)]
    div["d"] = ((div["first"] > 0) & (div["year"] >= div["first"])).astype(int)
    path = tmp_path / "divorce.csv"
    div.to_csv(path, index=False)
    return [
        "--data",
        str(path),
        "--unit",
        "st",
        "--time",
        "year",
        "--outcome",
        "suicrt",
        "--treated",
        "d",
        "--first-treated",
        "first",
    ]


def test_divorce_event_study_cs_and_twfe(shared_dir, tmp_path):
    args = _divorce(shared_dir, tmp_path, keep_always_treated=False)
    cs = _json("event-study", *args)
    tw = _json("event-study", *args, "-o", "estimator=twfe")
    for doc in (cs, tw):
        es = pd.DataFrame(doc["tables"]["event_study"])
        assert es["event_time"].min() < -5 and es["event_time"].max() > 10
        assert doc["details"]["pretrend_test"]["p_value"] is not None
    # Stevenson & Wolfers (2006): female suicide fell after unilateral divorce
    assert cs["estimate"]["estimate"] < 0


def test_divorce_always_treated_states_rejected(shared_dir, tmp_path):
    from carepilot.errors import InsufficientDataError

    args = _divorce(shared_dir, tmp_path, keep_always_treated=True)
    res = runner.invoke(app, ["evaluate-panel", "staggered", *args])
    assert isinstance(res.exception, InsufficientDataError)
    assert "treated from the first period" in str(res.exception)
