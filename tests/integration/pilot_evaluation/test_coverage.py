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
is a *relative* change. The evaluation reports it as the ``relative`` effect
``ATT / (mean treated post-period rate - ATT)``: the ATT divided by the
counterfactual rate of the treated cells, whose expectation is the planted
relative effect (its interval is the ATT interval scaled by the same factor, a
first-order approximation that treats the counterfactual mean as fixed). Coverage
is the share of replications whose 95 % interval of that relative effect contains
the planted value; under `PilotEffects.null()` the false-positive rate is the share
of replications whose headline ATT has p < 0.05 (nominal 5 %).

Replications run in two worker processes (the CI machine has 2 cores); every
replication is fully determined by its seed, so the figures are reproducible.
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
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

    @property
    def covers(self) -> bool:
        """Whether the 95 % interval of the relative effect contains the truth."""
        return self.ci_low <= self.truth <= self.ci_high


def one_pilot(tables: dict[str, pa.Table]) -> dict[str, pa.Table]:
    """Make every pilot practice a member of one pilot, ``ICP01``.

    The generator opens one pilot site per commissioner, so with ~24 practices the
    third that joins is split over two or three sites and ``ICP01`` may hold a
    single practice (the others would be excluded from the comparators). The
    planted effect is the same at every site, so the union is evaluated; each
    practice keeps its own (staggered) start date.
    """
    members = tables["pilot_site_members"]
    sites = tables["pilot_sites"]
    relabelled = members.set_column(
        members.schema.get_field_index("pilot_id"),
        members.schema.field("pilot_id"),
        pa.array(["ICP01"] * members.num_rows, type=pa.string()),
    )
    first = sites.filter(pc.equal(sites["pilot_id"], "ICP01"))  # pyright: ignore[reportAttributeAccessIssue]
    assert first.num_rows == 1, "the synthetic population has no pilot ICP01"
    return {**tables, "pilot_site_members": relabelled, "pilot_sites": first}


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
        pilot_practices=PILOT_PRACTICES, staggered=True, effects=effects,
    )  # fmt: skip
    tables = one_pilot(generate(config))
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
    if rel is None or rel.ci_low is None or rel.ci_high is None:
        return Replication(seed, truth, float("nan"), float("nan"), float("nan"), p)
    return Replication(seed, truth, rel.estimate, rel.ci_low, rel.ci_high, p)


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
    rejection = float(np.mean([r.p_value < 0.05 for r in null]))
    mc_se = float(estimates.std(ddof=1) / np.sqrt(len(estimates)))
    width = float(np.nanmedian([r.ci_high - r.ci_low for r in planted]))
    null_coverage = float(np.mean([r.covers for r in null]))
    print(
        f"\ncoverage of the planted emergency admissions effect ({truth:+.2f}): "
        f"{coverage:.0%} of {len(planted)} ({len(planted) - len(estimates)} without a "
        f"relative effect); mean relative estimate "
        f"{estimates.mean():+.3f} (Monte Carlo SE {mc_se:.3f}), median 95 % CI "
        f"width {width:.3f}\nnull: rejection rate at 5 % {rejection:.0%} of "
        f"{len(null)}, coverage of 0 {null_coverage:.0%}\n"
        f"runtime {elapsed:.0f} s ({WORKERS} workers)"
    )
    assert truth == pytest.approx(-0.08)
    assert coverage >= 0.90, [r for r in planted if not r.covers]
    assert rejection <= 0.10, [r for r in null if r.p_value < 0.05]
    # the estimator is centred on the truth, not just wide: bias within 3 MC SEs
    assert abs(estimates.mean() - truth) <= 3 * mc_se + 0.01
