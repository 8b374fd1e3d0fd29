"""Problem rendering and the capped, counted error message."""

from __future__ import annotations

from carepilot.errors import InputDataError
from carepilot.ingest.problems import Problem, ProblemKind, ProblemLog


def test_describe_names_file_line_column_value_and_expectation() -> None:
    p = Problem(
        ProblemKind.ALLOWED, "patients.csv", 7, "sex", "M", "one of: female, male"
    )
    assert p.describe() == (
        "patients.csv line 7, column `sex`: value 'M': value not allowed; "
        "expected one of: female, male"
    )


def test_parquet_rows_are_called_rows_and_long_values_truncated() -> None:
    p = Problem(ProblemKind.TYPE, "x.parquet", 3, "c", "a" * 100, "a number")
    assert p.describe().startswith("x.parquet row 3, column `c`: value 'aaaa")
    assert "...'" in p.describe()


def test_log_caps_examples_and_totals_by_kind() -> None:
    log = ProblemLog(max_shown=2)
    examples = [
        Problem(ProblemKind.NULL, "a.csv", row, "c", None, "a value")
        for row in (9, 3, 5)
    ]
    log.add_examples(ProblemKind.NULL, 1000, examples)
    log.add(Problem(ProblemKind.EMPTY_FILE, "b.csv", None, None, None, "a header"))
    assert log.total == 1001
    error = log.error("/data")
    assert isinstance(error, InputDataError)
    text = str(error)
    assert "1001 problem(s) in 2 file(s) (a.csv, b.csv)" in text
    assert text.index("a.csv line 3") < text.index("a.csv line 5")
    assert "a.csv line 9" not in text
    assert "showing 2 of 1001" in text
    assert "missing value: 1000" in text and "empty file: 1" in text


def test_empty_log_is_falsy() -> None:
    assert not ProblemLog()
