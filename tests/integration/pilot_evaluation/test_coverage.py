"""Coverage of the planted pilot effect over seeded synthetic populations (issue 8).

Each replication generates a small synthetic population in memory
(`carepilot.synth.generate`) with staggered pilot starts, registers its Arrow
tables in an in-memory DuckDB (zero copy) and runs the same path as
``carepilot evaluate --design staggered``: `evaluate_pilot` computes the library
indicator ``emergency-admissions-rate`` through the engine, matches comparator
practices and fits Callaway & Sant'Anna (2021) on the practice x quarter panel.
The engine path is fast enough (~1 s a replication), so no hand-made panel is
used: what is tested is what users run.

Estimand. The generator multiplies each pilot practice's emergency admission rate
by ``1 + effect`` (default -8 %) from the practice's own start date, so the truth
is a *relative* change. The evaluation reports it as the ``relative`` effect,
``rate ratio - 1`` by Poisson imputation (`carepilot.evaluation.poisson_imputation`).
It used to be ``ATT / (mean treated post-period rate - ATT)``, which divides by a
noisy counterfactual (CS's single base period of ~200-patient practices): that
ratio was biased by about +0.06 (mean +0.002 against -0.08 over 100 seeds).
Coverage is the share of replications whose 95 % interval of the relative effect
contains the planted value; bias is checked against the Monte Carlo SE; under
`PilotEffects.null()` the false-positive rate is the share of replications whose
relative effect (and, separately, CS headline ATT) has p < 0.05 (nominal 5 %).
The generator's ``pilots=1`` puts every pilot practice in one pilot ``ICP01``.

Replications run in two worker processes (the CI machine has 2 cores); every
replication is fully determined by its seed, so the figures are reproducible.
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import pytest

from carepilot.synth import PilotEffects, SynthConfig

pytestmark = pytest.mark.slow  # ~3-4 min: 200 populations and evaluations

N_PLANTED = 100
N_NULL = 100
PATIENTS = 5_000
PRACTICES = 24
PILOT_PRACTICES = 8  # a third, staggered by PCN over 0, 3, 6 or 9 months
OUTCOME = "emergency-admissions-rate"
WORKERS = 2


@dataclass(frozen=True)
class Replication:
    """What one replication reports about the emergency admissions effect."""

    seed: int
    truth: float
    relative: float
    ci_low: float
    ci_high: float
    p_value: float
    p_relative: float

    @property
    def covers(self) -> bool:
        """Whether the 95 % interval of the relative effect contains the truth."""
        return self.ci_low <= self.truth <= self.ci_high


def replicate(seed: int, null: bool) -> Replication:
    """Generate one population and evaluate its pilot as `carepilot evaluate` does.

    Runs in a worker process, so imports are local and the result is plain data.
    """
    import ibis

    from carepilot.engine.tables import tables_from_connection
    from carepilot.indicators.periods import Frequency
    from carepilot.pilot_evaluation import EvaluationRequest, evaluate_pilot
    from carepilot.synth import generate

    effects = PilotEffects.null() if null else PilotEffects()
    config = SynthConfig(
        patients=PATIENTS, seed=seed, practices=PRACTICES,
        pilot_practices=PILOT_PRACTICES, staggered=True, pilots=1, effects=effects,
    )  # fmt: skip
    tables = generate(config)
    con = ibis.duckdb.connect()  # in memory
    for name, table in tables.items():
        con.con.register(name, table)  # Arrow tables are scanned in place, not copied
    request = EvaluationRequest(
        "ICP01", (OUTCOME,), design="staggered", frequency=Frequency.QUARTER,
        groups=False, sensitivity=False,
    )  # fmt: skip
    evaluation = evaluate_pilot(tables_from_connection(con), request)
    con.disconnect()
    main = evaluation.outcomes[0].main
    p = main.headline.p_value
    assert p is not None, main.headline
    truth = effects.get("emergency_admissions")
    # no relative effect when the counterfactual level is not positive: counted
    # as a miss (NaN bounds), never silently dropped
    rel = next((e for e in main.effects if e.name == "relative"), None)
    if rel is None or rel.ci_low is None or rel.ci_high is None or rel.p_value is None:
        nan = float("nan")
        return Replication(seed, truth, nan, nan, nan, p, nan)
    return Replication(
        seed, truth, rel.estimate, rel.ci_low, rel.ci_high, p, rel.p_value
    )


def _run_all(seeds: list[int], null: bool) -> list[Replication]:
    # spawn: DuckDB and BLAS threads in the parent must not be forked
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=WORKERS, mp_context=ctx) as pool:
        return list(pool.map(replicate, seeds, [null] * len(seeds)))


def test_staggered_evaluation_covers_planted_effect_and_keeps_size() -> None:
    clock = time.perf_counter()
    planted = _run_all(list(range(1, N_PLANTED + 1)), null=False)
    null = _run_all(list(range(1001, 1001 + N_NULL)), null=True)
    elapsed = time.perf_counter() - clock

    truth = planted[0].truth
    estimates = np.array([r.relative for r in planted])
    estimates = estimates[np.isfinite(estimates)]
    coverage = float(np.mean([r.covers for r in planted]))
    rejection = float(np.mean([r.p_relative < 0.05 for r in null]))
    rejection_att = float(np.mean([r.p_value < 0.05 for r in null]))
    power = float(np.mean([r.p_relative < 0.05 for r in planted]))
    mc_se = float(estimates.std(ddof=1) / np.sqrt(len(estimates)))
    width = float(np.nanmedian([r.ci_high - r.ci_low for r in planted]))
    null_est = np.array([r.relative for r in null])
    null_coverage = float(np.mean([r.covers for r in null]))
    print(
        f"\ncoverage of the planted emergency admissions effect ({truth:+.2f}): "
        f"{coverage:.0%} of {len(planted)} ({len(planted) - len(estimates)} without a "
        f"relative effect); mean relative estimate "
        f"{estimates.mean():+.3f} (Monte Carlo SE {mc_se:.3f}), median 95 % CI "
        f"width {width:.3f}, power {power:.0%}\nnull: rejection rate at 5 % "
        f"{rejection:.0%} (relative effect), {rejection_att:.0%} (CS ATT) of "
        f"{len(null)}; mean relative {np.nanmean(null_est):+.3f}, coverage of 0 "
        f"{null_coverage:.0%}\nruntime {elapsed:.0f} s ({WORKERS} workers)"
    )
    assert truth == pytest.approx(-0.08)
    assert len(estimates) == len(planted)
    assert coverage >= 0.90, [r for r in planted if not r.covers]
    assert rejection <= 0.10, [r for r in null if r.p_relative < 0.05]
    assert rejection_att <= 0.10, [r for r in null if r.p_value < 0.05]
    # centred on the truth, not just wide: bias within 2.5 Monte Carlo SEs, both
    # under the planted effect and under the null
    assert abs(estimates.mean() - truth) <= 2.5 * mc_se, (estimates.mean(), mc_se)
    null_se = float(np.nanstd(null_est, ddof=1) / np.sqrt(np.isfinite(null_est).sum()))
    assert abs(np.nanmean(null_est)) <= 2.5 * null_se, (np.nanmean(null_est), null_se)
