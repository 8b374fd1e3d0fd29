"""The transparent expected-cost model behind the capitated budget.

Expected annual cost per person is an additive model (in pounds per person-year)
of age band, sex, IMD quintile and morbidity flags, fitted by weighted least
squares on the commissioner's whole population in the baseline year:

    y_i = annual cost_i / e_i,  weights w_i = e_i (share of the year registered),
    beta = argmin sum_i w_i (y_i - x_i' beta)^2

Annualising costs and weighting by exposure is the standard treatment of partial
enrolment in concurrent risk adjustment (e.g. the HHS-HCC model weights by the
eligibility fraction). Each coefficient reads as "pounds a year added by this
factor", relative to the reference person (the most common age band, sex and
IMD quintile, no flagged conditions), so a commissioner can check the model line by
line. Out-of-sample R-squared is computed on a seeded held-out share of patients
(weighted the same way); the published coefficients are then refitted on everyone.

Costs are net of high-cost pooling (`net_of_pooling`) so the budget covers the
same costs it is compared with.

Pure module (NumPy/pandas only): no database, web or CLI imports.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

from carepilot.contracts.model import HUNDRED, CapitationSpec, HighCostProtection
from carepilot.contracts.rules import round_money, to_decimal
from carepilot.contracts.settlement import BudgetBuildUp
from carepilot.errors import InsufficientDataError

SEX_LEVELS: tuple[str, ...] = ("female", "male", "other")
IMD_LEVELS: tuple[str, ...] = ("5", "4", "3", "2", "1", "unknown")
MIN_PATIENTS = 30


def age_band_labels(bands: tuple[int, ...]) -> tuple[str, ...]:
    """Labels like ``0-4``, ``5-14`` ... ``85+`` for lower bounds `bands`."""
    labels = [f"{lo}-{hi - 1}" for lo, hi in zip(bands, bands[1:], strict=False)]
    return (*labels, f"{bands[-1]}+")


def assign_age_band(ages: pd.Series, bands: tuple[int, ...]) -> pd.Series:
    """Map ages in whole years to band labels (negative ages go to the first band)."""
    labels = age_band_labels(bands)
    idx = (
        np.searchsorted(np.asarray(bands), ages.clip(lower=0).to_numpy(), side="right")
        - 1
    )
    return pd.Series(np.asarray(labels, dtype=object)[idx], index=ages.index)


FACTORS: tuple[tuple[str, str], ...] = (
    ("age_band", "age"),
    ("sex", "sex"),
    ("imd_quintile", "IMD quintile"),
)


def choose_levels(
    frame: pd.DataFrame, spec: CapitationSpec
) -> dict[str, tuple[str, ...]]:
    """Levels of each factor present in `frame`, the most common first (the reference).

    Levels nobody has are dropped, and the most common level is the reference, so
    the design has no empty or perfectly collinear columns. Condition flags are kept
    only if some (but not all) patients have them.
    """
    levels: dict[str, tuple[str, ...]] = {}
    for column, _ in FACTORS:
        counts = frame[column].value_counts()
        ordered = sorted(counts.index, key=lambda v: (-int(counts[v]), str(v)))
        levels[column] = tuple(str(v) for v in ordered)
    kept = tuple(
        f.name
        for f in spec.conditions
        if 0 < frame[f"cond_{f.name}"].sum() < len(frame)
    )
    levels["conditions"] = kept
    return levels


def design_matrix(
    frame: pd.DataFrame, levels: dict[str, tuple[str, ...]]
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Treatment-coded design: intercept, age bands, sex, IMD quintile, conditions.

    `frame` needs columns ``age_band``, ``sex`` (female/male/other),
    ``imd_quintile`` ("1".."5" or "unknown") and ``cond_<name>`` (0/1); `levels`
    comes from `choose_levels` (first level of each factor is the reference).
    """
    columns: list[np.ndarray] = [np.ones(len(frame))]
    reference = ", ".join(
        f"{label} {levels[col][0]}" for col, label in FACTORS if levels[col]
    )
    names = [f"reference person ({reference}, no flagged conditions)"]
    for column, label in FACTORS:
        for level in levels[column][1:]:
            columns.append((frame[column].astype(str) == level).to_numpy(dtype=float))
            names.append(f"{label} {level}")
    for name in levels["conditions"]:
        columns.append(frame[f"cond_{name}"].to_numpy(dtype=float))
        names.append(f"condition {name}")
    return np.column_stack(columns), tuple(names)


def _wls(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    root = np.sqrt(w)
    beta, *_ = np.linalg.lstsq(x * root[:, None], y * root, rcond=None)
    return beta


def weighted_r2(y: np.ndarray, fitted: np.ndarray, w: np.ndarray) -> float:
    """R-squared with weights: 1 - sum w (y - f)^2 / sum w (y - ybar_w)^2."""
    mean = float(np.average(y, weights=w))
    total = float(np.sum(w * (y - mean) ** 2))
    if total == 0:
        return 0.0
    return 1.0 - float(np.sum(w * (y - fitted) ** 2)) / total


def net_of_pooling(
    cost: np.ndarray, protection: HighCostProtection | None
) -> tuple[np.ndarray, np.ndarray]:
    """Split per-patient cost into (net, pooled): pooled = share x max(cost - T, 0)."""
    if protection is None:
        return cost, np.zeros_like(cost)
    excess = np.clip(cost - float(protection.threshold), 0, None)
    pooled = excess * float(protection.pooled_share_pct / HUNDRED)
    return cost - pooled, pooled


@dataclass(frozen=True)
class CostModel:
    """A fitted expected-cost model: coefficients (GBP per person-year) and fit."""

    terms: tuple[str, ...]
    coefficients: tuple[float, ...]
    levels: dict[str, tuple[str, ...]]
    r2_in_sample: float
    r2_out_of_sample: float
    n_patients: int
    n_train: int
    n_test: int
    baseline_year: int
    person_years: float

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Expected annual cost per person (floored at 0), GBP."""
        x, _ = design_matrix(frame, self.levels)
        return np.clip(x @ np.asarray(self.coefficients), 0, None)

    def coefficient_table(self) -> list[tuple[str, Decimal]]:
        """Each term and its coefficient rounded to the penny, for statements."""
        return [
            (t, round_money(to_decimal(c, 4)))
            for t, c in zip(self.terms, self.coefficients, strict=True)
        ]


def fit_cost_model(
    frame: pd.DataFrame, spec: CapitationSpec, cost_column: str = "net_cost"
) -> CostModel:
    """Fit the expected-cost model on the baseline population (see module doc).

    Args:
        frame: one row per patient with ``exposure`` (share of the year, 0-1],
            the design columns and `cost_column` (cost in the baseline year).
        spec: the contract's capitation spec (bands, conditions, holdout, seed).

    Raises:
        InsufficientDataError: fewer than 30 patients with exposure.
    """
    data = frame[frame["exposure"] > 0]
    if len(data) < MIN_PATIENTS:
        raise InsufficientDataError(
            f"the baseline year {spec.baseline_year} has {len(data)} registered "
            f"patients in the commissioner's population; the cost model needs at "
            f"least {MIN_PATIENTS}. Check `capitation.baseline_year` and that the "
            "database holds registrations for that year."
        )
    levels = choose_levels(data, spec)
    x, names = design_matrix(data, levels)
    w = data["exposure"].to_numpy(dtype=float)
    y = data[cost_column].to_numpy(dtype=float) / w
    rng = np.random.default_rng(spec.seed)
    test = rng.random(len(data)) < float(spec.holdout_pct / HUNDRED)
    if test.all() or not test.any():
        test = np.zeros(len(data), dtype=bool)
        test[: len(data) // 3] = True
    beta_train = _wls(x[~test], y[~test], w[~test])
    r2_out = weighted_r2(y[test], x[test] @ beta_train, w[test])
    beta = _wls(x, y, w)
    return CostModel(
        terms=names,
        coefficients=tuple(float(b) for b in beta),
        levels=levels,
        r2_in_sample=weighted_r2(y, x @ beta, w),
        r2_out_of_sample=r2_out,
        n_patients=len(data),
        n_train=int((~test).sum()),
        n_test=int(test.sum()),
        baseline_year=spec.baseline_year,
        person_years=float(w.sum()),
    )


def trend_factor(spec: CapitationSpec, year: int) -> Decimal:
    """(1 + trend)^(year - baseline year), to 6 decimal places."""
    growth = Decimal(1) + spec.trend_pct / HUNDRED
    return to_decimal(growth ** (year - spec.baseline_year))


def expected_cost(
    model: CostModel, frame: pd.DataFrame, spec: CapitationSpec
) -> Decimal:
    """Sum of expected annual cost x exposure over the population, to the penny."""
    if frame.empty:
        return Decimal(0)
    pred = model.predict(frame) * frame["exposure"].to_numpy(dtype=float)
    return round_money(to_decimal(float(pred.sum()), 4))


def scale_factor(
    model: CostModel,
    commissioner_frame: pd.DataFrame,
    spec: CapitationSpec,
    year: int,
) -> Decimal:
    """Scale so the commissioner's whole population would cost its envelope.

    scale = commissioner_total / (expected cost of the whole population x trend),
    to 6 decimal places; 1 when no envelope is set.
    """
    if spec.commissioner_total is None:
        return Decimal(1)
    whole = expected_cost(model, commissioner_frame, spec) * trend_factor(spec, year)
    if whole <= 0:
        raise InsufficientDataError(
            f"the commissioner's population has no expected cost in {year}; "
            "cannot scale to `capitation.commissioner_total`"
        )
    return to_decimal(spec.commissioner_total / whole)


def build_up(
    model: CostModel,
    frame: pd.DataFrame,
    spec: CapitationSpec,
    year: int,
    scale: Decimal,
) -> BudgetBuildUp:
    """The budget build-up of one period for the population in `frame`.

    Patient-months = sum of exposure x 12 (exposure is the share of the contract
    year registered and alive within the period), to 2 decimal places.
    """
    active = frame[frame["exposure"] > 0]
    months = to_decimal(float(active["exposure"].sum()) * 12, 2)
    return BudgetBuildUp(
        registered_patients=len(active),
        patient_months=months,
        expected_cost=expected_cost(model, active, spec),
        trend_factor=trend_factor(spec, year),
        scale_factor=scale,
    )
