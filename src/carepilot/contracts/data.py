"""Read a contract's population, spend and activity from the analytics DuckDB.

The only contracts module that touches the database. Tables and columns are the
data model's (`carepilot.schema.tables`); queries use bound parameters.

Population and entry/exit: a patient counts for the days, within the period, on
which they were registered with one of the contract's practices, that practice
was a member of the pilot (from its `pilot_site_members.start_date`), and the
patient was alive (registration `end_date` and date of death are the last days
counted). Exposure is those days / days in the contract year, so a patient who
leaves or dies mid-year, or whose practice joins mid-year, counts pro rata.
Overlapping registrations (a patient registered at two pilot practices at once,
as happens in real registration data around a move) are merged into one window
per patient, so no day and no activity is counted twice. Spend and activity count
only when dated within a counted window.

Spend by setting: `apcs.tariff_cost`, `opa.cost`, `ec.cost`,
`community_contacts.cost` (all recorded activity). Tariff counterfactual: the
same prices for activity payable under payment by activity (outpatient and
community contacts only when attended).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date

import duckdb
import numpy as np
import pandas as pd

from carepilot.contracts.capitation import assign_age_band
from carepilot.contracts.model import CapitationSpec, Contract, Setting
from carepilot.errors import InputDataError

log = logging.getLogger(__name__)

SETTING_SQL: dict[Setting, tuple[str, str, str, str]] = {
    # table, date column, cost column, condition for payable activity
    Setting.APCS: ("apcs", "admission_date", "tariff_cost", "TRUE"),
    Setting.OPA: ("opa", "appointment_date", "cost", "attendance_status = 'attended'"),
    Setting.EC: ("ec", "arrival_date", "cost", "TRUE"),
    Setting.COMMUNITY: (
        "community_contacts",
        "contact_date",
        "cost",
        "attendance_status = 'attended'",
    ),
}


def pilot_practices(
    con: duckdb.DuckDBPyConnection, contract: Contract, before: date
) -> dict[int, date]:
    """Member practices of the contract population and the date each joined.

    Returns practice id -> first day it counts (its earliest `start_date` in
    `pilot_site_members` for a pilot; `date.min` for a list of practice codes,
    which count whenever their patients are registered). Only practices that
    joined before `before` are returned.
    """
    pop = contract.population
    if pop.pilot_id is not None:
        rows = con.execute(
            "SELECT practice_pseudo_id, min(start_date) FROM pilot_site_members "
            "WHERE pilot_id = ? AND member_type = 'practice' "
            "AND practice_pseudo_id IS NOT NULL AND start_date < ? "
            "GROUP BY practice_pseudo_id",
            [pop.pilot_id, before],
        ).fetchall()
        where = f"pilot `{pop.pilot_id}` in table `pilot_site_members`"
        members = {int(r[0]): _as_date(r[1]) for r in rows}
    else:
        rows = con.execute(
            "SELECT practice_pseudo_id FROM practices WHERE practice_code IN "
            "(SELECT unnest(?))",
            [list(pop.practice_codes)],
        ).fetchall()
        where = f"practice codes {', '.join(pop.practice_codes)} in table `practices`"
        members = {int(r[0]): date.min for r in rows}
    if not members:
        raise InputDataError(
            f"contract `{contract.id}`: no member practices found for {where} "
            f"(joined before {before}); check `population` in the contract"
        )
    return dict(sorted(members.items()))


def _as_date(value: object) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def commissioner_practices(
    con: duckdb.DuckDBPyConnection, contract: Contract
) -> list[int]:
    """Practice ids of the commissioner's whole population (for the risk model)."""
    code = contract.parties.commissioner.code
    rows = con.execute(
        "SELECT practice_pseudo_id FROM practices WHERE commissioner_code = ?", [code]
    ).fetchall()
    if not rows:
        raise InputDataError(
            f"contract `{contract.id}`: commissioner `{code}` has no practices in "
            "table `practices`; check `parties.commissioner.code`"
        )
    return sorted(int(r[0]) for r in rows)


def _windows_sql() -> str:
    # Table _cp_members(practice_pseudo_id, joined); $1 period start, $2 period end
    # (exclusive). Each registration is cut to the period, the practice's membership
    # and the patient's life; overlapping windows of one patient are then merged
    # (gaps and islands: a window starts a new island when it starts after the
    # latest end so far), so each day is counted once.
    return """
    WITH deaths AS (
        SELECT p.patient_id,
               least(coalesce(p.date_of_death, d.date), coalesce(d.date, p.date_of_death))
                   AS death
        FROM patients p LEFT JOIN ons_deaths d USING (patient_id)
    ), win AS (
        SELECT r.patient_id,
               greatest(r.start_date, $1::DATE, m.joined) AS s,
               least($2::DATE,
                     coalesce(r.end_date + 1, $2::DATE),
                     coalesce(dd.death + 1, $2::DATE)) AS e
        FROM practice_registrations r
        JOIN _cp_members m USING (practice_pseudo_id)
        LEFT JOIN deaths dd USING (patient_id)
    ), ordered AS (
        SELECT patient_id, s, e,
               max(e) OVER (PARTITION BY patient_id ORDER BY s, e
                            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_e
        FROM win WHERE e > s
    ), islands AS (
        SELECT patient_id, s, e,
               sum(CASE WHEN prev_e IS NULL OR s > prev_e THEN 1 ELSE 0 END)
                   OVER (PARTITION BY patient_id ORDER BY s, e
                         ROWS UNBOUNDED PRECEDING) AS island
        FROM ordered
    )
    SELECT patient_id, min(s) AS s, max(e) AS e
    FROM islands GROUP BY patient_id, island
    """


def _members_frame(practices: Sequence[int] | Mapping[int, date]) -> pd.DataFrame:
    if isinstance(practices, Mapping):
        items = [(int(k), v) for k, v in practices.items()]
    else:
        items = [(int(k), date.min) for k in practices]
    # DuckDB DATE starts at year 1 like `date.min`; keep it explicit for clarity.
    return pd.DataFrame(
        {
            "practice_pseudo_id": pd.Series([k for k, _ in items], dtype="int64"),
            "joined": pd.Series(
                [max(v, date(1, 1, 1)) for _, v in items], dtype="object"
            ),
        }
    )


def population_frame(
    con: duckdb.DuckDBPyConnection,
    practice_ids: Sequence[int] | Mapping[int, date],
    start: date,
    end: date,
    year_days: int,
    spec: CapitationSpec,
    *,
    as_of: date,
) -> pd.DataFrame:
    """One row per patient registered in [start, end): exposure, risk factors, spend.

    Columns: ``patient_id``, ``exposure`` (days / `year_days`), ``age_band``,
    ``sex``, ``imd_quintile``, ``cond_<name>``, and for each setting
    ``cost_<setting>``, ``tariff_<setting>``, plus ``community_attended`` and
    ``gross_cost`` (sum of the settings' costs). Risk factors are as of `as_of`.

    `practice_ids` is either a list of practices (counted whenever their patients
    are registered) or practice id -> the date it joined the pilot (counted from
    then, as returned by `pilot_practices`).
    """
    members = _members_frame(practice_ids)  # noqa: F841 - DuckDB replacement scan
    con.execute("DROP TABLE IF EXISTS _cp_members")
    con.execute("DROP TABLE IF EXISTS _cp_win")
    con.execute(
        "CREATE TEMP TABLE _cp_members AS "
        "SELECT practice_pseudo_id::BIGINT AS practice_pseudo_id, "
        "joined::DATE AS joined FROM members"
    )
    con.execute("CREATE TEMP TABLE _cp_win AS " + _windows_sql(), [start, end])
    frame = con.execute(
        """
        SELECT w.patient_id,
               sum(datediff('day', w.s, w.e))::BIGINT AS days,
               any_value(p.sex) AS sex,
               any_value(p.imd_decile) AS imd_decile,
               any_value(floor(datediff('month', p.date_of_birth, $1::DATE) / 12))
                   AS age
        FROM _cp_win w JOIN patients p USING (patient_id)
        GROUP BY w.patient_id
        """,
        [as_of],
    ).df()
    frame["exposure"] = np.minimum(frame["days"].to_numpy(dtype=float) / year_days, 1.0)
    frame["age_band"] = assign_age_band(
        frame["age"].fillna(0).astype(int), spec.age_bands
    )
    frame["sex"] = frame["sex"].where(frame["sex"].isin(["female", "male"]), "other")
    decile = frame["imd_decile"]
    frame["imd_quintile"] = (
        ((decile.fillna(0).astype(int) + 1) // 2)
        .astype(str)
        .where(decile.notna(), "unknown")
    )
    for flag in spec.conditions:
        rows = con.execute(
            "SELECT DISTINCT e.patient_id FROM clinical_events e "
            "JOIN (SELECT DISTINCT patient_id FROM _cp_win) w USING (patient_id) "
            "WHERE e.date < ? AND list_contains(?, e.snomedct_code)",
            [as_of, list(flag.snomedct_codes)],
        ).fetchall()
        flagged = {int(r[0]) for r in rows}
        frame[f"cond_{flag.name}"] = frame["patient_id"].isin(flagged).astype(int)
    frame["gross_cost"] = 0.0
    for setting in spec.settings:
        frame = _add_setting(con, frame, setting)
        frame["gross_cost"] += frame[f"cost_{setting.value}"]
    con.execute("DROP TABLE IF EXISTS _cp_win")
    con.execute("DROP TABLE IF EXISTS _cp_members")
    log.info("population frame %s..%s: %d patients", start, end, len(frame))
    return frame


def _add_setting(
    con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, setting: Setting
) -> pd.DataFrame:
    table, date_col, cost_col, payable = SETTING_SQL[setting]
    sql = f"""
        SELECT a.patient_id,
               sum(coalesce(a.{cost_col}, 0)) AS cost,
               sum(CASE WHEN {payable} THEN coalesce(a.{cost_col}, 0) ELSE 0 END) AS tariff,
               count(*) FILTER (WHERE {payable}) AS payable_n
        FROM {table} a JOIN _cp_win w
          ON a.patient_id = w.patient_id AND a.{date_col} >= w.s AND a.{date_col} < w.e
        GROUP BY a.patient_id
    """  # table/column names come from SETTING_SQL, never from user input
    agg = con.execute(sql).df()
    merged = frame.merge(agg, on="patient_id", how="left")
    merged[f"cost_{setting.value}"] = merged.pop("cost").fillna(0.0).astype(float)
    merged[f"tariff_{setting.value}"] = merged.pop("tariff").fillna(0.0).astype(float)
    payable_n = merged.pop("payable_n").fillna(0).astype(int)
    if setting is Setting.COMMUNITY:
        merged["community_attended"] = payable_n
    return merged
