"""`carepilot stats`: run PHE/Fingertips statistical methods on an analyst's own CSV.

Each command reads aggregated data (one row per area, group or age band), calls
`carepilot.stats`, and writes a CSV (stdout by default) or JSON file. Bad input
(missing file or column, negative counts, numerator > denominator for a
proportion, non-numeric cells) is reported as a `UserError` naming the file,
column and row.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import typer

from carepilot.errors import DefinitionError, InputDataError, UserError
from carepilot.stats import (
    calculate_dsr,
    calculate_isr,
    phe_life_expectancy,
    phe_mean,
    phe_proportion,
    phe_rate,
    phe_sii,
)
from carepilot.stats.funnels import assign_funnel_significance, calculate_funnel_limits
from carepilot.stats.standard_populations import STANDARD_POPULATIONS

stats_app = typer.Typer(
    help="PHE/Fingertips statistics (Wilson, Byar, DSR, ISR, SII, funnels, life "
    "expectancy) on your own aggregated CSV.",
    no_args_is_help=True,
)

DataOpt = typer.Option(
    ..., "--data", help="Input CSV with one row per area/group/band."
)
GroupOpt = typer.Option(None, "--group-by", help="Comma-separated grouping columns.")
ConfOpt = typer.Option("0.95,0.998", "--confidence", help="Level(s), e.g. 0.95,0.998.")
OutOpt = typer.Option(
    None, "--out", help="Write to FILE.csv or FILE.json (default: CSV to stdout)."
)


def _read(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputDataError(
            f"{path}: file not found; give an existing CSV with --data"
        )
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputDataError(
            f"{path}: not a readable CSV ({type(exc).__name__})"
        ) from exc


def _groups(text: str | None) -> list[str] | None:
    return [c.strip() for c in text.split(",") if c.strip()] if text else None


def _levels(text: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise DefinitionError(
            f"--confidence {text!r}: give numbers separated by commas, e.g. 0.95,0.998"
        ) from exc


def _run(
    path: Path, compute: Callable[[pd.DataFrame], pd.DataFrame], out: Path | None
) -> None:
    data = _read(path)
    try:
        result = compute(data)
    except UserError as exc:
        raise type(exc)(f"{path}: {exc}") from exc
    _write(result, out)


def _write(result: pd.DataFrame, out: Path | None) -> None:
    if out is None:
        typer.echo(result.to_csv(index=False), nl=False)
    elif out.suffix.lower() == ".json":
        records: list[dict[str, Any]] = json.loads(
            str(result.to_json(orient="records"))
        )
        out.write_text(json.dumps(records, indent=2) + "\n", encoding="utf-8")
    elif out.suffix.lower() == ".csv":
        result.to_csv(out, index=False)
    else:
        raise DefinitionError(f"--out {out}: use a .csv or .json file name")


@stats_app.command("proportion")
def proportion(
    data: Path = DataOpt,
    numerator: str = typer.Option(..., "--numerator", help="Count column (x)."),
    denominator: str = typer.Option(
        ..., "--denominator", help="Sample size column (n)."
    ),
    group_by: str | None = GroupOpt,
    confidence: str = ConfOpt,
    multiplier: float = typer.Option(
        1.0, "--multiplier", help="1 = proportion, 100 = %."
    ),
    out: Path | None = OutOpt,
) -> None:
    """Proportions with Wilson score limits (phe_proportion)."""
    _run(data, lambda df: phe_proportion(df, numerator, denominator, group_by=_groups(group_by),
                                         confidence=_levels(confidence), multiplier=multiplier), out)  # fmt: skip


@stats_app.command("rate")
def rate(
    data: Path = DataOpt,
    numerator: str = typer.Option(..., "--numerator", help="Event count column."),
    denominator: str = typer.Option(..., "--denominator", help="Population column."),
    group_by: str | None = GroupOpt,
    confidence: str = ConfOpt,
    multiplier: float = typer.Option(
        100_000, "--multiplier", help="Rate per this many."
    ),
    out: Path | None = OutOpt,
) -> None:
    """Crude rates with exact (<10) / Byar's limits (phe_rate)."""
    _run(data, lambda df: phe_rate(df, numerator, denominator, group_by=_groups(group_by),
                                   confidence=_levels(confidence), multiplier=multiplier), out)  # fmt: skip


@stats_app.command("mean")
def mean(
    data: Path = DataOpt,
    value: str = typer.Option(..., "--value", help="Column of individual values."),
    group_by: str | None = GroupOpt,
    confidence: str = ConfOpt,
    out: Path | None = OutOpt,
) -> None:
    """Means with Student-t limits (phe_mean)."""
    _run(data, lambda df: phe_mean(df, value, group_by=_groups(group_by),
                                   confidence=_levels(confidence)), out)  # fmt: skip


def _band_key(label: object) -> str:
    """Normalise age-band labels so "00-04", "0-4" and " 0 - 4 " match."""
    text = re.sub(r"\s+", "", str(label)).lower()
    return re.sub(r"\d+", lambda m: str(int(m.group())), text)


def _standard_weights(df: pd.DataFrame, age_band: str, standard: str) -> pd.Series:
    if standard.lower() in STANDARD_POPULATIONS:
        std = STANDARD_POPULATIONS[standard.lower()]
        table = dict(zip(map(_band_key, std.labels), std.weights, strict=True))
        expected = ", ".join(std.labels)
    else:
        ref = _read(Path(standard))
        numeric = [
            c
            for c in ref.columns
            if c != "ageband" and pd.api.types.is_numeric_dtype(ref[c])
        ]
        if "ageband" not in ref.columns or not numeric:
            raise InputDataError(
                f"{standard}: a standard population file needs an `ageband` column and "
                "a numeric weight column"
            )
        table = dict(zip(map(_band_key, ref["ageband"]), ref[numeric[-1]], strict=True))
        expected = ", ".join(map(str, ref["ageband"]))
    weights = df[age_band].map(lambda b: table.get(_band_key(b), np.nan))
    unknown = df.loc[weights.isna(), age_band]
    if len(unknown):
        raise InputDataError(
            f"column `{age_band}`: age band {unknown.iloc[0]!r} (row "
            f"{int(unknown.index[0]) + 1}) is not in the standard population; "
            f"expected bands: {expected}"
        )
    return cast(pd.Series, weights)


@stats_app.command("dsr")
def dsr(
    data: Path = DataOpt,
    numerator: str = typer.Option(
        ...,
        "--numerator",
        help="Events per age band (or persons with --event-frequency).",
    ),
    denominator: str = typer.Option(
        ..., "--denominator", help="Population per age band."
    ),
    age_band: str = typer.Option(
        ..., "--age-band", help="Age-band label column, e.g. 0-4 … 90+."
    ),
    standard: str = typer.Option(
        "esp2013",
        "--standard",
        help="esp2013, esp2013_21, esp1976 or a CSV (ageband, weight).",
    ),
    event_frequency: str | None = typer.Option(
        None,
        "--event-frequency",
        help="Events-per-person column (non-independent events).",
    ),
    group_by: str | None = GroupOpt,
    confidence: str = ConfOpt,
    multiplier: float = typer.Option(100_000, "--multiplier"),
    out: Path | None = OutOpt,
) -> None:
    """Directly standardised rates with Dobson limits (calculate_dsr)."""

    def compute(df: pd.DataFrame) -> pd.DataFrame:
        if age_band not in df.columns:
            raise InputDataError(f"column `{age_band}` (--age-band) not found")
        df = df.assign(_stdpop=_standard_weights(df, age_band, standard))
        return calculate_dsr(
            df, numerator, denominator, stdpop="_stdpop", group_by=_groups(group_by),
            confidence=_levels(confidence), multiplier=multiplier,
            independent_events=event_frequency is None, eventfreq=event_frequency,
            ageband=age_band,
        )  # fmt: skip

    _run(data, compute, out)


@stats_app.command("isr")
def isr(
    data: Path = DataOpt,
    numerator: str = typer.Option(
        ..., "--numerator", help="Observed events per age band."
    ),
    denominator: str = typer.Option(
        ..., "--denominator", help="Population per age band."
    ),
    age_band: str = typer.Option(
        ..., "--age-band", help="Age-band column (matches --reference)."
    ),
    reference: Path = typer.Option(
        ..., "--reference", help="CSV of reference events and population per age band."
    ),
    ref_numerator: str = typer.Option(
        "refcount", "--ref-numerator", help="Reference events column."
    ),
    ref_denominator: str = typer.Option(
        "refpop", "--ref-denominator", help="Reference population column."
    ),
    kind: str = typer.Option("ratio", "--kind", help="ratio (ISR/SMR) or rate."),
    refvalue: float = typer.Option(
        100, "--refvalue", help="Ratio scale (100 = SMR style)."
    ),
    group_by: str | None = GroupOpt,
    confidence: str = ConfOpt,
    multiplier: float = typer.Option(100_000, "--multiplier", help="For --kind rate."),
    out: Path | None = OutOpt,
) -> None:
    """Indirectly standardised ratios or rates (calculate_ISRatio / ISRate)."""
    ref = _read(reference)

    def compute(df: pd.DataFrame) -> pd.DataFrame:
        for col, frame, name in (
            (age_band, df, "--age-band"),
            (age_band, ref, "reference"),
        ):
            if col not in frame.columns:
                raise InputDataError(f"column `{col}` ({name}) not found")
        keyed = ref.assign(_key=ref[age_band].map(_band_key)).set_index("_key")
        keys = cast(pd.Series, df[age_band].map(_band_key))
        known = set(keyed.index.tolist())
        for row, key in enumerate(keys.tolist()):
            if key not in known:
                raise InputDataError(
                    f"age band {df[age_band].tolist()[row]!r} (row {row + 1}) is not "
                    f"in the reference file {reference}"
                )
        for col in (ref_numerator, ref_denominator):
            if col not in keyed.columns:
                raise InputDataError(f"{reference}: column `{col}` not found")
        merged = df.assign(_xref=keyed.loc[keys, ref_numerator].to_numpy(),
                           _nref=keyed.loc[keys, ref_denominator].to_numpy())  # fmt: skip
        return calculate_isr(
            merged, numerator, denominator, "_xref", "_nref", kind=kind,
            group_by=_groups(group_by), confidence=_levels(confidence),
            refvalue=refvalue, multiplier=multiplier,
        )  # fmt: skip

    _run(data, compute, out)


@stats_app.command("sii")
def sii(
    data: Path = DataOpt,
    quantile: str = typer.Option(
        ..., "--quantile", help="Quantile number column (1 = most deprived)."
    ),
    population: str = typer.Option(
        ..., "--population", help="Population per quantile."
    ),
    value: str | None = typer.Option(None, "--value", help="Indicator value column."),
    numerator: str | None = typer.Option(
        None,
        "--numerator",
        help="Count column; value = count/population (proportions).",
    ),
    se: str | None = typer.Option(
        None,
        "--se",
        help="Standard error column (log/logit scale for rates/proportions).",
    ),
    lower_cl: str | None = typer.Option(
        None, "--lower-cl", help="Lower 95% limit column."
    ),
    upper_cl: str | None = typer.Option(
        None, "--upper-cl", help="Upper 95% limit column."
    ),
    value_type: str = typer.Option(
        "normal", "--value-type", help="normal, rate or proportion."
    ),
    transform: bool = typer.Option(
        False, "--transform", help="Fit on log/logit scale."
    ),
    multiplier: float = typer.Option(1.0, "--multiplier"),
    repetitions: int = typer.Option(100_000, "--repetitions"),
    seed: int = typer.Option(
        20_250_401, "--seed", help="Random seed for simulated limits."
    ),
    group_by: str | None = GroupOpt,
    confidence: str = typer.Option("0.95", "--confidence"),
    out: Path | None = OutOpt,
) -> None:
    """Slope and relative index of inequality with simulated limits (phe_sii)."""
    _run(data, lambda df: phe_sii(
        df, quantile, population, value=value, x=numerator, se=se, lower_cl=lower_cl,
        upper_cl=upper_cl, group_by=_groups(group_by), value_type=value_type,
        transform=transform, multiplier=multiplier, confidence=_levels(confidence),
        repetitions=repetitions, rii=True, intercept=True, rng=seed,
    ), out)  # fmt: skip


@stats_app.command("funnel")
def funnel(
    data: Path = DataOpt,
    numerator: str = typer.Option(
        ..., "--numerator", help="Numerator / observed events."
    ),
    denominator: str | None = typer.Option(
        None, "--denominator", help="Denominator, or expected events for ratios."
    ),
    statistic: str = typer.Option(
        "proportion", "--statistic", help="proportion, ratio or rate."
    ),
    rate_col: str | None = typer.Option(
        None, "--rate", help="Rate column (statistic rate)."
    ),
    rate_type: str | None = typer.Option(None, "--rate-type", help="dsr or crude."),
    ratio_type: str = typer.Option(
        "count", "--ratio-type", help="count or isr (limits table)."
    ),
    years: float | None = typer.Option(None, "--years", help="Years of data (rates)."),
    multiplier: float = typer.Option(100, "--multiplier"),
    limits: bool = typer.Option(
        False,
        "--limits",
        help="Output the 100-point control-limit table instead of per-row significance.",
    ),
    out: Path | None = OutOpt,
) -> None:
    """Funnel-plot significance per row, or the control-limit table (--limits)."""

    def compute(df: pd.DataFrame) -> pd.DataFrame:
        from carepilot.stats._frames import numeric_column

        if statistic not in ("proportion", "ratio", "rate"):
            raise DefinitionError("--statistic must be proportion, ratio or rate")
        num = numeric_column(df, numerator)
        den = numeric_column(df, denominator) if denominator else None
        rates = numeric_column(df, rate_col) if rate_col else None
        if (num < 0).any():
            raise InputDataError(
                f"column `{numerator}`: row {int(np.flatnonzero(num < 0)[0]) + 1} is negative"
            )
        if limits:
            return calculate_funnel_limits(num, den, statistic=statistic, multiplier=multiplier,  # type: ignore[arg-type]
                                           rate=rates, ratio_type=ratio_type, rate_type=rate_type,  # type: ignore[arg-type]
                                           years_of_data=years)  # fmt: skip
        labels = assign_funnel_significance(num, den, statistic=statistic, rate=rates,  # type: ignore[arg-type]
                                            rate_type=rate_type, multiplier=multiplier)  # type: ignore[arg-type]  # fmt: skip
        return df.assign(significance=labels)

    _run(data, compute, out)


@stats_app.command("life-expectancy")
def life_expectancy(
    data: Path = DataOpt,
    deaths: str = typer.Option(..., "--deaths", help="Deaths per age band."),
    population: str = typer.Option(
        ..., "--population", help="Population per age band."
    ),
    start_age: str = typer.Option(
        ..., "--start-age", help="Band start age column (0, 1, 5, …, 90)."
    ),
    group_by: str | None = GroupOpt,
    confidence: str = typer.Option("0.95", "--confidence"),
    out: Path | None = OutOpt,
) -> None:
    """Life expectancy (Chiang II, Silcocks limits; phe_life_expectancy)."""
    _run(data, lambda df: phe_life_expectancy(df, deaths, population, start_age,
                                              group_by=_groups(group_by),
                                              confidence=_levels(confidence)), out)  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add the `stats` command group to the root command."""
    app.add_typer(stats_app, name="stats")
