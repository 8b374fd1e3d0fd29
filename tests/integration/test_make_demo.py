"""`make demo` end to end, at a small size, as the README tells a new user to run it.

Session 2 left `make demo` broken in three places (a loader, disclosure control and
the contract baselines) while every unit test passed: only running the real recipe
catches the seams between commands. The sizes are small (3,000 patients, 16
practices) so that this takes about two CPU-minutes; everything else - the
commands, their order and their options - is the Makefile's own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_demo_runs_every_step_and_leaves_what_it_promises(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    done = subprocess.run(
        [
            "make",
            "-C",
            str(ROOT),
            "demo",
            f"DEMO_DIR={out}",
            "DEMO_PATIENTS=3000",
            "DEMO_PRACTICES=16",
            "DEMO_PILOT_PRACTICES=6",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
        check=False,
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-4000:]
    assert "Traceback" not in log
    assert "==> 8/8 done" in log
    results = pd.read_parquet(out / "indicator_results.parquet")
    assert results["indicator_id"].nunique() >= 45
    assert set(results["area_type"]) >= {
        "national",
        "commissioner",
        "pcn",
        "practice",
        "pilot",
    }
    assert (out / "open-data").is_dir() and any((out / "open-data").iterdir())
    reports = sorted((out / "evaluation").glob("*/report.html"))
    assert len(reports) == 3
    for report in reports:
        assert (report.parent / "numbers.json").exists()
    statement = json.loads(
        (out / "contracts" / "demo-icp01-capitated-2023.json").read_text()
    )
    lines = {line["ref"]: line for line in statement["statements"][0]["lines"]}
    # pilot areas have baselines (before each practice's start) for the contract
    scored = [
        line for line in lines.values() if line["description"].startswith("indicator ")
    ]
    assert scored and all("baseline" in line["description"] for line in scored)
    assert (out / "workflow.sqlite").exists()
