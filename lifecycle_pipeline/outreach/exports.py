"""Per-campaign CSV exports for CRM / ESP upload, published atomically per day.

A day's files are written into a hidden temporary folder beside the export root, flushed to
disk, and the folder is then renamed to ``<root>/<YYYY-MM-DD>/``. An uploader therefore sees
either the previous complete set of a day or the new complete set, never a half-written
file; a campaign that has no contacts on a re-run loses its old file. Every active campaign
gets a file (header only when nobody is contacted), and ``manifest.json`` lists the files
with their row counts and SHA-256. The bytes depend only on the rows, so re-running a day
produces identical files. Cells that a spreadsheet would evaluate as a formula (``=HYPERLINK(…)``
in a first name) are neutralised with a leading apostrophe (OWASP's CSV-injection advice).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import uuid
from pathlib import Path

EXPORT_COLUMNS = (
    "as_of_date", "campaign", "channel", "customer_id", "first_name", "last_name", "address",
    "offer_code", "offer_expires", "subject", "body_text", "body_html", "playbook_version",
)
MANIFEST = "manifest.json"


def _file_name(campaign: str) -> str:
    return f"{campaign}.csv"


def relative_name(day: dt.date, campaign: str) -> str:
    """A campaign's export file of a day, relative to the export root: ``YYYY-MM-DD/<campaign>.csv``."""
    return f"{day.isoformat()}/{_file_name(campaign)}"


# A cell a spreadsheet would run as a formula (OWASP, CSV injection): it starts with = @ tab or
# CR, or with + or - and is not a plain number or phone number (+44 20 7946 0958, -12.5).
_FORMULA_START = re.compile(r"^[=@\t\r]|^[+-](?![0-9 ().\-/]*$)")


def neutralise_formula(text: str) -> str:
    """``text`` safe to open in a spreadsheet: a formula-like cell gets a leading apostrophe."""
    return "'" + text if _FORMULA_START.search(text) else text


def _csv_bytes(rows: list[dict]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else neutralise_formula(str(row[c])) for c in EXPORT_COLUMNS])
    return buffer.getvalue().encode("utf-8")


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def prepare_day(root: Path | str, day: dt.date, rows_by_campaign: dict[str, list[dict]], playbook_version: str) -> Path:
    """Write the day's files into a new temporary folder under ``root``; returns it (``publish_day`` moves it)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".{day.isoformat()}.tmp-{uuid.uuid4().hex}"
    staging.mkdir()
    files = []
    for campaign in sorted(rows_by_campaign):
        rows = rows_by_campaign[campaign]
        data = _csv_bytes(rows)
        _write(staging / _file_name(campaign), data)
        files.append({"file": _file_name(campaign), "campaign": campaign, "rows": len(rows),
                      "sha256": hashlib.sha256(data).hexdigest()})
    manifest = {"as_of_date": day.isoformat(), "playbook_version": playbook_version, "files": files}
    _write(staging / MANIFEST, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8"))
    return staging


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
