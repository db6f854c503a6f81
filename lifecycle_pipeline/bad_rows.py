"""Inject known-bad rows into one landing day, to exercise data-quality rules.

Each kind damages the day's landing file of one source in a way a real feed does, and
reports exactly which rows (or, for malformed lines, which file lines) it touched, so
tests can assert each one is caught. The report is also written next to the landing
data as ``_injected/<day>.json``.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from lifecycle_pipeline.landing_files import write_table_file


def _landing_file(root: Path, source: str, day: dt.date) -> Path:
    folder = root / source / day.isoformat()
    found = sorted(p for p in folder.glob("*") if p.is_file() and not p.name.startswith((".", "_")))
    if not found:
        raise FileNotFoundError(f"no {source} landing file for {day} under {folder}")
    return found[0]


def _read(path: Path) -> pa.Table:
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        return table.cast(pa.schema([(f.name, pa.string()) for f in table.schema]))
    with open(path, encoding="utf-8", newline="") as handle:
        names = next(csv.reader(handle))
    types = {c: pa.string() for c in names}
    return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=True))


def _write(table: pa.Table, path: Path) -> None:
    write_table_file(table, path, "parquet" if path.suffix == ".parquet" else "csv")


def _set(table: pa.Table, column: str, rows: np.ndarray, value) -> pa.Table:
    values = table.column(column).to_pylist()
    for r in rows:
        values[r] = value(values[r]) if callable(value) else value
    return table.set_column(table.schema.get_field_index(column), column, pa.array(values, type=pa.string()))


def _pick(table: pa.Table, rng: np.random.Generator, k: int, where: Callable[[dict], bool] | None = None) -> np.ndarray:
    rows = np.arange(table.num_rows)
    if where is not None:
        records = table.to_pylist()
        rows = np.array([i for i, r in enumerate(records) if where(r)], dtype=int)
    return np.sort(rng.choice(rows, size=min(k, len(rows)), replace=False)) if len(rows) else rows


def _shift_day(value: str | None, days: int) -> str | None:
    if value is None:
        return None
    ts = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (ts + dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


# kind -> (source, function(table, rng) -> (table, affected keys/notes))
def _nulls(t, rng):
    rows = _pick(t, rng, 3)
    return _set(t, "customer_id", rows, None), {"column": "customer_id", "rows": rows.tolist()}


def _duplicates(t, rng):
    rows = _pick(t, rng, 2)
    return pa.concat_tables([t, t.take(pa.array(rows))]), {"order_ids": t.column("order_id").take(pa.array(rows)).to_pylist()}


def _orphans(t, rng):
    rows = _pick(t, rng, 3)
    return _set(t, "customer_id", rows, lambda _: "C_UNKNOWN_" + str(rng.integers(1e6))), {"rows": rows.tolist()}


def _negative_amounts(t, rng):
    rows = _pick(t, rng, 2, lambda r: r["status"] == "completed")
    return _set(t, "amount", rows, lambda v: "-" + v), {"rows": rows.tolist()}


def _out_of_day(t, rng):
    """One row ten days early (beyond any late tolerance), one two days ahead."""
    rows = _pick(t, rng, 2)
    shifts = dict(zip(rows.tolist(), [-10, 2], strict=False))
    for column in ("ordered_at", "updated_at"):
        values = t.column(column).to_pylist()
        for r, days in shifts.items():
            values[r] = _shift_day(values[r], days)
        t = t.set_column(t.schema.get_field_index(column), column, pa.array(values, type=pa.string()))
    return t, {"rows": rows.tolist(), "shift_days": list(shifts.values())}


def _bad_enums(t, rng):
    rows = _pick(t, rng, 2)
    return _set(t, "status", rows, "shipped"), {"column": "status", "value": "shipped", "rows": rows.tolist()}


def _bad_event_types(t, rng):
    rows = _pick(t, rng, 2)
    return _set(t, "event_type", rows, "teleport"), {"column": "event_type", "value": "teleport", "rows": rows.tolist()}


def _nps_out_of_range(t, rng):
    rows = _pick(t, rng, 1)
    return _set(t, "score", rows, "11"), {"rows": rows.tolist(), "value": 11}


def _conflicting_duplicates(t, rng):
    """Two orders landing twice in the day with different amounts: every copy is quarantined."""
    rows = _pick(t, rng, 2)
    copies = _set(t.take(pa.array(rows)), "amount", np.arange(len(rows)), lambda v: f"{float(v or 0) + 1:.2f}")
    return pa.concat_tables([t, copies]), {"order_ids": t.column("order_id").take(pa.array(rows)).to_pylist()}


def _malformed_lines(path: Path, rng) -> dict:
    """One line with an unbalanced quote and one short line (a field cut off), edited in the CSV text."""
    if not path.name.endswith(".csv"):
        raise ValueError(f"malformed_lines needs a CSV landing file, not {path.name}")
    lines = path.read_text(encoding="utf-8").splitlines()
    quoted, short = (int(i) for i in np.sort(rng.choice(np.arange(1, len(lines)), size=2, replace=False)))
    fields = lines[quoted].split(",")
    lines[quoted] = ",".join([fields[0], '"' + fields[1].strip('"'), *fields[2:]])  # a quote that never closes
    lines[short] = lines[short].rsplit(",", 1)[0]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"lines": [quoted + 1, short + 1], "problems": ["unbalanced quote", "short row"]}


def _bad_emails(t, rng):
    rows = _pick(t, rng, 2, lambda r: r["email"] is not None)
    return _set(t, "email", rows, lambda v: v.replace("@", " at ")), {"rows": rows.tolist()}


def _bad_types(t, rng):
    rows = _pick(t, rng, 2)
    return _set(t, "amount", rows, "12,50 EUR"), {"column": "amount", "value": "12,50 EUR", "rows": rows.tolist()}


def _missing_column(t, rng):
    return t.drop_columns(["amount"]), {"dropped": "amount"}


def _empty_day(t, rng):
    return t.slice(0, 0), {"rows_before": t.num_rows}


def _volume_spike(t, rng):
    copies = []
    for i in range(1, 10):
        copy = t.set_column(0, "event_id", pa.array([f"{v}_spike{i}" for v in t.column("event_id").to_pylist()]))
        copies.append(copy)
    return pa.concat_tables([t, *copies]), {"factor": 10, "rows_before": t.num_rows}


KINDS: dict[str, tuple[str, Callable | None]] = {
    "nulls": ("orders", _nulls),
    "duplicates": ("orders", _duplicates),
    "conflicting_duplicates": ("orders", _conflicting_duplicates),
    "orphans": ("orders", _orphans),
    "negative_amounts": ("orders", _negative_amounts),
    "out_of_day": ("orders", _out_of_day),
    "bad_enums": ("orders", _bad_enums),
    "bad_event_types": ("events", _bad_event_types),
    "nps_out_of_range": ("nps_responses", _nps_out_of_range),
    "bad_emails": ("customers", _bad_emails),
    "bad_types": ("orders", _bad_types),
    "volume_spike": ("events", _volume_spike),
    "missing_column": ("orders", _missing_column),
    "malformed_lines": ("orders", _malformed_lines),
    "empty_day": ("events", _empty_day),
    "missing_file": ("marketing_spend", None),
}
"""Kinds that damage rows come first; the whole-file kinds last (they replace the file)."""
TEXT_KINDS = ("malformed_lines",)
"""Kinds that edit the file's text (the file no longer parses as a table afterwards, so they come late)."""


def inject(root: Path, day: dt.date, kinds: list[str] | None = None, seed: int = 42) -> dict[str, dict]:
    """Damage ``day``'s landing files with ``kinds`` (default: all); returns the report."""
    kinds = list(KINDS) if not kinds else kinds
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown bad-row kinds {unknown}; known: {', '.join(KINDS)}")
    rng = np.random.default_rng(seed)
    report: dict[str, dict] = {}
    for kind in sorted(kinds, key=list(KINDS).index):
        source, damage = KINDS[kind]
        path = _landing_file(root, source, day)
        if damage is None:
            path.unlink()
            report[kind] = {"source": source, "removed": str(path)}
            continue
        if kind in TEXT_KINDS:
            report[kind] = {"source": source, "file": str(path), **damage(path, rng)}
            continue
        table, details = damage(_read(path), rng)
        _write(table, path)
        report[kind] = {"source": source, "file": str(path), **details}
    manifest = root / "_injected" / f"{day.isoformat()}.json"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(json.dumps(report, indent=2, default=str))
    return report
