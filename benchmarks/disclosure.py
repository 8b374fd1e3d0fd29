"""Benchmark disclosure control on a ~1M-row indicator results table.

    .venv/bin/python benchmarks/disclosure.py [--practices 6000] [--groups 9]
    .venv/bin/python benchmarks/disclosure.py --table results.parquet

The table is additive like the engine's output: for each group (indicator x
period), every area of practice -> PCN -> commissioner -> national carries 16
breakdown rows (total, sex x 2, age band x 8, ethnicity x 5) that are marginals
of one joint practice-level table, and parents are the sums of their children.
Practices are small (about 100 people in a denominator), so about half of the
rows are suppressed: the hard case for secondary suppression,
whose hidden rows then join into large connected components. ``--table`` runs the
same measurements on a real results file (e.g. `engine.results()` saved to Parquet).

Printed per run: wall time, CPU time, peak RSS, rows/s, and the ratio against the
baseline run in the same process on the same table (the OpenSAFELY rounding policy,
which needs no secondary suppression). ``--reference`` also runs the previous
suppression algorithm (kept in ``tests/unit/disclosure/_reference.py``) on the
first ``--reference-groups`` groups and checks identical output there.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import measure  # noqa: E402

SEXES = ("female", "male")
AGE_BANDS = ("0-17", "18-34", "35-49", "50-59", "60-69", "70-79", "80-89", "90+")
ETHNICITIES = ("asian", "black", "mixed", "other", "white")
BREAKDOWN_ROWS: tuple[tuple[str, str], ...] = (
    ("total", "all"),
    *(("sex", s) for s in SEXES),
    *(("age_band", a) for a in AGE_BANDS),
    *(("ethnicity_5", e) for e in ETHNICITIES),
)


def synthetic_results(
    practices: int = 6000,
    practices_per_pcn: int = 5,
    commissioners: int = 42,
    groups: int = 9,
    denominator_mean: float = 100.0,
    seed: int = 0,
) -> pd.DataFrame:
    """An additive results table (see the module docstring), rows in engine order."""
    rng = np.random.default_rng(seed)
    n_pcn = max(1, practices // practices_per_pcn)
    pcn_of = rng.permutation(np.arange(practices) % n_pcn)
    comm_of_pcn = np.arange(n_pcn) % commissioners
    size = rng.lognormal(0.0, 0.6, practices)
    share = rng.dirichlet(np.ones(2 * 8 * 5) * 2.0).reshape(2, 8, 5)
    frames: list[pd.DataFrame] = []
    for g in range(groups):
        rate = 0.1 + 0.5 * rng.random()
        lam = denominator_mean * size[:, None, None, None] * share[None]
        den = rng.poisson(lam)
        num = rng.binomial(den, rate)

        def marginals(x: np.ndarray) -> np.ndarray:
            return np.concatenate(
                [
                    x.sum(axis=(1, 2, 3))[:, None],
                    x.sum(axis=(2, 3)),
                    x.sum(axis=(1, 3)),
                    x.sum(axis=(1, 2)),
                ],
                axis=1,
            ).astype(float)

        levels: list[
            tuple[str, list[str], list[str | None], np.ndarray, np.ndarray]
        ] = []
        p_num, p_den = marginals(num), marginals(den)
        levels.append(
            (
                "practice",
                [f"P{i:05d}" for i in range(practices)],
                [f"U{j:04d}" for j in pcn_of],
                p_num,
                p_den,
            )
        )
        u_num = np.zeros((n_pcn, 16))
        u_den = np.zeros((n_pcn, 16))
        np.add.at(u_num, pcn_of, p_num)
        np.add.at(u_den, pcn_of, p_den)
        levels.append(
            (
                "pcn",
                [f"U{j:04d}" for j in range(n_pcn)],
                [f"C{c:02d}" for c in comm_of_pcn],
                u_num,
                u_den,
            )
        )
        c_num = np.zeros((commissioners, 16))
        c_den = np.zeros((commissioners, 16))
        np.add.at(c_num, comm_of_pcn, u_num)
        np.add.at(c_den, comm_of_pcn, u_den)
        levels.append(
            (
                "commissioner",
                [f"C{c:02d}" for c in range(commissioners)],
                ["E92000001"] * commissioners,
                c_num,
                c_den,
            )
        )
        levels.append(
            (
                "national",
                ["E92000001"],
                [None],
                c_num.sum(axis=0, keepdims=True),
                c_den.sum(axis=0, keepdims=True),
            )
        )
        month = g % 36
        start = pd.Timestamp(2021 + (3 + month) // 12, (3 + month) % 12 + 1, 1)
        for area_type, codes, parents, n_, d_ in reversed(levels):
            n_areas = len(codes)
            frames.append(
                pd.DataFrame(
                    {
                        "indicator_id": f"ind-{g // 36:03d}",
                        "indicator_version": 1,
                        "period_start": start,
                        "period_end": start + pd.offsets.MonthEnd(0),
                        "area_type": area_type,
                        "area_code": np.repeat(codes, 16),
                        "parent_area_code": np.repeat(
                            np.array(parents, dtype=object), 16
                        ),
                        "breakdown": [b for b, _ in BREAKDOWN_ROWS] * n_areas,
                        "category": [c for _, c in BREAKDOWN_ROWS] * n_areas,
                        "numerator": n_.ravel(),
                        "denominator": d_.ravel(),
                    }
                )
            )
    out = pd.concat(frames, ignore_index=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["value"] = 100.0 * out["numerator"] / out["denominator"]
    for col in ("lower_ci_95", "upper_ci_95", "lower_ci_99_8", "upper_ci_99_8"):
        out[col] = np.nan
    out["comparison"] = "not compared"
    out["suppressed"] = False
    out["suppression_reason"] = None
    return out


def _group_key(table: pd.DataFrame) -> pd.Series:
    return (
        table["indicator_id"].astype(str)
        + "|"
        + table["indicator_version"].astype(str)
        + "|"
        + table["period_start"].astype(str)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--practices", type=int, default=6000)
    parser.add_argument("--groups", type=int, default=9, help="indicator x periods")
    parser.add_argument(
        "--denominator-mean",
        type=float,
        default=100.0,
        help="mean practice denominator (smaller: more suppression, larger components)",
    )
    parser.add_argument("--table", type=Path, help="a results Parquet file instead")
    parser.add_argument(
        "--policy", default="suppress-1-7", help="suppress policy name (see docs)"
    )
    parser.add_argument("--reference", action="store_true")
    parser.add_argument("--reference-groups", type=int, default=1)
    args = parser.parse_args()

    from carepilot.disclosure import OPENSAFELY, get_policy, release

    policy = get_policy(args.policy)
    table = (
        pd.read_parquet(args.table)
        if args.table
        else synthetic_results(
            practices=args.practices,
            groups=args.groups,
            denominator_mean=args.denominator_mean,
        )
    )
    load = os.getloadavg()[0]
    print(
        f"table: {len(table):,} rows, {_group_key(table).nunique()} indicator x period "
        f"groups; load average {load:.1f} on {os.cpu_count()} cores"
    )
    with measure() as base:
        rounded = release(table, OPENSAFELY)
    print(
        f"baseline OPENSAFELY rounding: {base.seconds:.1f} s wall, "
        f"{base.cpu_seconds:.1f} s CPU, {len(table) / base.seconds:,.0f} rows/s, "
        f"{int(rounded['suppressed'].sum()):,} redacted"
    )
    with measure() as m:
        out = release(table, policy)
    hidden = int(out["suppressed"].sum())
    secondary = int(
        out["suppression_reason"].astype(str).str.contains("secondary").sum()
    )
    print(
        f"{policy.name}: {m.seconds:.1f} s wall, {m.cpu_seconds:.1f} s CPU, peak RSS "
        f"{m.peak_rss_mb:,.0f} MB, {len(table) / m.seconds:,.0f} rows/s, "
        f"{hidden:,} rows suppressed ({secondary:,} secondary); "
        f"ratio vs rounding {m.cpu_seconds / base.cpu_seconds:.1f}x CPU, "
        f"{m.seconds / base.seconds:.1f}x wall"
    )
    if args.reference:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from unit.disclosure._reference import reference_release  # type: ignore

        key = _group_key(table)
        first = key.isin(key.unique()[: args.reference_groups]).to_numpy()
        subset = table.loc[first].reset_index(drop=True)
        with measure() as new:
            fast = release(subset, policy)
        with measure() as old:
            slow = reference_release(subset, policy)
        same = fast.equals(slow)
        new_hidden = fast["suppressed"].to_numpy()
        old_hidden = slow["suppressed"].to_numpy()
        print(
            f"previous algorithm on {len(subset):,} rows: {old.seconds:.1f} s wall, "
            f"{old.cpu_seconds:.1f} s CPU vs now {new.seconds:.1f} s wall, "
            f"{new.cpu_seconds:.1f} s CPU (x{old.cpu_seconds / new.cpu_seconds:.1f} "
            f"CPU); identical output: {same}"
            + (
                ""
                if same
                else f" (now hides {int((new_hidden & ~old_hidden).sum()):,} more "
                f"and {int((old_hidden & ~new_hidden).sum()):,} fewer rows)"
            )
        )


if __name__ == "__main__":
    main()
