"""Reading the data model straight from Parquet: layout, schema checks, errors.

Runs on DuckDB (no JVM); the Spark reader shares every check (tested in
tests/integration/engine/test_spark.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from carepilot.engine.parquet import (
    check_schema,
    duckdb_parquet_tables,
    locate_tables,
)
from carepilot.engine.tables import arrow_schema, to_arrow
from carepilot.errors import InputDataError
from carepilot.schema import TABLES


def _patients(ids: list[int]) -> pa.Table:
    return to_arrow(
        "patients",
        [
            {"patient_id": i, "date_of_birth": dt.date(1950, 1, 1), "sex": "F"}
            for i in ids
        ],
    )


def _minimal(folder: Path, *, partitioned: bool = True) -> Path:
    """patients in two partitions, registrations and practices as single files."""
    folder.mkdir(parents=True, exist_ok=True)
    if partitioned:
        (folder / "patients").mkdir()
        pq.write_table(_patients([1, 2]), folder / "patients" / "part-00000.parquet")
        pq.write_table(_patients([3]), folder / "patients" / "part-00001.parquet")
        (folder / "patients" / "_SUCCESS").write_text("")
    else:
        pq.write_table(_patients([1, 2, 3]), folder / "patients.parquet")
    regs = to_arrow(
        "practice_registrations",
        [
            {
                "patient_id": i,
                "start_date": dt.date(2020, 1, 1),
                "practice_pseudo_id": 1,
            }
            for i in (1, 2, 3)
        ],
    )
    pq.write_table(regs, folder / "practice_registrations.parquet")
    prac = to_arrow(
        "practices",
        [{"practice_pseudo_id": 1, "practice_code": "A1", "practice_name": "A",
          "pcn_code": "P1", "commissioner_code": "C1"}],
    )  # fmt: skip
    pq.write_table(prac, folder / "practices.parquet")
    return folder


def test_locates_folders_and_files_and_skips_marker_files(tmp_path: Path) -> None:
    data = _minimal(tmp_path / "d")
    found = locate_tables(str(data))
    assert set(found) == {"patients", "practice_registrations", "practices"}
    assert [p.name for p in found["patients"].files] == [
        "part-00000.parquet",
        "part-00001.parquet",
    ]
    assert found["practices"].files == (data / "practices.parquet",)


def test_duckdb_reads_partitions_conformed_with_empty_optional_tables(
    tmp_path: Path,
) -> None:
    tables = duckdb_parquet_tables(ibis.duckdb.connect(), str(_minimal(tmp_path / "d")))
    assert set(tables) == set(TABLES)
    patients = tables["patients"].to_pyarrow()
    assert patients.schema == arrow_schema(TABLES["patients"])
    assert sorted(patients["patient_id"].to_pylist()) == [1, 2, 3]
    assert set(patients["sex"].to_pylist()) == {"F"}
    assert tables["apcs"].count().execute() == 0


def test_missing_required_table_names_it_and_the_expected_paths(tmp_path: Path) -> None:
    data = _minimal(tmp_path / "d")
    (data / "practices.parquet").unlink()
    with pytest.raises(
        InputDataError,
        match=r"`practices` \(expected .*practices/ or .*practices\.parquet\)",
    ):
        locate_tables(str(data))


def test_data_that_is_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(InputDataError, match="not a directory"):
        locate_tables(str(tmp_path / "nowhere"))


def test_empty_table_folder(tmp_path: Path) -> None:
    data = _minimal(tmp_path / "d")
    (data / "apcs").mkdir()
    with pytest.raises(
        InputDataError, match=r"table `apcs`: folder .* holds no Parquet files"
    ):
        locate_tables(str(data))


def test_type_mismatch_between_partitions_names_both_files(tmp_path: Path) -> None:
    data = _minimal(tmp_path / "d")
    bad = _patients([4]).set_column(0, "patient_id", pa.array(["4"], type=pa.string()))
    pq.write_table(bad, data / "patients" / "part-00002.parquet")
    with pytest.raises(InputDataError) as err:
        check_schema(locate_tables(str(data))["patients"])
    message = str(err.value)
    assert "schema mismatch between partitions" in message
    assert "`patient_id` is int64 in" in message and "part-00000.parquet" in message
    assert "but string in" in message and "part-00002.parquet" in message


def test_column_missing_from_one_partition_is_a_mismatch(tmp_path: Path) -> None:
    data = _minimal(tmp_path / "d")
    pq.write_table(
        _patients([4]).drop_columns(["lsoa_code"]),
        data / "patients" / "part-00002.parquet",
    )
    with pytest.raises(
        InputDataError,
        match=r"has column `lsoa_code` but .*part-00002\.parquet does not",
    ):
        check_schema(locate_tables(str(data))["patients"])


def test_required_column_missing_names_file_and_column(tmp_path: Path) -> None:
    data = _minimal(tmp_path / "d", partitioned=False)
    pq.write_table(
        _patients([1]).drop_columns(["date_of_birth"]), data / "patients.parquet"
    )
    with pytest.raises(
        InputDataError, match=r"patients\.parquet has no column `date_of_birth`"
    ):
        duckdb_parquet_tables(ibis.duckdb.connect(), str(data))


def test_unconvertible_type_names_found_and_expected(tmp_path: Path) -> None:
    data = _minimal(tmp_path / "d", partitioned=False)
    table = _patients([1])
    idx = table.schema.get_field_index("date_of_birth")
    table = table.set_column(idx, "date_of_birth", pa.array([True]))
    pq.write_table(table, data / "patients.parquet")
    with pytest.raises(
        InputDataError, match=r"column `date_of_birth` is bool; expected date"
    ):
        duckdb_parquet_tables(ibis.duckdb.connect(), str(data))


def test_corrupt_file_is_named(tmp_path: Path) -> None:
    data = _minimal(tmp_path / "d")
    (data / "patients" / "part-00003.parquet").write_bytes(b"not parquet")
    with pytest.raises(
        InputDataError, match=r"part-00003\.parquet is not a readable Parquet file"
    ):
        check_schema(locate_tables(str(data))["patients"])
