"""Row-level logic the column declarations cannot express: dates in order.

Each rule says that, when both dates are present, `later` is on or after
`earlier` in the same row (an end cannot precede its start). These are facts about
the activity the data model records, so they live beside the loader rather than in
the pure schema.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DateOrder:
    """`later` must be on or after `earlier` in every row of `table` where both are set."""

    table: str
    earlier: str
    later: str


DATE_ORDER_RULES: tuple[DateOrder, ...] = (
    DateOrder("patients", "date_of_birth", "date_of_death"),
    DateOrder("practice_registrations", "start_date", "end_date"),
    DateOrder("apcs", "admission_date", "discharge_date"),
    DateOrder("social_care_packages", "start_date", "end_date"),
    DateOrder("referrals", "clock_start_date", "clock_stop_date"),
    DateOrder("proms", "pre_date", "post_date"),
    DateOrder("record_access_requests", "request_date", "response_date"),
)


def rules_for(table: str) -> tuple[DateOrder, ...]:
    """The date-order rules of one table."""
    return tuple(r for r in DATE_ORDER_RULES if r.table == table)
