"""Benchmark: one outreach day (candidates + guards, rendering, exports, list and history) for N customers.

    .venv/bin/python benchmarks/bench_outreach.py --customers 1000000
    .venv/bin/python benchmarks/bench_outreach.py --warehouse data/bench/L/warehouse.duckdb --day 2026-11-25

Builds synthetic customers, suppressions and the day's stage/score rows directly in a
temporary DuckDB file (random stages, warning tiers and consent), then runs the built-in
playbook for two consecutive days with the function the asset runs, so the second day
reads a day of contact history (frequency cap, cooldowns); first names have a long tail and
offer codes are unique, as in a real base. With ``--warehouse`` it re-runs one day on a copy
of an existing warehouse instead (the L benchmark's first outreach day: its cold day). Prints
seconds, rendering seconds, row counts and the peak RSS.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from lifecycle_pipeline.contracts import SOURCES
from lifecycle_pipeline.loading import ensure_clean_tables, ensure_warehouse
from lifecycle_pipeline.outreach import lists
from lifecycle_pipeline.outreach.loader import DEFAULT_TEMPLATES, load_playbook
from lifecycle_pipeline.outreach.rendering import Renderer

DAY = dt.date(2026, 3, 2)

_SETUP = """
insert into clean.customers (customer_id, signup_at, first_name, last_name, email, phone, email_opt_in, sms_opt_in,
                             _partition_date, _source_file, _source_row)
-- first names with a long tail, as in a real customer base: 80 % share 1,000 common names, the rest
-- come from 50,000 rare ones (rendering reuses a message only for customers with the same values)
select 'C' || i, timestamptz '2025-01-01 00:00:00+00',
       case when hash(i, 1) % 10 < 8 then 'Name' || (hash(i, 2) % 1000) else 'Rare' || (hash(i, 3) % 50000) end,
       'Family', 'c' || i || '@example.com',
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
       case when hash(i, 7) % 10 = 0 then (1 + hash(i) % 3)::integer end as warning_tier,
       (hash(i, 8) % 1000) / 1000.0 as p_alive
from range($n) t(i), (values ($day::date), ($day::date + 1)) days(d);

create table scoring.customer_features as
select as_of_date, customer_id, 400 as days_since_signup,
       ['books', 'garden', 'kitchen', 'toys', 'sports', 'beauty', 'music', null][(1 + hash(customer_id) % 8)::bigint]
           as favourite_category,
       123.45::decimal(18, 2) as revenue_lifetime, (hash(customer_id, 9) % 400)::bigint as recency_days
from lifecycle.customer_stage_daily;

create table scoring.customer_clv_predicted as
select as_of_date, customer_id, p_alive, (hash(customer_id, 10) % 50000) / 100.0 as expected_value_12m
from lifecycle.customer_stage_daily;

create table scoring.health_scores as
select as_of_date, customer_id, 61.5::double as health_score from lifecycle.customer_stage_daily;
"""


def _synthetic(customers: int, root: Path) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(str(root / "warehouse.duckdb"))
    conn.execute("set TimeZone = 'UTC'")
    ensure_warehouse(conn, list(SOURCES.values()))
    ensure_clean_tables(conn, list(SOURCES.values()))
    started = time.perf_counter()
    for statement in _SETUP.split(";\n"):
        if statement.strip():
            params = {k: v for k, v in {"n": customers, "day": DAY}.items() if f"${k}" in statement}
            conn.execute(statement, params or None)
    print(f"setup {customers:,} customers: {time.perf_counter() - started:.1f} s")
    return conn


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--warehouse", type=Path,
                        help="re-run --day on a copy of this warehouse instead (e.g. the L benchmark's "
                             "data/bench/L/warehouse.duckdb; its first outreach day is the cold day)")
    parser.add_argument("--day", type=dt.date.fromisoformat, help="the day to re-run (with --warehouse)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench_outreach_"))
    if args.warehouse:
        shutil.copy(args.warehouse, root / "warehouse.duckdb")
        conn = duckdb.connect(str(root / "warehouse.duckdb"))
        conn.execute("set TimeZone = 'UTC'")
        days = [args.day]
    else:
        conn = _synthetic(args.customers, root)
        days = [DAY, DAY + dt.timedelta(days=1)]

    playbook, renderer = load_playbook(), Renderer(DEFAULT_TEMPLATES)
    timings: dict[str, float] = {}
    original = renderer.render_columns

    def timed_render(campaign, columns):
        t = time.perf_counter()
        try:
            return original(campaign, columns)
        finally:
            timings["render"] = timings.get("render", 0.0) + time.perf_counter() - t

    renderer.render_columns = timed_render
    for day in days:
        timings.clear()
        started = time.perf_counter()
        summary = lists.build_outreach_day(conn, day, "UTC", playbook, renderer, root / "exports")
        total = time.perf_counter() - started
        candidates = conn.execute("select count(*) from outreach.outreach_list where as_of_date = ?",
                                  [day]).fetchall()[0][0]
        print(f"{day}: {total:.1f} s total, of which rendering {timings.get('render', 0):.1f} s; "
              f"{candidates:,} candidate rows, {summary.count('contacted'):,} contacted, "
              f"{summary.count('holdout'):,} held out, {summary.count('excluded'):,} excluded; "
              f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")
    print(f"files under {root}")


if __name__ == "__main__":
    main()
