"""Spec: three-valued logic, exactly as SQL (unknown is neither true nor false)."""

from tests.spec.harness import evaluate, merge, patient

# Patient 1: imd 1 (true for imd_decile <= 2); 2: imd 9 (false); 3: missing (unknown).
TABLES = merge(patient(1, imd_decile=1), patient(2, imd_decile=9), patient(3))
X = "imd_decile <= 2"


def test_not_keeps_unknown(engine: str) -> None:
    assert evaluate(engine, f"not {X}", TABLES) == {1: False, 2: True, 3: None}


def test_and_or_kleene(engine: str) -> None:
    assert evaluate(engine, f"{X} and true", TABLES) == {1: True, 2: False, 3: None}
    assert evaluate(engine, f"{X} and false", TABLES) == {1: False, 2: False, 3: False}
    assert evaluate(engine, f"{X} or true", TABLES) == {1: True, 2: True, 3: True}
    assert evaluate(engine, f"{X} or false", TABLES) == {1: True, 2: False, 3: None}


def test_parentheses_and_precedence(engine: str) -> None:
    # `and` binds tighter than `or`.
    got = evaluate(engine, 'sex == "male" and false or age > 0', TABLES)
    assert got == {1: True, 2: True, 3: True}
    got = evaluate(engine, 'sex == "male" and (false or age > 0)', TABLES)
    assert got == {1: False, 2: False, 3: False}


def test_period_dates(engine: str) -> None:
    got = evaluate(
        engine, 'period_end == date("2024-03-31") and period_start < period_end', TABLES
    )
    assert got == {1: True, 2: True, 3: True}
