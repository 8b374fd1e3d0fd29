"""The generated population conforms to the data model and has realistic gradients."""

from __future__ import annotations

import hashlib
import importlib
import json
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as _pc
import pytest

from carepilot.codelists import load_codelist
from carepilot.schema import ARROW_TYPE_NAMES, TABLES
from carepilot.schema.codes import is_valid_code
from carepilot.schema.model import ColumnType
from carepilot.synth import PilotEffects, SynthConfig, generate, write_population

# pyarrow.compute functions are generated at import time; its stubs lack them.
pc: Any = _pc

CONFIG = SynthConfig(patients=12_000, seed=11, practices=12, pilot_practices=4)


@pytest.fixture(scope="module")
def population() -> dict[str, pa.Table]:
    return generate(CONFIG)


def test_every_table_has_the_model_columns_and_types(
    population: dict[str, pa.Table],
) -> None:
    assert set(population) == set(TABLES)
    for name, table in population.items():
        model = TABLES[name]
        assert table.column_names == list(model.column_names), name
        for column in model.columns:
            expected = pa.type_for_alias(ARROW_TYPE_NAMES[column.type])
            assert table.schema.field(column.name).type == expected, (name, column.name)


def test_values_respect_the_model(population: dict[str, pa.Table]) -> None:
    for name, table in population.items():
        assert table.num_rows > 0, f"{name} is empty"
        for column in TABLES[name].columns:
            arr = table.column(column.name)
            if not column.nullable:
                assert arr.null_count == 0, (name, column.name)
            values = pc.unique(arr.drop_null()).to_pylist()
            if column.allowed is not None:
                assert set(values) <= set(column.allowed), (name, column.name)
            if column.code_system is not None:
                bad = [v for v in values if not is_valid_code(column.code_system, v)]
                assert bad == [], (name, column.name, bad[:5])
            if column.type in (ColumnType.INT, ColumnType.FLOAT) and values:
                if column.min_value is not None:
                    assert min(values) >= float(column.min_value), (name, column.name)
                if column.max_value is not None:
                    assert max(values) <= float(column.max_value), (name, column.name)
            if column.type is ColumnType.DATE and values:
                assert min(values) >= date(1900, 1, 1), (name, column.name)
                assert max(values) < date(2024, 4, 1) or column.name in {
                    "post_date", "clock_stop_date", "response_date", "end_date",
                    "discharge_date",
                }, (name, column.name)  # fmt: skip
            if column.first_of_month:
                assert all(v.day == 1 for v in values), (name, column.name)


def _ids(table: pa.Table, column: str) -> set[object]:
    return set(pc.unique(table.column(column).drop_null()).to_pylist())


def test_foreign_keys_and_primary_keys(population: dict[str, pa.Table]) -> None:
    for name, table in population.items():
        for column in TABLES[name].columns:
            if column.references:
                ref_table, ref_col = column.references.split(".")
                missing = _ids(table, column.name) - _ids(
                    population[ref_table], ref_col
                )
                assert not missing, (name, column.name, list(missing)[:5])
        key = TABLES[name].primary_key
        if key:
            distinct = table.group_by(list(key)).aggregate([]).num_rows
            assert distinct == table.num_rows, f"{name} primary key not unique"


def test_deaths_are_consistent_with_patients(population: dict[str, pa.Table]) -> None:
    deaths = population["ons_deaths"].to_pydict()
    patients = population["patients"]
    dod = dict(
        zip(
            patients.column("patient_id").to_pylist(),
            patients.column("date_of_death").to_pylist(),
            strict=True,
        )
    )
    for pid, day in zip(deaths["patient_id"], deaths["date"], strict=True):
        assert dod[pid] == day
    assert sum(d is not None for d in dod.values()) == len(deaths["patient_id"])
    # registrations end on the death day at the latest
    regs = population["practice_registrations"].to_pydict()
    for pid, end in zip(regs["patient_id"], regs["end_date"], strict=True):
        if dod[pid] is not None:
            assert end is not None and end <= dod[pid]


def test_registrations_include_movers_joiners_and_leavers(
    population: dict[str, pa.Table],
) -> None:
    regs = population["practice_registrations"]
    per_patient = regs.group_by("patient_id").aggregate([("start_date", "count")])
    assert pc.max(per_patient.column("start_date_count")).as_py() == 2
    starts = regs.column("start_date").to_numpy()
    assert (starts >= np.datetime64("2021-04-01")).mean() > 0.05  # joiners
    ends = regs.column("end_date").drop_null().to_numpy()
    assert len(ends) > 0.05 * CONFIG.patients  # leavers, movers and deaths


def _has_code(population: dict[str, pa.Table], codelist: str) -> pa.Array:
    events = population["clinical_events"]
    codes = pa.array(load_codelist(codelist).codes)
    hit = events.filter(pc.is_in(events.column("snomedct_code"), value_set=codes))
    return pc.is_in(
        population["patients"].column("patient_id"),
        value_set=pc.unique(hit.column("patient_id")),
    )


def test_diabetes_gradient_by_deprivation_and_age(
    population: dict[str, pa.Table],
) -> None:
    patients = population["patients"]
    has = _has_code(population, "diabetes").to_numpy(zero_copy_only=False)
    decile = patients.column("imd_decile").to_numpy()
    assert has[decile <= 2].mean() > 1.3 * has[decile >= 9].mean()
    born = patients.column("date_of_birth").to_numpy()
    old = born < np.datetime64("1956-01-01")
    young = (born > np.datetime64("1980-01-01")) & (born < np.datetime64("2003-01-01"))
    assert has[old].mean() > 3 * has[young].mean()


def test_diabetes_higher_in_south_asian_groups(population: dict[str, pa.Table]) -> None:
    patients = population["patients"]
    has = _has_code(population, "diabetes").to_numpy(zero_copy_only=False)
    eth = patients.column("ethnicity").to_numpy(zero_copy_only=False)
    south_asian = np.isin(
        eth, ["Asian: Indian", "Asian: Pakistani", "Asian: Bangladeshi"]
    )
    white = eth == "White: English, Welsh, Scottish, Northern Irish or British"
    assert south_asian.sum() > 100
    assert has[south_asian].mean() > 1.3 * has[white].mean()


def test_rtt_clocks_mostly_within_18_weeks(population: dict[str, pa.Table]) -> None:
    ref = population["referrals"]
    stopped = ref.filter(pc.is_valid(ref.column("clock_stop_date")))
    wait = (
        stopped.column("clock_stop_date").to_numpy()
        - stopped.column("clock_start_date").to_numpy()
    ).astype(int)
    assert 0.75 < (wait <= 126).mean() < 0.95
    assert ref.column("clock_stop_date").null_count > 0  # some still waiting


def test_social_care_after_discharge_links_to_spells(
    population: dict[str, pa.Table],
) -> None:
    packages = population["social_care_packages"]
    assert packages.column("after_discharge_spell_id").null_count < packages.num_rows


def test_same_seed_same_bytes_and_different_seed_differs(tmp_path: Path) -> None:
    small = SynthConfig(patients=2_000, seed=5, practices=6, pilot_practices=2)

    def digest(config: SynthConfig, out: Path) -> str:
        write_population(config, out)
        h = hashlib.sha256()
        for path in sorted(out.iterdir()):
            h.update(path.name.encode())
            h.update(path.read_bytes())
        return h.hexdigest()

    first = digest(small, tmp_path / "a")
    assert digest(small, tmp_path / "b") == first
    other = SynthConfig(patients=2_000, seed=6, practices=6, pilot_practices=2)
    assert digest(other, tmp_path / "c") != first


def test_chunks_give_unique_ids_across_chunks() -> None:
    config = SynthConfig(patients=3_000, seed=2, practices=6, chunk_size=1_000)
    tables = generate(config)
    assert tables["patients"].column("patient_id").to_pylist() == list(range(1, 3001))
    spell_ids = tables["apcs"].column("spell_id")
    assert len(pc.unique(spell_ids)) == len(spell_ids)


def test_scenario_records_the_truth(tmp_path: Path) -> None:
    config = SynthConfig(
        patients=2_000, seed=3, practices=8, pilot_practices=3, staggered=True,
        effects=PilotEffects.null(),
    )  # fmt: skip
    rows = write_population(config, tmp_path, "csv")
    truth = json.loads((tmp_path / "scenario.json").read_text())
    assert truth["parameters"]["seed"] == 3
    assert len(truth["pilot"]["practices"]) == 3
    assert all(e["value"] == 0 for e in truth["effects"])
    assert truth["rows"] == rows
    assert "pilot_mean_deprivation_latent" in truth["pilot"]["selection"]
    assert {p.stem for p in tmp_path.glob("*.csv")} == set(TABLES)


def _by_patient(population: dict[str, pa.Table], column: str) -> np.ndarray:
    patients = population["patients"]
    values = patients.column(column).to_numpy(zero_copy_only=False)
    out = np.empty(int(pc.max(patients.column("patient_id")).as_py()) + 1, values.dtype)
    out[patients.column("patient_id").to_numpy()] = values
    return out


def test_bp_control_worse_in_deprived_areas(population: dict[str, pa.Table]) -> None:
    events = population["clinical_events"]
    codes = pa.array(load_codelist("systolic_bp").codes)
    bp = events.filter(pc.is_in(events.column("snomedct_code"), value_set=codes))
    decile = _by_patient(population, "imd_decile")[bp.column("patient_id").to_numpy()]
    high = bp.column("numeric_value").to_numpy() > 140
    assert high[decile <= 3].mean() > high[decile >= 8].mean() + 0.02


def test_experience_worse_in_deprived_areas(population: dict[str, pa.Table]) -> None:
    exp = population["patient_experience"]
    decile = _by_patient(population, "imd_decile")[exp.column("patient_id").to_numpy()]
    positive = exp.column("response").to_numpy(zero_copy_only=False) == "positive"
    assert positive[decile <= 3].mean() > 0.5
    assert positive[decile <= 3].mean() < positive[decile >= 8].mean() - 0.03


def test_emergency_admissions_rise_with_age(population: dict[str, pa.Table]) -> None:
    apcs = population["apcs"].filter(
        pc.equal(population["apcs"].column("admission_method"), "emergency")
    )
    born = _by_patient(population, "date_of_birth")
    patients_born = population["patients"].column("date_of_birth").to_numpy()
    adm_born = born[apcs.column("patient_id").to_numpy()]
    cut = np.datetime64("1946-01-01")
    old_rate = (adm_born < cut).sum() / (patients_born < cut).sum()
    young_rate = (adm_born >= cut).sum() / (patients_born >= cut).sum()
    assert old_rate > 2.5 * young_rate


def test_premature_mortality_gradient(population: dict[str, pa.Table]) -> None:
    deaths = population["ons_deaths"]
    pid = deaths.column("patient_id").to_numpy()
    age = (
        deaths.column("date").to_numpy() - _by_patient(population, "date_of_birth")[pid]
    ).astype(int) / 365.25
    decile = _by_patient(population, "imd_decile")
    under75 = pid[age < 75]
    all_deciles = population["patients"].column("imd_decile").to_numpy()
    rate_deprived = (decile[under75] <= 3).sum() / (all_deciles <= 3).sum()
    rate_affluent = (decile[under75] >= 8).sum() / (all_deciles >= 8).sum()
    assert rate_deprived > 1.3 * rate_affluent


def test_parallel_workers_write_identical_files(tmp_path: Path) -> None:
    config = SynthConfig(patients=2_500, seed=9, practices=6, chunk_size=1_000)
    write_population(config, tmp_path / "one")
    write_population(config, tmp_path / "two", workers=2)
    for path in sorted((tmp_path / "one").iterdir()):
        assert path.read_bytes() == (tmp_path / "two" / path.name).read_bytes(), path


def test_risk_scores_and_frailty_are_plausible(population: dict[str, pa.Table]) -> None:
    events = population["clinical_events"].to_pandas()
    patients = population["patients"].to_pandas().set_index("patient_id")
    af_ids = set(
        events.loc[
            events.snomedct_code.isin(load_codelist("atrial_fibrillation").codes),
            "patient_id",
        ]
    )
    scores = events[events.snomedct_code.isin(load_codelist("cha2ds2_vasc").codes)]
    assert len(scores) > 100
    assert set(scores.patient_id) <= af_ids  # only AF patients are scored
    assert scores.numeric_value.between(0, 9).all()
    assert scores.numeric_value.ge(2).mean() > 0.5  # most AF patients are high risk
    frail_codes = load_codelist("frailty_moderate_severe").codes
    mild_codes = load_codelist("frailty_mild").codes
    frailty = events[events.snomedct_code.isin([*frail_codes, *mild_codes])]
    dob = pd.to_datetime(patients.loc[frailty.patient_id, "date_of_birth"]).to_numpy()
    age = (pd.to_datetime(frailty.date).to_numpy() - dob).astype("timedelta64[D]")
    assert (age.astype(int) / 365.25 >= 65 - 1e-9).all()
    mild = frailty.snomedct_code.isin(mild_codes).sum()
    assert 0 < frailty.snomedct_code.isin(frail_codes).sum() < mild


def test_risk_scores_leave_every_other_draw_unchanged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Risk scores use their own random stream: without them, every other table
    (and the rest of clinical_events) is identical."""
    gen = importlib.import_module("carepilot.synth.generate")
    config = SynthConfig(patients=1_500, seed=3, practices=4, pilot_practices=1)
    with_scores = generate(config)
    from carepilot.synth._arrow import build_table

    def no_scores(*args: Any, **kwargs: Any) -> pa.Table:
        return build_table("clinical_events", 0, {})  # draws nothing

    monkeypatch.setattr(gen.care, "risk_assessments", no_scores)
    without = generate(config)
    score_codes = {
        *load_codelist("cha2ds2_vasc").codes,
        *load_codelist("frailty_mild").codes,
        *load_codelist("frailty_moderate_severe").codes,
    }
    for name, table in without.items():
        other = with_scores[name]
        if name == "clinical_events":
            keep = pc.invert(pc.is_in(other["snomedct_code"], pa.array(score_codes)))
            other = other.filter(keep)
        assert other.equals(table), name
