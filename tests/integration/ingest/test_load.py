"""Loading valid extracts: storage contract, modes, load log, formats, warnings."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from carepilot.errors import ConfigError, InputDataError
from carepilot.ingest import LoadMode, load_extract
from carepilot.schema import TABLES
from carepilot.store import (
    DUCKDB_TYPES,
    LOADS_TABLE,
    database_info,
    ibis_connection,
    open_database,
)

from .conftest import GOOD, TODAY


def _contents(db: Path) -> dict[str, list[tuple[object, ...]]]:
    conn = open_database(db)
    try:
        return {
            name: conn.execute(f'SELECT * FROM "{name}" ORDER BY ALL').fetchall()
            for name in TABLES
        }
    finally:
        conn.close()


def test_storage_contract_every_table_in_schema_order_and_types(good_db: Path) -> None:
    conn = open_database(good_db)
    for table in TABLES.values():
        described = conn.execute(f'DESCRIBE "{table.name}"').fetchall()
        assert [(r[0], r[1]) for r in described] == [
            (c.name, DUCKDB_TYPES[c.type]) for c in table.columns
        ]
    counts = {
        name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]  # type: ignore[index]
        for name in TABLES
    }
    conn.close()
    assert counts["patients"] == 20
    assert counts["clinical_events"] == 40
    assert all(n > 0 for n in counts.values())


def test_every_table_exists_even_if_not_supplied(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(GOOD / "patients.csv", src)
    db = tmp_path / "db.duckdb"
    load_extract(src, db, today=TODAY)
    conn = open_database(db)
    tables = {r[0] for r in conn.execute("SHOW TABLES").fetchall()}
    assert set(TABLES) <= tables
    assert conn.execute("SELECT count(*) FROM apcs").fetchone() == (0,)


def test_default_mode_refuses_when_database_holds_data(good_db: Path) -> None:
    with pytest.raises(ConfigError, match="choose --replace .* or --append"):
        load_extract(GOOD, good_db, today=TODAY)


def test_replace_is_idempotent_and_logs_each_load(good_db: Path) -> None:
    before = _contents(good_db)
    result = load_extract(GOOD, good_db, LoadMode.REPLACE, today=TODAY)
    assert _contents(good_db) == before
    assert result.load_id == 2
    conn = open_database(good_db)
    log = conn.execute(
        f"SELECT load_id, mode, total_rows, files FROM {LOADS_TABLE} ORDER BY load_id"
    ).fetchall()
    assert [(r[0], r[1], r[2]) for r in log] == [(1, "new", 155), (2, "replace", 155)]
    assert '"sha256"' in log[1][3] and "patients.csv" in log[1][3]


def test_append_adds_second_extract_and_checks_references_against_loaded(
    good_db: Path, tmp_path: Path
) -> None:
    second = tmp_path / "second"
    second.mkdir()
    (second / "patients.csv").write_text(
        "patient_id,date_of_birth,sex\n21,1990-01-01,female\n"
    )
    # patient 5 is only in the database, patient 21 only in this extract
    (second / "clinical_events.csv").write_text(
        "patient_id,date,snomedct_code\n5,2011-01-01,44054006\n21,2011-01-01,44054006\n"
    )
    load_extract(second, good_db, LoadMode.APPEND, today=TODAY)
    conn = open_database(good_db)
    assert conn.execute("SELECT count(*) FROM patients").fetchone() == (21,)
    assert conn.execute("SELECT count(*) FROM clinical_events").fetchone() == (42,)


def test_append_rejects_primary_keys_already_loaded(good_db: Path) -> None:
    before = _contents(good_db)
    with pytest.raises(InputDataError) as info:
        load_extract(GOOD, good_db, LoadMode.APPEND, today=TODAY)
    message = str(info.value)
    assert (
        "patients.csv line 2, column `patient_id`: value '1': duplicate primary key; "
        "expected a `patient_id` not already in the database"
    ) in message
    assert "duplicate primary key: " in message
    assert _contents(good_db) == before


def test_parquet_extract_loads_the_same_content_as_csv(
    good_db: Path, tmp_path: Path
) -> None:
    src = tmp_path / "parquet"
    src.mkdir()
    for table in TABLES.values():
        # pyarrow infers types from the CSV: ints, doubles, dates, strings
        arrow = pacsv.read_csv(GOOD / f"{table.name}.csv")
        pq.write_table(arrow, src / f"{table.name}.parquet")
    db = tmp_path / "pq.duckdb"
    load_extract(src, db, today=TODAY)
    assert _contents(db) == _contents(good_db)


def test_ehrql_style_extract_loads_with_warnings(tmp_path: Path) -> None:
    src = tmp_path / "ehrql"
    src.mkdir()
    (src / "patients.csv").write_text(
        "patient_id,date_of_birth,sex,date_of_death,flag\n1,1980-01-01,male,,T\n"
    )
    (src / "practice_registrations.csv").write_text(
        "patient_id,start_date,end_date,practice_pseudo_id\n1,2000-01-01,,7\n"
    )
    (src / "README.txt").write_text("not data")
    db = tmp_path / "db.duckdb"
    result = load_extract(src, db, today=TODAY)
    text = "\n".join(result.warnings)
    assert "README.txt: not a data-model table file, not loaded" in text
    assert "patients.csv: column(s) not in the data model ignored: `flag`" in text
    assert "`ethnicity` = 'Not stated'" in text
    assert "not checked against `practices`, which holds no rows" in text
    conn = open_database(db)
    assert conn.execute("SELECT ethnicity, imd_decile FROM patients").fetchall() == [
        ("Not stated", None)
    ]


def test_max_errors_caps_the_list_but_counts_everything(tmp_path: Path) -> None:
    src = tmp_path / "many"
    src.mkdir()
    rows = "".join(f"{i},1980-01-01,X\n" for i in range(1, 201))
    (src / "patients.csv").write_text("patient_id,date_of_birth,sex\n" + rows)
    with pytest.raises(InputDataError) as info:
        load_extract(src, tmp_path / "db.duckdb", max_errors=5, today=TODAY)
    message = str(info.value)
    assert message.count("value 'X': value not allowed") == 5
    assert "showing 5 of 200" in message
    assert "value not allowed: 200" in message


def test_ibis_connection_and_info(good_db: Path) -> None:
    con = ibis_connection(good_db)
    assert con.table("patients").count().execute() == 20
    info = database_info(good_db)
    assert info.n_patients == 20 and info.n_practices == 3
    events = next(t for t in info.tables if t.name == "clinical_events")
    assert (events.rows, str(events.first_date), str(events.last_date)) == (
        40,
        "2009-01-15",
        "2010-12-10",
    )
    assert [load.mode for load in info.loads] == ["new"]


def test_open_database_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        open_database(tmp_path / "nope.duckdb")


def test_other_tables_survive_replace(good_db: Path) -> None:
    conn = duckdb.connect(str(good_db))
    conn.execute("CREATE TABLE indicator_results AS SELECT 42 AS x")
    conn.close()
    load_extract(GOOD, good_db, LoadMode.REPLACE, today=TODAY)
    conn = open_database(good_db)
    assert conn.execute("SELECT x FROM indicator_results").fetchall() == [(42,)]


def test_references_to_supplied_organisation_tables_are_checked(
    tmp_path: Path,
) -> None:
    src = tmp_path / "orgs"
    shutil.copytree(GOOD, src)
    with (src / "practice_registrations.csv").open("a") as fh:
        fh.write("1,2011-01-01,,99\n")
    with pytest.raises(InputDataError) as info:
        load_extract(src, tmp_path / "db.duckdb", today=TODAY)
    assert (
        "practice_registrations.csv line 24, column `practice_pseudo_id`: value '99': "
        "reference to an unknown row; expected a `practice_pseudo_id` that exists in "
        "`practices`"
    ) in str(info.value)


def test_composite_primary_key_duplicates(tmp_path: Path) -> None:
    src = tmp_path / "wf"
    shutil.copytree(GOOD, src)
    with (src / "provider_workforce.csv").open("a") as fh:
        fh.write("RX2,District nursing,2010-05-01,1.0\n")
    with pytest.raises(InputDataError) as info:
        load_extract(src, tmp_path / "db.duckdb", today=TODAY)
    assert (
        "provider_workforce.csv line 5, column `provider_code, service, month_start`: "
        "value 'RX2, District nursing, 2010-05-01': duplicate primary key; expected a "
        "unique `provider_code`, `service`, `month_start`; the same key is on line 3"
    ) in str(info.value)


def test_orphan_inside_the_key_range_is_found(tmp_path: Path) -> None:
    # Whole-number references are checked with a bitmap over [min, max]; an id in
    # a gap of that range must still be flagged.
    src = tmp_path / "gap"
    src.mkdir()
    (src / "patients.csv").write_text(
        "patient_id,date_of_birth,sex\n1,1980-01-01,male\n3,1980-01-01,male\n"
    )
    (src / "clinical_events.csv").write_text(
        "patient_id,date,snomedct_code\n3,2010-01-01,44054006\n2,2010-01-01,44054006\n"
        "0,2010-01-01,44054006\n"
    )
    with pytest.raises(InputDataError) as info:
        load_extract(src, tmp_path / "db.duckdb", today=TODAY)
    message = str(info.value)
    assert (
        "clinical_events.csv line 3, column `patient_id`: value '2': reference"
        in message
    )
    assert (
        "clinical_events.csv line 4, column `patient_id`: value '0': reference"
        in message
    )
    assert "reference to an unknown row: 2" in message


def test_append_to_database_with_an_older_data_model_is_refused(
    good_db: Path,
) -> None:
    conn = duckdb.connect(str(good_db))
    conn.execute("ALTER TABLE patients DROP COLUMN rural_urban")
    conn.close()
    before = good_db.read_bytes()
    with pytest.raises(ConfigError, match="different data model.*--replace"):
        load_extract(GOOD, good_db, LoadMode.APPEND, today=TODAY)
    assert good_db.read_bytes() == before
    load_extract(GOOD, good_db, LoadMode.REPLACE, today=TODAY)
