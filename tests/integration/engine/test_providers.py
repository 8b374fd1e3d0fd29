"""Provider rows: patients attributed to the provider of their denominator event.

The oracle is independent of the engine's Ibis code: per-patient numerator and
denominator from the plain-Python reference evaluator, and the attributing
provider picked in plain Python from the raw event rows (latest event in the
window, highest code on ties).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from carepilot.disclosure import OPENSAFELY, ROW_LEVEL_ACCESS
from carepilot.engine.definitions import SHIPPED_LIBRARY, load_definitions
from carepilot.engine.providers import PROVIDER_AREA_TYPE, attributing_event
from carepilot.engine.run import Engine, run_indicators
from carepilot.engine.tables import load_tables
from carepilot.indicators.load import load_definition
from carepilot.indicators.model import IndicatorDefinition, Unit
from carepilot.indicators.periods import Period, window_start
from carepilot.indicators.reference import evaluate_indicator

PROVIDER_INDICATORS = (
    "outpatient-dna",  # event-level: each appointment counts for its provider
    "emergency-readmissions-30-days",  # event-level: each discharge
    "social-care-after-discharge",  # event-level, with packages linked per spell
    "discharged-65-social-care",  # patient-level: latest attributing event
)

# A patient-level indicator whose population has an event on a provider table
# (the library's hospital indicators are now all rates or event-level).
PATIENT_LEVEL = """
id: discharged-65-social-care
version: 1
title: Social care package after an emergency discharge (per patient)
domain: hospital use
value_type: proportion
polarity: no_judgement
period: last_12_months
population: >
  age >= 65 and has(table=apcs, admission_method="emergency", date=discharge_date,
  within=period)
numerator: >
  latest_date(table=social_care_packages, within=period)
  >= earliest_date(table=apcs, admission_method="emergency", date=discharge_date,
  within=period)
"""


@pytest.fixture(scope="module")
def hospital() -> dict[str, IndicatorDefinition]:
    defs = {d.id: d for d in load_definitions([SHIPPED_LIBRARY / "hospital"])}
    extra = load_definition(PATIENT_LEVEL, "inline.yaml", lambda _: None)
    return {**defs, extra.id: extra}


@pytest.fixture(scope="module")
def mixed_data(synth_data: dict[str, pa.Table]) -> dict[str, pa.Table]:
    """Synthetic data where patients use several providers (and unknown codes).

    The generator sends each patient to one acute trust; here every hospital event
    gets a random provider, a code missing from `providers`, or none, so the
    latest-event rule and the tie and unknown-code handling are all exercised.
    """
    rng = np.random.default_rng(3)
    providers = synth_data["providers"].to_pylist()
    hospitals = [p["provider_code"] for p in providers if p["provider_type"] != "gp"]
    a_practice = next(
        p["provider_code"] for p in providers if p["provider_type"] == "gp"
    )
    codes = [*hospitals[:3], a_practice, "XUNKNOWN"]
    out = dict(synth_data)
    for name in ("opa", "apcs"):
        table = synth_data[name]
        pick = rng.integers(0, len(codes) + 1, table.num_rows)
        new = [codes[i] if i < len(codes) else None for i in pick]
        column = table.schema.get_field_index("provider_code")
        out[name] = table.set_column(
            column, "provider_code", pa.array(new, type=pa.string())
        )
    return out


@pytest.fixture(scope="module")
def mixed_tables(mixed_data: dict[str, pa.Table]) -> dict[str, Any]:
    return load_tables(ibis.duckdb.connect(), mixed_data)


def _expected(
    d: IndicatorDefinition,
    data: dict[str, pa.Table],
    periods: list[Period],
) -> pd.DataFrame:
    agg = attributing_event(d)
    assert agg is not None
    rows = {name: t.to_pylist() for name, t in data.items()}
    known = {
        r["provider_code"] for r in rows["providers"] if r["provider_type"] != "gp"
    }
    source = agg.source
    events: dict[int, list[tuple[dt.date, str]]] = defaultdict(list)
    for e in rows[source.table]:
        if e[source.date_column] is None or e["provider_code"] is None:
            continue
        if all(e[c] in values for c, values in source.filters):
            events[e["patient_id"]].append((e[source.date_column], e["provider_code"]))
    ref = pd.DataFrame(evaluate_indicator(d, rows, periods))
    out: dict[tuple[int, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    if d.unit is Unit.EVENT:
        # Event-level: every counted event goes to its own provider.
        for r in ref.itertuples():
            if r.event_provider_code in known:
                out[(int(r.period_id), r.event_provider_code)][0] += float(r.num)
                out[(int(r.period_id), r.event_provider_code)][1] += float(r.den)
        return _frame(out, periods)
    for r in ref.itertuples():
        period = periods[int(r.period_id)]
        start = window_start(period, agg.window, d.period_rule)
        inside = [
            (day, code)
            for day, code in events.get(int(r.patient_id), [])
            if day <= period.end and (start is None or day >= start)
        ]
        if not inside:
            continue
        _, code = max(inside)
        if code not in known:
            continue
        out[(int(r.period_id), code)][0] += float(r.num)
        out[(int(r.period_id), code)][1] += float(r.den)
    return _frame(out, periods)


def _frame(
    out: dict[tuple[int, str], list[float]], periods: list[Period]
) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "period_start": periods[p].start,
                "area_code": code,
                "numerator": v[0],
                "denominator": v[1],
            }
            for (p, code), v in out.items()
        ]
    )


@pytest.mark.parametrize("indicator", PROVIDER_INDICATORS)
def test_provider_rows_match_plain_python_attribution(
    indicator: str,
    hospital: dict[str, IndicatorDefinition],
    mixed_data: dict[str, pa.Table],
    mixed_tables: dict[str, Any],
    periods: list[Period],
) -> None:
    d = hospital[indicator]
    got = Engine(mixed_tables, periods).results(d)
    got = got[(got["area_type"] == PROVIDER_AREA_TYPE) & (got["breakdown"] == "total")]
    want = _expected(d, mixed_data, periods)
    assert not {
        "XUNKNOWN",
        *mixed_data["practices"]["practice_code"].to_pylist(),
    } & set(got["area_code"])
    assert len(want) > 0
    key = ["period_start", "area_code"]
    merged = want.merge(
        got[[*key, "numerator", "denominator"]],
        on=key,
        how="outer",
        suffixes=("_want", "_got"),
        indicator=True,
    )
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"]
    pd.testing.assert_series_equal(
        merged["numerator_want"], merged["numerator_got"], check_names=False
    )
    pd.testing.assert_series_equal(
        merged["denominator_want"], merged["denominator_got"], check_names=False
    )
    names = dict(
        zip(
            mixed_data["providers"]["provider_code"].to_pylist(),
            mixed_data["providers"]["provider_name"].to_pylist(),
            strict=True,
        )
    )
    assert (got["area_name"] == got["area_code"].map(names)).all()
    assert (got["parent_area_code"] == "national").all()
    assert got["comparison"].isin(["better", "worse", "similar", "not compared"]).all()


def test_provider_breakdowns_add_up_to_provider_total(
    hospital: dict[str, IndicatorDefinition],
    duck_tables: dict[str, Any],
    periods: list[Period],
) -> None:
    got = Engine(duck_tables, periods).results(hospital["outpatient-dna"])
    prov = got[got["area_type"] == PROVIDER_AREA_TYPE]
    total = prov[prov["breakdown"] == "total"].set_index(["period_start", "area_code"])
    sex = (
        prov[prov["breakdown"] == "sex"]
        .groupby(["period_start", "area_code"])["denominator"]
        .sum()
    )
    pd.testing.assert_series_equal(
        total["denominator"].sort_index(), sex.sort_index(), check_names=False
    )


def test_registration_based_indicators_have_no_provider_rows(
    examples: list[IndicatorDefinition],
    duck_tables: dict[str, Any],
    periods: list[Period],
) -> None:
    flu = next(d for d in examples if d.id == "flu-vaccination-65")
    assert attributing_event(flu) is None
    got = Engine(duck_tables, periods).results(flu)
    assert not (got["area_type"] == PROVIDER_AREA_TYPE).any()


def test_gp_survey_answers_do_not_make_practices_providers(
    duck_tables: dict[str, Any], periods: list[Period]
) -> None:
    outcomes = load_definitions([SHIPPED_LIBRARY / "outcomes"])
    survey = next(d for d in outcomes if d.id == "experience-overall-experience")
    assert attributing_event(survey) is not None  # patient_experience has a provider
    got = Engine(duck_tables, periods).results(survey)
    assert got.loc[got["area_type"] == "practice", "denominator"].sum() > 0
    assert not (got["area_type"] == PROVIDER_AREA_TYPE).any()


def test_provider_rows_can_be_turned_off(
    hospital: dict[str, IndicatorDefinition],
    duck_tables: dict[str, Any],
    periods: list[Period],
) -> None:
    got = Engine(duck_tables, periods, providers=False).results(
        hospital["outpatient-dna"]
    )
    assert not (got["area_type"] == PROVIDER_AREA_TYPE).any()


def test_provider_rows_go_through_disclosure_control(
    hospital: dict[str, IndicatorDefinition],
    duck_tables: dict[str, Any],
    periods: list[Period],
) -> None:
    d = hospital["emergency-readmissions-30-days"]
    released = run_indicators(Engine(duck_tables, periods), [d], OPENSAFELY)
    prov = released[released["area_type"] == PROVIDER_AREA_TYPE]
    assert len(prov) > 0
    shown = prov.loc[~prov["suppressed"], "numerator"].dropna()
    assert ((shown % 5 == 0) & ((shown == 0) | (shown > 7))).all()
    raw = run_indicators(Engine(duck_tables, periods), [d], ROW_LEVEL_ACCESS)
    small = raw[
        (raw["area_type"] == PROVIDER_AREA_TYPE) & raw["numerator"].between(1, 7)
    ]
    if len(small):
        # Every small provider count is hidden after release.
        key = ["period_start", "area_code", "breakdown", "category"]
        hidden = small[key].merge(released, on=key)
        assert hidden["numerator"].isna().all()


@pytest.mark.slow
def test_sqlite_gives_identical_provider_rows(
    hospital: dict[str, IndicatorDefinition],
    duck_tables: dict[str, Any],
    sqlite_tables: dict[str, Any],
    periods: list[Period],
) -> None:
    d = hospital["outpatient-dna"]
    key = ["period_start", "area_code", "breakdown", "category"]

    def provider_rows(tables: dict[str, Any]) -> pd.DataFrame:
        got = Engine(tables, periods).results(d)
        got = got[got["area_type"] == PROVIDER_AREA_TYPE]
        return got.sort_values(key).reset_index(drop=True)

    a, b = provider_rows(duck_tables), provider_rows(sqlite_tables)
    assert len(a) > 0
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
