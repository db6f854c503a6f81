"""Writing landing files: ``<root>/<source>/<YYYY-MM-DD>/<name>.<csv|parquet>``.

Shared by the sample generator and the real-data importer. Each day's file is written
to a hidden temporary name and renamed into place, so ingestion never sees half a file.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

FORMATS = ("csv", "parquet")


def write_table_file(table: pa.Table, path: Path, fmt: str) -> None:
    """Write ``table`` to ``path`` atomically (temp file in the same folder + rename)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown landing format {fmt!r}; use one of {', '.join(FORMATS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    if fmt == "csv":
        pacsv.write_csv(table, tmp, pacsv.WriteOptions(include_header=True, quoting_style="needed"))
    else:
        pq.write_table(table, tmp)
    os.replace(tmp, path)


def write_landing_days(
    table: pa.Table,
    day_index: np.ndarray,
    days: list[dt.date],
    source: str,
    root: Path,
    fmt: str = "csv",
    file_stem: str | None = None,
    write_empty_days: bool = True,
) -> int:
    """Split ``table`` by ``day_index`` (position in ``days``) into one file per day.

    Existing landing files of a written day are replaced (the writer owns the day
    folders it writes). Days with no rows get a header-only file when
    ``write_empty_days`` (the file arrived, it just has no rows). Returns files written.
    """
    order = np.argsort(day_index, kind="stable")
    table = table.take(pa.array(order))
    sorted_days = day_index[order]
    bounds = np.searchsorted(sorted_days, np.arange(len(days) + 1), side="left")
    name = f"{file_stem or source}.{fmt}"
    written = 0
    for i, day in enumerate(days):
        lo, hi = int(bounds[i]), int(bounds[i + 1])
        if hi == lo and not write_empty_days:
            continue
        folder = root / source / day.isoformat()
        if folder.is_dir():
            for old in folder.iterdir():
                if old.is_file() and not old.name.startswith((".", "_")) and old.name != name:
                    old.unlink()
        write_table_file(table.slice(lo, hi - lo), folder / name, fmt)
        written += 1
    return written


def iso_utc(epoch_seconds: np.ndarray) -> np.ndarray:
    """ISO-8601 UTC strings (``2026-03-01T04:30:00Z``) for epoch seconds; NaN/-1 -> None."""
    secs = np.asarray(epoch_seconds)
    valid = secs >= 0
    out = np.full(secs.shape, None, dtype=object)
    out[valid] = np.datetime_as_string(secs[valid].astype("datetime64[s]"), unit="s", timezone="UTC")
    return out
