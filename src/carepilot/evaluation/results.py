"""Result types shared by every evaluation method.

Every estimator returns an `EvaluationResult`: a headline `Effect` plus further
named effects (aggregations, event-time coefficients, subgroup effects), tables
and notes. `to_dict()` gives the JSON document printed by
`carepilot evaluate-panel --json` (keys documented in docs/evaluation.md).

Pure module: no web, database, template or file I/O imports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

Z95 = float(stats.norm.ppf(0.975))
"""Two-sided 95 % normal critical value (1.959964...)."""


@dataclass(frozen=True)
class Effect:
    """One estimated effect with its uncertainty.

    Attributes:
        name: What the number is (``"att"``, ``"event:-2"``, ``"group:2004"``...).
        estimate: Point estimate on the scale given by ``scale``.
        se: Standard error (on the log scale when ``scale == "ratio"``).
        ci_low: Lower 95 % confidence limit (on the ``scale`` of the estimate).
        ci_high: Upper 95 % confidence limit.
        p_value: Two-sided p-value for "no effect" (0 difference / ratio 1).
        scale: ``"difference"`` (additive) or ``"ratio"`` (rate ratio).
    """

    name: str
    estimate: float
    se: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    scale: str = "difference"

    @classmethod
    def from_normal(
        cls,
        name: str,
        estimate: float,
        se: float | None,
        *,
        crit: float = Z95,
        df: float | None = None,
    ) -> Effect:
        """Build a Wald effect: CI = estimate ± crit·SE, p from N(0,1) or t(df).

        Args:
            name: Effect name.
            estimate: Point estimate (additive scale).
            se: Standard error, or None when no inference is available.
            crit: Critical value for the interval (normal 95 % by default;
                replaced by the t quantile when ``df`` is given).
            df: Residual degrees of freedom for a t reference distribution.

        Returns:
            The effect with interval and p-value.
        """
        if se is None or not math.isfinite(se):
            return cls(name, float(estimate))
        if df is not None:
            crit = float(stats.t.ppf(0.975, df))
            p = float(2 * stats.t.sf(abs(estimate / se), df)) if se > 0 else None
        else:
            p = float(2 * stats.norm.sf(abs(estimate / se))) if se > 0 else None
        return cls(
            name,
            float(estimate),
            float(se),
            float(estimate - crit * se),
            float(estimate + crit * se),
            p,
        )

    @classmethod
    def ratio_from_log(cls, name: str, log_estimate: float, log_se: float) -> Effect:
        """Build a ratio effect exp(b) with Wald CI exp(b ± 1.96·SE) (Epi::ci.lin)."""
        p = float(2 * stats.norm.sf(abs(log_estimate / log_se))) if log_se > 0 else None
        return cls(
            name,
            float(math.exp(log_estimate)),
            float(log_se),
            float(math.exp(log_estimate - Z95 * log_se)),
            float(math.exp(log_estimate + Z95 * log_se)),
            p,
            "ratio",
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form: name, estimate, se, ci_low, ci_high, p_value, scale."""
        return {
            "name": self.name,
            "estimate": _clean(self.estimate),
            "se": _clean(self.se),
            "ci_low": _clean(self.ci_low),
            "ci_high": _clean(self.ci_high),
            "p_value": _clean(self.p_value),
            "scale": self.scale,
        }


@dataclass
class EvaluationResult:
    """What every registered method returns.

    Attributes:
        method: Registry name of the method (``"staggered"``...).
        estimand: Plain-language estimand (``"ATT"``, ``"rate ratio"``...).
        effects: Headline effect first, then secondary effects.
        n_obs: Rows used.
        n_units: Distinct units used (None for a single series).
        n_treated: Treated units (or treated observations for cross-sections).
        details: Scalars and small dicts worth reporting (JSON-able).
        tables: Named DataFrames (event study, ATT(g,t), weights, balance...).
        notes: Caveats in plain language (dropped rows, solver notes...).
    """

    method: str
    estimand: str
    effects: list[Effect]
    n_obs: int
    n_units: int | None = None
    n_treated: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def headline(self) -> Effect:
        """The main effect (the first one)."""
        return self.effects[0]

    def effect(self, name: str) -> Effect:
        """Return the effect called ``name``.

        Raises:
            KeyError: if there is no such effect; the message lists the names.
        """
        for eff in self.effects:
            if eff.name == name:
                return eff
        raise KeyError(
            f"no effect named {name!r}; available: {[e.name for e in self.effects]}"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the documented JSON document for this result."""
        return {
            "method": self.method,
            "estimand": self.estimand,
            "estimate": self.headline.to_dict(),
            "effects": [e.to_dict() for e in self.effects],
            "n_obs": self.n_obs,
            "n_units": self.n_units,
            "n_treated": self.n_treated,
            "details": _clean(self.details),
            "tables": {k: frame_records(v) for k, v in self.tables.items()},
            "notes": list(self.notes),
        }


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Turn a DataFrame into JSON-able records (NaN → None, numpy → Python)."""
    out: list[dict[str, Any]] = []
    for rec in frame.to_dict(orient="records"):
        out.append({str(k): _clean(v) for k, v in rec.items()})
    return out


def _clean(value: Any) -> Any:
    """Make numpy scalars, NaN and nested containers JSON-safe."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_clean(v) for v in value.tolist()]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value
