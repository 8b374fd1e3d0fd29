"""Calibrate the patient-level pilot evaluation (`carepilot evaluate --design aipw|ipw`).

    .venv/bin/python benchmarks/patient_calibration.py [--reps 100] [--design aipw]

For each seed, the script generates a staggered 5,000-patient population in memory
(24 practices, 8 pilot practices in one pilot, as `tests/integration/pilot_evaluation/
test_coverage.py` does). It registers the Arrow tables in an in-memory DuckDB and runs
`evaluate_pilot` with the patient-level design on emergency admissions (planted −8 %)
and outpatient follow-ups (planted −20 %).

It does this under the planted effects (seeds 1..reps) and under `PilotEffects.null()`
(seeds 1001..1000+reps). It prints the mean relative effect with its Monte Carlo SE,
the coverage of the planted value by the 95 % interval, the rejection rates at 5 % of
the relative effect, of the ATT and of the pre-period placebo, and the CPU time per
replication.

It is too slow for CI (about 3 s CPU a replication): run it by hand after changing
the patient-level design and record the figures in docs/status.md.
"""

from __future__ import annotations

import argparse
import time

import ibis
import numpy as np

from carepilot.engine.tables import tables_from_connection
from carepilot.pilot_evaluation import EvaluationRequest, evaluate_pilot
from carepilot.synth import PilotEffects, SynthConfig, generate

OUTCOMES = {
    "emergency-admissions-rate": "emergency_admissions",
    "outpatient-follow-up-rate": "outpatient_follow_ups",
}


def replicate(seed: int, null: bool, design: str) -> dict[str, dict[str, float]]:
    """One population, one evaluation: relative effect, its CI and the p-values."""
    effects = PilotEffects.null() if null else PilotEffects()
    config = SynthConfig(
        patients=5_000, seed=seed, practices=24, pilot_practices=8,
        staggered=True, pilots=1, effects=effects,
    )  # fmt: skip
    con = ibis.duckdb.connect()
    for name, table in generate(config).items():
        con.con.register(name, table)
    request = EvaluationRequest(
        "ICP01", tuple(OUTCOMES), design=design, groups=False, sensitivity=True
    )
    ev = evaluate_pilot(tables_from_connection(con), request)
    con.disconnect()
    out: dict[str, dict[str, float]] = {}
    for oe in ev.outcomes:
        rel = oe.main.effect("relative")
        placebo = next(v for k, v in oe.sensitivity.items() if k.startswith("placebo"))
        assert not isinstance(placebo, str), placebo
        out[oe.outcome] = {
            "truth": effects.get(OUTCOMES[oe.outcome]),
            "estimate": rel.estimate,
            "ci_low": float("nan") if rel.ci_low is None else rel.ci_low,
            "ci_high": float("nan") if rel.ci_high is None else rel.ci_high,
            "p": float("nan") if rel.p_value is None else rel.p_value,
            "p_att": float("nan") if oe.main.headline.p_value is None
            else oe.main.headline.p_value,
            "p_placebo": float("nan") if placebo.headline.p_value is None
            else placebo.headline.p_value,
        }  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--design", choices=("aipw", "ipw"), default="aipw")
    args = parser.parse_args()
    for scenario, first in (("planted", 1), ("null", 1001)):
        clock = time.process_time()
        runs = [
            replicate(s, scenario == "null", args.design)
            for s in range(first, first + args.reps)
        ]
        cpu = (time.process_time() - clock) / args.reps
        print(f"{scenario} ({args.design}, {args.reps} seeds, {cpu:.1f} s CPU each)")
        for outcome in OUTCOMES:
            r = [run[outcome] for run in runs]
            est = np.array([x["estimate"] for x in r])
            truth = r[0]["truth"]
            cover = np.mean([x["ci_low"] <= truth <= x["ci_high"] for x in r])
            mc_se = est.std(ddof=1) / np.sqrt(len(est))
            rej = {
                k: np.mean([x[k] < 0.05 for x in r])
                for k in ("p", "p_att", "p_placebo")
            }
            print(
                f"  {outcome}: truth {truth:+.2f}, mean relative {est.mean():+.3f} "
                f"(MC SE {mc_se:.3f}), coverage {cover:.0%}, rejections at 5 %: "
                f"relative {rej['p']:.0%}, ATT {rej['p_att']:.0%}, placebo "
                f"{rej['p_placebo']:.0%}"
            )


if __name__ == "__main__":
    main()
