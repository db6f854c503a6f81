"""kill -9 in the middle of scoring, stages, outreach or publish, then a re-run: every table, export and
published BI view equals an uninterrupted run, compared by content hash.

One sample history (10 days) is materialized once and fingerprinted: every table of the warehouse's
derived schemas (``table_fingerprints``), the export tree (``tree_fingerprint``) and what a BI tool
sees through ``bi/lifecycle_bi.duckdb`` (rows and MD5 per view and day; not the file names, which
carry the publish id). Each test restores that data folder, re-materializes the last 5 days of one
layer with ``dagster.materialize`` and the real resources in another process, kills it with SIGKILL
while it writes, several times, then runs the same range to completion in-process.

Where the kills land: the killed process wraps the layer's write points — the ``transaction``
context managers (after the body: the day's delete and insert done, not committed), the export
swap and its renames, the BI publish's data files and manifest switch — and counts each pass. A
kill at ``spot#n`` is delivered at the n-th pass of that point (the process sends itself SIGKILL:
deterministically inside an open transaction or between two renames); a kill at ``spot#n`` with a
delay is sent by the test that long after the pass, at whatever the run is doing then. After every
kill the state must already be consistent: the tables identical to the reference (the same inputs
give the same rows, so a day holds its old or its new, equal, rows; a half-applied day shows as a
count or hash difference), every visible export day folder complete (identical), the BI views
identical. After the re-run everything is identical and no temporary folder is left.

Each killed process is started one kill ahead (during the reference build, then during the previous
kill's checks), so that its ~2 s of imports mostly overlap other work.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from lifecycle_pipeline.db import quote_ident
from lifecycle_pipeline.fingerprint import table_fingerprints, tree_fingerprint
from lifecycle_pipeline.publish import BI_FILE, TMP_DIR
from lifecycle_pipeline.settings import ProjectSettings
from tests.helpers import materialize, materialize_sample_range

START, RERUN_START, END = "2026-02-01", "2026-02-06", "2026-02-10"
DERIVED = ("raw", "clean", "scoring", "lifecycle", "outreach")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
LEFTOVER = re.compile(r"\.\d{4}-\d{2}-\d{2}\.(tmp|old)-[0-9a-f]{32}")

# One re-run to be killed. Imports Dagster and the project (~2 s) and prints `ready`, then reads one job
# (JSON) from stdin: wraps the job's write points ("module:attribute"; `transaction`: just before the
# commit; `os.replace`: each rename in that module; else: just before the call), prints
# `point <spot>#<n>` at each pass and re-materializes the job's keys for start..end with the real
# resources of build_definitions. At the pass `kill_at` (if given) it sends itself SIGKILL.
RUNNER = """
import collections, contextlib, importlib, json, os, signal, sys
import dagster
from lifecycle_pipeline.definitions import build_definitions
from lifecycle_pipeline.settings import ProjectSettings
from tests.helpers import materialize

instance = dagster.DagsterInstance.ephemeral()
print("ready", flush=True)
line = sys.stdin.readline()
if not line:
    sys.exit(0)  # not needed after all
job = json.loads(line)
passes = collections.Counter()


def point(label):
    passes[label] += 1
    print(f"point {label}#{passes[label]}", flush=True)
    if f"{label}#{passes[label]}" == job["kill_at"]:
        os.kill(os.getpid(), signal.SIGKILL)


def before_commit(cm, label):
    @contextlib.contextmanager
    def wrapped(*args, **kwargs):
        with cm(*args, **kwargs) as value:
            yield value
            point(label)
    return wrapped


def before_call(fn, label):
    def wrapped(*args, **kwargs):
        point(label)
        return fn(*args, **kwargs)
    return wrapped


class Os:
    def __getattr__(self, name):
        return getattr(os, name)


for spot in job["spots"]:
    module_name, attr = spot.split(":")
    module = importlib.import_module(module_name)
    if attr == "os.replace":
        module.os = Os()
        module.os.replace = before_call(os.replace, spot)
    elif attr == "transaction":
        module.transaction = before_commit(module.transaction, spot)
    else:
        setattr(module, attr, before_call(getattr(module, attr), spot))
settings = ProjectSettings.for_data_dir(job["data_dir"], start_date="2026-01-01", export_window_days=None)
result = materialize(build_definitions(settings), job["keys"], instance=instance, tags={
    "dagster/asset_partition_range_start": job["start"], "dagster/asset_partition_range_end": job["end"]})
sys.exit(0 if result.success else 3)
"""


class _Run:
    """A RUNNER process, started ahead so that its imports overlap the previous kill's checks."""

    def __init__(self, log: Path):
        self.log = log
        with open(log, "a") as err:
            self.proc = subprocess.Popen([sys.executable, "-c", RUNNER], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=err, text=True, cwd=PROJECT_ROOT)

    def kill(self, data_dir: Path, keys: list[str], spots: list[str], at: str, delay: float | None = None):
        """Re-materialize ``keys`` for RERUN_START..END and SIGKILL the process at the write point pass ``at``
        (``spot#n``), or ``delay`` seconds after it. Returns (it was killed while running, the last pass)."""
        hung = threading.Event()
        watchdog = threading.Timer(120, lambda: (hung.set(), self.proc.kill()))
        watchdog.start()
        try:
            assert self.proc.stdout.readline().strip() == "ready", f"the runner did not start; log: {self.log}"
            job = {"data_dir": str(data_dir), "start": RERUN_START, "end": END, "keys": keys, "spots": spots,
                   "kill_at": at if delay is None else None}
            self.proc.stdin.write(json.dumps(job) + "\n")
            self.proc.stdin.flush()
            lines = []
            for line in self.proc.stdout:
                lines.append(line.strip())
                if delay is not None and lines[-1] == f"point {at}":
                    time.sleep(delay)
                    if self.proc.poll() is None:  # not yet reaped: still our child
                        self.proc.send_signal(signal.SIGKILL)
                    break
            lines += self.proc.stdout.read().splitlines()
            code = self.proc.wait(timeout=60)
        finally:
            watchdog.cancel()
            self.close()
        assert not hung.is_set(), f"the run hung for 120 s: {lines[-3:]}; log: {self.log}"
        points = [line.removeprefix("point ") for line in lines if line.startswith("point ")]
        assert code in (-signal.SIGKILL, 0), f"the run failed (exit {code}) before the kill; log: {self.log}"
        assert at in points, f"the run ended before {at}: {points[-3:]}; log: {self.log}"
        return code == -signal.SIGKILL, points[-1]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()  # an unused runner exits on end of input
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        for stream in (self.proc.stdin, self.proc.stdout):
            if not stream.closed:
                stream.close()


@dataclass
class Reference:
    settings: ProjectSettings
    defs: dg.Definitions
    snapshot: Path  # a pristine copy of the data folder
    fingerprint: dict
    log: Path
    spare: _Run | None = None  # the next run, already importing

    def next_run(self) -> _Run:
        run, self.spare = self.spare, _Run(self.log)
        return run


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    root = tmp_path_factory.mktemp("kill_safety")
    spare = _Run(root / "runner.log")  # imports while the reference is built
    try:
        settings, defs, _keys, result = materialize_sample_range(
            root / "run", START, END, customers=400, seed=7, export_window_days=None)
        assert result.success
        snapshot = root / "snapshot"
        shutil.copytree(settings.data_dir, snapshot, ignore=shutil.ignore_patterns("data_docs"))  # GX's pages
        fingerprint = _fingerprints(settings)
        assert len(fingerprint["export_days"]) == 10 and fingerprint["bi"]["bi.publish_status"] != []
        ref = Reference(settings, defs, snapshot, fingerprint, root / "runner.log", spare)
        yield ref
        spare = ref.spare
    finally:
        spare.close()


# --- fingerprints -------------------------------------------------------------------------------------


def _fingerprints(settings: ProjectSettings) -> dict:
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as conn:
        tables = table_fingerprints(conn, schemas=DERIVED)
        day_counts = _day_counts(conn)
    return {"tables": tables, "day_counts": day_counts, "exports": tree_fingerprint(settings.outreach_export_dir),
            "export_days": _export_days(settings.outreach_export_dir), "bi": _bi_fingerprint(settings.bi_dir)}


def _day_counts(conn: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Rows per day of every day-partitioned table (``as_of_date`` or ``_partition_date``)."""
    columns = conn.execute(
        "select schema_name, table_name, column_name from duckdb_columns() "
        "where column_name in ('as_of_date', '_partition_date') and schema_name in "
        f"({', '.join(repr(s) for s in DERIVED)}) and table_name in "
        "(select table_name from duckdb_tables() where not internal and not temporary) order by 1, 2"
    ).fetchall()
    return {f"{schema}.{table}": conn.execute(
        f"select {column}, count(*) from {quote_ident(schema)}.{quote_ident(table)} group by 1 order by 1"
    ).fetchall() for schema, table, column in columns}


def _export_days(root: Path) -> dict[str, tuple[int, str]]:
    """Fingerprint of every visible day folder of the export tree."""
    return {p.name: tree_fingerprint(p) for p in sorted(root.iterdir()) if p.is_dir() and not p.name.startswith(".")}


def _bi_fingerprint(bi_dir: Path) -> dict[str, list[tuple]]:
    """What a BI tool sees through the BI file (read-only): rows and MD5 of every view per day, and the status."""
    with duckdb.connect(str(bi_dir / BI_FILE), read_only=True) as conn:
        views = conn.execute("select schema_name, view_name from duckdb_views() where not internal "
                             "and schema_name <> 'bi' order by 1, 2").fetchall()
        result = {}
        for schema, view in views:
            name = f"{quote_ident(schema)}.{quote_ident(view)}"
            daily = "as_of_date" in [r[0] for r in conn.execute(f"describe {name}").fetchall()]
            day = "as_of_date" if daily else "null"
            result[f"{schema}.{view}"] = conn.execute(
                f"select {day} as day, count(*), md5(string_agg(h, '' order by h)) "
                f"from (select {day}, md5(t::varchar) as h from {name} as t) group by 1 order by 1").fetchall()
        result["bi.published_days"] = conn.execute(
            "select as_of_date, tables_published, complete, rows from bi.published_days order by 1").fetchall()
        result["bi.publish_status"] = conn.execute(
            "select published_through, days_published, first_day, last_day from bi.publish_status").fetchall()
    return result


# --- one layer: kill, check, re-run, compare -----------------------------------------------------------


def _restore(ref: Reference) -> None:
    shutil.rmtree(ref.settings.data_dir)
    shutil.copytree(ref.snapshot, ref.settings.data_dir)


def _assert_consistent(ref: Reference, what: str, bi: bool) -> None:
    """The state a kill left: tables and BI views as in the reference; every export day whole."""
    settings, expected = ref.settings, ref.fingerprint
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as conn:
        day_counts = _day_counts(conn)
        tables = table_fingerprints(conn, schemas=DERIVED)
    wrong_days = {t: (rows, expected["day_counts"].get(t)) for t, rows in day_counts.items()
                  if rows != expected["day_counts"].get(t)}
    assert not wrong_days, f"{what}: rows per day differ from the uninterrupted run (now, expected): {wrong_days}"
    assert tables == expected["tables"], f"{what}: table contents differ: " + str(
        sorted(t for t in set(tables) | set(expected["tables"]) if tables.get(t) != expected["tables"].get(t)))

    root = settings.outreach_export_dir
    hidden = [p for p in root.iterdir() if p.name.startswith(".")]
    assert all(LEFTOVER.fullmatch(p.name) and p.is_dir() for p in hidden), f"{what}: unexpected {hidden}"
    visible = _export_days(root)
    assert set(visible) <= set(expected["export_days"]), f"{what}: unexpected export folders"
    for day, files in expected["export_days"].items():
        if day in visible:
            assert visible[day] == files, f"{what}: export folder {day} is not the complete set"
        # else tolerated (the swap is two renames, not one atomic exchange): killed between them, the day has
        # no folder and its previous set is aside in .DAY.old-*; the next run of the day puts it back first
        # (exports.remove_leftovers), so a second kill before that run's own swap still leaves the old set
    if bi:
        assert _bi_fingerprint(settings.bi_dir) == expected["bi"], f"{what}: the BI views show other rows"


def _kill_then_rerun(ref: Reference, layer: str, spots: list[str], kills: list[tuple]) -> None:
    """Restore the reference, kill a re-run of ``layer``'s last 5 days at each of ``kills`` ((spot#n,) or
    (spot#n, delay)), checking the state after each, then re-run them to completion: everything must
    equal the reference."""
    _restore(ref)
    keys = [k.to_user_string() for a in ref.defs.assets for k in a.keys if k.path[0] == layer]
    for kill in kills:
        killed, where = ref.next_run().kill(ref.settings.data_dir, keys, spots, *kill)
        print(f"{layer}: kill at {kill}: {'killed' if killed else 'came after the end'}; last point passed: {where}")
        # a kill at a point always hits the running process; a timed one may come too late on a fast machine
        assert killed or len(kill) == 2
        _assert_consistent(ref, f"after the kill at {kill} (last point passed: {where})", bi=layer == "bi")

    rerun = materialize(ref.defs, keys, tags={"dagster/asset_partition_range_start": RERUN_START,
                                              "dagster/asset_partition_range_end": END})
    assert rerun.success
    assert _fingerprints(ref.settings) == ref.fingerprint
    assert [p.name for p in ref.settings.outreach_export_dir.iterdir() if p.name.startswith(".")] == []
    bi_tmp = ref.settings.bi_dir / TMP_DIR
    assert not bi_tmp.exists() or list(bi_tmp.iterdir()) == []


SCORE_TX = "lifecycle_pipeline.daily_tables:transaction"  # replace_day: one (table, day) of scores, KPIs, uplift
STAGE_TX = "lifecycle_pipeline.stages:transaction"  # the stage tables of every day of the run
LIST_TX = "lifecycle_pipeline.outreach.lists:transaction"  # a day's outreach list and contact history
EXPORT_SWAP = "lifecycle_pipeline.outreach.exports:publish_day"  # list committed, export files staged
EXPORT_RENAME = "lifecycle_pipeline.outreach.exports:os.replace"  # the swap: old folder aside, new one in
BI_PART = "lifecycle_pipeline.publish:_write_part"  # one (table, day) Parquet file, renamed into data/
BI_SWITCH = "lifecycle_pipeline.publish:_write_manifest"  # every data file in place, no manifest yet
BI_FILE_CHECK = "lifecycle_pipeline.publish:_ensure_bi_file"  # the new manifest is current


def test_killed_scoring_rerun_equals_the_uninterrupted_run(reference):
    # 7 assets x 5 days, a transaction each: inside the 8th (the second asset's third day); then anywhere
    _kill_then_rerun(reference, "scoring", [SCORE_TX], [(f"{SCORE_TX}#8",), (f"{SCORE_TX}#1", 0.4)])


def test_killed_stages_rerun_equals_the_uninterrupted_run(reference):
    # inside the stage transaction (5 days written, history and transitions rebuilt); then in the KPI loop
    _kill_then_rerun(reference, "lifecycle", [STAGE_TX, SCORE_TX], [(f"{STAGE_TX}#1",), (f"{SCORE_TX}#2", 0.05)])


def test_killed_outreach_rerun_equals_the_uninterrupted_run(reference):
    # the third day: inside its transaction; committed, files staged; between the swap's two renames; then anywhere
    _kill_then_rerun(reference, "outreach", [LIST_TX, EXPORT_SWAP, EXPORT_RENAME, SCORE_TX],
                     [(f"{LIST_TX}#3",), (f"{EXPORT_SWAP}#3",), (f"{EXPORT_RENAME}#6",), (f"{LIST_TX}#2", 0.1)])


def test_killed_publish_rerun_equals_the_uninterrupted_run(reference):
    # every data file renamed into place, no manifest yet; the new manifest written; then among the data files
    _kill_then_rerun(reference, "bi", [BI_PART, BI_SWITCH, BI_FILE_CHECK],
                     [(f"{BI_SWITCH}#1",), (f"{BI_FILE_CHECK}#1",), (f"{BI_PART}#20", 0.1)])
