"""Array helpers of the dense engine path agree with Python's own calendar."""

from __future__ import annotations

import datetime as dt

import numpy as np

from carepilot.engine.dense import _lookup, _ymd

_EPOCH = dt.date(1970, 1, 1).toordinal()


def test_ymd_is_the_calendar_date_for_every_day_from_1_to_9999() -> None:
    first = dt.date(1, 1, 1).toordinal() - _EPOCH
    last = dt.date(9999, 12, 31).toordinal() - _EPOCH
    days = np.arange(first, last + 1, 97)  # every 97th day: all months, leap rules
    days = np.concatenate([days, [first, last, 0, -1, 11_016, 11_017]])
    expected = [
        int(dt.date.fromordinal(int(d) + _EPOCH).strftime("%Y%m%d")) for d in days
    ]
    assert _ymd(days).tolist() == expected


def test_lookup_finds_positions_with_and_without_consecutive_ids() -> None:
    wanted = np.array([2, 3, 6, 7, 5, 4])
    assert _lookup(np.array([3, 4, 5, 6]), wanted).tolist() == [-1, 0, 3, -1, 2, 1]
    assert _lookup(np.array([3, 5, 6]), wanted).tolist() == [-1, 0, 2, -1, 1, -1]
    assert _lookup(np.array([], dtype=np.int64), wanted).tolist() == [-1] * 6
