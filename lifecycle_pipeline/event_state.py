"""Per-customer event state (``scoring.customer_event_state``), a running state (``customer_state.py``).

Activity over the trailing 365 days of events: events and active days in the recent window
and the baseline before it, referrals, the last event and "aha" action, the last two active
days and each core feature's last use. A day's state is the day before's moved on by one day:
the events that became visible today are added, and the events of the window-edge days are
moved to the next window or dropped, so a day reads the day's events and three edge days
instead of a year of events.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from lifecycle_pipeline import sql
from lifecycle_pipeline.customer_state import StateSpec
from lifecycle_pipeline.db import bind, execute_file
from lifecycle_pipeline.rule_settings import ScoringSettings

STATE_TABLE = "scoring.customer_event_state"
EVENT_WINDOW_DAYS = 365  # customer_features.sql looks at a year of events


def _supports(settings: ScoringSettings) -> bool:
    # the recent window, its baseline and the adoption window lie inside the year of events
    return (settings.recent_days + settings.baseline_days <= EVENT_WINDOW_DAYS
            and settings.adoption_days <= EVENT_WINDOW_DAYS and settings.recent_days > 0)


def _update(conn: duckdb.DuckDBPyConnection, params: dict) -> int:
    """Add the day's new events and move the window edges; returns how many customers had new events."""
    execute_file(conn, "scoring/event_state_changes", params)
    as_of = params["as_of"]
    edges = {as_of - dt.timedelta(days=n) for n in (
        params["recent_days"], params["recent_days"] + params["baseline_days"], EVENT_WINDOW_DAYS)}
    new_days = {row[0] for row in conn.execute("select distinct event_date from new_events").fetchall()}
    known = sql.load("scoring/known_event_days")
    for day in sorted(edges | new_days):  # one day's range of the events table each (zone maps skip the rest)
        conn.execute(known, bind(known, {**params, "day": day}))
    statement = f"insert into {STATE_TABLE} {sql.load('scoring/customer_event_state_delta')}"
    conn.execute(statement, bind(statement, params))
    (changed,) = conn.execute("select count(distinct customer_id) from new_events").fetchall()[0]
    for table in ("new_events", "known_event_days"):
        conn.execute(f"drop table if exists temp.{table}")
    return changed


EVENT_STATE = StateSpec(
    name="events",
    table=STATE_TABLE,
    source="events",
    settings=("recent_days", "baseline_days", "adoption_days", "aha_event_types"),
    full_sql=sql.load("scoring/customer_event_state"),
    update=_update,
    supports=_supports,
)
