"""Scale-out benchmark: the indicator suite on DuckDB and on Spark local mode.

For each population size: a synthetic population is written in the partitioned
Parquet layout (`carepilot synth --format parquet-partitioned`, reused if the
folder already holds that size), then the same indicators, periods, breakdowns,
area roll-ups, statistics and disclosure control run from those Parquet files on
DuckDB and on Spark (`local[N]`), each in its own child process.

Every phase prints wall time, CPU time and peak memory of the WHOLE process tree
(the Python child plus, for Spark, its JVM: RSS and CPU are sampled from /proc
every 0.25 s and summed over the tree), and rows/s (input data-model rows per
wall second). Spark's figure is also given as a ratio to DuckDB at the same size,
measured in the same run. The machine may be shared: CPU seconds are the steadier
figure, and load average is printed at the start.

    python benchmarks/scale.py --sizes 1000000 5000000 10000000
    python benchmarks/scale.py --sizes 1000000 --indicators emergency-admissions-rate ...
    python benchmarks/scale.py --synth-only --sizes 200000 1000000   # generator memory
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class TreeUsage:
    """Wall seconds, CPU seconds and peak RSS (MB) of a process tree."""

    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    output: str


def _tree(root: int) -> list[int]:
    """`root` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _usage(pid: int) -> tuple[float, float] | None:
    """(RSS MB, CPU seconds) of one process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    rss = int(fields[21]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    return rss, cpu


def run_measured(args: list[str]) -> TreeUsage:
    """Run a child process; sample its tree's RSS (summed) and CPU until it ends."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    peak = 0.0
    cpu_by_pid: dict[int, float] = {}
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            total = 0.0
            for pid in _tree(proc.pid):
                usage = _usage(pid)
                if usage is not None:
                    total += usage[0]
                    cpu_by_pid[pid] = usage[1]
            peak = max(peak, total)
            done.wait(0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = proc.communicate()
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"child failed ({proc.returncode}): {' '.join(args)}")
    return TreeUsage(
        time.perf_counter() - start, sum(cpu_by_pid.values()), peak, output
    )


def ensure_population(
    root: Path, patients: int, chunk_size: int
) -> tuple[Path, int, TreeUsage | None]:
    """The partitioned population of `patients` (generated if absent)."""
    folder = root / f"p{patients}"
    scenario = folder / "scenario.json"
    if scenario.is_file():
        truth = json.loads(scenario.read_text())
        if truth["parameters"]["patients"] == patients:
            return folder, sum(truth["rows"].values()), None
    usage = run_measured(
        [
            sys.executable,
            __file__,
            "--child-synth",
            str(patients),
            "--out",
            str(folder),
            "--chunk-size",
            str(chunk_size),
        ]
    )
    truth = json.loads(scenario.read_text())
    return folder, sum(truth["rows"].values()), usage


def child_synth(patients: int, out: Path, chunk_size: int) -> None:
    from carepilot.synth.config import SynthConfig
    from carepilot.synth.generate import write_population

    config = SynthConfig(
        patients=patients, seed=11, months=24, chunk_size=chunk_size,
        start=__import__("datetime").date(2021, 4, 1),
    )  # fmt: skip
    write_population(config, out, "parquet-partitioned")


def child_run(backend: str, data: str, master: str, ids: list[str]) -> None:
    """One full run (OpenSAFELY disclosure) from Parquet; prints JSON timings."""
    import datetime as dt

    import ibis

    from carepilot.disclosure import OPENSAFELY
    from carepilot.engine.definitions import load_definitions
    from carepilot.engine.run import Engine, run_indicators
    from carepilot.indicators.periods import Frequency, make_periods
    from carepilot.library import definition_paths

    defs = load_definitions(definition_paths(), [])
    if ids:
        defs = [d for d in defs if d.id in set(ids)]
    periods = make_periods(dt.date(2022, 4, 1), dt.date(2023, 3, 1), Frequency.QUARTER)
    t0 = time.perf_counter()
    if backend == "spark":
        from carepilot.engine.spark import connect, spark_session, spark_tables

        session = spark_session(master, {"spark.driver.memory": "6g"})
        tables = spark_tables(connect(session), data)
    else:
        from carepilot.engine.parquet import duckdb_parquet_tables

        tables = duckdb_parquet_tables(ibis.duckdb.connect(), data)
    t1 = time.perf_counter()
    results = run_indicators(Engine(tables, periods), defs, OPENSAFELY)
    t2 = time.perf_counter()
    print(
        json.dumps(
            {
                "start": t1 - t0,
                "run": t2 - t1,
                "rows": len(results),
                "indicators": len(defs),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000, 10_000_000]
    )
    parser.add_argument("--backends", nargs="+", default=["duckdb", "spark"])
    parser.add_argument("--spark-master", default="local[2]")
    parser.add_argument(
        "--indicators",
        nargs="*",
        default=[],
        help="ids (default: the whole standard library)",
    )
    parser.add_argument("--data-root", type=Path, default=Path("/tmp/carepilot-scale"))
    parser.add_argument("--chunk-size", type=int, default=250_000)
    parser.add_argument(
        "--synth-only",
        action="store_true",
        help="only measure generation (memory bound)",
    )
    parser.add_argument("--child-synth", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-run", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_synth:
        child_synth(args.child_synth, args.out, args.chunk_size)
        return
    if args.child_run:
        child_run(args.child_run, args.data, args.spark_master, args.indicators)
        return

    print(
        f"load average {os.getloadavg()}, {os.cpu_count()} CPUs; periods: 4 quarters 2022-04..2023-03"
    )
    print(
        "size       | phase              | wall s | CPU s | peak RSS MB (tree) | input rows/s | output rows | vs DuckDB"
    )
    for size in args.sizes:
        if args.synth_only:
            folder = args.data_root / f"synth-{size}"
            usage = run_measured(
                [
                    sys.executable,
                    __file__,
                    "--child-synth",
                    str(size),
                    "--out",
                    str(folder),
                    "--chunk-size",
                    str(args.chunk_size),
                ]
            )
            rows = sum(
                json.loads((folder / "scenario.json").read_text())["rows"].values()
            )
            print(
                f"{size:>10,} | synth (partitioned) | {usage.seconds:6.0f} | {usage.cpu_seconds:5.0f} | {usage.peak_rss_mb:18,.0f} | {rows / usage.seconds:12,.0f} | {rows:,} written |"
            )
            continue
        folder, rows, synth = ensure_population(args.data_root, size, args.chunk_size)
        if synth is not None:
            print(
                f"{size:>10,} | synth (partitioned) | {synth.seconds:6.0f} | {synth.cpu_seconds:5.0f} | {synth.peak_rss_mb:18,.0f} | {rows / synth.seconds:12,.0f} | {rows:,} written |"
            )
        baseline: float | None = None
        for backend in args.backends:
            child = [
                sys.executable,
                __file__,
                "--child-run",
                backend,
                "--data",
                str(folder),
                "--spark-master",
                args.spark_master,
            ]
            if args.indicators:
                child += ["--indicators", *args.indicators]
            usage = run_measured(child)
            info = json.loads(usage.output.strip().splitlines()[-1])
            ratio = "" if baseline is None else f"x{usage.seconds / baseline:.2f} wall"
            baseline = usage.seconds if backend == "duckdb" else baseline
            label = backend if backend == "duckdb" else f"spark {args.spark_master}"
            print(
                f"{size:>10,} | {label:<18} | {usage.seconds:6.0f} | {usage.cpu_seconds:5.0f} | {usage.peak_rss_mb:18,.0f} | "
                f"{rows / usage.seconds:12,.0f} | {info['rows']:,} | {ratio} "
                f"({info['indicators']} indicators; start-up {info['start']:.0f} s, run {info['run']:.0f} s)",
                flush=True,
            )


if __name__ == "__main__":
    main()
