"""`release`: the single gate through which figures leave the engine.

`release(results, policy)` takes an indicator results table and returns a new table
that is safe to publish under the policy: small counts redacted or suppressed,
other counts rounded (OpenSAFELY-style policies), values and confidence intervals
recomputed from the released counts or blanked, and ``suppressed`` /
``suppression_reason`` filled. Hidden figures are null (NaN), never zero. The input
is never modified.

Pure module: NumPy, pandas and SciPy only; opens no files.
"""

# pyright: reportMissingTypeStubs=false
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from carepilot.disclosure import _frame
from carepilot.disclosure.constraints import (
    KEY_COLUMNS,
    TOTAL_BREAKDOWN,
    build_constraints,
)
from carepilot.disclosure.policy import COUNT_COLUMNS, DisclosurePolicy
from carepilot.disclosure.rounding import is_small, round_to_base
from carepilot.disclosure.secondary import CellPreference, suppress_secondary
from carepilot.errors import InputDataError

logger = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

STAT_COLUMNS: tuple[str, ...] = (
    "value",
    "lower_ci_95",
    "upper_ci_95",
    "lower_ci_99_8",
    "upper_ci_99_8",
)
"""Columns computed from the counts; blanked whenever a row is suppressed."""

NOT_COMPARED = "not compared"

ValueFn = Callable[[pd.DataFrame], pd.DataFrame]
"""Recomputes statistics from released (rounded) counts.

Called by `release` under OpenSAFELY-style policies with the rows that stay
published; their count columns already hold the rounded values while ``value`` and
the CI columns still hold the engine's original figures. It returns a frame with
the same index and any of `STAT_COLUMNS` (and optionally ``comparison``); stat
columns it does not return are blanked. The engine passes a function built from
its `carepilot.stats` methods so that, e.g., Wilson intervals are recomputed from
the rounded numerator and denominator.
"""


def blank_statistics(rows: pd.DataFrame) -> pd.DataFrame:
    """A `ValueFn` that publishes no value or interval, only the rounded counts.

    Args:
        rows: Released rows.

    Returns:
        An empty frame with the rows' index (every statistic is blanked).
    """
    return pd.DataFrame(index=rows.index)


def recompute_ratio(rows: pd.DataFrame) -> pd.DataFrame:
    """The default `ValueFn`: ehrQL's ratio recomputed from the rounded counts.

    ``value = numerator_rounded / denominator_rounded * scale``, as ehrQL measures
    do (scale 1). The ``scale`` (1 for a ratio, 100 for a percentage, 100000 for a
    crude rate per 100,000) is inferred per indicator and version from the
    engine's own rows as ``value * denominator / numerator`` using the original
    counts, which `release` passes in the columns ``_orig_numerator`` and
    ``_orig_denominator``. Indicators whose values are not one fixed multiple of
    numerator/denominator (directly standardised rates, life expectancy, ...) get
    ``value`` blanked, because the counts alone cannot recompute them. Confidence
    intervals are blanked: pass a `ValueFn` built from `carepilot.stats` to
    recompute them.

    Args:
        rows: Released rows (see `ValueFn`).

    Returns:
        A frame with a ``value`` column (empty if ``rows`` has no ``value``).
    """
    names = _frame.columns(rows)
    if "value" not in names:
        return pd.DataFrame(index=rows.index)
    num = _frame.float_column(rows, "numerator")
    den = _frame.float_column(rows, "denominator")
    onum = _frame.float_column(
        rows, "_orig_numerator" if "_orig_numerator" in names else "numerator"
    )
    oden = _frame.float_column(
        rows, "_orig_denominator" if "_orig_denominator" in names else "denominator"
    )
    val = _frame.float_column(rows, "value")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = val * oden / onum
    usable = (onum > 0) & (oden > 0) & np.isfinite(ratio)
    groups = _frame.group_ids(
        rows, [c for c in ("indicator_id", "indicator_version") if c in names]
    )
    centre = _frame.group_median(np.where(usable, ratio, np.nan), groups)
    with np.errstate(invalid="ignore"):
        off = usable & (np.abs(ratio - centre) > 1e-6 * np.abs(centre))
    inconsistent = _frame.group_any(off, groups) | ~np.isfinite(centre)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(den > 0, num / den * centre, np.nan)
    value = np.where(inconsistent, np.nan, value)
    return pd.DataFrame({"value": value}, index=rows.index)


def _require(
    frame: pd.DataFrame, required: tuple[str, ...], policy: DisclosurePolicy
) -> None:
    names = _frame.columns(frame)
    missing = [c for c in required if c not in names]
    if missing:
        raise InputDataError(
            f"results table: columns {missing} are required to release under "
            f"disclosure policy `{policy.name}`; the table has {names}"
        )


def _counts(frame: pd.DataFrame, column: str) -> FloatArray:
    values = _frame.float_column(frame, column)
    bad = values < 0
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputDataError(
            f"results table: column `{column}` has a negative count at row {row}; "
            "counts must be >= 0"
        )
    return values


def _prepare(results: pd.DataFrame) -> pd.DataFrame:
    """Deep copy with `suppressed` / `suppression_reason` present and clean."""
    out = _frame.copy_frame(results)
    names = _frame.columns(out)
    n = len(out)
    if "suppressed" in names:
        _frame.set_bool(out, "suppressed", _frame.bool_column(out, "suppressed"))
    else:
        _frame.set_bool(out, "suppressed", np.zeros(n, dtype=bool))
    if "suppression_reason" in names:
        reason = _frame.object_column(out, "suppression_reason")
    else:
        reason = np.full(n, None, dtype=object)
    _frame.set_object(out, "suppression_reason", reason)
    return out


def _set_reasons(out: pd.DataFrame, parts: list[tuple[BoolArray, str]]) -> None:
    """Append the texts of ``parts`` to ``suppression_reason`` where their masks hold.

    Rows are grouped by which parts apply (a bit code), so strings are built once
    per combination rather than once per row.
    """
    n = len(out)
    code = np.zeros(n, dtype=np.int64)
    for bit, (mask, _) in enumerate(parts):
        code |= mask.astype(np.int64) << bit
    if not code.any():
        return
    uniq, inverse = np.unique(code, return_inverse=True)
    texts = np.array(
        [
            "; ".join(t for bit, (_, t) in enumerate(parts) if int(u) >> bit & 1)
            or None
            for u in uniq
        ],
        dtype=object,
    )
    new = texts[inverse]
    current = _frame.object_column(out, "suppression_reason")
    has_old = ~_frame.is_null(current)
    has_new = code != 0
    current[has_new & ~has_old] = new[has_new & ~has_old]
    both = np.flatnonzero(has_new & has_old)
    if len(both):
        old = current[both].astype(str)
        add = new[both].astype(str)
        current[both] = np.where(
            np.char.endswith(old, add), old, np.char.add(np.char.add(old, "; "), add)
        )
    _frame.set_object(out, "suppression_reason", current)


def _blank(out: pd.DataFrame, mask: BoolArray, targets: tuple[str, ...]) -> None:
    """Null the ``targets`` columns (and mark "not compared") where ``mask``."""
    if not mask.any():
        return
    names = _frame.columns(out)
    for col in targets:
        if col in names:
            values = _frame.float_column(out, col).copy()
            values[mask] = np.nan
            _frame.set_float(out, col, values)
    if "comparison" in names:
        comp = _frame.object_column(out, "comparison")
        comp[mask] = NOT_COMPARED
        _frame.set_object(out, "comparison", comp)


def _release_opensafely(
    out: pd.DataFrame, policy: DisclosurePolicy, value_fn: ValueFn
) -> pd.DataFrame:
    _require(out, ("numerator", "denominator"), policy)
    names = _frame.columns(out)
    t, base = policy.threshold, policy.rounding_base
    redacted: dict[str, BoolArray] = {}
    original: dict[str, FloatArray] = {}
    for col in COUNT_COLUMNS:
        if col not in names:
            continue
        x = _counts(out, col)
        original[col] = x
        small = is_small(x, t, inclusive=True, zero=policy.redact_zero)
        released = round_to_base(x, base)
        released[small] = np.nan
        _frame.set_float(out, col, released)
        redacted[col] = small
    upstream = np.isnan(original["numerator"]) | np.isnan(original["denominator"])
    hidden = redacted["numerator"] | redacted["denominator"] | upstream
    already = _frame.bool_column(out, "suppressed")
    keep = ~hidden & ~already
    if keep.any():
        rows = _frame.take(out, keep)
        _frame.set_float(rows, "_orig_numerator", original["numerator"][keep])
        _frame.set_float(rows, "_orig_denominator", original["denominator"][keep])
        stats = value_fn(rows)
        returned = _frame.columns(stats)
        for col in STAT_COLUMNS:
            if col not in names:
                continue
            new = _frame.float_column(out, col)
            new[keep] = np.nan
            if col in returned:
                new[keep] = _frame.result_column(stats, rows, col).astype(float)
            _frame.set_float(out, col, new)
        if "comparison" in returned and "comparison" in names:
            comp = _frame.object_column(out, "comparison")
            comp[keep] = _frame.result_column(stats, rows, "comparison")
            _frame.set_object(out, "comparison", comp)
    zero_note = "" if policy.redact_zero else ", 0 shown"
    _set_reasons(
        out,
        [
            *(
                (redacted[col], f"{col} <= {t} redacted ({policy.name}{zero_note})")
                for col in ("numerator", "denominator")
            ),
            (upstream & ~already, "counts hidden before release"),
        ],
    )
    _blank(out, hidden | already, STAT_COLUMNS)
    _frame.set_bool(out, "suppressed", already | hidden)
    return out


def _release_suppress(out: pd.DataFrame, policy: DisclosurePolicy) -> pd.DataFrame:
    _require(out, ("numerator", "denominator", *KEY_COLUMNS), policy)
    names = _frame.columns(out)
    t = policy.threshold
    counts = {c: _counts(out, c) for c in COUNT_COLUMNS if c in names}
    num, den = counts["numerator"], counts["denominator"]
    upstream = np.isnan(num) | np.isnan(den)
    primary = np.zeros(len(out), dtype=bool)
    reasons: list[tuple[BoolArray, str]] = []
    for col in policy.checked_columns:
        if col not in counts:
            continue
        small = is_small(counts[col], t, inclusive=False, zero=policy.redact_zero)
        primary |= small
        reasons.append((small, f"primary: {col} < {t} ({policy.name})"))
    if policy.protect_complement:
        with np.errstate(invalid="ignore"):
            complement = np.where(den >= num, den - num, np.nan)
        small = is_small(complement, t, inclusive=False, zero=policy.redact_zero)
        primary |= small
        reasons.append(
            (small, f"primary: denominator - numerator < {t} ({policy.name})")
        )
    cons = build_constraints(out, policy.hierarchy)
    with np.errstate(invalid="ignore"):
        zero = (num == 0) | (den == 0)
        if policy.protect_complement:
            zero |= den == num
    pref = CellPreference(
        cost=den,
        zero=zero,
        total=_frame.str_column(out, "breakdown") == TOTAL_BREAKDOWN,
    )
    result = suppress_secondary(primary | upstream, cons, pref)
    logger.info(
        "disclosure %s: %d rows, %d primary, %d secondary, %d rounds",
        policy.name,
        len(out),
        int(primary.sum()),
        int(result.secondary.sum()),
        result.rounds,
    )
    already = _frame.bool_column(out, "suppressed")
    _set_reasons(
        out,
        [
            *reasons,
            (upstream & ~primary & ~already, "counts hidden before release"),
            (
                result.secondary,
                "secondary: protects a suppressed row of the same breakdown or area "
                f"hierarchy ({policy.name})",
            ),
        ],
    )
    _blank(out, result.hidden, COUNT_COLUMNS)
    _blank(out, result.hidden | already, STAT_COLUMNS)
    _frame.set_bool(out, "suppressed", already | result.hidden)
    return out


def release(
    results: pd.DataFrame,
    policy: DisclosurePolicy,
    value_fn: ValueFn = recompute_ratio,
    *,
    numerator_is_count: bool = True,
) -> pd.DataFrame:
    """Apply a disclosure policy to an indicator results table.

    This is the only function through which figures leave the engine.

    * ``"opensafely"`` policies: each count (numerator, denominator, exceptions)
      ``<= threshold`` becomes null, the rest are rounded to the nearest
      ``rounding_base``; a row whose numerator or denominator is redacted is
      suppressed (value and CIs null, comparison "not compared"); the other rows
      get statistics recomputed from the rounded counts by ``value_fn``.
    * ``"suppress"`` policies: rows with a checked count (or the complement
      ``denominator - numerator``) below ``threshold`` are suppressed, then
      secondary suppression hides further rows until no suppressed row can be
      recovered from the total row and other categories of its breakdown, or from
      its parent area and sibling areas (see `carepilot.disclosure.secondary`).
      Suppressed rows have every count, value and CI null; other rows are
      returned unchanged.
    * ``"none"``: returned unchanged (row-level access only; never public).

    Rows that arrive already suppressed (e.g. for statistical reliability) stay
    suppressed with their reason kept; rows with a null numerator or denominator
    are treated as already hidden.

    Args:
        results: The indicator results table (see the results contract). Not
            modified.
        policy: The disclosure policy.
        value_fn: How OpenSAFELY-style policies recompute statistics from the
            rounded counts (default: `recompute_ratio`; `blank_statistics` to
            publish counts only).
        numerator_is_count: False for means, whose ``numerator`` is a sum of
            values (it may be negative, e.g. a health *gain*, and is not a count
            of people). The policy's small-count checks and rounding then apply
            to the denominator (the people or events averaged), the complement
            check does not apply, and the sum itself is not published (null): it
            is not a count, and next to a rounded denominator an exact sum would
            undo the rounding. The mean (``value``) carries the information.

    Returns:
        A new table with the same rows in the same order.

    Raises:
        InputDataError: If required columns are missing, a count is negative or
            rows are duplicated.

    Examples:
        >>> from carepilot.disclosure.policy import OPENSAFELY
        >>> table = pd.DataFrame({"numerator": [3.0, 42.0], "denominator": [50.0, 88.0]})
        >>> out = release(table, OPENSAFELY)
        >>> out["numerator"].tolist(), out["denominator"].tolist()
        ([nan, 40.0], [50.0, 90.0])
        >>> out["suppressed"].tolist()
        [True, False]
    """
    if not numerator_is_count:
        return _release_sums(results, policy, value_fn)
    out = _prepare(results)
    if policy.kind == "none":
        return out
    if policy.kind == "opensafely":
        return _release_opensafely(out, policy, value_fn)
    return _release_suppress(out, policy)


def _release_sums(
    results: pd.DataFrame, policy: DisclosurePolicy, value_fn: ValueFn
) -> pd.DataFrame:
    """`release` for means: the denominator carries the disclosure checks."""
    _require(results, ("numerator", "denominator"), policy)
    sums = _frame.float_column(results, "numerator").copy()
    proxy = _frame.copy_frame(results)
    _frame.set_float(proxy, "numerator", _frame.float_column(results, "denominator"))
    if policy.kind == "suppress":
        policy = replace(
            policy, checked_columns=("denominator",), protect_complement=False
        )
    out = release(proxy, policy, value_fn)
    if policy.kind == "none":
        sums[_frame.bool_column(out, "suppressed")] = np.nan
    else:
        sums[:] = np.nan
    _frame.set_float(out, "numerator", sums)
    return out
