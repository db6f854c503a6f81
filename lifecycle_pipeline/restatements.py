"""Restated landing days: a corrected file re-landed for an old day makes every later computed day stale.

A day's scores, stages, outreach and uplift read every earlier day (lifetime orders, stage
spells, contact history). When a run re-loads day D with different rows while later days
were already computed, those later days are stale until they are recomputed: one range run
from D through the latest day (``lifecycle-pipeline backfill --start D``) rebuilds them
exactly as a from-scratch rebuild would (tests/test_restatement.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from lifecycle_pipeline.daily_tables import table_exists

# the latest day any derived table was computed for: what a restatement makes stale
COMPUTED_DAYS_TABLE = "scoring.customer_features"


def day_digests(conn: duckdb.DuckDBPyConnection, table: str, days: list[dt.date]) -> dict[dt.date, str]:
    """An order-independent digest of each day's rows of ``table`` (a raw table keyed by ``_partition_date``)."""
    rows = conn.execute(
        f"select _partition_date, md5(string_agg(h, '' order by h)) from ("
        f"select _partition_date, md5(t::varchar) as h from (select * exclude (_source_file, _source_row) "
        f"from {table} where _partition_date between ? and ?) as t) group by 1",
        [min(days), max(days)],
    ).fetchall()
    return {day: digest for day, digest in rows}


@dataclass(frozen=True)
class Restatement:
    changed_days: list[dt.date]  # days of the run whose rows differ from what later days were computed on
    stale_from: dt.date  # first computed day after the run that is now stale
    stale_through: dt.date  # latest computed day

    @property
    def command(self) -> str:
        return f"lifecycle-pipeline backfill --start {min(self.changed_days)} --end {self.stale_through}"


def find_restatement(
    conn: duckdb.DuckDBPyConnection, days: list[dt.date], before: dict[dt.date, str], after: dict[dt.date, str]
) -> Restatement | None:
    """The later days a run made stale: days whose rows changed (that had rows before), while derived days
    after the run's last day exist."""
    changed = sorted(d for d in days if d in before and before[d] != after.get(d))
    if not changed or not table_exists(conn, COMPUTED_DAYS_TABLE):
        return None
    (latest,) = conn.execute(f"select max(as_of_date) from {COMPUTED_DAYS_TABLE}").fetchall()[0]
    if latest is None or latest <= max(days):
        return None
    return Restatement(changed, max(days) + dt.timedelta(days=1), latest)
