"""Read a contract's population, spend and activity from the analytics DuckDB.

The only contracts module that touches the database. Tables and columns are the
data model's (`carepilot.schema.tables`); queries use bound parameters.

Population and entry/exit: a patient counts for the days, within the period, on
which they were registered with one of the contract's practices and alive
(registration `end_date` and date of death are the last days counted). Exposure
is those days / days in the contract year, so a patient who leaves or dies
mid-year counts pro rata. Spend and activity count only when dated within a
counted registration window.

Spend by setting: `apcs.tariff_cost`, `opa.cost`, `ec.cost`,
`community_contacts.cost` (all recorded activity). Tariff counterfactual: the
same prices for activity payable under payment by activity (outpatient and
community contacts only when attended).
"""

from __future__ import annotations

import logging
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
) -> list[int]:
    """Practice ids of the contract population (pilot members joined before `before`)."""
    pop = contract.population
    if pop.pilot_id is not None:
        rows = con.execute(
            "SELECT DISTINCT practice_pseudo_id FROM pilot_site_members "
            "WHERE pilot_id = ? AND member_type = 'practice' "
            "AND practice_pseudo_id IS NOT NULL AND start_date < ?",
            [pop.pilot_id, before],
        ).fetchall()
        where = f"pilot `{pop.pilot_id}` in table `pilot_site_members`"
    else:
        rows = con.execute(
            "SELECT practice_pseudo_id FROM practices WHERE practice_code IN "
            "(SELECT unnest(?))",
            [list(pop.practice_codes)],
        ).fetchall()
        where = f"practice codes {', '.join(pop.practice_codes)} in table `practices`"
    ids = sorted(int(r[0]) for r in rows)
    if not ids:
        raise InputDataError(
            f"contract `{contract.id}`: no member practices found for {where} "
            f"(joined before {before}); check `population` in the contract"
        )
    return ids


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
    # $1 practice ids, $2 period start, $3 period end (exclusive)
    return """
    WITH deaths AS (
        SELECT p.patient_id,
               least(coalesce(p.date_of_death, d.date), coalesce(d.date, p.date_of_death))
                   AS death
        FROM patients p LEFT JOIN ons_deaths d USING (patient_id)
    ), win AS (
        SELECT r.patient_id,
               greatest(r.start_date, $2::DATE) AS s,
               least($3::DATE,
                     coalesce(r.end_date + 1, $3::DATE),
                     coalesce(dd.death + 1, $3::DATE)) AS e
        FROM practice_registrations r LEFT JOIN deaths dd USING (patient_id)
        WHERE list_contains($1, r.practice_pseudo_id)
    )
    SELECT patient_id, s, e FROM win WHERE e > s
    """


def population_frame(
    con: duckdb.DuckDBPyConnection,
    practice_ids: list[int],
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
    """
    con.execute("DROP TABLE IF EXISTS _cp_win")
    con.execute(
        "CREATE TEMP TABLE _cp_win AS " + _windows_sql(), [practice_ids, start, end]
    )
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
