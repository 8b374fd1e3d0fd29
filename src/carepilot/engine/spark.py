"""The indicator engine on Apache Spark, through Ibis's PySpark backend.

Same definitions, same compiler, same aggregation and the same pandas
post-processing (statistics, disclosure control) as on DuckDB: only the Ibis
connection differs. Data come straight from Parquet (`carepilot.engine.parquet`).

Problems a user can fix are turned into `UserError`s before Spark can turn them
into JVM stack traces: an unreachable standalone master is detected with a TCP
connect before the driver starts (Spark would otherwise start, retry for a minute
and leave jobs waiting for executors that never come), YARN without a Hadoop
configuration is refused, and errors starting the JVM or reading data keep only
their first line.

pyspark is imported lazily so that the rest of the engine works without it.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib import resources
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir

from carepilot.engine.parquet import MissingTableData, TableSource, parquet_tables
from carepilot.errors import InputDataError, UserError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_MASTER = "local[*]"

_LOCAL = re.compile(r"^local(\[(\*|\d+)(,\d+)?\])?$")
_STANDALONE = re.compile(r"^spark://(.+)$")

CONNECT_TIMEOUT_S = 5.0
"""How long to wait for a standalone master's port to accept a connection."""


def _base_conf(master: str) -> dict[str, str]:
    """Settings every carepilot Spark session gets (overridable by the user).

    The UI is off (no port to bind in CI, nothing to look at in a batch run); log4j
    is configured by a file shipped with the package so only errors reach stderr;
    results come back to pandas through Arrow; the session time zone is UTC so
    dates never shift. Local mode binds to the loopback interface so it starts
    offline, whatever the host name resolves to.
    """
    log4j = resources.files("carepilot.engine").joinpath("spark-log4j2.properties")
    java_opts = f"-Dlog4j2.configurationFile=file:{log4j}"
    conf = {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.driver.extraJavaOptions": java_opts,
        "spark.executor.extraJavaOptions": java_opts,
    }
    if _LOCAL.match(master):
        conf["spark.driver.host"] = "127.0.0.1"
        conf["spark.driver.bindAddress"] = "127.0.0.1"
    return conf


def check_master(master: str) -> None:
    """Refuse a master URL that cannot work, before a JVM is started.

    Raises:
        UserError: unknown form, unreachable standalone master, or YARN without
            `HADOOP_CONF_DIR`/`YARN_CONF_DIR`.
    """
    if _LOCAL.match(master):
        return
    standalone = _STANDALONE.match(master)
    if standalone:
        hosts = standalone.group(1).split(",")
        errors: list[str] = []
        for hostport in hosts:
            host, _, port = hostport.rpartition(":")
            if not host or not port.isdigit():
                raise UserError(
                    f"--spark-master {master}: expected spark://HOST:PORT[,HOST:PORT]"
                )
            try:
                with socket.create_connection((host, int(port)), CONNECT_TIMEOUT_S):
                    return
            except OSError as exc:
                errors.append(f"{hostport} ({exc.strerror or exc})")
        raise UserError(
            f"Spark master {master} is unreachable: {'; '.join(errors)}. Check the "
            "URL and that the master is running and reachable from this machine"
        )
    if master == "yarn":
        if not (os.environ.get("HADOOP_CONF_DIR") or os.environ.get("YARN_CONF_DIR")):
            raise UserError(
                "--spark-master yarn needs HADOOP_CONF_DIR or YARN_CONF_DIR pointing "
                "at the cluster's Hadoop configuration"
            )
        return
    if master.startswith("k8s://"):
        return
    raise UserError(
        f"--spark-master {master!r}: use local[N], local[*], spark://HOST:PORT, yarn "
        "or k8s://https://HOST:PORT"
    )


def first_line(exc: BaseException) -> str:
    """The useful part of a Spark/Py4J error: its first non-empty line, without
    the JVM stack trace."""
    text = str(exc).strip()
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return type(exc).__name__


def spark_session(
    master: str = DEFAULT_MASTER,
    conf: Mapping[str, str] | None = None,
    app_name: str = "carepilot",
) -> SparkSession:
    """Start (or reuse) the Spark session for `master`.

    Args:
        master: local[N], spark://HOST:PORT, yarn or k8s://...
        conf: extra Spark settings (e.g. `spark.executor.memory`), applied last.
        app_name: the application name shown by the cluster manager.

    Raises:
        UserError: the master is unreachable or pyspark/Java cannot start.
    """
    check_master(master)
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise UserError(
            "the Spark backend needs pyspark 4.0 (`pip install 'pyspark==4.0.*'`)"
        ) from None
    if _LOCAL.match(master):
        # read by the launcher scripts before any conf is: avoids the host-name
        # lookup (and its warning) on machines without network
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder: Any = SparkSession.builder.master(master).appName(app_name)
    for key, value in {**_base_conf(master), **(conf or {})}.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # noqa: BLE001 - JVM start-up failures have many types
        raise UserError(
            f"cannot start Spark (master {master}): {first_line(exc)}. Spark needs "
            "Java 17 on the PATH (or JAVA_HOME)"
        ) from None
    session.sparkContext.setLogLevel("FATAL")
    _quiet_python_loggers()
    return session


def _quiet_python_loggers() -> None:
    """pyspark logs every SQL error as JSON on stderr before raising it; the
    exception itself is what carepilot reports (in one line)."""
    from pyspark.logger import PySparkLogger

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).disabled = True


def connect(session: SparkSession) -> Any:
    """An Ibis PySpark connection on `session` (see `_backend_class`)."""
    return _backend_class()().connect(session)


def _backend_class() -> type:
    """Ibis's PySpark backend with one fix: `Table.cache()` registers the
    expression's in-memory tables (e.g. the engine's periods table) before
    compiling it; Ibis 12 does that on execute but not on cache, so caching the
    patient x period grid failed with TABLE_OR_VIEW_NOT_FOUND."""
    from ibis.backends.pyspark import Backend

    _ = ibis.pyspark  # loading the entry point registers `ibis.options.pyspark`

    class CarePilotPySpark(Backend):
        def _create_cached_table(self, name: str, expr: ir.Table) -> ir.Table:
            self._run_pre_execute_hooks(expr)
            return super()._create_cached_table(name, expr)

    return CarePilotPySpark


def spark_tables(con: Any, data: str) -> dict[str, ir.Table]:
    """The data-model tables read from Parquet under `data` by Spark.

    Raises:
        InputDataError: a table is missing or its files do not match the data
            model or each other (see `carepilot.engine.parquet`).
    """
    session = con._session  # pyright: ignore[reportPrivateUsage]

    def read(source: TableSource) -> ir.Table:
        view = f"_parquet_{source.name}"
        reader = session.read
        if not source.files:
            # not listed locally: let Spark merge the footers so that partitions
            # with conflicting types fail here, not in the middle of a job
            reader = reader.option("mergeSchema", "true")
        try:
            frame = reader.parquet(source.path)
        except Exception as exc:  # noqa: BLE001 - AnalysisException and Py4J errors
            message = first_line(exc)
            if "PATH_NOT_FOUND" in message or "does not exist" in message:
                raise MissingTableData(
                    f"table `{source.name}`: no Parquet data at {source.path}"
                ) from None
            raise InputDataError(
                f"table `{source.name}`: cannot read Parquet data at {source.path}: "
                f"{message}"
            ) from None
        frame.createOrReplaceTempView(view)
        return con.table(view)

    return parquet_tables(data, read)


@contextmanager
def spark_errors(what: str) -> Iterator[None]:
    """Turn Spark/Py4J errors raised while running into a short `UserError`."""
    try:
        yield
    except UserError:
        raise
    except Exception as exc:
        module = type(exc).__module__
        if module.startswith(("pyspark", "py4j")):
            raise UserError(f"Spark failed while {what}: {first_line(exc)}") from None
        raise
