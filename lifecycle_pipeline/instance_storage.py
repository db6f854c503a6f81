"""Dagster's SQLite instance storage with its connections kept open between events.

A backfill of N days records two events per asset and day (materialization planned, and
materialized): 30 assets x 365 days is 22,000 events. Dagster's SQLite event log opens a new
SQLAlchemy engine for every event (and for each of its statements' index updates), so each
event pays for an engine, fresh connections and a cold statement cache: ~14 ms each here,
five minutes of a 365-day ``make run`` spent on bookkeeping. Keeping one engine per database
file (the run's shard and the index) makes the same events ~4 ms each, in the same files
with the same schema: ``dagster dev``, the daemon and the UI read them as before.

Configured in ``lifecycle_pipeline/dagster.yaml`` by ``instance_class: LifecycleInstance``, a
``DagsterInstance`` that only changes the default storage (so it lives in whatever directory
the instance is opened from, as Dagster's default does). The override touches Dagster
internals (``_connect``, ``_initdb``); ``tests/test_instance_storage.py`` checks it against the
pinned Dagster version, and removing the ``instance_class`` lines returns to Dagster's class on
the same files.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import yaml
from dagster import DagsterInstance
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine

# engines kept open: the index shard and the few runs being written or watched at once
_ENGINES_KEPT = 4


def _no_sync_per_commit(dbapi_connection, _record) -> None:
    """``synchronous=NORMAL`` on Dagster's WAL-mode event-log files: a commit is written to the log but not
    flushed to disk, so each event skips an fsync (an asset-check result commits three times). A killed
    process loses nothing it committed; a power cut may lose the last few events, never corrupts the file
    (https://www.sqlite.org/pragma.html#pragma_synchronous)."""
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` that reuses one engine (pooled connections, warm statement cache) per shard."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._tables_seen: set[str] = set()
        super().__init__(base_dir, inst_data)

    def has_table(self, table_name: str) -> bool:
        """Dagster asks this before storing every asset-check result and every tagged materialization (a new
        engine and a schema query each time, ~2 ms). A table that exists stays (migrations only add
        tables), so a yes is remembered until :meth:`wipe`; a no is asked again. No lock: this is called
        while ``_db_lock`` may be held, and a set is safe to share."""
        if table_name in self._tables_seen:
            return True
        found = super().has_table(table_name)
        if found:
            self._tables_seen.add(table_name)
        return found

    def wipe(self) -> None:
        self._tables_seen.clear()
        super().wipe()

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.get(shard)
        if engine is None:
            engine = create_engine(
                self.conn_string_for_shard(shard),
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )
            event.listen(engine, "connect", _no_sync_per_commit)
            self._engines[shard] = engine
            while len(self._engines) > _ENGINES_KEPT:
                _, oldest = self._engines.popitem(last=False)
                oldest.dispose()
        else:
            self._engines.move_to_end(shard)
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:  # as Dagster's: one statement batch at a time per storage object
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def dispose(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()
        super().dispose()


class PooledSqliteStorage(DagsterSqliteStorage):
    """Dagster's default SQLite storage (runs, event logs, schedules under ``base_dir``) with the pooled event log."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        super().__init__(base_dir, inst_data)
        self._event_log_storage.dispose()
        self._event_log_storage = PooledSqliteEventLogStorage(_event_logs_directory(base_dir))

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value) -> PooledSqliteStorage:
        return cls.from_local(inst_data=inst_data, **config_value)


class LifecycleInstance(DagsterInstance):
    """Dagster's instance; its default storage (no ``storage:`` in dagster.yaml) is ``PooledSqliteStorage``."""

    @classmethod
    def config_schema(cls) -> dict:
        return {}

    @staticmethod
    def config_defaults(base_dir: str) -> dict:
        defaults = dict(InstanceRef.config_defaults(base_dir))
        defaults["storage"] = ConfigurableClassData(
            __name__, PooledSqliteStorage.__name__, yaml.dump({"base_dir": base_dir}, default_flow_style=False)
        )
        return defaults
