"""Outcome-based contracts: capitated budgets, quality-linked payments, risk share.

`model` (types; defined in `common`, `parties`, `budget_spec`, `payment_rules`) and
`rules`/`settlement` (calculations) are pure; `definition` loads YAML (with
`yaml_reader`, `payment_definition`, `serialise`); `capitation` fits the risk model;
`data` is the only module that reads the analytics database; `lines`/`statement`
render reconciliation statements (patient counts through disclosure control);
`simulate` runs what-if Monte Carlo analysis; `access`, `tables`, `repo` and
`workflow` store contracts, statements and simulations in the workflow database.
"""
