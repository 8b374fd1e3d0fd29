import pytest

from tests.spec.harness import ENGINES


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """Every spec test runs on the reference evaluator, DuckDB and SQLite."""
    return request.param
