"""Benchmark: load + validate + clean one landing day of N events (default 1M).

    .venv/bin/python benchmarks/bench_validation.py --events 1000000

Writes a customers day and an events day (CSV) into a temporary landing root, then
times each stage with the same functions the assets run. Prints seconds per stage.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from lifecycle_pipeline.contracts import SOURCES
from lifecycle_pipeline.gx_runner import SuiteRunner
from lifecycle_pipeline.landing_files import iso_utc, write_table_file
from lifecycle_pipeline.loading import ensure_warehouse, load_partition
from lifecycle_pipeline.quality_rules import QualitySettings
from lifecycle_pipeline.validation import validate_days

DAY = dt.date(2026, 3, 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    root = Path(tempfile.mkdtemp(prefix="bench_validation_"))
    start = int(dt.datetime(2026, 3, 2, tzinfo=dt.UTC).timestamp())
    ids = np.char.add("C", np.arange(args.customers).astype(str))
    write_table_file(pa.table({"customer_id": ids, "signup_at": iso_utc(np.full(args.customers, start))}),
                     root / "landing" / "customers" / DAY.isoformat() / "customers.csv", "csv")
    events = pa.table({
        "event_id": np.char.add("E", np.arange(args.events).astype(str)),
        "customer_id": ids[rng.integers(0, args.customers, args.events)],
        "occurred_at": iso_utc(start + rng.integers(0, 86_400, args.events)),
        "event_type": np.array(["login", "page_view", "core_feature_use"])[rng.integers(0, 3, args.events)],
    })
    write_table_file(events, root / "landing" / "events" / DAY.isoformat() / "events.csv", "csv")

    conn = duckdb.connect(str(root / "bench.duckdb"))
    conn.execute("set TimeZone = 'UTC'")
    ensure_warehouse(conn, list(SOURCES.values()))
    timings = {}
    t = time.perf_counter()
    load_partition(conn, SOURCES["customers"], DAY, [root / "landing" / "customers" / DAY.isoformat() / "customers.csv"])
    load_partition(conn, SOURCES["events"], DAY, [root / "landing" / "events" / DAY.isoformat() / "events.csv"])
    timings["load CSV -> raw (customers + events)"] = time.perf_counter() - t
    t = time.perf_counter()
    runner = SuiteRunner(root / "data_docs")
    timings["GX context + suite setup"] = time.perf_counter() - t
    t = time.perf_counter()
    result = validate_days(conn, SOURCES["events"], [DAY], QualitySettings(), runner)
    timings[f"validate {args.events:,} events (frame SQL + GX suite + quarantine)"] = time.perf_counter() - t
    t = time.perf_counter()
    runner.build_docs()
    timings["Data Docs page"] = time.perf_counter() - t
    failed = [o.rule.name for o in result.days[0].outcomes if not o.passed]
    for stage, seconds in timings.items():
        print(f"{stage:<70} {seconds:6.2f} s")
    print(f"checks failed: {failed or 'none'}; rows validated: {result.days[0].rows_validated:,}")


if __name__ == "__main__":
    main()
