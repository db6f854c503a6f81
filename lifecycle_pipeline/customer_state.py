"""Running per-customer state, updated day by day instead of recomputed from all history.

``scoring.customer_features`` needs, per customer, figures over every order ever placed and
over a year of events. Recomputing them from the clean tables every day makes a day's cost
grow with history and a backfill quadratic in days. Two state tables hold them instead:

* ``scoring.customer_order_state`` (``order_state.py``): lifetime and windowed order figures;
* ``scoring.customer_event_state`` (``event_state.py``): windowed event figures.

A day's state is the day before's state plus the day's changes. It equals a from-scratch
computation column for column (``tests/test_customer_state.py`` checks every day of bursty
histories with late files, late refunds and restated days). A day is computed from scratch
instead when the day before's state is missing (the first day; older than the week kept),
was computed with other settings or in another time zone, or is older than a reload of one of
its clean partitions (a restated day); ``scoring.customer_state_days`` records which way each
day went.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from lifecycle_pipeline.daily_tables import (
    end_of_day,
    ensure_table,
    layout_checked,
    layout_matches,
    table_exists,
    write_day,
)
from lifecycle_pipeline.rule_settings import ScoringSettings

LOG_TABLE = "scoring.customer_state_days"
LOADS_TABLE = "clean.partition_loads"
# days of state kept behind the day computed: re-running any of the last week's days starts
# from its day before; an older day is computed from scratch (same result, slower)
STATE_DAYS_KEPT = 7

_LOG_DDL = f"""
create table if not exists {LOG_TABLE} (
    state varchar not null,
    as_of_date date not null,
    settings varchar not null,
    mode varchar not null,
    changed_customers bigint,
    computed_at timestamptz not null,
    primary key (state, as_of_date)
)"""

_LOADS_DDL = f"""
create table if not exists {LOADS_TABLE} (
    source varchar not null,
    partition_date date not null,
    loaded_at timestamptz not null,
    primary key (source, partition_date)
)"""


@dataclass(frozen=True)
class StateSpec:
    """One running state: its table, the clean source it follows, the settings it depends on,
    the from-scratch query and the incremental update (``update(conn, params) -> changed customers``)."""

    name: str
    table: str
    source: str
    settings: tuple[str, ...]
    full_sql: str
    update: Callable[[duckdb.DuckDBPyConnection, dict], int]
    # whether the incremental update supports these settings (else every day is computed from scratch)
    supports: Callable[[ScoringSettings], bool] = lambda settings: True
    # extra parameters of the from-scratch query, and what to run before it (e.g. an empty temp table)
    full_params: tuple[tuple[str, object], ...] = ()
    prepare_full: Callable[[duckdb.DuckDBPyConnection], None] = lambda conn: None


def ensure_loads_table(conn: duckdb.DuckDBPyConnection) -> None:
    """``clean.partition_loads``: when each clean partition was last (re)written."""
    conn.execute("create schema if not exists clean")
    conn.execute(_LOADS_DDL)


def record_clean_load(conn: duckdb.DuckDBPyConnection, source: str, first_day: dt.date, last_day: dt.date) -> None:
    """Note that ``clean.<source>`` was rewritten for ``first_day..last_day`` (inside the clean write's transaction)."""
    conn.execute(
        f"insert or replace into {LOADS_TABLE} "
        "select ?, d::date, now() from range(?::date, ?::date + 1, interval 1 day) as t(d)",
        [source, first_day, last_day],
    )


def _settings_key(spec: StateSpec, settings: ScoringSettings, timezone: str) -> str:
    values = {name: getattr(settings, name) for name in spec.settings}
    return json.dumps({"timezone": timezone, **values}, sort_keys=True, default=list)


def incremental_basis(
    conn: duckdb.DuckDBPyConnection, spec: StateSpec, as_of: dt.date, timezone: str, settings: ScoringSettings
) -> bool:
    """Whether ``as_of`` can start from the day before's state (see the module docstring)."""
    if not spec.supports(settings):
        return False
    previous = as_of - dt.timedelta(days=1)
    rows = conn.execute(
        f"select settings, computed_at from {LOG_TABLE} where state = ? and as_of_date = ?", [spec.name, previous]
    ).fetchall()
    if not rows or rows[0][0] != _settings_key(spec, settings, timezone):
        return False
    (reloaded,) = conn.execute(
        f"select max(loaded_at) from {LOADS_TABLE} where source = ? and partition_date <= ?", [spec.source, previous]
    ).fetchall()[0]
    return reloaded is None or reloaded <= rows[0][1]


def state_params(as_of: dt.date, timezone: str, settings: ScoringSettings) -> dict:
    """The parameters every state query may use (each binds its own)."""
    previous = as_of - dt.timedelta(days=1)
    return {
        "as_of": as_of,
        "as_of_end": end_of_day(as_of, timezone),
        "previous_day": previous,
        "previous_end": end_of_day(previous, timezone),
        **settings.params(),
    }


def update_state(
    conn: duckdb.DuckDBPyConnection,
    spec: StateSpec,
    as_of: dt.date,
    timezone: str,
    settings: ScoringSettings,
    full: bool = False,
) -> str:
    """Write ``as_of``'s state (inside the caller's transaction); returns "incremental" or "full".

    ``full`` computes it from the clean tables even when the day before's state could be used.
    """
    params = state_params(as_of, timezone, settings)
    incremental = not full and incremental_basis(conn, spec, as_of, timezone, settings)
    if incremental:
        conn.execute(f"delete from {spec.table} where as_of_date = ?", [as_of])
        changed = spec.update(conn, params)
    else:
        spec.prepare_full(conn)
        write_day(conn, spec.table, as_of, spec.full_sql, {**params, **dict(spec.full_params)})
        changed = None
    mode = "incremental" if incremental else "full"
    conn.execute(
        f"insert or replace into {LOG_TABLE} values (?, ?, ?, ?, ?, now())",
        [spec.name, as_of, _settings_key(spec, settings, timezone), mode, changed],
    )
    # keep a week of state; a day without its state must not look usable, so its log row goes too
    conn.execute(f"delete from {spec.table} where as_of_date < ?::date - ?::integer", [as_of, STATE_DAYS_KEPT])
    conn.execute(f"delete from {LOG_TABLE} where state = ? and as_of_date < ?::date - ?::integer",
                 [spec.name, as_of, STATE_DAYS_KEPT])
    return mode


def ensure_state_table(conn: duckdb.DuckDBPyConnection, spec: StateSpec, timezone: str, settings: ScoringSettings) -> None:
    """Create ``spec``'s table (checked against its dictionary entry), the log and the clean load record.

    The state is a cache of the clean tables: a table left by an older version with another layout
    is dropped and made anew instead of asking for a manual drop. Whenever the table is (re)created,
    its log rows go too, so no day claims a state the new table does not hold: the next day is
    computed from scratch.
    """
    if layout_checked(conn, spec.table):  # set up earlier on this connection (an earlier day of the step)
        return
    ensure_loads_table(conn)
    conn.execute("create schema if not exists scoring")
    conn.execute(_LOG_DDL)
    if table_exists(conn, spec.table) and not layout_matches(conn, spec.table):
        conn.execute(f"drop table {spec.table}")
    created = not table_exists(conn, spec.table)
    spec.prepare_full(conn)
    params = {**state_params(dt.date(2000, 1, 1), timezone, settings), **dict(spec.full_params)}
    ensure_table(conn, spec.table, spec.full_sql, params)
    if created:
        conn.execute(f"delete from {LOG_TABLE} where state = ?", [spec.name])

