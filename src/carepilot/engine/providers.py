"""Provider attribution: results for the provider whose activity an indicator counts.

Practice, PCN, commissioner and pilot results follow the patient's GP
registration. A provider (acute, community or mental health trust) is accountable
for its own activity instead: the readmissions after *its* discharges, the missed
appointments in *its* clinics, the health gain of *its* operations. So a provider
row counts the patients whose denominator event happened at that provider.

Rule (documented in docs/indicators.md terms):

* The attributing event is the first event summary in the indicator's
  *population* (denominator) that reads a data-model table with a
  ``provider_code`` column (apcs, opa, ec, community_contacts, proms, ...),
  with the same filters, codelist and window. Indicators whose population is only
  registration and clinical codes (QOF-style) have no provider rows: the registered
  population of a practice is not a provider's activity.
* A patient is attributed, per period, to the provider of their LATEST such event
  in the window (ties on the same day: the highest provider code, so the choice is
  deterministic). Codes that are not in the `providers` table, and GP practices
  (``provider_type = "gp"``: they already have practice rows, by registration),
  attribute nobody.
* Rows get ``area_type = "provider"``, the provider's code and name and parent
  ``national``. Providers do not partition the country, so - like pilots - they are
  not in the disclosure hierarchy; disclosure control applies to them exactly as to
  any other row (they go through the same `release`).

The engine calls `attributed_patient_level` to re-key the patient-level table
from practice to provider (an integer provider index in the practice column, so the
same single aggregation pass and the same breakdown code apply) and
`provider_areas` to label the aggregated rows. Ibis only; no pandas on big tables.
"""

# Ibis's static types are coarser than its runtime API (see aggregate.py).
# pyright: reportOperatorIssue=false, reportAttributeAccessIssue=false, reportArgumentType=false, reportCallIssue=false

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from carepilot.indicators.compile import EVENT_PROVIDER, periods_table
from carepilot.indicators.expr import EventAgg, Window, WindowKind, event_aggs
from carepilot.indicators.model import IndicatorDefinition, Unit
from carepilot.indicators.periods import Period
from carepilot.schema import TABLES

PROVIDER_AREA_TYPE = "provider"
"""`area_type` of provider rows in the results table."""

PROVIDER_TABLES: frozenset[str] = frozenset(
    name
    for name, table in TABLES.items()
    if name != "providers"
    and any(c.name == "provider_code" for c in table.columns)
    and "patient_id" in {c.name for c in table.columns}
)
"""Event tables whose rows name the provider that delivered them."""


@dataclass(frozen=True)
class ProviderIndex:
    """Providers in a fixed order; row `i` is provider index ``i + 1``.

    Index 0 is never used, so the re-keyed practice column stays a positive id.
    """

    codes: np.ndarray
    names: np.ndarray

    @staticmethod
    def from_frame(providers: pd.DataFrame) -> ProviderIndex:
        """Non-GP providers of the `providers` table, ordered by code."""
        if "provider_type" in providers.columns:
            providers = providers[providers["provider_type"] != "gp"]
        frame = (
            providers[["provider_code", "provider_name"]]
            .dropna(subset=["provider_code"])
            .drop_duplicates("provider_code")
            .sort_values("provider_code", kind="stable")
        )
        return ProviderIndex(
            frame["provider_code"].astype(str).to_numpy(dtype=object),
            frame["provider_name"].astype(str).to_numpy(dtype=object),
        )

    def memtable(self) -> ir.Table:
        return ibis.memtable(
            pd.DataFrame(
                {
                    "_prov_code": pd.Series(self.codes, dtype=object).astype(str),
                    "_prov_idx": np.arange(1, len(self.codes) + 1, dtype=np.int64),
                }
            )
        )


def attributing_event(definition: IndicatorDefinition) -> EventAgg | None:
    """The population's first event summary on a provider table, if any.

    Event-level indicators (`unit: event`) count events, so each event is
    attributed to its own provider: their counted `events` are returned.
    """
    if definition.unit is Unit.EVENT and definition.events is not None:
        if definition.events.source.table in PROVIDER_TABLES:
            return definition.events
        return None
    for agg in event_aggs([definition.population]):
        if agg.source.table in PROVIDER_TABLES and isinstance(agg.window, Window):
            return agg
    return None


def attribution(
    agg: EventAgg,
    definition: IndicatorDefinition,
    tables: Mapping[str, ir.Table],
    periods: Sequence[Period],
    index: ProviderIndex,
) -> ir.Table:
    """(patient_id, period_id, provider index) of each patient's latest event.

    The event filters, codelist and window are those of `agg`, so the attributing
    event is one the denominator counted. For event-level indicators every event
    row already carries its provider: the result is then the code -> index map
    (`_prov_code`, `_prov_idx`) that `attributed_patient_level` joins per event.
    """
    if definition.unit is Unit.EVENT:
        return index.memtable()
    source = agg.source
    t = tables[source.table]
    preds: list[ir.BooleanValue] = [
        t[source.date_column].notnull(),
        t.provider_code.notnull(),
    ]
    if source.codelist is not None and source.code_column is not None:
        codes = list(definition.codelists[source.codelist].codes)
        preds.append(t[source.code_column].isin(codes))
    for column, values in source.filters:
        preds.append(t[column].isin(list(values)))
    if source.value_column is not None:
        preds.append(t[source.value_column].notnull())
    ev = t.filter(*preds).select(
        patient_id=t.patient_id,
        d=t[source.date_column],
        code=t.provider_code.cast("string"),
    )
    window = agg.window
    assert isinstance(window, Window)  # `attributing_event` skips relative windows
    per = periods_table(periods, [window], definition.period_rule)
    conds: list[ir.BooleanValue] = [ev.d <= per.period_end]
    if window.kind is not WindowKind.EVER:
        conds.append(ev.d >= per[f"ws_{window.key}"])
    joined = ev.join(per, conds).select(ev.patient_id, per.period_id, ev.d, ev.code)
    latest = joined.group_by(["patient_id", "period_id"]).aggregate(
        last_d=joined.d.max()
    )
    on_day = joined.join(
        latest,
        [
            joined.patient_id == latest.patient_id,
            joined.period_id == latest.period_id,
            joined.d == latest.last_d,
        ],
    ).select(joined.patient_id, joined.period_id, joined.code)
    chosen = on_day.group_by(["patient_id", "period_id"]).aggregate(
        code=on_day.code.max()
    )
    known = index.memtable()
    return chosen.join(known, chosen.code == known._prov_code).select(
        chosen.patient_id, chosen.period_id, provider_idx=known._prov_idx
    )


def attributed_patient_level(patient_level: ir.Table, attributed: ir.Table) -> ir.Table:
    """The patient-level table keyed by provider index instead of practice.

    Patients with no attributing event in the period drop out (they are not any
    provider's activity); the columns are unchanged, so `aggregate` applies as is.
    Event-level tables are re-keyed per event by the event's own provider.
    """
    if EVENT_PROVIDER in patient_level.columns:
        known = attributed
        j = patient_level.join(known, patient_level[EVENT_PROVIDER] == known._prov_code)
        return j.select(
            *[
                known._prov_idx.name("practice_pseudo_id")
                if c == "practice_pseudo_id"
                else patient_level[c]
                for c in patient_level.columns
            ]
        )
    j = patient_level.join(
        attributed,
        [
            patient_level.patient_id == attributed.patient_id,
            patient_level.period_id == attributed.period_id,
        ],
    )
    cols = [
        attributed.provider_idx.name("practice_pseudo_id")
        if c == "practice_pseudo_id"
        else patient_level[c]
        for c in patient_level.columns
    ]
    return j.select(*cols)


def provider_areas(rows: pd.DataFrame, index: ProviderIndex) -> pd.DataFrame:
    """Label aggregated rows (provider index in `practice_pseudo_id`) as areas.

    Returns the rows without `practice_pseudo_id` and with `area_type`,
    `area_code`, `area_name` and `parent_area_code` first, as `areas.roll_up`
    returns them.
    """
    idx = rows["practice_pseudo_id"].to_numpy(dtype=np.int64) - 1
    rest = rows.drop(columns=["practice_pseudo_id"]).reset_index(drop=True)
    labels = pd.DataFrame(
        {
            "area_type": PROVIDER_AREA_TYPE,
            "area_code": index.codes[idx],
            "area_name": index.names[idx],
            "parent_area_code": "national",
        },
        index=rest.index,
    )
    return pd.concat([labels, rest], axis=1)
