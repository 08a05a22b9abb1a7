"""Engine adapters: where the difference between DuckDB and Spark is allowed to live.

The analyses are Ibis expressions that compile for both engines; this module only builds the
Spark side (a session, the Ibis backend over it, small in-memory tables, Parquet files).
PySpark is imported lazily, so a machine without Spark or Java fails only when Spark is asked
for, with one clear line.
"""

from __future__ import annotations

import os
import shutil
import threading
from typing import Any

_LOCK = threading.Lock()
_SESSION: Any = None
_REMOTE: str | None = None


class EngineError(ValueError):
    """The requested engine cannot run here (PySpark or Java missing, cluster unreachable).

    A ValueError, like a bad setting: the CLI reports it in one line with exit code 2.
    """


def _import_pyspark() -> Any:
    try:
        import pyspark  # noqa: F401
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise EngineError(
            "the Spark engine needs PySpark: pip install 'contractwatch[spark]'"
        ) from exc
    return SparkSession


def spark_session(master: str | None = None, remote: str | None = None,
                  driver_memory: str = "4g", conf: dict[str, str] | None = None) -> Any:
    """The process's Spark session, created once (a JVM start costs ~10 s); later calls
    return it whatever their arguments.

    `remote` (a Spark Connect URL, ``sc://host:15002``) wins over `master` (``local[2]``,
    ``spark://host:7077``, ``yarn`` …). Without arguments both come from settings
    (CONTRACTWATCH_SPARK_REMOTE / CONTRACTWATCH_SPARK_MASTER).
    """
    global _SESSION, _REMOTE
    with _LOCK:
        if _SESSION is not None:
            return _SESSION
        if master is None and remote is None:
            from contractwatch import settings

            s = settings.load()
            master, remote = s.spark_master, s.spark_remote
        SparkSession = _import_pyspark()
        builder = SparkSession.builder.appName("contractwatch")
        if remote:
            builder = builder.remote(remote)
            _REMOTE = remote
        else:
            master = master or "local[2]"
            if master.startswith("local") and shutil.which("java") is None \
                    and not os.environ.get("JAVA_HOME"):
                raise EngineError("the Spark engine needs Java 17 (apt-get install "
                                  "openjdk-17-jre-headless) or a cluster: set "
                                  "CONTRACTWATCH_SPARK_REMOTE=sc://host:15002")
            if master.startswith("local"):
                # Without these Spark binds to the first network interface; local mode needs
                # nothing but loopback.
                os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
                builder = (builder.config("spark.driver.bindAddress", "127.0.0.1")
                           .config("spark.driver.host", "127.0.0.1"))
            builder = (builder.master(master)
                       .config("spark.driver.memory", driver_memory)
                       .config("spark.ui.enabled", "false")
                       .config("spark.ui.showConsoleProgress", "false")
                       .config("spark.sql.shuffle.partitions", "4")
                       .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                       .config("spark.sql.session.timeZone", "UTC"))
            jar = splink_jar()
            if jar:  # Splink's string similarity functions (Jaro-Winkler) for entity resolution
                builder = builder.config("spark.jars", jar)
        for key, value in (conf or {}).items():
            builder = builder.config(key, value)
        try:
            session = builder.getOrCreate()
        except Exception as exc:  # JVM failed to start, cluster unreachable, bad master URL
            where = remote or master
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise EngineError(f"cannot start Spark ({where}): {first[:300]}") from exc
        if not remote:
            session.sparkContext.setLogLevel("ERROR")
        _SESSION = session
        return session


def splink_jar() -> str | None:
    """Splink's jar of Spark SQL similarity functions, for a session this process starts.

    Found without importing Splink (which would import PySpark early). A cluster reached
    through Spark Connect must have it installed by its operator.
    """
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("splink")
    if spec is None or not spec.origin:
        return None
    from importlib.metadata import PackageNotFoundError, version

    try:
        major = version("pyspark").split(".")[0]
    except PackageNotFoundError:
        return None
    folder = Path(spec.origin).parent / "internals" / "files" / "spark_jars"
    jars = sorted(folder.glob(f"*_spark{major}.x.jar"))
    return str(jars[-1]) if jars else None


def splink_db_api(engine: str = "duckdb") -> Any:
    """Splink's database API for an engine: the same model settings run on either."""
    if engine == "spark":
        from splink import SparkAPI

        session = spark_session()
        # Splink breaks long lineages by checkpointing to a folder by default; in local mode
        # caching is ~8x faster (measured on 4,657 names: 12.7 s against 112 s) and needs no
        # folder. On a cluster keep Splink's default (set a checkpoint dir on the session).
        master = session.conf.get("spark.master", "") if _is_classic(session) else ""
        method = "persist" if master.startswith("local") else None
        return SparkAPI(spark_session=session, break_lineage_method=method)
    from splink import DuckDBAPI

    return DuckDBAPI()


def _is_classic(session: Any) -> bool:
    """A session with a local JVM (not a Spark Connect client)."""
    return ".connect." not in type(session).__module__


def stop_spark() -> None:
    """Stop the shared session (tests and benchmarks; the CLI just exits)."""
    global _SESSION
    with _LOCK:
        if _SESSION is not None:
            _SESSION.stop()
            _SESSION = None


def spark_backend(session: Any = None) -> Any:
    """An Ibis PySpark backend for one catalog (default session: the shared one from settings).

    Each backend gets its own Spark session over the shared JVM context, because a catalog
    names its views (cw_rows, cw_loads …) and temporary views are per session: two catalogs
    of different load sets (a watch compares the previous state with the current one) must
    not overwrite each other's, as they cannot on DuckDB where each has its own connection.
    """
    import ibis

    base = session if session is not None else spark_session()
    if _is_classic(base):
        isolated = base.newSession()
    elif _REMOTE:  # Spark Connect: a new server-side session under the same URL
        from pyspark.sql import SparkSession

        isolated = SparkSession.builder.remote(_REMOTE).create()
    else:
        isolated = base
    return ibis.pyspark.connect(isolated)


def register_arrow_spark(con: Any, name: str, table: Any) -> None:
    """A temporary view `name` holding a small Arrow table (loads, coverage, empty tables)."""
    session = con._session
    schema = _spark_schema(table.schema)
    if table.num_rows:
        df = session.createDataFrame(table.to_pandas(types_mapper=None), schema=schema)
    else:
        df = session.createDataFrame([], schema=schema)
    df.createOrReplaceTempView(name)


def read_parquet_spark(con: Any, files: list[str], name: str, merge_schema: bool = False) -> Any:
    """Register Parquet files (a list: Spark's reader takes them as separate arguments);
    `merge_schema` for files whose columns differ."""
    reader = con._session.read
    if merge_schema:
        reader = reader.option("mergeSchema", "true")
    df = reader.parquet(*files)
    df.createOrReplaceTempView(name)
    return con.table(name)


def _spark_schema(schema: Any) -> Any:
    """The Spark struct type of an Arrow schema (through Ibis, which knows both)."""
    import ibis
    from ibis.backends.pyspark.datatypes import PySparkSchema

    return PySparkSchema.from_ibis(ibis.Schema.from_pyarrow(schema))
