"""Benchmark the public publication pages on a demo-sized released results table.

    .venv/bin/python benchmarks/pages.py [--patients 5000] [--copies 25]

1. Builds a released results table like `benchmarks/opendata.py` (six practice-
   and provider-attributed indicators by quarter, repeated practice rows) of about
   the annual 20k demo's size (600k rows by default), writes it to Parquet and
   loads it as `carepilot serve` does.
2. Requests every main page through the web app (FastAPI TestClient, anonymous
   visitor) twice - first load and cached load - in two modes in this process:
   the previous behaviour (`views.MEMO = False`: every view re-checks the release
   and re-blanks suppressed rows of the whole table) and the current one
   (prepared tables memoised per results object and warmed in the background at
   start-up, see `publication.warm_up`).
3. Prints per-page wall and CPU time for both modes and the ratio. The machine
   may be shared: CPU time is the steadier figure.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import measure  # noqa: E402
from opendata import enlarge, released_results  # noqa: E402


def pages(results) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(name, path) of the main public pages for this results table."""
    practice = str(results.loc[results["area_type"] == "practice", "area_code"].iloc[0])
    pilot = results.loc[results["area_type"] == "pilot", "area_code"]
    pilot_code = str(pilot.iloc[0]) if len(pilot) else practice
    ind = "diabetes-hba1c-58"
    return [
        ("indicators", "/indicators"),
        ("definition", f"/indicators/{ind}"),
        ("areas", "/areas"),
        ("profile", f"/areas/{practice}"),
        ("compare", f"/compare?indicator={ind}&area_type=practice"),
        ("trends", f"/trends?indicator={ind}&area={pilot_code}"),
        ("inequalities", f"/inequalities?indicator={ind}&area=national"),
        ("choose-a-practice", "/choose-a-practice?q=surgery"),
        ("choose-a-service", "/choose-a-service?q=trust"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=5_000)
    parser.add_argument("--copies", type=int, default=25)
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from carepilot.config import Settings
    from carepilot.publication import views
    from carepilot.web import create_app
    from carepilot.web.routers import publication

    tmp = Path(tempfile.mkdtemp(prefix="carepilot-pages-"))
    table = enlarge(released_results(args.patients), args.copies)
    path = tmp / "results.parquet"
    table.to_parquet(path)
    print(f"released results: {len(table):,} rows")
    timings: dict[str, dict[str, tuple[float, float, float, float]]] = {}
    for mode in ("previous", "current"):
        views.MEMO = mode == "current"
        views.clear_cache()
        publication._OPTIONS.clear()  # pyright: ignore[reportPrivateUsage]
        app = create_app(
            Settings(
                environment="test",
                database_url=f"sqlite:///{tmp / (mode + '.db')}",
                upload_dir=tmp / "up",
                results=path,
                publication_dir=tmp / mode,
            )  # type: ignore[arg-type]
        )
        with measure() as load:
            pub = publication.load_publication(path, None, tmp / mode / "open-data")
            app.state.publication = pub
            if mode == "current":
                publication.warm_up(pub).join()
        print(f"{mode}: load {load.seconds:.1f} s wall, {load.cpu_seconds:.1f} s CPU")
        client = TestClient(app)
        for name, url in pages(table):
            with measure() as first:
                status = client.get(url).status_code
            with measure() as again:
                client.get(url)
            assert status == 200, (url, status)
            timings.setdefault(name, {})[mode] = (
                first.seconds,
                first.cpu_seconds,
                again.seconds,
                again.cpu_seconds,
            )
    print(
        f"{'page':<18} {'previous first':>16} {'current first':>16} "
        f"{'ratio (CPU)':>11} {'prev cached':>12} {'cur cached':>11}"
    )
    for name, modes in timings.items():
        p, c = modes["previous"], modes["current"]
        print(
            f"{name:<18} {p[0]:7.2f}s/{p[1]:5.2f}cpu {c[0]:7.2f}s/{c[1]:5.2f}cpu "
            f"{p[1] / max(c[1], 1e-3):10.1f}x {p[2]:11.3f}s {c[2]:10.3f}s"
        )


if __name__ == "__main__":
    main()
