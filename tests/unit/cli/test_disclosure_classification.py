"""Every CLI command must say how the figures it prints or writes are protected.

STYLE.md principle 9: anything that releases numbers goes through
`carepilot.disclosure`; a new command fails this test until it is classified
(the web routes have the same check in tests/web/test_permissions.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import click
import typer.main

from carepilot.cli.main import app

RELEASED_THROUGH_SDC = "figures pass through carepilot.disclosure before output"
NO_AGGREGATES = "prints or writes no patient-derived aggregate figures"
USER_AGGREGATES = "works only on aggregates or panels the user supplies"
INTERNAL = "row-level-access output for the data controller, labelled internal"

EXPECTED: dict[str, str] = {
    "synth": NO_AGGREGATES,  # synthetic people only
    "load": INTERNAL,  # row counts of the extract the user just loaded
    "info": INTERNAL,  # row counts of the user's own database
    "fhir convert": INTERNAL,  # row-level extract for the data controller's own load
    "indicators check": NO_AGGREGATES,
    "indicators list": NO_AGGREGATES,
    "indicators explain": NO_AGGREGATES,
    "indicators run": RELEASED_THROUGH_SDC,  # --disclosure none is labelled internal
    "opendata export": RELEASED_THROUGH_SDC,  # refuses results that fail verify_released
    "quality-account": RELEASED_THROUGH_SDC,
    "community compare": RELEASED_THROUGH_SDC,
    "community scorecard": RELEASED_THROUGH_SDC,
    "community pack": RELEASED_THROUGH_SDC,
    "contracts check": NO_AGGREGATES,
    "contracts settle": RELEASED_THROUGH_SDC,  # patient counts rounded/redacted; money exact
    "contracts simulate": RELEASED_THROUGH_SDC,
    "qof calculate": INTERNAL,  # payment calculation needs exact practice counts
    "evaluate": RELEASED_THROUGH_SDC,  # report count tables released; panels internal
    "evaluate-panel": USER_AGGREGATES,
    "stats proportion": USER_AGGREGATES,
    "stats rate": USER_AGGREGATES,
    "stats mean": USER_AGGREGATES,
    "stats dsr": USER_AGGREGATES,
    "stats isr": USER_AGGREGATES,
    "stats sii": USER_AGGREGATES,
    "stats funnel": USER_AGGREGATES,
    "stats life-expectancy": USER_AGGREGATES,
    "serve": NO_AGGREGATES,  # each web route is classified in tests/web
    "db upgrade": NO_AGGREGATES,
    "db downgrade": NO_AGGREGATES,
    "db verify-audit": NO_AGGREGATES,
    "db seed-demo": NO_AGGREGATES,
    "db create-user": NO_AGGREGATES,
}


def _commands(
    group: click.Command, ctx: click.Context, prefix: str = ""
) -> Iterator[str]:
    if hasattr(group, "list_commands"):  # typer ships its own click Group type
        for name in group.list_commands(ctx):  # type: ignore[attr-defined]
            sub = group.get_command(ctx, name)  # type: ignore[attr-defined]
            assert sub is not None
            yield from _commands(sub, ctx, f"{prefix} {name}".strip())
    else:
        yield prefix


def test_every_cli_command_is_classified_for_disclosure_control():
    root = typer.main.get_command(app)
    found = set(_commands(root, click.Context(root)))
    unclassified = sorted(found - EXPECTED.keys())
    assert not unclassified, (
        f"classify these commands in EXPECTED (how are their figures protected?): {unclassified}"
    )
    stale = sorted(EXPECTED.keys() - found)
    assert not stale, f"remove commands that no longer exist from EXPECTED: {stale}"
