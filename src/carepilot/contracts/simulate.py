"""What-if Monte Carlo of a contract before signing: provider payment and commissioner risk.

Each simulated year applies the contract to history with variation drawn from
history:

* population and spend: the pilot population of the measured year is resampled
  with replacement (patient bootstrap: who falls ill, and how expensively, is the
  main risk of a capitated budget for a small population); the budget follows the
  resampled population's risk profile, as risk adjustment intends. A common shock
  to spend, Normal(0, sigma), adds system-wide variation; sigma is the standard
  deviation of year-on-year log changes in the pilot's spend per patient-year over
  the years in the database (3 % when fewer than three years are available);
* indicator achievement: Normal(observed value, sd) with sd^2 = binomial sampling
  variance (100^2 p (1 - p) / denominator) + the variance of year-on-year changes of
  the indicator in the results file (2 points when there is no history); an
  inequality gap varies with sd x sqrt(2).

Every draw is settled with the pure `settle`, so simulated payments follow the
same rules, to the penny, as a real statement. Sensitivity scenarios (withhold %,
corridor shares, minimum savings rate, indicator thresholds) reuse the same draws
(common random numbers), so differences between scenarios are due to the
contract terms alone.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from carepilot.contracts import capitation, data
from carepilot.contracts.capitation import net_of_pooling
from carepilot.contracts.model import HUNDRED, Band, Contract, ScoringMethod
from carepilot.contracts.rules import GapObservation, round_money, to_decimal
from carepilot.contracts.service import (
    PeriodMeasures,
    fit_baseline,
    measure_period,
    period_bounds,
)
from carepilot.contracts.settlement import (
    IndicatorObservation,
    InequalityObservation,
    SettlementInputs,
    settle,
)

DEFAULT_SPEND_SD = 0.03
DEFAULT_INDICATOR_SD = 2.0
SENSITIVITY_RUNS = 400


@dataclass(frozen=True)
class SimulationResult:
    """Draws of the base contract and the sensitivity table."""

    contract: Contract
    year: int
    runs: int
    seed: int
    spend_sd: float
    draws: pd.DataFrame
    sensitivity: pd.DataFrame

    def summary(self) -> dict[str, dict[str, float]]:
        """Mean and 5th/50th/95th percentiles of the main measures."""
        out: dict[str, dict[str, float]] = {}
        for col in (
            "provider_result",
            "total_paid",
            "commissioner_excess_over_budget",
            "quality_score_pct",
        ):
            values = self.draws[col].to_numpy(dtype=float)
            out[col] = {
                "mean": float(values.mean()),
                "p5": float(np.percentile(values, 5)),
                "p50": float(np.percentile(values, 50)),
                "p95": float(np.percentile(values, 95)),
            }
        return out


def _spend_sd(
    con: Any, contract: Contract, practices: Sequence[int], year: int
) -> float:
    spec = contract.capitation
    per_capita: list[float] = []
    for y in range(spec.baseline_year - 4, year + 1):
        start, end = contract.term.year_start(y), contract.term.year_end_exclusive(y)
        frame = data.population_frame(
            con, practices, start, end, (end - start).days, spec, as_of=start
        )
        exposure = float(frame["exposure"].sum()) if not frame.empty else 0.0
        if exposure > 0 and float(frame["gross_cost"].sum()) > 0:
            per_capita.append(float(frame["gross_cost"].sum()) / exposure)
    if len(per_capita) < 3:
        return DEFAULT_SPEND_SD
    changes = np.diff(np.log(per_capita))
    return float(np.std(changes, ddof=1))


def _indicator_sd(
    results: pd.DataFrame,
    contract: Contract,
    indicator_id: str,
    obs: IndicatorObservation,
) -> float:
    sampling = 0.0
    if obs.value is not None and obs.denominator and 0 <= float(obs.value) <= 100:
        p = float(obs.value) / 100
        sampling = 100**2 * p * (1 - p) / obs.denominator
    area = contract.population.pilot_id
    rows = results[
        (results["indicator_id"] == indicator_id)
        & (results["breakdown"] == "total")
        & (results["area_code"] == area)
    ]
    series = rows.sort_values("period_end")["value"].to_numpy(dtype=float)
    history = (
        float(np.var(np.diff(series), ddof=1))
        if len(series) >= 3
        else DEFAULT_INDICATOR_SD**2
    )
    return math.sqrt(sampling + history)


def _draw_inputs(
    base: SettlementInputs,
    frame: pd.DataFrame,
    contract: Contract,
    model_expected: np.ndarray,
    build: Any,
    rng: np.random.Generator,
    spend_sd: float,
    sds: dict[str, float],
) -> SettlementInputs:
    n = len(frame)
    counts = rng.multinomial(n, np.full(n, 1.0 / n)).astype(float)
    shock = 1.0 + rng.normal(0.0, spend_sd)
    gross_i = frame["gross_cost"].to_numpy(dtype=float) * shock
    _, pooled_i = net_of_pooling(gross_i, contract.capitation.high_cost)
    expected = round_money(to_decimal(float(counts @ model_expected), 4))
    gross = {
        s: round_money(
            to_decimal(
                float(counts @ frame[f"cost_{s.value}"].to_numpy(dtype=float)) * shock,
                4,
            )
        )
        for s in contract.capitation.settings
    }
    tariff = {
        s: round_money(
            to_decimal(
                float(counts @ frame[f"tariff_{s.value}"].to_numpy(dtype=float))
                * shock,
                4,
            )
        )
        for s in contract.capitation.settings
    }
    indicators = {
        k: replace(
            o,
            value=None
            if o.value is None
            else to_decimal(float(o.value) + rng.normal(0, sds[k]), 4),
        )
        for k, o in base.indicators.items()
    }
    gaps: dict[str, InequalityObservation] = {}
    for t in contract.quality.inequality_targets:
        o = base.inequalities[t.name]
        if o.current is None:
            gaps[t.name] = o
            continue
        sd = sds.get(t.indicator_id, DEFAULT_INDICATOR_SD) * math.sqrt(2)
        value = to_decimal(float(o.current.value) + rng.normal(0, sd), 4)
        gaps[t.name] = replace(o, current=GapObservation(value, "simulated"))
    community = (
        int(round(float(counts @ frame["community_attended"].to_numpy(dtype=float))))
        if "community_attended" in frame
        else 0
    )
    return replace(
        base,
        budget=replace(build, expected_cost=expected, registered_patients=n),
        gross_spend=gross,
        pooled_excess=round_money(to_decimal(float(counts @ pooled_i), 4)),
        pooled_patients=int(counts[pooled_i > 0].sum()),
        tariff_base=tariff,
        community_attended_contacts=community,
        indicators=indicators,
        inequalities=gaps,
    )


def _row(contract: Contract, inputs: SettlementInputs) -> dict[str, float]:
    s = settle(contract, inputs)
    return {
        "budget": float(s.budget),
        "spend": float(s.spend),
        "quality_score_pct": float(s.quality.score_pct),
        "provider_result": float(s.provider_result),
        "total_paid": float(s.total_paid),
        "year_end_payment": float(s.year_end_payment),
        "commissioner_excess_over_budget": float(
            s.total_paid - s.pooled_excess - s.budget
        ),
        "commissioner_gain_vs_tariff": float(s.commissioner_gain_vs_tariff),
    }


def scenarios(contract: Contract) -> list[tuple[str, str, Contract]]:
    """Sensitivity variants: (parameter, setting, contract)."""
    out: list[tuple[str, str, Contract]] = [("base", "as written", contract)]
    q, rs = contract.quality, contract.risk_share
    for w in ("0", "1.25", "2.5", "5"):
        if Decimal(w) != q.withhold_pct:
            out.append(
                (
                    "withhold %",
                    w,
                    replace(contract, quality=replace(q, withhold_pct=Decimal(w))),
                )
            )

    def scale_bands(bands: tuple[Band, ...], f: Decimal) -> tuple[Band, ...]:
        return tuple(
            replace(b, provider_share_pct=min(HUNDRED, b.provider_share_pct * f))
            for b in bands
        )

    for f in ("0.5", "1.5"):
        factor = Decimal(f)
        new_rs = replace(
            rs,
            savings_bands=scale_bands(rs.savings_bands, factor),
            loss_bands=scale_bands(rs.loss_bands, factor),
        )
        out.append(("corridor shares", f"x{f}", replace(contract, risk_share=new_rs)))
    for msr in ("0", "2", "4"):
        if Decimal(msr) != rs.minimum_savings_rate_pct:
            new_rs = replace(
                rs,
                minimum_savings_rate_pct=Decimal(msr),
                minimum_loss_rate_pct=Decimal(msr),
            )
            out.append(
                (
                    "minimum savings/loss rate %",
                    msr,
                    replace(contract, risk_share=new_rs),
                )
            )
    for shift in ("-5", "5"):
        d = Decimal(shift)
        targets = tuple(
            replace(t, lower=t.lower + d, upper=t.upper + d)
            if t.method is ScoringMethod.LINEAR
            and t.lower is not None
            and t.upper is not None
            else t
            for t in q.indicators
        )
        out.append(
            (
                "indicator thresholds",
                f"{shift} points",
                replace(contract, quality=replace(q, indicators=targets)),
            )
        )
    return out


def simulate_draws(
    contract: Contract,
    measured: PeriodMeasures,
    model: capitation.CostModel,
    results: pd.DataFrame,
    *,
    runs: int,
    seed: int,
    spend_sd: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Settle `runs` simulated years and the sensitivity scenarios (pure given inputs)."""
    frame = measured.frame[measured.frame["exposure"] > 0].reset_index(drop=True)
    expected_i = model.predict(frame) * frame["exposure"].to_numpy(dtype=float)
    base = measured.inputs
    sds = {
        k: _indicator_sd(results, contract, k, o) for k, o in base.indicators.items()
    }
    rng = np.random.default_rng(seed)
    drawn = [
        _draw_inputs(base, frame, contract, expected_i, base.budget, rng, spend_sd, sds)
        for _ in range(runs)
    ]
    draws = pd.DataFrame([_row(contract, d) for d in drawn])
    rows: list[dict[str, Any]] = []
    subset = drawn[: min(runs, SENSITIVITY_RUNS)]
    for parameter, setting, variant in scenarios(contract):
        sims = pd.DataFrame([_row(variant, d) for d in subset])
        rows.append(
            {
                "parameter": parameter,
                "setting": setting,
                "provider_result_mean": sims["provider_result"].mean(),
                "provider_result_p5": sims["provider_result"].quantile(0.05),
                "provider_result_p95": sims["provider_result"].quantile(0.95),
                "total_paid_mean": sims["total_paid"].mean(),
                "total_paid_p95": sims["total_paid"].quantile(0.95),
                "prob_provider_loss": float((sims["provider_result"] < 0).mean()),
            }
        )
    return draws, pd.DataFrame(rows)


def run_simulation(
    contract: Contract,
    db_path: Path,
    results: pd.DataFrame,
    year: int,
    *,
    runs: int = 2000,
    seed: int = 20240401,
    results_source: str = "results",
) -> SimulationResult:
    """Measure the contract year (or the latest history) and simulate it."""
    from carepilot.contracts.results import check_indicators_present
    from carepilot.store import open_database

    check_indicators_present(contract, results, results_source)
    bounds = period_bounds(contract, year, quarterly=False)[0]
    con = open_database(db_path, read_only=True)
    try:
        model = fit_baseline(con, contract)
        end = contract.term.year_end_exclusive(year)
        practices = data.pilot_practices(con, contract, end)
        measured = measure_period(
            con, contract, model, Decimal(1), practices, year, bounds, results
        )
        if measured.inputs.budget.registered_patients == 0:
            base_year = contract.capitation.baseline_year
            start = contract.term.year_start(base_year)
            bounds = (
                f"{base_year} (history)",
                start,
                contract.term.year_end_exclusive(base_year),
            )
            # History before the pilot: the member practices' whole lists.
            measured = measure_period(
                con, contract, model, Decimal(1), list(practices), year, bounds, results
            )
        spend_sd = _spend_sd(con, contract, list(practices), year)
    finally:
        con.close()
    draws, sensitivity = simulate_draws(
        contract, measured, model, results, runs=runs, seed=seed, spend_sd=spend_sd
    )
    return SimulationResult(contract, year, runs, seed, spend_sd, draws, sensitivity)


def chart(result: SimulationResult) -> Any:
    """Altair histograms of the provider's result and the commissioner's total payment."""
    import altair as alt

    long = result.draws.melt(
        value_vars=["provider_result", "commissioner_excess_over_budget"],
        var_name="measure",
        value_name="gbp",
    )
    long["measure"] = long["measure"].map(
        {
            "provider_result": "Provider result (income - spend), £",
            "commissioner_excess_over_budget": "Commissioner payment above budget, £",
        }
    )
    return (
        alt.Chart(long)
        .mark_bar(color="#005eb8")
        .encode(
            x=alt.X("gbp:Q", bin=alt.Bin(maxbins=40), title="£"),
            y=alt.Y("count():Q", title="simulated years"),
        )
        .properties(width=380, height=220)
        .facet(column=alt.Column("measure:N", title=None))
        .resolve_scale(x="independent")
        .properties(
            title=f"{result.contract.id}: {result.runs} simulated years (seed {result.seed})"
        )
    )


def write_outputs(result: SimulationResult, out: Path) -> list[Path]:
    """Write draws (CSV), summary and sensitivity (JSON, CSV) and the plot (PNG, SVG)."""
    import vl_convert as vlc

    stem = f"{result.contract.id}-{result.year}-simulation"
    paths = [
        out / f"{stem}-draws.csv",
        out / f"{stem}-sensitivity.csv",
        out / f"{stem}.json",
        out / f"{stem}.png",
        out / f"{stem}.svg",
    ]
    result.draws.to_csv(paths[0], index=False)
    result.sensitivity.to_csv(paths[1], index=False)
    doc = simulation_document(result)
    paths[2].write_text(json.dumps(doc, indent=2, default=float), encoding="utf-8")
    spec = chart(result).to_dict()
    paths[3].write_bytes(vlc.vegalite_to_png(spec, scale=2))
    paths[4].write_text(vlc.vegalite_to_svg(spec), encoding="utf-8")
    return paths


def chart_svg(result: SimulationResult) -> str:
    """The plot as SVG markup (for embedding in a web page)."""
    import vl_convert as vlc

    return vlc.vegalite_to_svg(chart(result).to_dict())


def simulation_document(result: SimulationResult) -> dict[str, Any]:
    """Summary, risk probabilities and the sensitivity table, JSON-safe."""
    return {
        "contract": result.contract.id,
        "year": result.year,
        "runs": result.runs,
        "seed": result.seed,
        "spend_shock_sd": result.spend_sd,
        "summary": result.summary(),
        "prob_provider_loss": float((result.draws["provider_result"] < 0).mean()),
        "prob_commissioner_pays_above_budget": float(
            (result.draws["commissioner_excess_over_budget"] > 0).mean()
        ),
        "sensitivity": json.loads(
            result.sensitivity.to_json(orient="records", double_precision=6)
        ),
    }
