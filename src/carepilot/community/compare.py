"""Compare community providers and services on quality, productivity and experience.

Per provider x service over a period:

* productivity: attended contacts per WTE-month (`provider_workforce`), cost per
  attended contact, attended contacts per patient, DNA rate = DNA / (attended +
  DNA);
* quality (outcome): % of patients seen who had an emergency admission in the
  period (lower is better);
* experience: % positive survey answers attributed to the provider.

Proportions are compared with the peer (all providers of the same service)
baseline using funnel limits (`carepilot.stats.funnels.proportion_funnel_limit`,
95 % and 99.8 %, the Spiegelhalter / PHE method); ratios without a count model
(contacts per WTE, cost per contact, contacts per patient) against the peer
median and quartiles. The scorecard summarises a provider's services as
better / similar / worse counts, which a commissioner can read as an
effectiveness score for its provider arm.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd

from carepilot.disclosure import DisclosurePolicy
from carepilot.stats.funnels import proportion_funnel_limit

PROPORTION_METRICS: dict[str, tuple[str, str, str]] = {
    # metric: (numerator column, denominator column, polarity)
    "dna_rate": ("dna", "booked", "lower_is_better"),
    "emergency_admission_pct": ("admitted_patients", "patients", "lower_is_better"),
    "experience_positive_pct": ("positive", "answers", "higher_is_better"),
}
RATIO_METRICS: dict[str, str] = {
    "contacts_per_wte_month": "higher_is_better",
    "cost_per_contact": "lower_is_better",
    "contacts_per_patient": "no_judgement",
}
COUNT_COLUMNS = (
    "attended", "dna", "booked", "patients", "admitted_patients", "positive", "answers",
)  # fmt: skip


def _between(
    frame: pd.DataFrame, col: str, start: dt.date, end: dt.date
) -> pd.DataFrame:
    d = pd.to_datetime(frame[col]).dt.date
    return frame[(d >= start) & (d <= end)]


def service_metrics(
    data: Mapping[str, pd.DataFrame], start: dt.date, end: dt.date
) -> pd.DataFrame:
    """Raw counts and metrics per provider and service for `start`..`end`.

    Args:
        data: pandas frames of `community_contacts`, `provider_workforce`,
            `apcs`, `patient_experience` and `providers` (any may be empty).
    """
    cc = _between(data["community_contacts"], "contact_date", start, end)
    keys = ["provider_code", "service"]
    attended = cc[cc["attendance_status"] == "attended"]
    g = cc.groupby(keys)
    out = pd.DataFrame(
        {
            "attended": attended.groupby(keys).size(),
            "dna": cc[cc["attendance_status"] == "dna"].groupby(keys).size(),
            "patients": attended.groupby(keys)["patient_id"].nunique(),
            "cost": attended.groupby(keys)["cost"].sum(),
        },
        index=g.size().index,
    ).fillna(0)
    out["booked"] = out["attended"] + out["dna"]
    wf = data["provider_workforce"]
    if len(wf):
        wf = _between(wf, "month_start", start.replace(day=1), end)
        out["wte_months"] = wf.groupby(keys)["wte"].sum().reindex(out.index).fillna(0)
    else:
        out["wte_months"] = 0.0
    apcs = data["apcs"]
    em = _between(
        apcs[apcs["admission_method"] == "emergency"], "admission_date", start, end
    )
    admitted_ids = set(em["patient_id"])
    seen = attended[["provider_code", "service", "patient_id"]].drop_duplicates()
    seen = seen.assign(adm=seen["patient_id"].isin(admitted_ids))
    out["admitted_patients"] = (
        seen.groupby(keys)["adm"].sum().reindex(out.index).fillna(0)
    )
    pe = data["patient_experience"]
    pe = _between(pe, "survey_date", start, end) if len(pe) else pe
    if len(pe):
        pe_p = pe.groupby("provider_code").agg(
            answers=("response", "size"),
            positive=("response", lambda s: int((s == "positive").sum())),
        )
        idx = out.index.get_level_values("provider_code")
        out["answers"] = pe_p["answers"].reindex(idx).fillna(0).to_numpy()
        out["positive"] = pe_p["positive"].reindex(idx).fillna(0).to_numpy()
    else:
        out["answers"] = 0.0
        out["positive"] = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        out["dna_rate"] = 100 * out["dna"] / out["booked"]
        out["emergency_admission_pct"] = (
            100 * out["admitted_patients"] / out["patients"]
        )
        out["experience_positive_pct"] = 100 * out["positive"] / out["answers"]
        out["contacts_per_wte_month"] = out["attended"] / out["wte_months"].where(
            out["wte_months"] > 0
        )
        out["cost_per_contact"] = out["cost"] / out["attended"].where(
            out["attended"] > 0
        )
        out["contacts_per_patient"] = out["attended"] / out["patients"].where(
            out["patients"] > 0
        )
    out = out.reset_index()
    providers = data.get("providers")
    if providers is not None and len(providers):
        names = dict(
            zip(providers["provider_code"], providers["provider_name"], strict=False)
        )
        out.insert(1, "provider_name", out["provider_code"].map(names))
    else:
        out.insert(1, "provider_name", out["provider_code"])
    return out


def _flag(value: float, low: float, high: float, polarity: str) -> str:
    if np.isnan(value) or np.isnan(low) or np.isnan(high):
        return "not compared"
    if low <= value <= high:
        return "similar"
    above = value > high
    if polarity == "no_judgement":
        return "higher" if above else "lower"
    good = above == (polarity == "higher_is_better")
    return "better" if good else "worse"


def compare_services(metrics: pd.DataFrame) -> pd.DataFrame:
    """Long table: one row per provider x service x metric with peer comparison.

    Columns: provider_code, provider_name, service, metric, value, numerator,
    denominator, peer_value, lower_95, upper_95, lower_99_8, upper_99_8,
    comparison (better/similar/worse at 99.8 % for proportions; quartiles for
    ratios), polarity.
    """
    rows: list[dict[str, object]] = []
    for service, grp in metrics.groupby("service", sort=True):
        for metric, (num_col, den_col, polarity) in PROPORTION_METRICS.items():
            num = grp[num_col].to_numpy(float)
            den = grp[den_col].to_numpy(float)
            base = num.sum() / den.sum() if den.sum() > 0 else np.nan
            limits = {}
            for conf, tag in ((0.95, "95"), (0.998, "99_8")):
                with np.errstate(invalid="ignore", divide="ignore"):
                    lo = proportion_funnel_limit(
                        np.where(den > 0, den, np.nan), base, conf, "low"
                    )
                    hi = proportion_funnel_limit(
                        np.where(den > 0, den, np.nan), base, conf, "high"
                    )
                limits[tag] = (np.clip(lo, 0, 1) * 100, np.clip(hi, 0, 1) * 100)
            for i, r in enumerate(grp.itertuples()):
                value = float(getattr(r, metric))
                lo99, hi99 = limits["99_8"][0][i], limits["99_8"][1][i]
                rows.append(
                    dict(
                        provider_code=r.provider_code,
                        provider_name=r.provider_name,
                        service=service,
                        metric=metric,
                        value=value,
                        numerator=num[i],
                        denominator=den[i],
                        peer_value=base * 100,
                        lower_95=limits["95"][0][i],
                        upper_95=limits["95"][1][i],
                        lower_99_8=lo99,
                        upper_99_8=hi99,
                        comparison=_flag(value, lo99, hi99, polarity),
                        polarity=polarity,
                    )
                )
        for metric, polarity in RATIO_METRICS.items():
            vals = grp[metric].to_numpy(float)
            finite = vals[np.isfinite(vals)]
            q1, med, q3 = (
                np.percentile(finite, [25, 50, 75]) if len(finite) else (np.nan,) * 3
            )
            for i, r in enumerate(grp.itertuples()):
                rows.append(
                    dict(
                        provider_code=r.provider_code,
                        provider_name=r.provider_name,
                        service=service,
                        metric=metric,
                        value=vals[i],
                        numerator=np.nan,
                        denominator=np.nan,
                        peer_value=med,
                        lower_95=q1,
                        upper_95=q3,
                        lower_99_8=np.nan,
                        upper_99_8=np.nan,
                        comparison=_flag(vals[i], q1, q3, polarity)
                        if len(finite) >= 4
                        else "not compared",
                        polarity=polarity,
                    )
                )
    return pd.DataFrame(rows)


def apply_policy(comparison: pd.DataFrame, policy: DisclosurePolicy) -> pd.DataFrame:
    """Disclosure control for provider metrics, mirroring the policy's rules.

    `opensafely`: numerators/denominators <= threshold blank the row's value,
    counts are rounded to `rounding_base` and proportions recomputed from the
    rounded counts; `suppress`: counts 1..threshold-1 blank the row; `none`
    (row-level access only): unchanged.
    """
    out = comparison.copy()
    out["suppressed"] = False
    if policy.kind == "none":
        return out
    num, den = out["numerator"], out["denominator"]
    has_counts = den.notna()
    if policy.kind == "opensafely":
        small = (
            has_counts
            & ((num <= policy.threshold) | (den <= policy.threshold))
            & ~((num == 0) & ~policy.redact_zero & (den > policy.threshold))
        )
        base = policy.rounding_base
        out.loc[has_counts, "numerator"] = (num[has_counts] / base).round() * base
        out.loc[has_counts, "denominator"] = (den[has_counts] / base).round() * base
        rec = has_counts & (out["denominator"] > 0)
        out.loc[rec, "value"] = (
            100 * out.loc[rec, "numerator"] / out.loc[rec, "denominator"]
        )
    else:
        small = has_counts & (
            ((num > 0) & (num < policy.threshold))
            | ((den > 0) & (den < policy.threshold))
        )
    cols = [
        "value",
        "numerator",
        "denominator",
        "lower_95",
        "upper_95",
        "lower_99_8",
        "upper_99_8",
    ]
    out.loc[small, cols] = np.nan
    out.loc[small, "comparison"] = "not compared"
    out.loc[small, "suppressed"] = True
    return out


def scorecard(comparison: pd.DataFrame) -> pd.DataFrame:
    """Provider-arm scorecard: per provider, counts of better/similar/worse metrics.

    `score` = (better - worse) / compared metrics, from -1 (worse than peers on
    everything compared) to +1.
    """
    judged = comparison[comparison["polarity"] != "no_judgement"]
    counts = pd.crosstab(
        [judged["provider_code"], judged["provider_name"]], judged["comparison"]
    )
    for col in ("better", "similar", "worse", "not compared"):
        if col not in counts:
            counts[col] = 0
    counts = counts[["better", "similar", "worse", "not compared"]].reset_index()
    counts = counts.rename(columns={"not compared": "not_compared"})
    compared = counts["better"] + counts["similar"] + counts["worse"]
    counts["score"] = (counts["better"] - counts["worse"]) / compared.where(
        compared > 0
    )
    counts.columns.name = None
    return counts.sort_values("score", ascending=False, na_position="last").reset_index(
        drop=True
    )
