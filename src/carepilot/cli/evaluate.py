"""`carepilot evaluate-panel`: run any registered evaluation method on a tidy file.

Reads a CSV or Parquet file, maps column roles into a `PanelSpec`, runs the
method from `carepilot.evaluation.default_registry()` and prints the estimates,
standard errors and 95 % intervals as JSON (``--json``; keys documented in
docs/evaluation.md) or as a Rich table.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from carepilot.errors import InputDataError

if TYPE_CHECKING:  # the evaluation stack (statsmodels) loads only when a command runs
    import pandas as pd

    from carepilot.evaluation import PanelSpec
    from carepilot.evaluation.results import EvaluationResult

METHOD_HELP = "did|twfe|staggered|event-study|its|synth|sdid|ra|ipw|aipw|ipwra|match"


def read_table(path: Path) -> pd.DataFrame:
    """Read a .csv or .parquet file, with a clear error for anything else."""
    import pandas as pd

    if not path.exists():
        raise InputDataError(f"data file {str(path)!r} does not exist.")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(path)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
    except (ValueError, OSError) as exc:
        raise InputDataError(
            f"data file {str(path)!r} could not be read: {exc}"
        ) from exc
    raise InputDataError(
        f"data file {str(path)!r}: use a .csv or .parquet file (got {suffix or 'no extension'!r})."
    )


def parse_options(items: list[str]) -> dict[str, Any]:
    """Parse ``KEY=VALUE`` options; numbers and true/false are converted."""
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise InputDataError(
                f"--option {item!r}: write options as KEY=VALUE, e.g. control_group=notyet."
            )
        key, value = item.split("=", 1)
        out[key.strip().replace("-", "_")] = _convert(value.strip())
    return out


def _convert(value: str) -> Any:
    low = value.lower()
    if low in ("true", "yes"):
        return True
    if low in ("false", "no"):
        return False
    if low in ("none", "null"):
        return None
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    if "," in value:
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


def _fmt(v: float | None) -> str:
    return "" if v is None else f"{v:.4g}"


def print_table(result: EvaluationResult, console: Console) -> None:
    """Render a result as a Rich table plus notes."""
    table = Table(title=f"{result.method}: {result.estimand}")
    for col in ("effect", "estimate", "SE", "95% CI", "p"):
        table.add_column(col, justify="right" if col != "effect" else "left")
    for e in result.effects:
        ci = f"{_fmt(e.ci_low)} to {_fmt(e.ci_high)}" if e.ci_low is not None else ""
        table.add_row(e.name, _fmt(e.estimate), _fmt(e.se), ci, _fmt(e.p_value))
    console.print(table)
    console.print(
        f"n_obs = {result.n_obs}, n_units = {result.n_units}, n_treated = {result.n_treated}"
    )
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)


def evaluate_panel(
    method: str = typer.Argument(..., help=f"Method: {METHOD_HELP}."),
    data: Path = typer.Option(..., "--data", help="Tidy .csv or .parquet file."),
    outcome: str = typer.Option(..., "--outcome", help="Outcome column."),
    treated: str = typer.Option(
        ..., "--treated", help="0/1 column: treated now (panels) or treated patient."
    ),
    unit: str | None = typer.Option(
        None, "--unit", help="Unit id column (practice, area, patient)."
    ),
    time: str | None = typer.Option(None, "--time", help="Period column."),
    first_treated: str | None = typer.Option(
        None, "--first-treated", help="First treated period column (0 = never)."
    ),
    group: str | None = typer.Option(
        None, "--group", help="Inequality group column: effects by group + gap test."
    ),
    covariates: str | None = typer.Option(
        None, "--covariates", help="Comma-separated covariate columns."
    ),
    cluster: str | None = typer.Option(
        None, "--cluster", help="Column of the assigned unit for cluster-robust SEs."
    ),
    post: str | None = typer.Option(
        None, "--post", help="did only: 0/1 post-period column (with --treated-group)."
    ),
    treated_group: str | None = typer.Option(
        None, "--treated-group", help="did only: 0/1 treated-group column."
    ),
    option: list[str] = typer.Option(
        [],
        "--option",
        "-o",
        help="Method option KEY=VALUE (repeatable), e.g. control_group=notyet.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    report: Path | None = typer.Option(
        None,
        "--report",
        help="Also write report.html, results.json and the analysis data to this folder.",
    ),
    title: str | None = typer.Option(
        None, "--title", help="Report title (with --report)."
    ),
) -> None:
    """Run an evaluation method on any tidy panel or patient-level file."""
    from carepilot.evaluation import PanelSpec, default_registry
    from carepilot.evaluation._checks import split_covariates

    registry = default_registry()
    registry.get(method)  # fail fast on an unknown method
    frame = read_table(data)
    options = parse_options(option)
    if post is not None or treated_group is not None:
        if post is None or treated_group is None:
            raise InputDataError(
                "did: give both --treated-group and --post, or neither."
            )
        options.update(post=post, group_indicator=treated_group)
    spec = PanelSpec(
        outcome=outcome,
        treated=treated,
        unit=unit,
        time=time,
        first_treated=first_treated,
        group=group,
        covariates=split_covariates(covariates),
        cluster=cluster,
        options=options,
    )
    result = registry.run(method, frame, spec)
    if report is not None:
        write_report(
            report, title or f"Evaluation: {method} on {data.name}", frame, spec, result
        )
    if as_json:
        doc = result.to_dict()
        doc["data"] = {"file": data.name, "rows": len(frame)}
        typer.echo(json.dumps(doc, indent=2, allow_nan=False))
    else:
        print_table(result, Console())


def write_report(
    out_dir: Path,
    title: str,
    frame: pd.DataFrame,
    spec: PanelSpec,
    result: EvaluationResult,
) -> None:
    """Write report.html, results.json and analysis_data.csv for one result."""
    from carepilot.evaluation.report import build_report
    from carepilot.evaluation.results import EvaluationResult as Result

    by_group: dict[str, Result] = {}
    if "by_group" in result.tables:
        by = Result(
            method="by-group",
            estimand=f"effect by {spec.group}",
            effects=[e for e in result.effects if e.name.startswith(("by:", "gap:"))],
            n_obs=result.n_obs,
            details={"heterogeneity_test": result.details.get("heterogeneity_test")},
            tables={"by_group": result.tables["by_group"]},
        )
        by_group[str(spec.group)] = by
    balance = result.tables.get("balance")
    rep = build_report(
        title=title,
        panel=frame,
        spec=spec,
        results={"main": result},
        balance=balance,
        by_group=by_group,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.html").write_text(rep.html, encoding="utf-8")
    (out_dir / "results.json").write_text(rep.numbers_json(), encoding="utf-8")
    frame.to_csv(out_dir / "analysis_data.csv", index=False)


def register(app: typer.Typer) -> None:
    """Add `evaluate-panel` to the root CLI."""
    app.command(
        "evaluate-panel",
        help="Run an evaluation method (DiD, staggered, ITS, synth, IPW...) on a tidy file.",
    )(evaluate_panel)
