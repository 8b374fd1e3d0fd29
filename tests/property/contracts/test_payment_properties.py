"""Hypothesis properties of the payment rules (STYLE Part 2, principle 10)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from carepilot.contracts.model import RiskShareType
from carepilot.contracts.rules import apply_risk_share, apportion
from carepilot.contracts.settlement import settle
from tests.unit.contracts.factories import bands, contract, quality, risk_share
from tests.unit.contracts.test_settlement import inputs

money = st.decimals(min_value=D("0.00"), max_value=D("50000000.00"), places=2)
positive_money = st.decimals(
    min_value=D("1000.00"), max_value=D("50000000.00"), places=2
)
pct = st.decimals(min_value=D(0), max_value=D(100), places=2)
score = st.decimals(min_value=D(0), max_value=D(100), places=2)


@st.composite
def corridors(draw: st.DrawFn):
    cut = draw(st.decimals(min_value=D("0.5"), max_value=D(20), places=1))
    s1, s2 = draw(pct), draw(pct)
    spec = risk_share(
        savings_bands=bands(("0", str(cut), str(s1)), (str(cut), None, str(s2))),
        loss_bands=bands(("0", str(cut), str(s1)), (str(cut), None, str(s2))),
        minimum_savings_rate_pct=draw(
            st.decimals(min_value=D(0), max_value=D(5), places=1)
        ),
        savings_cap_pct=draw(pct),
        loss_cap_pct=draw(pct),
    )
    return replace(spec, minimum_loss_rate_pct=spec.minimum_savings_rate_pct)


def shared(spec, budget, spend, q, gate=D(40), scale=False):
    return apply_risk_share(
        spec,
        budget,
        spend,
        quality_score_pct=q,
        gate_min_score_pct=gate,
        scale_by_quality=scale,
    )


@given(corridors(), positive_money, money, score)
def test_provider_share_never_exceeds_caps_or_the_amount(
    spec, budget, spend, q
) -> None:
    r = shared(spec, budget, spend, q)
    cap_pct = spec.savings_cap_pct if r.direction == "savings" else spec.loss_cap_pct
    assert D(0) <= r.provider_amount <= budget * cap_pct / 100 + D("0.005")
    assert r.provider_amount <= abs(r.variance)
    assert r.provider_amount + r.commissioner_amount == abs(r.variance)


@given(
    corridors(),
    positive_money,
    st.decimals(min_value=D(0), max_value=D("0.9"), places=4),
)
def test_savings_and_losses_symmetric_when_configured(spec, budget, frac) -> None:
    spec = replace(spec, loss_cap_pct=spec.savings_cap_pct)  # symmetric configuration
    amount = (budget * frac).quantize(D("0.01"))
    saving = shared(spec, budget, budget - amount, D(100))
    loss = shared(spec, budget, budget + amount, D(100))
    assert saving.provider_amount == loss.provider_amount


@given(corridors(), positive_money, money, score, score, st.booleans())
def test_provider_savings_monotone_in_quality_score(
    spec, budget, spend, q1, q2, scale
) -> None:
    low, high = sorted((q1, q2))
    a = shared(spec, budget, spend, low, scale=scale)
    b = shared(spec, budget, spend, high, scale=scale)
    assert a.provider_amount <= b.provider_amount or a.direction == "losses"


@given(
    st.decimals(min_value=D(0), max_value=D(100), places=2),
    st.decimals(min_value=D(0), max_value=D(100), places=2),
    st.decimals(min_value=D(0), max_value=D(100), places=2),
    st.decimals(min_value=D(0), max_value=D(10), places=2),
)
def test_payment_monotone_non_decreasing_in_quality(hyp, dm, gap_step, bump) -> None:
    c = contract()
    gap = str(D(-15) + gap_step / 20)
    worse = settle(c, inputs(hyp=str(hyp), dm=str(dm), gap_now=gap))
    better = settle(
        c,
        inputs(
            hyp=str(min(D(100), hyp + bump)),
            dm=str(min(D(100), dm + bump)),
            gap_now=gap,
        ),
    )
    assert better.quality.score_pct >= worse.quality.score_pct
    assert better.total_paid >= worse.total_paid
    assert better.provider_result >= worse.provider_result


@given(
    st.dictionaries(
        st.sampled_from(["apcs", "opa", "ec", "community"]),
        st.decimals(min_value=D(0), max_value=D(3000000), places=2),
        min_size=1,
    ),
    st.decimals(min_value=D(0), max_value=D(100000), places=2),
    st.decimals(min_value=D(0), max_value=D(10), places=3),
    st.sampled_from([RiskShareType.ONE_SIDED, RiskShareType.TWO_SIDED]),
    st.sampled_from(["zero", "reweight"]),
)
def test_statement_totals_reconcile_to_the_penny(
    spend, pooled, withhold, kind, missing
) -> None:
    from carepilot.contracts.model import MissingPolicy, Setting

    rs = (
        risk_share(type=kind)
        if kind is RiskShareType.TWO_SIDED
        else risk_share(type=kind, loss_bands=())
    )
    c = contract(
        risk_share=rs,
        quality=quality(withhold_pct=withhold, if_missing=MissingPolicy(missing)),
    )
    gross = {Setting(k): v for k, v in spend.items()}
    inp = replace(
        inputs(dm=None),
        gross_spend=gross,
        pooled_excess=min(pooled, sum(gross.values())),
    )
    s = settle(c, inp)  # settle() itself raises if any identity fails
    assert s.quality.earned <= s.withheld
    assert sum((q.payment for q in s.quality.lines), D(0)) == s.quality.earned


@given(
    st.decimals(min_value=D("-1000000"), max_value=D("1000000"), places=2),
    st.lists(
        st.decimals(min_value=D(0), max_value=D(1000), places=3), min_size=1, max_size=8
    ),
)
def test_apportion_always_adds_up(total, weights) -> None:
    parts = apportion(total, weights)
    if sum(weights, D(0)) > 0:
        assert sum(parts, D(0)) == total
        assert all(abs(p) <= abs(total) for p in parts)
