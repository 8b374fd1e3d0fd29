"""Benchmark the public publication pages on a demo-sized released results table.

    .venv/bin/python benchmarks/pages.py [--patients 5000] [--copies 25]
    .venv/bin/python benchmarks/pages.py --results demo/indicator_results.parquet

1. Builds a released results table like `benchmarks/opendata.py` (six practice-
   and provider-attributed indicators by quarter, repeated practice rows; 590k
   rows by default), writes it to Parquet and loads it as `carepilot serve` does
   - or uses an existing released results file (``--results``, e.g. `make demo`'s).
2. Loads the publication and waits for the start-up warm-up (release check,
   suppressed-row blanking and the partition index of `views.partitioned`).
3. Requests every main page through the web app (FastAPI TestClient, anonymous
   visitor) twice - first load and cached load - and prints wall and CPU time and
   the rows of the prepared table the first load touched (`views.rows_touched`).
   The machine may be shared: CPU time is the steadier figure.
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
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--patients", type=int, default=5_000)
    parser.add_argument("--copies", type=int, default=25)
    parser.add_argument("--results", type=Path, default=None)
    args = parser.parse_args()

    import pandas as pd
    from fastapi.testclient import TestClient

    from carepilot.config import Settings
    from carepilot.publication import views
    from carepilot.web import create_app
    from carepilot.web.routers import publication

    tmp = Path(tempfile.mkdtemp(prefix="carepilot-pages-"))
    if args.results is not None:
        path = args.results
        table = pd.read_parquet(path)
    else:
        table = enlarge(released_results(args.patients), args.copies)
        path = tmp / "results.parquet"
        table.to_parquet(path)
    print(f"released results: {len(table):,} rows")
    app = create_app(
        Settings(
            environment="test",  # pyright: ignore[reportArgumentType]
            database_url=f"sqlite:///{tmp / 'pages.db'}",
            upload_dir=tmp / "up",
            results=path,
            publication_dir=tmp / "pub",
        )
    )
    with measure() as load:
        pub = publication.load_publication(path, None, tmp / "pub" / "open-data")
        app.state.publication = pub
        publication.warm_up(pub).join()
    print(
        f"load + warm-up: {load.seconds:.1f} s wall, {load.cpu_seconds:.1f} s CPU "
        f"(once, at start-up)"
    )
    client = TestClient(app)
    print(
        f"{'page':<18} {'first wall':>10} {'first CPU':>10} {'cached wall':>11} "
        f"{'cached CPU':>10} {'rows touched':>13}"
    )
    for name, url in pages(table):
        views.rows_touched["rows"] = 0
        with measure() as first:
            status = client.get(url).status_code
        touched = views.rows_touched["rows"]
        with measure() as again:
            client.get(url)
        assert status == 200, (url, status)
        print(
            f"{name:<18} {first.seconds:9.3f}s {first.cpu_seconds:9.3f}s "
            f"{again.seconds:10.3f}s {again.cpu_seconds:9.3f}s {touched:13,}"
        )


if __name__ == "__main__":
    main()
