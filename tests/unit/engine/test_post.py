"""Post-processing (derived breakdowns, roll-ups, statistics, comparison) on
integer codes agrees with a plain pandas implementation of the same rules, and
standardised indicators' age band rows are what a hand calculation gives."""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2

from carepilot.disclosure import OPENSAFELY, release
from carepilot.engine.aggregate import MEASURES
from carepilot.engine.breakdowns import DERIVED, age_band_label
from carepilot.engine.definitions import SHIPPED_LIBRARY, load_definitions
from carepilot.engine.run import Engine, value_fn_for
from carepilot.engine.statistics import CONFIDENCE, simple_statistics
from carepilot.indicators.model import IndicatorDefinition, ValueType
from carepilot.indicators.periods import Frequency, Period, make_periods
from carepilot.schema import categories as cat
from carepilot.stats.dsr import directly_standardised_rate
from carepilot.stats.isr import indirectly_standardised_ratio
from carepilot.stats.rates import rate_interval
from carepilot.stats.significance import compare_to_benchmark
from carepilot.stats.standard_populations import ESP2013

PRACTICES = pd.DataFrame(
    {
        "practice_pseudo_id": [11, 12, 13, 14, 15],
        "practice_code": ["A11", "A12", "A13", "A14", "A15"],
        "practice_name": ["P 11", "P 12", "P 13", "P 14", "P 15"],
        "pcn_code": ["N1", "N1", "N2", "N2", "N3"],
        "pcn_name": ["PCN 1", "PCN 1", "PCN 2", "PCN 2", "PCN 3"],
        "commissioner_code": ["C1", "C1", "C1", "C2", "C2"],
    }
)
COMMISSIONERS = pd.DataFrame(
    {"commissioner_code": ["C1", "C2"], "commissioner_name": ["Comm 1", "Comm 2"]}
)
PILOTS = pd.DataFrame({"pilot_id": ["PX"], "pilot_name": ["Pilot X"]})
MEMBERS = pd.DataFrame(
    {
        "pilot_id": ["PX", "PX"],
        "member_type": ["practice", "practice"],
        "practice_pseudo_id": [15, 12],
        "start_date": [dt.date(2024, 1, 1), dt.date(2024, 2, 1)],
    }
)
ETHNICITIES = list(cat.ETHNICITY_TO_5)[:6] + ["Not stated"]
ATTRIBUTES = {
    "sex": ["female", "male", "unknown"],
    "ethnicity": ETHNICITIES,
    "imd_decile": [str(d) for d in range(1, 11)] + [cat.UNKNOWN],
    "religion": ["Christian", "None", cat.NOT_STATED],
    "disability": ["Yes", "No"],
    "sexual_orientation": ["Heterosexual", cat.NOT_STATED],
    "rural_urban": ["Urban", "Rural"],
}
PRACTICE_BREAKDOWNS = ("total", "sex")


def _definitions() -> dict[str, IndicatorDefinition]:
    return {d.id: d for d in load_definitions([SHIPPED_LIBRARY / "examples"])}


def _periods() -> list[Period]:
    return make_periods(dt.date(2024, 1, 1), dt.date(2024, 3, 31), Frequency.MONTH)


def _engine(periods: list[Period]) -> Engine:
    tables: dict[str, Any] = {
        "practices": ibis.memtable(PRACTICES),
        "commissioners": ibis.memtable(COMMISSIONERS),
        "pilot_sites": ibis.memtable(PILOTS),
        "pilot_site_members": ibis.memtable(MEMBERS),
    }
    return Engine(
        tables, periods, practice_breakdowns=PRACTICE_BREAKDOWNS, providers=False
    )


def _patients(seed: int, n: int = 600) -> pd.DataFrame:
    """Patient x period rows with every raw attribute (what the database pass sums)."""
    rng = np.random.default_rng(seed)
    patients = pd.DataFrame(
        {a: rng.choice(values, n) for a, values in ATTRIBUTES.items()}
        | {
            "practice_pseudo_id": rng.choice(PRACTICES["practice_pseudo_id"], n),
            "sband": rng.integers(0, 19, n),
        }
    )
    rows = []
    for period in range(3):
        p = patients.copy()
        p["period_id"] = period
        p["den"] = 1.0
        p["num"] = rng.poisson(0.4, n).astype(float)
        p["exc"] = (rng.random(n) < 0.05).astype(float)
        p["num_sq"] = p["num"] ** 2
        rows.append(p[rng.random(n) < 0.9])  # some patients not in every period
    return pd.concat(rows, ignore_index=True)


def _raw(patients: pd.DataFrame, standardised: bool) -> pd.DataFrame:
    """The database pass's rows: sums per period, practice[, band], attribute value."""
    keys = ["period_id", "practice_pseudo_id", *(["sband"] if standardised else [])]
    attributes = [*ATTRIBUTES, *([] if standardised else ["age_band"])]
    parts = []
    for a in attributes:
        column = "sband" if a == "age_band" else a
        g = (
            patients.assign(value=patients[column].astype(str))
            .groupby([*keys, "value"], as_index=False)[list(MEASURES)]
            .sum()
        )
        g["attribute"] = a
        g["n"] = 1
        parts.append(g)
    # shuffled: the result must not depend on the order of the database's rows
    raw = pd.concat(parts, ignore_index=True)
    return raw.sample(frac=1.0, random_state=1).reset_index(drop=True)


def _reference(
    raw: pd.DataFrame, definition: IndicatorDefinition, breakdowns: tuple[str, ...]
) -> pd.DataFrame:
    """The same results by plain pandas group-bys and the `carepilot.stats` methods."""
    standardised = definition.value_type in (ValueType.DSR, ValueType.ISR)
    keys = ["period_id", "practice_pseudo_id", *(["sband"] if standardised else [])]
    measures = list(MEASURES)
    derived = []
    for b in breakdowns:
        if b == "total" or (b == "age_band" and standardised):
            rows = raw[raw["attribute"] == "sex"].copy()
            rows["category"] = (
                "all" if b == "total" else rows["sband"].map(age_band_label)
            )
        else:
            attribute, mapping = DERIVED[b]
            rows = raw[raw["attribute"] == attribute].copy()
            rows["category"] = rows["value"].map(mapping)
        rows = rows.groupby([*keys, "category"], as_index=False)[measures].sum()
        rows["breakdown"] = b
        derived.append(rows)
    practice_rows = pd.concat(derived, ignore_index=True).merge(
        PRACTICES, on="practice_pseudo_id"
    )
    group = [k for k in keys if k != "practice_pseudo_id"] + ["breakdown", "category"]
    small = practice_rows[practice_rows["breakdown"].isin(PRACTICE_BREAKDOWNS)]
    members = MEMBERS[["pilot_id", "practice_pseudo_id"]].rename(
        columns={"pilot_id": "pilot_code"}
    )
    levels = [
        ("practice", small, "practice_code"),
        ("pcn", small, "pcn_code"),
        ("commissioner", practice_rows, "commissioner_code"),
        ("national", practice_rows.assign(national="national"), "national"),
        ("pilot", practice_rows.merge(members, on="practice_pseudo_id"), "pilot_code"),
    ]
    rolled = pd.concat(
        [
            rows.groupby([code, *group], as_index=False)[measures]
            .sum()
            .rename(columns={code: "area_code"})
            .assign(area_type=level)
            for level, rows, code in levels
        ],
        ignore_index=True,
    )
    out_keys = ["area_type", "area_code", "period_id", "breakdown", "category"]
    if not standardised:
        out = rolled.copy()
        stats = simple_statistics(
            out["num"].to_numpy(float),
            out["den"].to_numpy(float),
            out["num_sq"].to_numpy(float),
            definition,
        )
        for k, v in stats.items():
            out[k] = v
    else:
        x = rolled.pivot_table(
            index=out_keys, columns="sband", values="num", aggfunc="sum", fill_value=0
        ).reindex(columns=range(19), fill_value=0)
        n = rolled.pivot_table(
            index=out_keys, columns="sband", values="den", aggfunc="sum", fill_value=0
        ).reindex(columns=range(19), fill_value=0)
        out = x.index.to_frame(index=False)
        out["num"] = x.to_numpy().sum(axis=1)
        out["den"] = n.to_numpy().sum(axis=1)
        crude = (out["breakdown"] == "age_band").to_numpy()
        if definition.value_type is ValueType.ISR:
            national = out[
                (out["area_type"] == "national") & (out["breakdown"] == "total")
            ]
            pos = pd.Index(national["period_id"]).get_indexer(out["period_id"])
            ref_x = x.to_numpy(float)[national.index.to_numpy()][pos]
            ref_n = n.to_numpy(float)[national.index.to_numpy()][pos]
        for suffix, conf in CONFIDENCE.items():
            if definition.value_type is ValueType.ISR:
                res = indirectly_standardised_ratio(
                    x.to_numpy(float),
                    n.to_numpy(float),
                    ref_x,
                    ref_n,
                    refvalue=definition.multiplier,
                    confidence=conf,
                )
                value, lower, upper = res.value, res.lower, res.upper
            else:
                res = directly_standardised_rate(
                    x.to_numpy(float)[~crude],
                    n.to_numpy(float)[~crude],
                    ESP2013,
                    multiplier=definition.multiplier,
                    confidence=conf,
                )
                value, lower, upper = (np.full(len(out), np.nan) for _ in range(3))
                value[~crude], lower[~crude], upper[~crude] = (
                    res.value,
                    res.lower,
                    res.upper,
                )
                v, lo, hi = rate_interval(
                    out["num"].to_numpy(float)[crude],
                    out["den"].to_numpy(float)[crude],
                    definition.multiplier,
                    conf,
                )
                value[crude], lower[crude], upper[crude] = v, lo, hi
            out["value"] = value
            out[f"lower_ci_{suffix}"] = lower
            out[f"upper_ci_{suffix}"] = upper
    national = out.loc[
        out["area_type"] == "national", ["period_id", "breakdown", "category", "value"]
    ].rename(columns={"value": "benchmark"})
    out = out.merge(national, on=["period_id", "breakdown", "category"], how="left")
    out["comparison"] = np.where(
        out["area_type"] == "national",
        "not compared",
        compare_to_benchmark(
            out["value"].to_numpy(float),
            out["lower_ci_95"].to_numpy(float),
            out["upper_ci_95"].to_numpy(float),
            out["benchmark"].to_numpy(float),
            definition.polarity.value,
        ),
    )
    return out


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize(
    "indicator",
    [
        "emergency-admissions-dsr",
        "cvd-mortality-isr",
        "dm-prevalence",
        "ae-attendances",
    ],
)
def test_results_match_a_plain_pandas_implementation(indicator: str, seed: int) -> None:
    definition = _definitions()[indicator]
    periods = _periods()
    engine = _engine(periods)
    standardised = definition.value_type in (ValueType.DSR, ValueType.ISR)
    raw = _raw(_patients(seed), standardised)
    got = engine.results_from(raw, definition)
    want = _reference(raw, definition, engine.breakdowns_for(definition))

    assert "age_band" in set(got["breakdown"])
    starts = {p.start: i for i, p in enumerate(periods)}
    got["period_id"] = got["period_start"].map(starts)
    keys = ["area_type", "area_code", "period_id", "breakdown", "category"]
    merged = got.merge(want, on=keys, how="outer", indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"]
    np.testing.assert_array_equal(merged["numerator"], merged["num"])
    np.testing.assert_array_equal(merged["denominator"], merged["den"])
    for c in ("value", "lower_ci_95", "upper_ci_95", "lower_ci_99_8", "upper_ci_99_8"):
        np.testing.assert_allclose(
            merged[f"{c}_x"], merged[f"{c}_y"], rtol=1e-12, equal_nan=True
        )
    assert (merged["comparison_x"] == merged["comparison_y"]).all()
    # rows in results-contract order
    order = {
        a: i
        for i, a in enumerate(("national", "commissioner", "pcn", "practice", "pilot"))
    }
    key = list(
        zip(
            got["period_start"],
            got["area_type"].map(order),
            got["area_code"],
            got["breakdown"].map({b: i for i, b in enumerate(engine.breakdowns)}),
            got["category"],
            strict=True,
        )
    )
    assert key == sorted(key)


def _hand_case() -> tuple[pd.DataFrame, list[Period]]:
    """One period, two practices (one PCN, one commissioner), two age bands.

    Band 13 (65-69): practice 11 has 3 events in 1,000 people, practice 12 has
    2 in 1,500; band 14 (70-74): 12 events in 800 and 20 in 700.
    """
    cells = [
        (11, 13, "female", 3.0, 1000.0),
        (12, 13, "male", 2.0, 1500.0),
        (11, 14, "female", 12.0, 800.0),
        (12, 14, "female", 20.0, 700.0),
    ]
    raw = pd.DataFrame(
        [
            {
                "period_id": 0,
                "practice_pseudo_id": p,
                "sband": band,
                "attribute": "sex",
                "value": sex,
                "num": num,
                "den": den,
                "exc": 0.0,
                "num_sq": num,
                "n": int(den),
            }
            for p, band, sex, num, den in cells
        ]
    )
    return raw, _periods()[:1]


def _exact_poisson(o: float, conf: float) -> tuple[float, float]:
    """Exact Poisson limits of a count (below 10 events, as PHE)."""
    alpha = 1 - conf
    lower = chi2.ppf(alpha / 2, 2 * o) / 2 if o > 0 else 0.0
    return float(lower), float(chi2.ppf(1 - alpha / 2, 2 * (o + 1)) / 2)


def test_dsr_age_band_rows_are_crude_rates_per_band() -> None:
    raw, periods = _hand_case()
    definition = _definitions()["emergency-admissions-dsr"]
    out = _engine(periods).results_from(raw, definition)
    band = out[(out["breakdown"] == "age_band")].set_index(["area_code", "category"])
    # national 65-69: 5 events in 2,500 people = 200 per 100,000
    row = band.loc[("national", "65-69")]
    assert (row["numerator"], row["denominator"]) == (5.0, 2500.0)
    assert row["value"] == pytest.approx(200.0)
    lower, upper = _exact_poisson(5, 0.95)
    assert row["lower_ci_95"] == pytest.approx(lower / 2500 * 100_000, rel=1e-9)
    assert row["upper_ci_95"] == pytest.approx(upper / 2500 * 100_000, rel=1e-9)
    # practice rows are totals only by default; the commissioner has both
    # practices: 70-74 is 32 events in 1,500 = 2,133.3 per 100,000 (Byar's, >= 10)
    row = band.loc[("C1", "70-74")]
    assert row["value"] == pytest.approx(32 / 1500 * 100_000)
    o = 32.0
    z = 1.959963984540054
    byar_lower = o * (1 - 1 / (9 * o) - z / (3 * np.sqrt(o))) ** 3
    assert row["lower_ci_95"] == pytest.approx(byar_lower / 1500 * 100_000, rel=1e-6)
    # comparison with the national rate of the same band
    assert row["comparison"] == "similar"
    # the total row is still the DSR over both bands (ESP2013 weights)
    total = out[(out["breakdown"] == "total") & (out["area_code"] == "national")]
    w = ESP2013.array
    want = (w[13] * 5 / 2500 + w[14] * 32 / 1500) / w.sum() * 100_000
    assert total["value"].iloc[0] == pytest.approx(want)
    assert set(band.index.get_level_values("category")) == {"65-69", "70-74"}


def test_isr_age_band_rows_are_the_ratio_within_the_band() -> None:
    raw, periods = _hand_case()
    definition = _definitions()["cvd-mortality-isr"]
    out = _engine(periods).results_from(raw, definition)
    band = out[(out["breakdown"] == "age_band")].set_index(["area_code", "category"])
    # pilot X is practice 12 alone (15 has no rows): 70-74 observed 20, expected
    # 700 x 32/1500 (the national rate of the band) = 14.93 -> 133.9
    row = band.loc[("PX", "70-74")]
    expected = 700 * 32 / 1500
    assert row["value"] == pytest.approx(20 / expected * 100)
    assert row["numerator"] == 20.0 and row["denominator"] == 700.0
    # each band's national ratio is 100
    national = band.xs("national", level="area_code")
    assert national["value"].to_numpy() == pytest.approx([100.0, 100.0])


def test_opensafely_recomputes_dsr_age_band_rates_from_rounded_counts() -> None:
    raw, periods = _hand_case()
    scaled = raw.assign(num=raw["num"] * 10, num_sq=raw["num"] * 10)
    definition = _definitions()["emergency-admissions-dsr"]
    results = _engine(periods).results_from(scaled, definition)
    released = release(results, OPENSAFELY, value_fn=value_fn_for(definition))
    band = released[released["breakdown"] == "age_band"].set_index(
        ["area_code", "category"]
    )
    # national 65-69: 50 events in 2,500 people (both multiples of 5)
    row = band.loc[("national", "65-69")]
    assert row["value"] == pytest.approx(50 / 2500 * 100_000)
    assert row["lower_ci_95"] < row["value"] < row["upper_ci_95"]
    # C1 70-74: 320 events in 1,500 -> rounded 320 / 1,500, recomputed
    row = band.loc[("C1", "70-74")]
    assert row["value"] == pytest.approx(320 / 1500 * 100_000)
    # a DSR cannot be recomputed from rounded totals: blanked
    assert released.loc[released["breakdown"] == "total", "value"].isna().all()


@pytest.mark.parametrize(
    "indicator", ["emergency-admissions-dsr", "cvd-mortality-isr", "dm-prevalence"]
)
def test_areas_first_equals_practices_first(
    indicator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whole-number measures take the areas-first path (raw categories summed to
    commissioners, national and pilots before deriving); it must give exactly
    the rows of deriving every breakdown per practice."""
    import carepilot.engine.run as run

    definition = _definitions()[indicator]
    periods = _periods()
    standardised = definition.value_type in (ValueType.DSR, ValueType.ISR)
    raw = _raw(_patients(3), standardised)
    fast = _engine(periods).results_from(raw, definition)
    monkeypatch.setattr(run, "_exact_in_any_order", lambda values: False)
    slow = _engine(periods).results_from(raw, definition)
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)


def test_only_whole_numbers_are_summed_in_any_order() -> None:
    from carepilot.engine.run import _exact_in_any_order  # pyright: ignore[reportPrivateUsage]

    assert _exact_in_any_order([np.array([0.0, 3.0, 12.0]), np.array([np.nan, 1.0])])
    assert not _exact_in_any_order([np.array([1.0, 2.5])])
    assert not _exact_in_any_order([np.array([2.0**52, 2.0**52])])
