"""Vectorised random building blocks shared by the generator modules.

Everything here works on whole NumPy arrays (no per-patient Python loops) and takes
an explicit `numpy.random.Generator`. Dates are int32/int64 days since 1970-01-01,
the storage of Arrow `date32`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from numpy.typing import NDArray

# Loose aliases: NumPy's stubs widen dtypes through arithmetic (float64 -> floating,
# np.round -> float16), so precise dtypes would need casts everywhere. They still
# document intent; the generator itself always works in int64 / float64 / bool.
FloatArray = NDArray[Any]
IntArray = NDArray[Any]
BoolArray = NDArray[Any]

DAYS_PER_MONTH = 365.25 / 12
EPOCH = date(1970, 1, 1)


def to_days(d: date) -> int:
    """Days since 1970-01-01 (Arrow date32 storage) of `d`."""
    return (d - EPOCH).days


@dataclass(frozen=True, slots=True)
class Calendar:
    """The observation period: `months` months from `start_day` (days since epoch).

    Attributes:
        start_day: first day of the period.
        month_days: first day of each month and, last, the day after the period
            (length months + 1), so month m is `[month_days[m], month_days[m+1])`.
        month_of_year: calendar month (1-12) of each period month.
    """

    start_day: int
    month_days: IntArray
    month_of_year: IntArray

    @classmethod
    def build(cls, start: date, months: int) -> Calendar:
        first = np.datetime64(start.isoformat(), "M")
        starts = np.arange(first, first + months + 1, dtype="datetime64[M]")
        days = starts.astype("datetime64[D]").astype(np.int64)
        moy = (starts.astype(np.int64) % 12 + 1)[:-1]
        return cls(int(days[0]), days, moy)

    @property
    def end_day(self) -> int:
        """Day after the last day of the period (exclusive end)."""
        return int(self.month_days[-1])

    @property
    def months(self) -> int:
        return len(self.month_days) - 1

    def month_index(self, days: IntArray) -> IntArray:
        """0-based period month of each day (days outside are clipped)."""
        idx = np.searchsorted(self.month_days, days, side="right") - 1
        return np.clip(idx, 0, self.months - 1)


def categorical(
    rng: np.random.Generator, probs: FloatArray, n: int | None = None
) -> IntArray:
    """Draw category indices.

    `probs` is either one probability vector (then `n` draws) or a 2-D array with one
    row of probabilities per draw (inverse-CDF sampling row by row, vectorised).
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim == 1:
        cdf = np.cumsum(p / p.sum())
        u = rng.random(int(n or 0))
        return np.minimum(np.searchsorted(cdf, u, side="right"), len(p) - 1).astype(
            np.int64
        )
    cdf = np.cumsum(p, axis=1)
    cdf /= cdf[:, -1:]
    u = rng.random(p.shape[0])[:, None]
    return np.minimum((u > cdf).sum(axis=1), p.shape[1] - 1).astype(np.int64)


def logistic(x: FloatArray) -> FloatArray:
    """Inverse logit 1 / (1 + exp(-x))."""
    return 1.0 / (1.0 + np.exp(-x))


def logit(p: float) -> float:
    """log(p / (1 - p))."""
    return float(np.log(p / (1.0 - p)))


def sequence_within(groups: IntArray) -> IntArray:
    """0, 1, 2, ... within runs of equal values of a sorted `groups` array."""
    n = len(groups)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(groups)) + 1]
    counts = np.diff(np.r_[starts, n])
    return np.arange(n, dtype=np.int64) - np.repeat(starts, counts)


@dataclass(frozen=True, slots=True)
class Windows:
    """Exposure windows: rows of [start, end) days with an owner and a pilot start.

    One row per registration episode. `owner` indexes the patient arrays of the
    chunk; `pilot_day` is the day the episode's practice joined the pilot (a day
    after the period end for non-pilot practices), so events on or after it are in
    the pilot's "post" period.
    """

    owner: IntArray
    start: IntArray
    end: IntArray
    pilot_day: IntArray
    practice: IntArray

    def select(self, mask: BoolArray) -> Windows:
        return Windows(
            self.owner[mask],
            self.start[mask],
            self.end[mask],
            self.pilot_day[mask],
            self.practice[mask],
        )


@dataclass(frozen=True, slots=True)
class Events:
    """Drawn events: the patient (chunk index) and day of each, plus whether the
    event fell in its practice's pilot period."""

    owner: IntArray
    day: IntArray
    post: BoolArray
    practice: IntArray

    def __len__(self) -> int:
        return len(self.owner)

    def take(self, idx: IntArray | BoolArray) -> Events:
        return Events(
            self.owner[idx], self.day[idx], self.post[idx], self.practice[idx]
        )


def draw_events(
    rng: np.random.Generator,
    windows: Windows,
    monthly_rate: FloatArray,
    cal: Calendar,
    *,
    pilot_multiplier: float = 1.0,
    month_weight: FloatArray | None = None,
) -> Events:
    """Draw a Poisson process per window with a planted step change at pilot start.

    Each window [s, e) is split at its pilot day p into pre [s, min(e, p)) and post
    [max(s, p), e). Counts are Poisson(rate x length) with the rate multiplied by
    `pilot_multiplier` in the post part; event days are uniform within each part.
    An optional calendar `month_weight` (seasonality, trend) is applied by thinning:
    the process runs at rate x max(weight) and keeps an event in month m with
    probability weight[m] / max(weight), which leaves the pilot ratio exact.

    Args:
        rng: random generator.
        windows: exposure windows.
        monthly_rate: expected events per month for each window's owner, indexed by
            owner (patient-level array).
        cal: the period calendar.
        pilot_multiplier: rate ratio in the pilot period.
        month_weight: relative rate by period month, or None for constant.

    Returns:
        The events, grouped by owner in window order (windows are sorted by
        owner, so events of a patient are contiguous; days are not sorted).
    """
    wmax = 1.0 if month_weight is None else float(np.max(month_weight))
    rate_day = monthly_rate[windows.owner] * (wmax / DAYS_PER_MONTH)
    pre_end = np.minimum(windows.end, windows.pilot_day)
    post_start = np.maximum(windows.start, windows.pilot_day)
    pre_len = np.maximum(pre_end - windows.start, 0)
    post_len = np.maximum(windows.end - post_start, 0)
    n_pre = rng.poisson(rate_day * pre_len)
    n_post = rng.poisson(rate_day * pilot_multiplier * post_len)
    total = n_pre + n_post
    w = np.repeat(np.arange(len(total)), total)
    first = np.cumsum(total) - total
    post = (np.arange(len(w)) - first[w]) >= n_pre[w]
    seg_start = np.where(post, post_start[w], windows.start[w])
    seg_len = np.where(post, post_len[w], pre_len[w])
    day = seg_start + np.floor(rng.random(len(w)) * seg_len).astype(np.int64)
    if month_weight is not None and len(w):
        keep_p = np.asarray(month_weight)[cal.month_index(day)] / wmax
        keep = rng.random(len(w)) < keep_p
        w, day, post = w[keep], day[keep], post[keep]
    return Events(windows.owner[w], day, post, windows.practice[w])


def pick_codes(rng: np.random.Generator, n_codes: int, n: int) -> IntArray:
    """Indices into a codelist, weighted towards its first (most used) codes."""
    weights = 1.0 / np.arange(1, n_codes + 1)
    return categorical(rng, weights, n)
