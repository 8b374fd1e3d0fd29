"""Spark backend options and the errors raised before any JVM starts."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from carepilot.cli import indicators as indicators_cli
from carepilot.engine.spark import check_master, first_line
from carepilot.errors import ConfigError, InputDataError, UserError

runner = CliRunner()
app = typer.Typer(pretty_exceptions_enable=False)
indicators_cli.register(app)


@app.callback()
def _root() -> None:
    """carepilot (indicators only)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("master", ["local", "local[2]", "local[*]", "local[4,2]"])
def test_local_masters_are_accepted(master: str) -> None:
    check_master(master)


def test_unreachable_standalone_master_is_named() -> None:
    port = _free_port()  # nothing listens on it once the socket is closed
    with pytest.raises(UserError, match=rf"spark://127\.0\.0\.1:{port} is unreachable"):
        check_master(f"spark://127.0.0.1:{port}")


def test_reachable_standalone_master_passes_the_check() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        check_master(f"spark://127.0.0.1:{port}")


@pytest.mark.parametrize(
    ("master", "message"),
    [
        ("spark://nohostport", "expected spark://HOST:PORT"),
        ("mesos://x:5050", "use local\\[N\\]"),
        ("local[two]", "use local\\[N\\]"),
    ],
)
def test_malformed_masters(master: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        check_master(master)


def test_yarn_needs_hadoop_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HADOOP_CONF_DIR", raising=False)
    monkeypatch.delenv("YARN_CONF_DIR", raising=False)
    with pytest.raises(UserError, match="HADOOP_CONF_DIR or YARN_CONF_DIR"):
        check_master("yarn")
    monkeypatch.setenv("HADOOP_CONF_DIR", "/etc/hadoop/conf")
    check_master("yarn")


def test_first_line_drops_the_jvm_stack_trace() -> None:
    exc = RuntimeError(
        "\n[PATH_NOT_FOUND] Path does not exist: file:/x.\n\tat org.apache.Foo(Foo.scala:1)"
    )
    assert first_line(exc) == "[PATH_NOT_FOUND] Path does not exist: file:/x."


def _run(*args: str) -> BaseException | None:
    base = [
        "indicators",
        "run",
        "--from",
        "2022-01",
        "--to",
        "2022-03",
        "-i",
        "dm-prevalence",
    ]
    return runner.invoke(app, [*base, *args]).exception


def test_cli_spark_needs_data_not_db(tmp_path: Path) -> None:
    exc = _run(
        "--backend", "spark", "--db", str(tmp_path / "a.duckdb"), "-d", _examples()
    )
    assert isinstance(exc, ConfigError) and "--data PARQUET_DIR" in str(exc)


def test_cli_needs_exactly_one_source(tmp_path: Path) -> None:
    exc = _run("--db", str(tmp_path / "a.duckdb"), "--data", str(tmp_path))
    assert isinstance(exc, ConfigError) and "exactly one of --db" in str(exc)


def test_cli_unknown_backend(tmp_path: Path) -> None:
    exc = _run("--backend", "oracle", "--data", str(tmp_path))
    assert isinstance(
        exc, ConfigError
    ) and "--backend must be one of duckdb, spark" in str(exc)


def test_cli_spark_options_need_the_spark_backend(tmp_path: Path) -> None:
    exc = _run("--data", str(tmp_path), "--spark-master", "local[2]")
    assert isinstance(exc, ConfigError) and "need --backend spark" in str(exc)


def test_cli_malformed_spark_conf(tmp_path: Path) -> None:
    exc = _run("--backend", "spark", "--data", str(tmp_path), "--spark-conf", "novalue")
    assert isinstance(exc, ConfigError) and "expected KEY=VALUE" in str(exc)


def test_cli_unreachable_master_fails_fast_without_a_stack_trace(
    tmp_path: Path,
) -> None:
    port = _free_port()
    args = ["--backend", "spark", "--spark-master", f"spark://127.0.0.1:{port}"]
    exc = _run(*args, "--data", str(tmp_path), "-d", _examples())
    assert isinstance(exc, UserError)
    assert f"spark://127.0.0.1:{port} is unreachable" in str(exc)
    assert "\tat " not in str(exc)


def test_cli_duckdb_reads_a_parquet_folder_missing_a_table(tmp_path: Path) -> None:
    exc = _run("--data", str(tmp_path), "-d", _examples())
    assert isinstance(exc, InputDataError) and "`patients`" in str(exc)


def _examples() -> str:
    from carepilot.engine.definitions import SHIPPED_LIBRARY

    return str(SHIPPED_LIBRARY / "examples")
