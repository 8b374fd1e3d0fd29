"""Hand-worked examples for every payment rule (amounts worked out on paper first)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from carepilot.contracts.model import (
    GapMeasure,
    ImprovementCredit,
    IndicatorTarget,
    InequalityTarget,
    Polarity,
    RiskShareType,
    ScoringMethod,
    Tier,
)
from carepilot.contracts.rules import (
    apply_risk_share,
    apportion,
    attainment_fraction,
    gap_reduction_pct,
    inequality_fraction,
    measure_gap,
    mssp_one_sided_msr_pct,
    round_money,
    round_points,
    score_indicator,
    slope_index_of_inequality,
)
from carepilot.errors import InsufficientDataError
from tests.unit.contracts.factories import bands, risk_share

BUDGET = D("10000000.00")


def share(spend: str, score: str = "100", **overrides: object):
    spec = risk_share(**overrides)
    return apply_risk_share(
        spec,
        BUDGET,
        D(spend),
        quality_score_pct=D(score),
        gate_min_score_pct=D(40),
        scale_by_quality=False,
    )


# --- rounding -------------------------------------------------------------------------


def test_round_money_is_half_up_away_from_zero() -> None:
    assert round_money(D("2.345")) == D("2.35")
    assert round_money(D("2.3449")) == D("2.34")
    assert round_money(D("-2.345")) == D("-2.35")
    assert round_points(D("28.9523809")) == D("28.95")


def test_apportion_adds_up_exactly_and_gives_leftover_pennies_to_largest_remainders() -> (
    None
):
    parts = apportion(D("1.01"), [D(50), D(50)])
    assert parts == [D("0.51"), D("0.50")]
    parts = apportion(D("100.00"), [D(1), D(1), D(1)])
    assert parts == [D("33.34"), D("33.33"), D("33.33")]
    assert sum(apportion(D("-7.00"), [D(1), D(2)])) == D("-7.00")
    assert apportion(D("5.00"), [D(0), D(0)]) == [D(0), D(0)]


# --- indicator scoring ------------------------------------------------------------------


def test_qof_hyp008_worked_example_from_reference() -> None:
    # Reference (QOF 2025/26): 780 / (1200 - 150) = 74.29 %, 38 points, 40-85 %:
    # 38 x (74.29 - 40) / 45 = 28.95 points.
    target = IndicatorTarget("hyp008", D(38), lower=D(40), upper=D(85))
    value = D(780) / D(1050) * 100
    assert round_points(D(38) * attainment_fraction(target, value)) == D("28.95")


def test_qof_dm020_worked_example_from_reference() -> None:
    # 560 / (900 - 60) = 66.67 %; 17 x (66.67 - 35) / 40 = 13.46 points.
    target = IndicatorTarget("dm020", D(17), lower=D(35), upper=D(75))
    value = D(560) / D(840) * 100
    assert round_points(D(17) * attainment_fraction(target, value)) == D("13.46")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("30", "0"), ("40", "0"), ("62.5", "0.5"), ("85", "1"), ("99", "1")],
)
def test_linear_scale_is_zero_below_lower_full_above_upper(
    value: str, expected: str
) -> None:
    target = IndicatorTarget("x", D(10), lower=D(40), upper=D(85))
    assert attainment_fraction(target, D(value)) == D(expected)


def test_linear_scale_for_lower_is_better_indicator() -> None:
    # Emergency admissions per 1,000: 120 earns nothing, 100 earns everything.
    target = IndicatorTarget(
        "emadm", D(10), polarity=Polarity.LOWER, lower=D(120), upper=D(100)
    )
    assert attainment_fraction(target, D(110)) == D("0.5")
    assert attainment_fraction(target, D(125)) == D(0)
    assert attainment_fraction(target, D(95)) == D(1)


def test_tiered_scale_takes_the_hardest_tier_reached() -> None:
    tiers = (Tier(D(60), D(50)), Tier(D(75), D(80)), Tier(D(90), D(100)))
    target = IndicatorTarget("smok", D(10), method=ScoringMethod.TIERED, tiers=tiers)
    assert attainment_fraction(target, D("59.99")) == D(0)
    assert attainment_fraction(target, D(60)) == D("0.5")
    assert attainment_fraction(target, D(80)) == D("0.8")
    assert attainment_fraction(target, D(90)) == D(1)


def test_tiered_lower_is_better() -> None:
    tiers = (Tier(D(120), D(50)), Tier(D(100), D(100)))
    target = IndicatorTarget(
        "emadm",
        D(10),
        polarity=Polarity.LOWER,
        method=ScoringMethod.TIERED,
        tiers=tiers,
    )
    assert attainment_fraction(target, D(121)) == D(0)
    assert attainment_fraction(target, D(110)) == D("0.5")
    assert attainment_fraction(target, D(100)) == D(1)


def test_improvement_credit_used_when_it_beats_attainment() -> None:
    # 42 % against 40-85 % attains 2/45 = 0.0444; up 6 points on a baseline of 36
    # with full credit for 5 points, capped at 50 % of the weight -> 0.5.
    target = IndicatorTarget(
        "hyp008",
        D(10),
        lower=D(40),
        upper=D(85),
        improvement=ImprovementCredit(D(5), D(50)),
    )
    score = score_indicator(target, D(42), D(36))
    assert score.basis == "improvement"
    assert score.earned == D("0.5")
    # 2.5 points of improvement -> half of the 50 % -> 0.25, still beats 0.0444
    assert score_indicator(target, D(42), D("39.5")).earned == D("0.25")
    # a worsening earns no improvement credit; attainment stands
    worse = score_indicator(target, D(80), D(85))
    assert worse.basis == "attainment"
    assert worse.earned == D(40) / D(45)


# --- inequality ------------------------------------------------------------------------


def test_sii_of_a_straight_line_with_equal_groups() -> None:
    # Mid-ranks 0.1, 0.3, 0.5, 0.7, 0.9; values fall 2 per 0.2 -> slope -10.
    assert slope_index_of_inequality([1] * 5, [10, 8, 6, 4, 2]) == pytest.approx(-10)


def test_sii_weights_groups_by_population() -> None:
    # Two groups, shares 0.25/0.75: mid-ranks 0.125 and 0.625, values 20 and 10:
    # slope = (10 - 20) / (0.625 - 0.125) = -20.
    assert slope_index_of_inequality([25, 75], [20, 10]) == pytest.approx(-20)


def test_sii_needs_two_groups() -> None:
    with pytest.raises(InsufficientDataError):
        slope_index_of_inequality([5], [1])


def test_gap_between_most_and_least_deprived_and_its_credit() -> None:
    target = InequalityTarget(
        "gap", "hyp008", D(30), minimum_reduction_pct=D(0), target_reduction_pct=D(10)
    )
    base = measure_gap(target, {"1": (500, 60.0), "5": (400, 75.0)})
    now = measure_gap(target, {"1": (500, 63.0), "5": (400, 76.5)})
    assert base.value == D(-15)
    assert now.value == D("-13.5")
    reduction = gap_reduction_pct(base.value, now.value)
    assert reduction == D(10)
    assert inequality_fraction(target, reduction) == D(1)
    assert inequality_fraction(target, D(5)) == D("0.5")
    assert inequality_fraction(target, D(-3)) == D(0)


def test_gap_measured_by_sii() -> None:
    target = InequalityTarget("sii", "hyp008", D(30), measure=GapMeasure.SII)
    cats = {str(k): (100.0, float(50 + 5 * k)) for k in range(1, 6)}
    assert measure_gap(target, cats).value == D("25.000000")


def test_gap_with_missing_category_is_insufficient() -> None:
    target = InequalityTarget("gap", "hyp008", D(30))
    with pytest.raises(InsufficientDataError, match="categories 5"):
        measure_gap(target, {"1": (500, 60.0)})


def test_gap_reduction_from_zero_baseline() -> None:
    assert gap_reduction_pct(D(0), D(0)) == D(100)
    assert gap_reduction_pct(D(0), D(1)) == D(-100)


# --- risk share: each corridor band, MSR/MLR, caps, gate -------------------------------


def test_savings_in_first_band() -> None:
    # 300,000 saved (3 %) >= MSR 2 %: first dollar, all in band 0-5 % at 50 %.
    r = share("9700000.00")
    assert (r.direction, r.threshold_met) == ("savings", True)
    assert [b.amount_in_band for b in r.bands] == [D("300000.00"), D(0)]
    assert r.provider_amount == D("150000.00")
    assert r.commissioner_amount == D("150000.00")


def test_savings_across_both_bands() -> None:
    # 800,000 (8 %): 500,000 x 50 % + 300,000 x 25 % = 250,000 + 75,000.
    r = share("9200000.00")
    assert [b.provider_amount for b in r.bands] == [D("250000.00"), D("75000.00")]
    assert r.provider_amount == D("325000.00")
    assert r.commissioner_amount == D("475000.00")


def test_savings_below_minimum_savings_rate_are_not_shared() -> None:
    r = share("9850000.00")  # 1.5 %
    assert not r.threshold_met
    assert r.provider_amount == D(0)
    assert r.commissioner_amount == D("150000.00")


def test_savings_exactly_at_msr_are_shared() -> None:
    r = share("9800000.00")  # 2.0 %
    assert r.threshold_met
    assert r.provider_amount == D("100000.00")


def test_without_first_dollar_only_savings_beyond_msr_are_shared() -> None:
    # 300,000 saved; the first 200,000 (2 %) stay with the commissioner.
    r = share("9700000.00", first_dollar=False)
    assert r.bands[0].amount_in_band == D("100000.00")
    assert r.provider_amount == D("50000.00")


def test_savings_cap_binds() -> None:
    # 2,000,000 (20 %): 250,000 + 1,500,000 x 25 % = 625,000 -> cap 3 % = 300,000.
    r = share("8000000.00", savings_cap_pct=D(3))
    assert r.provider_before_cap == D("625000.00")
    assert r.cap_amount == D("300000.00")
    assert r.provider_amount == D("300000.00")
    assert r.commissioner_amount == D("1700000.00")


def test_quality_gate_forfeits_shared_savings() -> None:
    r = share("9200000.00", score="39.99")
    assert not r.quality_gate_met
    assert r.provider_amount == D(0)
    assert r.commissioner_amount == D("800000.00")


def test_savings_scaled_by_quality_score() -> None:
    spec = risk_share()
    r = apply_risk_share(
        spec,
        BUDGET,
        D("9200000.00"),
        quality_score_pct=D(80),
        gate_min_score_pct=D(40),
        scale_by_quality=True,
    )
    assert r.provider_amount == D("260000.00")  # 325,000 x 0.8


def test_losses_in_first_band_two_sided() -> None:
    r = share("10400000.00")  # 4 % loss
    assert r.direction == "losses"
    assert r.provider_amount == D("200000.00")
    assert r.commissioner_amount == D("200000.00")


def test_losses_across_bands_and_loss_cap() -> None:
    # 700,000 (7 %): 500,000 x 50 % + 200,000 x 25 % = 300,000 -> cap 5 % = 500,000.
    assert share("10700000.00").provider_amount == D("300000.00")
    r = share("10700000.00", loss_cap_pct=D(1))
    assert r.provider_before_cap == D("300000.00")
    assert r.provider_amount == D("100000.00")
    assert r.commissioner_amount == D("600000.00")


def test_losses_below_minimum_loss_rate_stay_with_commissioner() -> None:
    r = share("10150000.00")
    assert r.provider_amount == D(0)
    assert r.commissioner_amount == D("150000.00")


def test_quality_gate_does_not_waive_losses() -> None:
    assert share("10400000.00", score="0").provider_amount == D("200000.00")


def test_one_sided_contract_bears_no_losses() -> None:
    r = share("10400000.00", type=RiskShareType.ONE_SIDED, loss_bands=())
    assert r.provider_amount == D(0)
    assert r.commissioner_amount == D("400000.00")


def test_spend_equal_to_budget_shares_nothing() -> None:
    r = share("10000000.00")
    assert r.direction == "none"
    assert r.provider_amount == r.commissioner_amount == D(0)


def test_non_positive_budget_is_refused() -> None:
    with pytest.raises(InsufficientDataError, match="budget"):
        apply_risk_share(
            risk_share(),
            D(0),
            D(10),
            quality_score_pct=D(100),
            gate_min_score_pct=D(0),
            scale_by_quality=False,
        )


# --- MSSP-style worked examples -----------------------------------------------------------


def test_mssp_one_sided_msr_end_points_verified_in_reference() -> None:
    assert mssp_one_sided_msr_pct(5_000) == D("3.90")
    assert mssp_one_sided_msr_pct(60_000) == D("2.00")
    assert mssp_one_sided_msr_pct(250_000) == D("2.00")
    assert mssp_one_sided_msr_pct(20_000) == D("2.50")
    with pytest.raises(InsufficientDataError):
        mssp_one_sided_msr_pct(4_999)


def mssp(spend: str, budget: str, spec_kwargs: dict[str, object], score: str = "100"):
    return apply_risk_share(
        risk_share(**spec_kwargs),
        D(budget),
        D(spend),
        quality_score_pct=D(score),
        gate_min_score_pct=D(0),
        scale_by_quality=False,
    )


BASIC_ONE_SIDED: dict[str, object] = {
    "type": RiskShareType.ONE_SIDED,
    "savings_bands": bands(("0", None, "40")),
    "loss_bands": (),
    "minimum_savings_rate_pct": D("3.9"),
    "savings_cap_pct": D(10),
}


def test_mssp_basic_one_sided_savings_below_msr_earn_nothing() -> None:
    # 5,000 beneficiaries -> MSR 3.9 %; benchmark $50m, spend $48.5m: 3 % < MSR.
    r = mssp("48500000", "50000000", BASIC_ONE_SIDED)
    assert r.provider_amount == D(0)


def test_mssp_basic_one_sided_first_dollar_sharing() -> None:
    # $2.5m (5 %) >= 3.9 %: shared from the first dollar at 40 % = $1.0m (cap $5m).
    r = mssp("47500000", "50000000", BASIC_ONE_SIDED)
    assert r.provider_amount == D("1000000.00")


ENHANCED: dict[str, object] = {
    "type": RiskShareType.TWO_SIDED,
    "savings_bands": bands(("0", None, "75")),
    "loss_bands": bands(("0", None, "40")),  # 1 - 75 % sharing, floored at 40 %
    "minimum_savings_rate_pct": D(2),
    "minimum_loss_rate_pct": D(2),
    "savings_cap_pct": D(20),
    "loss_cap_pct": D(15),
}


def test_mssp_enhanced_savings_capped_at_20_percent_of_benchmark() -> None:
    # Benchmark $100m, spend $70m: 75 % x $30m = $22.5m -> cap $20m.
    r = mssp("70000000", "100000000", ENHANCED)
    assert r.provider_before_cap == D("22500000.00")
    assert r.provider_amount == D("20000000.00")


def test_mssp_enhanced_losses_capped_at_15_percent_of_benchmark() -> None:
    # Spend $120m: 40 % x $20m = $8m; spend $140m: 40 % x $40m = $16m -> cap $15m.
    assert mssp("120000000", "100000000", ENHANCED).provider_amount == D("8000000.00")
    assert mssp("140000000", "100000000", ENHANCED).provider_amount == D("15000000.00")


def test_mssp_basic_level_e_losses() -> None:
    # BASIC E: 30 % of losses, capped at 4 % of benchmark: $10m loss -> $3m.
    spec: dict[str, object] = {
        **ENHANCED,
        "savings_bands": bands(("0", None, "50")),
        "loss_bands": bands(("0", None, "30")),
        "savings_cap_pct": D(10),
        "loss_cap_pct": D(4),
    }
    assert mssp("110000000", "100000000", spec).provider_amount == D("3000000.00")
    assert mssp("120000000", "100000000", spec).provider_amount == D("4000000.00")
