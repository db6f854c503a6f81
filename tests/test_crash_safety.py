"""kill -9 in the middle of a partition write leaves the previous state of the day, never half of it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from lifecycle_pipeline.landing_files import iso_utc, write_table_file

LOADER = """
import datetime as dt, sys
from pathlib import Path
import duckdb
from lifecycle_pipeline.contracts import SOURCES
from lifecycle_pipeline.loading import ensure_warehouse, load_partition
conn = duckdb.connect(sys.argv[1])
ensure_warehouse(conn, list(SOURCES.values()))
print("loading", flush=True)
load_partition(conn, SOURCES["events"], dt.date(2026, 3, 1), [Path(sys.argv[2])])
print("done", flush=True)
"""


def _events(path: Path, n: int, prefix: str) -> None:
    start = 1772323200  # 2026-03-01T00:00:00Z
    table = pa.table({
        "event_id": np.char.add(prefix, np.arange(n).astype(str)),
        "customer_id": np.full(n, "C1"),
        "occurred_at": iso_utc(start + np.arange(n) % 86_400),
        "event_type": np.full(n, "login"),
    })
    write_table_file(table, path, "csv")


def _load(db: Path, file: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", LOADER, str(db), str(file)], stdout=subprocess.PIPE, text=True)


def test_killed_load_keeps_the_previous_day_intact(tmp_path):
    db = tmp_path / "w.duckdb"
    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    _events(small, 1_000, "OLD")
    _events(big, 3_000_000, "NEW")
    assert _load(db, small).wait(timeout=120) == 0

    killed_mid_write = 0
    for delay in (0.8, 1.5, 2.5):  # kill at several points of the load
        proc = _load(db, big)
        assert proc.stdout.readline().strip() == "loading"
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            killed_mid_write += 1
        proc.wait(timeout=60)
        with duckdb.connect(str(db), read_only=True) as conn:
            rows, prefixes = conn.execute(
                "select count(*), list(distinct left(event_id, 3)) from raw.events where _partition_date = '2026-03-01'"
            ).fetchall()[0]
            loads = conn.execute("select rows_read from quality.landing_loads where source = 'events'").fetchall()
        assert (rows, prefixes, loads) in [(1_000, ["OLD"], [(1_000,)]), (3_000_000, ["NEW"], [(3_000_000,)])]
    assert killed_mid_write >= 1
