"""Per-campaign CSV exports for CRM / ESP upload, published atomically per day.

A day's files are written into a hidden temporary folder beside the export root, flushed to
disk, and the folder is then renamed to ``<root>/<YYYY-MM-DD>/``. An uploader therefore sees
either the previous complete set of a day or the new complete set, never a half-written
file; a campaign that has no contacts on a re-run loses its old file. Every active campaign
gets a file (header only when nobody is contacted), and ``manifest.json`` lists the files
with their row counts and SHA-256. DuckDB writes the files (``COPY``), a campaign at a time as
soon as its messages are rendered. The bytes depend only on the rows, so re-running a day
produces identical files. Cells that a spreadsheet would evaluate as a formula (``=HYPERLINK(…)``
in a first name) are neutralised with a leading apostrophe (OWASP's CSV-injection advice).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path

import duckdb
import pyarrow as pa

from lifecycle_pipeline import sql
from lifecycle_pipeline.db import quote_ident

EXPORT_COLUMNS = (
    "as_of_date", "campaign", "channel", "customer_id", "first_name", "last_name", "address",
    "offer_code", "offer_expires", "subject", "body_text", "body_html", "playbook_version",
)
MANIFEST = "manifest.json"
SOURCE = "outreach_export"  # the name a campaign's rows are registered under while written


def _file_name(campaign: str) -> str:
    return f"{campaign}.csv"


def relative_name(day: dt.date, campaign: str) -> str:
    """A campaign's export file of a day, relative to the export root: ``YYYY-MM-DD/<campaign>.csv``."""
    return f"{day.isoformat()}/{_file_name(campaign)}"


# the source's name and the columns come from code; the path is bound. No ORDER BY: DuckDB keeps
# a scanned table's row order (preserve_insertion_order), and sorting wide rows is slow
_COPY = (f"copy (select {', '.join(f'export_cell({quote_ident(c)}) as {quote_ident(c)}' for c in EXPORT_COLUMNS)} "
         f"from {SOURCE}) to $path (format csv, header, delimiter ',', quote '\"', escape '\"')")


def _fsync_and_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
        os.fsync(handle.fileno())
    return digest.hexdigest()


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def start_day(root: Path | str, day: dt.date) -> Path:
    """A new temporary folder for the day's files under ``root`` (``publish_day`` moves it into place)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".{day.isoformat()}.tmp-{uuid.uuid4().hex}"
    staging.mkdir()
    return staging


def write_campaign(conn: duckdb.DuckDBPyConnection, staging: Path, campaign: str, rows: pa.Table) -> dict:
    """Write ``campaign``'s file into ``staging``; returns its manifest entry (file, campaign, rows, sha256).

    ``rows`` (at least ``EXPORT_COLUMNS``, in the file's order: customers by id) are written by
    DuckDB (``COPY``; a header only when nobody is contacted) with every cell passed through
    ``export_cell`` (``sql/outreach/export_cell.sql``).
    """
    conn.execute(sql.load("outreach/export_cell"))
    path = staging / _file_name(campaign)
    conn.register(SOURCE, rows)
    try:
        (written,) = conn.execute(_COPY, {"path": str(path)}).fetchone()
    finally:
        conn.unregister(SOURCE)
    return {"file": _file_name(campaign), "campaign": campaign, "rows": written, "sha256": _fsync_and_hash(path)}


def write_manifest(staging: Path, day: dt.date, files: list[dict], playbook_version: str) -> None:
    """``manifest.json``: the day, the playbook version and every file's entry (in campaign order)."""
    manifest = {"as_of_date": day.isoformat(), "playbook_version": playbook_version, "files": files}
    _write(staging / MANIFEST, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8"))


def publish_day(staging: Path, root: Path | str, day: dt.date) -> Path:
    """Replace ``<root>/<day>/`` with the prepared folder (two renames; the old set is removed afterwards)."""
    root = Path(root)
    final = root / day.isoformat()
    retired = None
    if final.exists():
        retired = root / f".{day.isoformat()}.old-{uuid.uuid4().hex}"
        os.replace(final, retired)
    os.replace(staging, final)
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)
    return final


def discard(staging: Path) -> None:
    """Remove a prepared folder that will not be published."""
    shutil.rmtree(staging, ignore_errors=True)


def remove_leftovers(root: Path | str, day: dt.date) -> None:
    """Clean up after a run of ``day`` that was killed: a run killed between ``publish_day``'s two renames
    left no day folder and the previous set aside as ``.DAY.old-*``, which is put back; every other
    temporary folder of the day is removed."""
    root = Path(root)
    if not root.is_dir():
        return
    final = root / day.isoformat()
    retired = sorted(root.glob(f".{day.isoformat()}.old-*"))
    if not final.exists() and retired:
        os.replace(retired[-1], final)  # the previous complete set is visible again
    for leftover in root.glob(f".{day.isoformat()}.*"):
        shutil.rmtree(leftover, ignore_errors=True)
