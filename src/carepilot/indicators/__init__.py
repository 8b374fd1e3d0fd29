"""Indicator definitions: model, YAML loading, validation, expression language, compiler to Ibis, reference evaluator (pure)."""
