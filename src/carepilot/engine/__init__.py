"""Run compiled indicators on an Ibis backend: periods, breakdowns, areas, statistics,
disclosure control and output (see docs/indicators.md)."""
