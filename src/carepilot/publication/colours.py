"""Fingertips significance colours and labels, shared by every chart and table.

Fingertips colours an area by comparing its confidence interval with the benchmark
(`carepilot.stats.significance.compare_to_benchmark`): green better, amber similar,
red worse, and blue shades (light = lower, dark = higher) when the indicator has no
preferred direction; grey when no comparison was possible.
"""

from __future__ import annotations

SIGNIFICANCE_COLOURS: dict[str, str] = {
    "better": "#92D050",
    "similar": "#FFC000",
    "worse": "#C00000",
    "higher": "#5555E6",
    "lower": "#BED2FF",
    "not compared": "#C9C9C9",
}
"""Fill colour per comparison value (Fingertips palette)."""

TEXT_COLOURS: dict[str, str] = {
    "better": "#0B0C0C",
    "similar": "#0B0C0C",
    "worse": "#FFFFFF",
    "higher": "#FFFFFF",
    "lower": "#0B0C0C",
    "not compared": "#0B0C0C",
}
"""Text colour with enough contrast (WCAG AA) on each fill."""

SIGNIFICANCE_LABELS: dict[str, str] = {
    "better": "Better",
    "similar": "Similar",
    "worse": "Worse",
    "higher": "Higher",
    "lower": "Lower",
    "not compared": "Not compared",
}
"""Fingertips wording for each comparison (used in the open data export)."""

SIGNIFICANCE_ORDER: tuple[str, ...] = tuple(SIGNIFICANCE_COLOURS)


def colour(comparison: str) -> str:
    """Fill colour for a comparison value; unknown values are grey."""
    return SIGNIFICANCE_COLOURS.get(comparison, SIGNIFICANCE_COLOURS["not compared"])


def label(comparison: str) -> str:
    """Fingertips label for a comparison value; unknown values are "Not compared"."""
    return SIGNIFICANCE_LABELS.get(comparison, "Not compared")
