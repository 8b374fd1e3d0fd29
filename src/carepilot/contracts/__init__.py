"""Outcome-based contracts: capitated budgets, quality-linked payments, risk share.

`model` (types) and `rules`/`settlement` (calculations) are pure; `definition`
loads YAML; `capitation` fits the risk model; `data` is the only module that reads
the analytics database; `statement` renders reconciliation statements; `simulate`
runs what-if Monte Carlo analysis.
"""
