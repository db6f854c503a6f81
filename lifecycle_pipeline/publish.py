"""The read-only serving layer for BI tools: the BI tables as Parquet, manifests and a DuckDB file of views.

DuckDB allows one read-write process per database file or many read-only ones, never both:
a BI tool holding ``warehouse.duckdb`` open, even read-only, makes every pipeline run fail
on the file lock. BI tools therefore read a separate, published layer under the BI folder
(``LIFECYCLE_BI_DIR``, default ``<data dir>/bi``), which the pipeline writes after the final
assets of a day (``assets/publish.py``) and never opens as a database itself::

    lifecycle_bi.duckdb              views only; open it read-only (same schema.table names and comments)
    lifecycle_bi.ddl.sha256          hash of the views' DDL: the file is rebuilt only when that changes
    manifest/<publish_id>.parquet    one per publish: for every (table, as_of_date) the publish_id that is
                                     current; the views use the newest one
    state.json                       the publisher's bookkeeping (when each old file was superseded)
    data/<schema>/<table>/as_of_date=YYYY-MM-DD/<publish_id>.parquet   one day of a daily table
    data/lifecycle/stage_history/<publish_id>.parquet                  the whole stage history (spells)

Pure functions, no Dagster. What readers can rely on, and why the files are never rewritten:

- DuckDB lists a glob when a query starts and opens each file later, possibly several times
  (footer, then row groups, from several threads). Measured here with DuckDB 2.0: replacing
  a Parquet file at the same path (even by an atomic ``os.replace``) while a query reads it
  fails that query ("Invalid data", "Prefetch registered for bytes outside file"); deleting
  a listed file fails it too ("Cannot open file"); adding files at new paths never did.
- So every file is written under ``tmp/`` and renamed to a path that never existed: data
  files and manifests are named by the publish (``<publish_id>.parquet``) and never rewritten.
  Each row carries the ``_publish_id`` of its file; the views show a row only if that is the
  id the newest manifest names for its (table, day). Data files land first, the manifest last:
  a day being (re)published is invisible until then, and a query sees each day of a table
  whole (one version) or not at all.
- A superseded file (and manifest) stays for the grace period, so a query that started with
  the previous manifest finds every file it needs; after that it is deleted. The one
  remaining race: a query that lists a table's folder at the very moment an expired file is
  deleted fails with "Cannot open file" (never wrong rows; running it again works).
- ``lifecycle_bi.duckdb`` holds only views with absolute paths, so it changes only when the
  dictionary or the BI folder changes; it is then built under ``tmp/`` and renamed into place.
  Readers that hold the old file keep working (a DuckDB database file is read through the
  handle opened at connect).

The cost of publishing a day grows with that day's rows: each table is copied with
``COPY (select … where as_of_date = $day) TO … (FORMAT parquet, COMPRESSION zstd)``. Two
things are not per day: ``lifecycle.stage_history`` (spells per customer) is written whole on
every publish, and re-running a past day republishes, for the later days already published,
the tables the stage rebuild rewrites from that day onwards (``REBUILT_ONWARDS``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from lifecycle_pipeline import sql, stages
from lifecycle_pipeline.contracts import SOURCES
from lifecycle_pipeline.daily_tables import table_exists
from lifecycle_pipeline.db import bind, quote_ident
from lifecycle_pipeline.dictionary import TABLES, TableDoc, describe_columns

try:  # POSIX: one publisher at a time per BI folder
    import fcntl
except ImportError:  # pragma: no cover - Windows (os.replace over an open file fails there anyway)
    fcntl = None

BI_FILE = "lifecycle_bi.duckdb"  # not lifecycle.duckdb: a catalog named like the schema makes `lifecycle.x` ambiguous
DDL_HASH_FILE = "lifecycle_bi.ddl.sha256"
MANIFEST_DIR = "manifest"
STATE_FILE = "state.json"
LOCK_FILE = ".publish.lock"
DATA_DIR = "data"
TMP_DIR = "tmp"
PUBLISH_ID = "_publish_id"
FORMAT = "lifecycle-bi/1"  # part of the DDL hash: a new layout rebuilds the BI file
DEFAULT_GRACE = dt.timedelta(hours=6)
# Pause between the last data file landing and the new manifest. A query lists the data files and
# the manifests when it starts; if a new day's file appears between the two listings and the new
# manifest too, that query does not see the day (never a partial day). The pause makes that need a
# stall of this long between the two listings.
DEFAULT_SETTLE_SECONDS = 0.5
PUBLISHED_SCHEMAS = ("lifecycle", "scoring", "outreach")
# stages.build_stage_days rewrites these from the earliest day it writes onwards (previous stage,
# days in stage, transitions): re-running a past day changes later days of them too
REBUILT_ONWARDS = (stages.DAILY_TABLE, stages.TRANSITIONS_TABLE)
SCHEMAS = ("lifecycle", "scoring", "outreach", "quality", "bi")
_MANIFEST = re.compile(r"^(\d{10})-[0-9TZ]+-[0-9a-f]{8}\.parquet$")
_GLOB_CHARACTERS = set("*?[]{}")

QUALITY_SUMMARY = TableDoc(
    name="quality.daily_summary",
    grain="as_of_date x source (every source of the contracts, also on days nothing arrived)",
    description=(
        "Data quality of one landing day per source, for BI: files and rows read, loaded, quarantined at load "
        "and by validation (Great Expectations rules), rows in clean.<source>, and the rules that "
        "rejected rows. Published by the BI layer only (built from quality.landing_loads, quality.quarantine "
        "and clean.<source>); the rejected rows themselves stay in the warehouse's quality.quarantine."
    ),
    columns=(
        ("as_of_date", "DATE", "Landing day (partition) the figures are for."),
        ("source", "VARCHAR", "Landing source (customers, orders, events, ...)."),
        ("files", "INTEGER", "Landing files found for the day (0: nothing arrived; NULL: the day was not loaded)."),
        ("rows_read", "BIGINT", "Data rows in the day's landing files."),
        ("rows_loaded", "BIGINT", "Rows loaded into raw.<source> (those that could be typed)."),
        ("rows_quarantined_ingestion", "BIGINT",
         "Rows rejected at load: a value that did not cast, a malformed line or a bad encoding."),
        ("rows_quarantined_validation", "BIGINT", "Rows rejected by a critical validation rule."),
        ("rows_clean", "BIGINT", "Rows in clean.<source> for the day: what every downstream table read."),
        ("quarantine_rules", "VARCHAR[]", "Distinct rules that rejected rows of the day (empty: none)."),
        ("loaded_at", "TIMESTAMP WITH TIME ZONE", "When the day's landing files were loaded."),
    ),
    domain="Sources (one landing folder per source per day)",
    built_by=("sql/publish/quality_daily_summary.sql",),
    source="lifecycle_pipeline/publish.py",
)


class PublishError(RuntimeError):
    """The warehouse is not ready to publish the requested days, or the BI folder is unusable."""


@dataclass(frozen=True)
class ManifestEntry:
    table: str  # schema.table
    as_of_date: dt.date | None  # None: a whole (not day-partitioned) table
    publish_id: str
    file: str  # relative to the BI folder, '/'-separated
    rows: int
    bytes: int
    published_at: dt.datetime


@dataclass
class PublishResult:
    publish_id: str
    days: list[dt.date]
    later_days: list[dt.date]  # later published days whose REBUILT_ONWARDS tables were republished
    rows: dict[tuple[str, dt.date | None], int]
    files_written: int
    bytes_written: int
    published_through: dt.date | None
    bi_file: Path
    bi_file_rebuilt: bool
    files_deleted: int  # superseded files (and manifests) deleted after the grace period
    seconds: float

    def rows_of_day(self, day: dt.date) -> dict[str, int]:
        return {table: n for (table, d), n in sorted(self.rows.items()) if d == day}


@dataclass
class _State:
    superseded: dict[str, str] = field(default_factory=dict)  # file -> ISO time it stopped being current


# --- what is published --------------------------------------------------------------------------------


def daily_tables() -> list[TableDoc]:
    """Tables published one file per day: every ``as_of_date`` table of the dictionary in lifecycle, scoring
    and outreach, and the data-quality summary."""
    docs = [doc for doc in TABLES.values() if doc.name.split(".")[0] in PUBLISHED_SCHEMAS
            and "as_of_date" in doc.column_names() and not doc.internal_to]
    return [*sorted(docs, key=lambda d: d.name), QUALITY_SUMMARY]


def whole_tables() -> list[TableDoc]:
    """Tables published whole on every publish (not day-partitioned): ``lifecycle.stage_history``."""
    return sorted((doc for doc in TABLES.values() if doc.name.split(".")[0] in PUBLISHED_SCHEMAS
                   and "as_of_date" not in doc.column_names() and not doc.internal_to),
                  key=lambda d: d.name)


def bi_file(bi_dir: Path | str) -> Path:
    """The DuckDB file BI tools open (read-only)."""
    return _root(bi_dir) / BI_FILE


def _root(bi_dir: Path | str) -> Path:
    root = Path(bi_dir).resolve()
    if _GLOB_CHARACTERS & set(str(root)) or "'" in str(root):
        raise PublishError(f"BI folder {root}: its path must not contain any of * ? [ ] {{ }} ' "
                           "(the views read the Parquet files by glob pattern)")
    return root


def _table_dir(root: Path, table: str) -> Path:
    schema, name = table.split(".")
    return root / DATA_DIR / schema / name


def _folder(root: Path, table: str, day: dt.date | None) -> Path:
    return _table_dir(root, table) / f"as_of_date={day.isoformat()}" if day else _table_dir(root, table)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# --- publishing ---------------------------------------------------------------------------------------


def publish_days(
    conn: duckdb.DuckDBPyConnection,
    days: list[dt.date],
    bi_dir: Path | str,
    *,
    grace: dt.timedelta = DEFAULT_GRACE,
    now: dt.datetime | None = None,
    settle_seconds: float = DEFAULT_SETTLE_SECONDS,
    log: Callable[[str], None] | None = None,
    before_switch: Callable[[], None] | None = None,
) -> PublishResult:
    """Publish ``days`` of the BI tables from the warehouse connection ``conn`` into ``bi_dir``.

    ``now`` is the publish's clock (injected by tests); ``before_switch`` is called after the data
    files are in place and before the new manifest appears (tests check that nothing shows yet).
    Raises PublishError when a table is missing or a day was not computed (no lifecycle.kpis_daily row).
    """
    started = time.monotonic()
    days = sorted(set(days))
    if not days:
        raise PublishError("no days to publish")
    root = _root(bi_dir)
    now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    log = log or (lambda message: None)
    _check_warehouse(conn, days)
    with _locked(root):
        newest = _newest_manifest(root)
        sequence = int(_MANIFEST.match(newest.name).group(1)) + 1 if newest else 1
        # the sequence orders the manifests whatever the clock does; the time and a random part name them
        publish_id = f"{sequence:010d}-{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
        tmp = root / TMP_DIR / publish_id
        tmp.mkdir(parents=True)
        try:
            _remove_other_tmp(root, keep=tmp)
            manifest = read_manifest(root)
            later = sorted(d for (table, d) in manifest
                           if table == stages.DAILY_TABLE and d is not None and d > days[0] and d not in days)
            work = [(doc, day) for day in days for doc in daily_tables()]
            work += [(TABLES[name], day) for day in later for name in REBUILT_ONWARDS]
            work += [(doc, None) for doc in whole_tables()]
            written = {(doc.name, day): _write_part(conn, root, tmp, doc, day, publish_id, now) for doc, day in work}
            if later:
                log(f"republished {', '.join(REBUILT_ONWARDS)} for {len(later)} later days "
                    f"({later[0]}..{later[-1]}): the stage rebuild rewrote them")
            if settle_seconds > 0:
                time.sleep(settle_seconds)
            if before_switch is not None:
                before_switch()
            current = {**manifest, **written}
            through = published_through(current)
            _write_manifest(root, tmp, publish_id, current, through)  # the switch: a new file, the newest
            rebuilt = _ensure_bi_file(root, tmp)
            state = _load_state(root)
            deleted = _delete_expired(root, current, state, now, grace)
            _save_state(root, tmp, state)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    result = PublishResult(
        publish_id=publish_id, days=days, later_days=later,
        rows={key: entry.rows for key, entry in written.items()},
        files_written=len(written), bytes_written=sum(entry.bytes for entry in written.values()),
        published_through=through, bi_file=root / BI_FILE, bi_file_rebuilt=rebuilt, files_deleted=deleted,
        seconds=time.monotonic() - started,
    )
    log(f"published {len(days)} days ({days[0]}..{days[-1]}) as {publish_id}: {result.files_written} files, "
        f"{result.bytes_written:,} bytes in {result.seconds:.1f} s; published through {through}")
    return result


def _check_warehouse(conn: duckdb.DuckDBPyConnection, days: list[dt.date]) -> None:
    tables = [doc for doc in (*daily_tables(), *whole_tables()) if doc is not QUALITY_SUMMARY]
    needed = [doc.name for doc in tables] + ["quality.landing_loads", "quality.quarantine"]
    needed += [f"clean.{source}" for source in SOURCES]
    missing = [name for name in needed if not table_exists(conn, name)]
    if missing:
        raise PublishError(f"cannot publish {days[0]}..{days[-1]}: the warehouse has no {', '.join(missing)}; "
                           "materialize the pipeline for these days first")
    for doc in tables:
        expected = [(name, type_) for name, type_, _ in doc.columns]
        if describe_columns(conn, doc.name) != expected:
            raise PublishError(f"{doc.name} does not have the layout of its dictionary entry ({doc.source}); "
                               "rebuild it before publishing")
    computed = {row[0] for row in conn.execute(
        f"select distinct as_of_date from {stages.KPIS_TABLE} where as_of_date between ? and ?",
        [days[0], days[-1]]).fetchall()}
    not_computed = [d for d in days if d not in computed]
    if not_computed:
        shown = ", ".join(str(d) for d in not_computed[:5]) + (" ..." if len(not_computed) > 5 else "")
        raise PublishError(f"cannot publish {shown}: not computed (no {stages.KPIS_TABLE} row); "
                           "materialize the pipeline for these days first")


def _source_select(doc: TableDoc) -> str:
    """A select of ``doc``'s columns from the warehouse (for one ``$day`` if it is a daily table)."""
    if doc is QUALITY_SUMMARY:
        counts = "\n    union all\n    ".join(
            f"select {_literal(source)} as source, count(*) as rows_clean from clean.{quote_ident(source)} "
            "where _partition_date = $day" for source in SOURCES)
        return sql.load("publish/quality_daily_summary").strip().rstrip(";").format(clean_counts=counts)
    schema, name = doc.name.split(".")
    columns = ", ".join(quote_ident(c) for c in doc.column_names())
    where = " where as_of_date = $day" if "as_of_date" in doc.column_names() else ""
    return f"select {columns} from {quote_ident(schema)}.{quote_ident(name)}{where}"


def _write_part(conn, root: Path, tmp: Path, doc: TableDoc, day: dt.date | None, publish_id: str,
                now: dt.datetime) -> ManifestEntry:
    """COPY one (table, day) to a Parquet file under tmp/, then rename it to its new path in the data folder."""
    part = tmp / f"{doc.name}.{day.isoformat() if day else 'all'}.parquet"
    columns = ", ".join(quote_ident(c) for c in doc.column_names() if c != "as_of_date")  # the folder holds the day
    statement = (f"copy (select {columns}, $publish_id as {PUBLISH_ID} from ({_source_select(doc)}) as s) "
                 f"to {_literal(str(part))} (format parquet, compression zstd)")
    params = {"day": day, "publish_id": publish_id, "sources": list(SOURCES)}
    rows = conn.execute(statement, bind(statement, params)).fetchall()[0][0]
    _fsync(part)
    size = part.stat().st_size
    target = _folder(root, doc.name, day) / f"{publish_id}.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(part, target)
    return ManifestEntry(table=doc.name, as_of_date=day, publish_id=publish_id,
                         file=target.relative_to(root).as_posix(), rows=int(rows), bytes=size, published_at=now)


def published_through(manifest: dict[tuple[str, dt.date | None], ManifestEntry]) -> dt.date | None:
    """The latest day every daily table is published for."""
    names = {doc.name for doc in daily_tables()}
    tables_of_day: dict[dt.date, set[str]] = {}
    for table, day in manifest:
        if day is not None:
            tables_of_day.setdefault(day, set()).add(table)
    complete = [day for day, tables in tables_of_day.items() if names <= tables]
    return max(complete, default=None)


# --- the manifests and the bookkeeping ----------------------------------------------------------------


def _newest_manifest(root: Path) -> Path | None:
    folder = root / MANIFEST_DIR
    names = sorted(p.name for p in folder.iterdir() if _MANIFEST.match(p.name)) if folder.is_dir() else []
    return folder / names[-1] if names else None


def read_manifest(bi_dir: Path | str) -> dict[tuple[str, dt.date | None], ManifestEntry]:
    """The newest manifest: (table, as_of_date) -> entry (empty before the first publish)."""
    path = _newest_manifest(_root(bi_dir))
    if path is None:
        return {}
    with duckdb.connect() as mem:
        rows = mem.execute("select table_name, as_of_date, publish_id, file, rows, bytes, published_at "
                           "from read_parquet(?)", [str(path)]).fetchall()
    return {(r[0], r[1]): ManifestEntry(*r) for r in rows}


def _write_manifest(root: Path, tmp: Path, manifest_id: str, manifest: dict, through: dt.date | None) -> None:
    entries = sorted(manifest.values(), key=lambda e: (e.table, e.as_of_date or dt.date.min))
    table = pa.table({
        "manifest_id": pa.array([manifest_id] * len(entries), pa.string()),
        "table_name": pa.array([e.table for e in entries], pa.string()),
        "as_of_date": pa.array([e.as_of_date for e in entries], pa.date32()),
        "publish_id": pa.array([e.publish_id for e in entries], pa.string()),
        "file": pa.array([e.file for e in entries], pa.string()),
        "rows": pa.array([e.rows for e in entries], pa.int64()),
        "bytes": pa.array([e.bytes for e in entries], pa.int64()),
        "published_at": pa.array([e.published_at for e in entries], pa.timestamp("us", tz="UTC")),
        "published_through": pa.array([through] * len(entries), pa.date32()),
    })
    part = tmp / f"{manifest_id}.parquet"
    with duckdb.connect() as mem:
        mem.register("manifest_entries", table)
        mem.execute(f"copy (select * from manifest_entries) to {_literal(str(part))} (format parquet)")
    _fsync(part)
    (root / MANIFEST_DIR).mkdir(exist_ok=True)
    os.replace(part, root / MANIFEST_DIR / part.name)
    _fsync_dir(root / MANIFEST_DIR)


def _load_state(root: Path) -> _State:
    path = root / STATE_FILE
    if not path.exists():
        return _State()
    raw = json.loads(path.read_text(encoding="utf-8"))
    return _State(superseded=dict(raw.get("superseded", {})))


def _save_state(root: Path, tmp: Path, state: _State) -> None:
    text = json.dumps({"superseded": dict(sorted(state.superseded.items()))}, indent=1)
    _write_text(root / STATE_FILE, tmp, text + "\n")


def _delete_expired(root: Path, current: dict, state: _State, now: dt.datetime, grace: dt.timedelta) -> int:
    """Delete the data files and manifests superseded more than ``grace`` ago; returns how many.

    Current: the newest manifest and every file it names. Any other file not yet in the state
    (superseded by this publish, or left by one that stopped before its manifest) is superseded now.
    """
    keep = {entry.file for entry in current.values()}
    newest = _newest_manifest(root)
    keep.add(newest.relative_to(root).as_posix())
    found = []
    if (root / DATA_DIR).is_dir():
        found += [p for p in (root / DATA_DIR).rglob("*.parquet")]
    found += [p for p in (root / MANIFEST_DIR).iterdir() if p.suffix == ".parquet"]
    present = {p.relative_to(root).as_posix() for p in found}
    state.superseded = {f: t for f, t in state.superseded.items() if f in present and f not in keep}
    for relative in sorted(present - keep):
        state.superseded.setdefault(relative, now.isoformat())
    expired = sorted(f for f, t in state.superseded.items() if dt.datetime.fromisoformat(t) <= now - grace)
    for relative in expired:
        (root / relative).unlink(missing_ok=True)
        del state.superseded[relative]
    return len(expired)



def _remove_other_tmp(root: Path, keep: Path) -> None:
    """Leftovers of publishes that stopped early (only the lock holder writes under tmp/)."""
    for path in (root / TMP_DIR).iterdir():
        if path == keep:
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


@contextmanager
def _locked(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with open(root / LOCK_FILE, "a+") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _write_text(target: Path, tmp: Path, text: str) -> None:
    part = tmp / target.name
    part.write_text(text, encoding="utf-8")
    _fsync(part)
    os.replace(part, target)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        _fsync(path)
    except OSError:  # pragma: no cover - platforms without directory fsync
        pass


# --- the DuckDB file of views -------------------------------------------------------------------------


def bi_ddl(bi_dir: Path | str) -> list[str]:
    """Every statement of the BI file: schemas, one view per published table (and the ``*_current``
    views), the ``bi`` status views, and the dictionary's descriptions as ``COMMENT ON``."""
    root = _root(bi_dir)
    manifests = _literal(str(root / MANIFEST_DIR / "*.parquet"))
    statements = [f"create schema {schema}" for schema in SCHEMAS]
    docs = {doc.name: doc for doc in (*daily_tables(), *whole_tables())}

    def view(name: str, doc: TableDoc, current_only: bool = False) -> str:
        columns = ",\n    ".join(f"cast(d.{quote_ident(c)} as {t}) as {quote_ident(c)}" for c, t, _ in doc.columns)
        daily = "as_of_date" in doc.column_names()
        folder = _table_dir(root, doc.name)
        return sql.load("publish/daily_table_view" if daily else "publish/whole_table_view").format(
            view=_qualified(name), columns=columns, manifests=manifests, table=_literal(doc.name),
            files=_literal(str(folder / "*" / "*.parquet") if daily else str(folder / "*.parquet")),
            current_only=" and as_of_date = published_through" if current_only else "",
        ).strip()

    for name, doc in docs.items():
        statements.append(view(name, doc))
        statements += _comments(name, doc.summary(), doc)
    for name, table in stages.CURRENT_VIEWS.items():
        doc = docs[table]
        statements.append(view(name, doc, current_only=True))
        statements += _comments(name, f"The latest published day (bi.publish_status.published_through) of {table}. "
                                      f"{doc.summary()}", doc)
    status = sql.load("publish/status_views").format(manifests=manifests, daily_tables=len(daily_tables()))
    statements += [s.strip() for s in status.split(";\n") if s.strip()]
    status_comments = {
        "bi.manifest": "The newest manifest of the published BI layer: for every table and as_of_date (NULL: a "
                       "whole table) the publish_id whose file is current, with its rows and bytes.",
        "bi.published_days": "One row per published day: how many of the daily tables are published for it "
                             "(complete: all of them), their rows and the latest publish.",
        "bi.publish_status": "One row: published_through (the latest day with every daily table published; the "
                             "*_current views show it), days published and the newest manifest.",
    }
    statements += [f"comment on view {target} is {_literal(text)}" for target, text in status_comments.items()]
    return statements


def _qualified(name: str) -> str:
    return ".".join(quote_ident(part) for part in name.split("."))


def _comments(view: str, summary: str, doc: TableDoc) -> list[str]:
    target = _qualified(view)
    return [f"comment on view {target} is {_literal(summary)}"] + [
        f"comment on column {target}.{quote_ident(c)} is {_literal(meaning)}" for c, _t, meaning in doc.columns]


def ddl_hash(statements: list[str]) -> str:
    return hashlib.sha256("\n;\n".join([FORMAT, *statements]).encode("utf-8")).hexdigest()


def _ensure_bi_file(root: Path, tmp: Path) -> bool:
    """Build the BI file (views only) if its DDL changed; returns whether it was rebuilt."""
    statements = bi_ddl(root)
    digest = ddl_hash(statements)
    target, stored = root / BI_FILE, root / DDL_HASH_FILE
    if target.exists() and stored.exists() and stored.read_text(encoding="utf-8").strip() == digest:
        return False
    build = tmp / BI_FILE
    with duckdb.connect(str(build)) as conn:
        for statement in statements:
            conn.execute(statement)
        conn.execute("checkpoint")
    _fsync(build)
    os.replace(build, target)
    _fsync_dir(root)
    _write_text(stored, tmp, digest + "\n")
    return True


# --- reading it back (CLI, tests) ---------------------------------------------------------------------


def check_bi_file(path: Path | str) -> dict:
    """Open the BI file read-only: published_through and, per view, total rows and rows of that day."""
    with duckdb.connect(str(path), read_only=True) as conn:
        status = conn.execute("select published_through, days_published, manifest_id from bi.publish_status"
                              ).fetchall()[0]
        through = status[0]
        counts = {}
        for doc in (*daily_tables(), *whole_tables()):
            target = _qualified(doc.name)
            if "as_of_date" in doc.column_names():
                total, latest = conn.execute(
                    f"select count(*), count(*) filter (where as_of_date = ?) from {target}", [through]).fetchall()[0]
            else:
                total, latest = conn.execute(f"select count(*) from {target}").fetchall()[0][0], None
            counts[doc.name] = (total, latest)
    return {"published_through": through, "days_published": status[1], "manifest_id": status[2],
            "rows": counts}
