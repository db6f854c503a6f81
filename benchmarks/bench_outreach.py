"""Benchmark: one outreach day (candidates + guards, rendering, exports, list and history) for N customers.

    .venv/bin/python benchmarks/bench_outreach.py --customers 1000000

Builds synthetic customers, suppressions and the day's stage/score rows directly in a
temporary DuckDB file (random stages, warning tiers and consent), then runs the built-in
playbook for two consecutive days with the function the asset runs, so the second day
reads a day of contact history (frequency cap, cooldowns). Prints seconds per phase.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import duckdb

import lifecycle_pipeline.outreach.lists as lists
from lifecycle_pipeline.contracts import SOURCES
from lifecycle_pipeline.loading import ensure_clean_tables, ensure_warehouse
from lifecycle_pipeline.outreach.loader import DEFAULT_TEMPLATES, load_playbook
from lifecycle_pipeline.outreach.rendering import Renderer

DAY = dt.date(2026, 3, 2)

_SETUP = """
insert into clean.customers (customer_id, signup_at, first_name, last_name, email, phone, email_opt_in, sms_opt_in,
                             _partition_date, _source_file, _source_row)
select 'C' || i, timestamptz '2025-01-01 00:00:00+00', 'Name' || (i % 1000), 'Family', 'c' || i || '@example.com',
       case when i % 5 < 3 then '+1555' || lpad((i % 10000000)::varchar, 7, '0') end,
       i % 10 < 8, i % 5 < 2, date '2025-01-01', 'bench', i
from range($n) t(i);

insert into clean.suppressions (customer_id, email, reason, suppressed_at, _partition_date, _source_file, _source_row)
select null, 'c' || i || '@example.com', 'unsubscribe', timestamptz '2025-06-01 00:00:00+00', date '2025-06-01', 'b', i
from range(0, $n, 50) t(i);

create schema if not exists lifecycle;
create schema if not exists scoring;
create table lifecycle.customer_stage_daily as
select d::date as as_of_date, 'C' || i as customer_id,
       ['prospect','new','active','loyal','advocate','reactivated','at_risk','dormant','churned'][1 + (hash(i) % 9)::int]
           as stage,
       case when hash(i, d) % 20 = 0 then 'active' end as previous_stage,
       (hash(i) % 60)::integer as days_in_stage, (1 + hash(i) % 6)::bigint as orders_lifetime,
       'hibernating' as rfm_segment, 'stable' as health_band,
       case when hash(i, 7) % 10 = 0 then (1 + hash(i) % 3)::integer end as warning_tier
from range($n) t(i), (values ($day::date), ($day::date + 1)) days(d);

create table scoring.customer_features as
select as_of_date, customer_id, 400 as days_since_signup, 'books' as favourite_category,
       123.45::decimal(18, 2) as revenue_lifetime, 100::bigint as recency_days
from lifecycle.customer_stage_daily;

create table scoring.health_scores as
select as_of_date, customer_id, 61.5::double as health_score from lifecycle.customer_stage_daily;
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench_outreach_"))
    conn = duckdb.connect(str(root / "warehouse.duckdb"))
    conn.execute("set TimeZone = 'UTC'")
    ensure_warehouse(conn, list(SOURCES.values()))
    ensure_clean_tables(conn, list(SOURCES.values()))
    started = time.perf_counter()
    for statement in _SETUP.split(";\n"):
        if statement.strip():
            params = {k: v for k, v in {"n": args.customers, "day": DAY}.items() if f"${k}" in statement}
            conn.execute(statement, params or None)
    print(f"setup {args.customers:,} customers: {time.perf_counter() - started:.1f} s")

    playbook, renderer = load_playbook(), Renderer(DEFAULT_TEMPLATES)
    timings: dict[str, float] = {}
    original = renderer.render

    def timed_render(campaign, context):
        t = time.perf_counter()
        try:
            return original(campaign, context)
        finally:
            timings["render"] = timings.get("render", 0.0) + time.perf_counter() - t

    renderer.render = timed_render
    for day in (DAY, DAY + dt.timedelta(days=1)):
        timings.clear()
        started = time.perf_counter()
        summary = lists.build_outreach_day(conn, day, "UTC", playbook, renderer, root / "exports")
        total = time.perf_counter() - started
        candidates = conn.execute("select count(*) from outreach.outreach_list where as_of_date = ?",
                                  [day]).fetchall()[0][0]
        print(f"{day}: {total:.1f} s total, of which rendering {timings.get('render', 0):.1f} s; "
              f"{candidates:,} candidate rows, {summary.count('contacted'):,} contacted, "
              f"{summary.count('holdout'):,} held out, {summary.count('excluded'):,} excluded")
    print(f"files under {root}")


if __name__ == "__main__":
    main()
