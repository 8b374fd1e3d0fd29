"""Additive results tables and an LP attacker, for disclosure-control tests.

The attacker knows everything a reader of a published table knows: the published
counts, which rows are suppressed, that counts are non-negative, and that
categories add up to the `total` row and child areas add up to their parent. For
each suppressed count it solves two linear programmes (min and max) to get the
feasible interval. This module is independent of `carepilot.disclosure` (it builds
its own equations) so that the tests can catch mistakes there.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linprog

HIERARCHY = {"practice": "pcn", "pcn": "commissioner", "commissioner": "national"}


@dataclass(frozen=True)
class Leaf:
    """Counts of one practice for one joint (sex, age band) cell."""

    practice: int
    sex: int
    age: int
    numerator: int
    denominator: int


def build_table(
    practices: list[tuple[int, int]],
    n_age: int,
    leaves: dict[tuple[int, int, int], tuple[int, int]],
    indicator: str = "ind-001",
) -> pd.DataFrame:
    """Build an additive results table.

    Args:
        practices: For each practice, (pcn number, commissioner number).
        n_age: Number of age bands (sex has 2 categories).
        leaves: (practice, sex, age) → (numerator, denominator).
        indicator: Indicator id.

    Returns:
        A results table: every area × (total, sex, age_band), additive by
        construction.
    """
    areas: dict[tuple[str, str], str | None] = {("national", "E92000001"): None}
    members: dict[tuple[str, str], list[int]] = defaultdict(list)
    for p, (pcn, comm) in enumerate(practices):
        prac_code, pcn_code, comm_code = f"P{p:03d}", f"U{pcn:02d}", f"C{comm:02d}"
        areas[("practice", prac_code)] = pcn_code
        areas[("pcn", pcn_code)] = comm_code
        areas[("commissioner", comm_code)] = "E92000001"
        for key in (
            ("practice", prac_code),
            ("pcn", pcn_code),
            ("commissioner", comm_code),
            ("national", "E92000001"),
        ):
            members[key].append(p)
    cells = [("total", "all", None, None)]
    cells += [("sex", s_name, s, None) for s, s_name in enumerate(("female", "male"))]
    cells += [("age_band", f"age{a}", None, a) for a in range(n_age)]
    rows: list[dict[str, object]] = []
    for (area_type, code), parent in areas.items():
        for breakdown, category, s_sel, a_sel in cells:
            num = den = 0
            for p in set(members[(area_type, code)]):
                for s in range(2):
                    for a in range(n_age):
                        if (s_sel is None or s == s_sel) and (
                            a_sel is None or a == a_sel
                        ):
                            n_, d_ = leaves.get((p, s, a), (0, 0))
                            num += n_
                            den += d_
            rows.append(
                {
                    "indicator_id": indicator,
                    "indicator_version": 1,
                    "period_start": "2024-04-01",
                    "period_end": "2025-03-31",
                    "area_type": area_type,
                    "area_code": code,
                    "area_name": code,
                    "parent_area_code": parent,
                    "breakdown": breakdown,
                    "category": category,
                    "numerator": float(num),
                    "denominator": float(den),
                    "exceptions": np.nan,
                    "value": 100.0 * num / den if den else np.nan,
                    "lower_ci_95": np.nan,
                    "upper_ci_95": np.nan,
                    "lower_ci_99_8": np.nan,
                    "upper_ci_99_8": np.nan,
                    "comparison": "not compared",
                    "suppressed": False,
                    "suppression_reason": None,
                }
            )
    return pd.DataFrame(rows)


def equations(table: pd.DataFrame) -> list[tuple[int, list[int]]]:
    """Additive constraints as (margin row, [child rows]) by row position."""
    pos = {
        (r.area_type, r.area_code, r.breakdown, r.category): i
        for i, r in enumerate(table.itertuples())
    }
    eqs: list[tuple[int, list[int]]] = []
    by_area_breakdown: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    by_parent: dict[tuple[str, str, str, str], list[int]] = defaultdict(list)
    for i, r in enumerate(table.itertuples()):
        if r.breakdown != "total":
            by_area_breakdown[(r.area_type, r.area_code, r.breakdown)].append(i)
        if r.area_type in HIERARCHY and r.parent_area_code is not None:
            by_parent[
                (HIERARCHY[r.area_type], r.parent_area_code, r.breakdown, r.category)
            ].append(i)
    for (atype, code, _), children in by_area_breakdown.items():
        eqs.append((pos[(atype, code, "total", "all")], children))
    for key, children in by_parent.items():
        eqs.append((pos[key], children))
    return eqs


def attack(released: pd.DataFrame, column: str) -> dict[int, tuple[float, float]]:
    """Feasible interval of ``column`` for every suppressed row (LP bounds)."""
    hidden = np.flatnonzero(released[column].isna().to_numpy())
    if len(hidden) == 0:
        return {}
    col_of = {int(r): j for j, r in enumerate(hidden)}
    values = released[column].to_numpy(dtype=float)
    a_rows: list[np.ndarray] = []
    b: list[float] = []
    for margin, children in equations(released):
        members = [(margin, 1.0)] + [(c, -1.0) for c in children]
        coeffs = np.zeros(len(hidden))
        rhs = 0.0
        touched = False
        for row, sign in members:
            if row in col_of:
                coeffs[col_of[row]] += sign
                touched = True
            else:
                rhs -= sign * values[row]
        if touched:
            a_rows.append(coeffs)
            b.append(rhs)
    bounds: dict[int, tuple[float, float]] = {}
    a_eq = np.array(a_rows) if a_rows else None
    b_eq = np.array(b) if b else None
    for row, j in col_of.items():
        c = np.zeros(len(hidden))
        c[j] = 1.0
        lo = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        hi = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        assert lo.status == 0, lo.message
        upper = np.inf if hi.status == 3 else -hi.fun
        bounds[row] = (lo.fun, upper)
    return bounds
