"""A load killed at any point leaves the database byte-for-byte as it was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from carepilot.ingest import LoadMode, load_extract
from carepilot.store import open_database
from carepilot.store.atomic import temp_prefix

from .conftest import TODAY, file_hash

_N_PATIENTS = 100_000
_N_EVENTS = 2_000_000


def _big_extract(directory: Path) -> None:
    """Enough rows that a load takes a few seconds, so it can be killed mid-way."""
    rng = np.random.default_rng(7)
    directory.mkdir()
    ids = np.arange(1, _N_PATIENTS + 1)
    dob = (np.datetime64("1930-01") + rng.integers(0, 900, _N_PATIENTS)).astype(
        "datetime64[D]"
    )
    pq.write_table(
        pa.table(
            {
                "patient_id": ids,
                "date_of_birth": pa.array(dob),
                "sex": pa.array(np.where(ids % 2 == 0, "female", "male")),
            }
        ),
        directory / "patients.parquet",
    )
    dates = np.datetime64("2005-01-01") + rng.integers(0, 5000, _N_EVENTS)
    pq.write_table(
        pa.table(
            {
                "patient_id": rng.integers(1, _N_PATIENTS + 1, _N_EVENTS),
                "date": pa.array(dates.astype("datetime64[D]")),
                "snomedct_code": pa.array(
                    np.array(["44054006", "38341003", "271649006"])[
                        rng.integers(0, 3, _N_EVENTS)
                    ]
                ),
                "numeric_value": rng.normal(130, 15, _N_EVENTS),
            }
        ),
        directory / "clinical_events.parquet",
    )


def _temporaries(db: Path) -> list[Path]:
    return list(db.parent.glob(temp_prefix(db) + "*"))


def test_sigkill_mid_load_leaves_database_unchanged_and_openable(
    good_db: Path, tmp_path: Path
) -> None:
    big = tmp_path / "big"
    _big_extract(big)
    before = file_hash(good_db)
    code = (
        "import sys, datetime as dt\n"
        "from carepilot.ingest import load_extract\n"
        "load_extract(sys.argv[1], sys.argv[2], 'replace', today=dt.date(2024, 6, 1))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(big), str(good_db)])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            temps = _temporaries(good_db)
            if temps and temps[0].stat().st_size > 2_000_000:
                break
            assert proc.poll() is None, "load finished before it could be killed"
            time.sleep(0.01)
        else:
            raise AssertionError("temporary database never appeared")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert file_hash(good_db) == before
    conn = open_database(good_db)
    assert conn.execute("SELECT count(*) FROM patients").fetchone() == (20,)
    conn.close()
    assert _temporaries(good_db), "the killed load's temporary file should remain"
    # The next load cleans up the abandoned temporary file and succeeds.
    load_extract(big, good_db, LoadMode.REPLACE, today=TODAY)
    assert _temporaries(good_db) == []
    conn = open_database(good_db)
    assert conn.execute("SELECT count(*) FROM clinical_events").fetchone() == (
        _N_EVENTS,
    )
