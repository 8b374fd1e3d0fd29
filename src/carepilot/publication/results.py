"""Read a results table for publication and check that it may be published.

Everything the publication package shows comes from the indicator results table
(shared results contract) AFTER `carepilot.disclosure.release`. The table itself does
not record which policy produced it, so `verify_released` re-checks the published
rows against every public policy instead of trusting the file: a table written with
``--disclosure none`` shows small counts (1..7) or unrounded counts and is refused.

`IndicatorMeta` is the slice of an indicator definition a reader needs (title,
domain, polarity, units, target); it comes from the definitions when they are given
and is otherwise inferred from the results so that pages still render.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from carepilot.disclosure import POLICIES, DisclosurePolicy
from carepilot.engine.run import RESULT_COLUMNS  # the one definition of the contract
from carepilot.errors import InputDataError, PermissionDenied
from carepilot.indicators.model import IndicatorDefinition


@dataclass(frozen=True, slots=True)
class IndicatorMeta:
    """What a reader needs to know about an indicator to interpret its figures."""

    id: str
    title: str
    domain: str = "other"
    description: str = ""
    polarity: str = "no_judgement"
    value_type: str = "proportion"
    multiplier: float = 100.0
    target: float | None = None
    reference: str | None = None
    target_minimum: float | None = None

    @property
    def unit(self) -> str:
        """Short unit label for axes and tables (e.g. ``%``, ``per 100,000``)."""
        if self.value_type == "proportion":
            return "%"
        if self.value_type in ("crude_rate", "dsr"):
            return f"per {self.multiplier:,.0f}"
        if self.value_type == "isr":
            return "ratio (England = 100)"
        return ""


def read_results(path: Path) -> pd.DataFrame:
    """Read a results table (.parquet or .csv) and check its columns.

    Raises:
        InputDataError: the file is missing, unreadable or lacks contract columns.
    """
    if not path.is_file():
        raise InputDataError(
            f"{path}: no such results file; write one with "
            "`carepilot indicators run --out FILE`"
        )
    if path.suffix.lower() == ".csv":
        frame = pd.read_csv(path, dtype={"area_code": str, "parent_area_code": str})
    else:
        frame = pd.read_parquet(path)
    return conform(frame, str(path))


def conform(frame: pd.DataFrame, source: str = "<results>") -> pd.DataFrame:
    """Check the contract columns and normalise types (dates, floats, bools)."""
    missing = [c for c in RESULT_COLUMNS if c not in frame.columns]
    if missing:
        raise InputDataError(
            f"{source}: results table lacks column(s) {', '.join(missing)}; "
            "expected the indicator results contract (see docs/publication.md)"
        )
    out = frame.loc[:, list(RESULT_COLUMNS)].copy()
    for col in ("period_start", "period_end"):
        out[col] = pd.to_datetime(out[col]).dt.date
    for col in (
        "numerator",
        "denominator",
        "exceptions",
        "value",
        "lower_ci_95",
        "upper_ci_95",
        "lower_ci_99_8",
        "upper_ci_99_8",
    ):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
    out["suppressed"] = out["suppressed"].astype(str).str.lower().isin(["true", "1"])
    for col in (
        "indicator_id",
        "area_type",
        "area_code",
        "area_name",
        "breakdown",
        "category",
        "comparison",
    ):
        out[col] = out[col].astype(str)
    out["indicator_version"] = pd.to_numeric(out["indicator_version"]).astype(int)
    return out.reset_index(drop=True)


def file_checksum(path: Path) -> str:
    """SHA-256 of a file (hex), used as cache key and in the checksum manifest."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_FRAME_CHECKSUMS: dict[int, tuple[pd.DataFrame, str]] = {}


def frame_checksum(results: pd.DataFrame) -> str:
    """SHA-256 of a results frame's content (cache key for in-memory tables).

    Hashing a large published table costs seconds, and the same frame object is
    keyed on every page view, so the digest is remembered per object (holding a
    reference so its id cannot be reused). Callers treat results as immutable.
    """
    known = _FRAME_CHECKSUMS.get(id(results))
    if known is not None and known[0] is results:
        return known[1]
    hashed = pd.util.hash_pandas_object(results, index=False).to_numpy()
    digest = hashlib.sha256(hashed.tobytes()).hexdigest()
    if len(_FRAME_CHECKSUMS) > 32:
        _FRAME_CHECKSUMS.clear()
    _FRAME_CHECKSUMS[id(results)] = (results, digest)
    return digest


def _visible_counts(results: pd.DataFrame, column: str) -> np.ndarray:
    shown = ~results["suppressed"].to_numpy(bool)
    values = results[column].to_numpy(float)[shown]
    return values[~np.isnan(values)]


def _conforms(results: pd.DataFrame, policy: DisclosurePolicy) -> bool:
    """Whether every published count could have come out of `release(policy)`."""
    for column in ("numerator", "denominator"):
        counts = _visible_counts(results, column)
        if policy.kind == "opensafely":
            small = counts <= policy.threshold
            if not policy.redact_zero:
                small &= counts > 0
            if small.any() or (np.mod(counts, policy.rounding_base) != 0).any():
                return False
        else:
            if ((counts > 0) & (counts < policy.threshold)).any():
                return False
    return True


def verify_released(
    results: pd.DataFrame, claimed: str | None = None
) -> DisclosurePolicy:
    """Return the public disclosure policy the published rows satisfy.

    Checks the primary rule of each public policy on the rows that are not
    suppressed (secondary suppression cannot be re-verified without the hidden
    counts). The strictest satisfied policy is reported.

    Args:
        results: A results table.
        claimed: Optional policy name the caller says was applied; then only that
            policy is checked.

    Raises:
        PermissionDenied: the table shows counts no public policy allows, e.g. the
            output of ``carepilot indicators run --disclosure none``.
    """
    candidates = [p for p in POLICIES.values() if p.public]
    if claimed is not None:
        candidates = [p for p in candidates if p.name == claimed]
        if not candidates:
            public = ", ".join(p.name for p in POLICIES.values() if p.public)
            raise PermissionDenied(
                f"disclosure policy `{claimed}` is not a public policy; use one of "
                f"{public}"
            )
    for policy in candidates:
        if _conforms(results, policy):
            return policy
    raise PermissionDenied(
        "results table is not disclosure controlled: it shows small or unrounded "
        "counts that no public policy allows (was it written with "
        "`--disclosure none`?); rerun `carepilot indicators run --disclosure "
        "opensafely` (or `suppress`) and publish that file"
    )


def public_rows(results: pd.DataFrame) -> pd.DataFrame:
    """Rows safe for a public page: suppressed rows keep their labels, lose figures.

    A defensive second gate for dashboards: whatever the input, a suppressed row
    never carries a count, value or interval on a public page.
    """
    out = results.copy()
    hide = out["suppressed"].to_numpy(bool)
    for col in (
        "numerator",
        "denominator",
        "exceptions",
        "value",
        "lower_ci_95",
        "upper_ci_95",
        "lower_ci_99_8",
        "upper_ci_99_8",
    ):
        out.loc[hide, col] = np.nan
    out.loc[hide, "comparison"] = "not compared"
    return out


def meta_from_definitions(
    definitions: Iterable[IndicatorDefinition],
) -> dict[str, IndicatorMeta]:
    """Build `IndicatorMeta` from validated indicator definitions."""
    return {
        d.id: IndicatorMeta(
            id=d.id,
            title=d.title,
            domain=d.domain or "other",
            description=" ".join(d.description.split()),
            polarity=d.polarity.value,
            value_type=d.value_type.value,
            multiplier=float(d.multiplier),
            target=d.target,
            reference=d.reference,
            target_minimum=d.target_minimum,
        )
        for d in definitions
    }


def load_meta(paths: Iterable[Path]) -> dict[str, IndicatorMeta]:
    """Load definitions from files/folders and return their metadata."""
    from carepilot.engine.definitions import load_definitions

    return meta_from_definitions(load_definitions(list(paths)))


def default_meta() -> dict[str, IndicatorMeta]:
    """Metadata of the shipped library (empty if it cannot be loaded)."""
    from carepilot.engine.definitions import SHIPPED_LIBRARY

    try:
        return load_meta([SHIPPED_LIBRARY])
    except Exception:  # noqa: BLE001 - the library is optional for publication
        return {}


def meta_for(
    results: pd.DataFrame, meta: Mapping[str, IndicatorMeta] | None
) -> dict[str, IndicatorMeta]:
    """Metadata for every indicator in `results`, inferring what is not given."""
    return meta_for_ids(results["indicator_id"].unique(), meta)


def meta_for_ids(
    indicator_ids: Iterable[object], meta: Mapping[str, IndicatorMeta] | None
) -> dict[str, IndicatorMeta]:
    """Metadata for these indicator ids (a title-only entry for unknown ones);
    lets a view that already knows the ids skip scanning the results table."""
    known = dict(meta or {})
    for indicator_id in indicator_ids:
        if str(indicator_id) not in known:
            known[str(indicator_id)] = IndicatorMeta(
                id=str(indicator_id), title=str(indicator_id)
            )
    return known
