"""`carepilot serve`: run the programme web application (migrating the DB first)."""

from __future__ import annotations

from pathlib import Path

import typer

from carepilot.errors import ConfigError


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    database_url: str | None = typer.Option(
        None, "--database-url", help="Workflow DB URL (default: settings)."
    ),
    results: Path | None = typer.Option(
        None,
        "--results",
        help="Released indicator results Parquet file: bid baselines and the "
        "publication dashboards.",
    ),
    migrate: bool = typer.Option(
        True, "--migrate/--no-migrate", help="Apply DB migrations before starting."
    ),
) -> None:
    """Serve the web app and JSON API (OpenAPI docs at /api/docs)."""
    import uvicorn

    from carepilot.config import load_settings
    from carepilot.db import migrate as migrations
    from carepilot.programmes.baselines import NoBaselines, ResultsFileBaselines
    from carepilot.web import create_app

    settings = load_settings(database_url=database_url, results=results)
    if results is not None and not results.is_file():
        raise ConfigError(
            f"--results {results}: no such file; give an indicator results Parquet file"
        )
    if migrate:
        migrations.upgrade(settings.database_url)
    baselines = ResultsFileBaselines(results) if results else NoBaselines()
    app = create_app(settings, baselines=baselines)
    if results is not None:
        # Load and check the results now and warm the publication views in the
        # background, so the first visitor does not wait for them.
        from starlette.requests import Request

        from carepilot.web.routers.publication import get_publication

        get_publication(Request({"type": "http", "app": app}))
    typer.echo(
        f"carepilot web app on http://{host}:{port}/ (API docs: http://{host}:{port}/api/docs)"
    )
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
