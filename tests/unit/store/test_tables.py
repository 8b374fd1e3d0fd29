"""DDL of the storage contract."""

from __future__ import annotations

import duckdb

from carepilot.schema import TABLES
from carepilot.store.tables import create_all, create_table_sql, data_row_counts


def test_create_table_sql_uses_schema_order_and_duckdb_types() -> None:
    sql = create_table_sql(TABLES["clinical_events"])
    assert sql == (
        'CREATE TABLE IF NOT EXISTS "clinical_events" ("patient_id" BIGINT, '
        '"date" DATE, "snomedct_code" VARCHAR, "numeric_value" DOUBLE)'
    )


def test_create_all_is_idempotent_and_counts_rows() -> None:
    conn = duckdb.connect()
    create_all(conn)
    create_all(conn)
    conn.execute("INSERT INTO patients (patient_id) VALUES (1), (2)")
    counts = data_row_counts(conn)
    assert set(counts) == set(TABLES)
    assert counts["patients"] == 2 and counts["apcs"] == 0
