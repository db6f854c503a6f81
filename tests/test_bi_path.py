"""The BI serving layer (lifecycle_pipeline/publish.py, assets/publish.py): published days read back through
``lifecycle_bi.duckdb`` exactly as the warehouse has them, republishing, the grace period, the manifest
switch, and BI readers in other processes that never block the pipeline and only ever see whole days.

Real DuckDB files, real Parquet, real processes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from lifecycle_pipeline import publish, scoring
from lifecycle_pipeline.clv import ClvSettings, compute_clv_predicted
from lifecycle_pipeline.clv_calibration import compute_clv_calibration
from lifecycle_pipeline.dictionary import EXAMPLE_QUERIES, describe_columns
from lifecycle_pipeline.dictionary import TABLES as ALL_TABLES
from lifecycle_pipeline.outreach.lists import build_outreach_day
from lifecycle_pipeline.outreach.loader import DEFAULT_TEMPLATES, load_playbook
from lifecycle_pipeline.outreach.rendering import Renderer
from lifecycle_pipeline.outreach.uplift import compute_uplift
from lifecycle_pipeline.settings import ProjectSettings, SettingsError, load_settings
from lifecycle_pipeline.stages import (
    CURRENT_VIEWS,
    StageSettings,
    build_stage_days,
    compute_kpis,
)
from tests.builders import add_customer, add_order, at, new_warehouse
from tests.scenarios import score_days

# the published tables: every dictionary entry but the scoring states (working tables of an asset)
TABLES = {name: doc for name, doc in ALL_TABLES.items() if not doc.internal_to}

D0 = dt.date(2026, 3, 1)
DAYS = [D0 + dt.timedelta(days=i) for i in range(5)]
T0 = dt.datetime(2026, 3, 6, 3, 0, tzinfo=dt.timezone.utc)
GRACE = dt.timedelta(hours=6)
BIN = Path(sys.executable).parent


def compute_days(conn, days, export_root: Path) -> None:
    """Everything the publish reads, for ``days``, by the same functions the assets run."""
    settings, book, clv_settings = scoring.ScoringSettings(), load_playbook(), ClvSettings(min_repeat_buyers=5)
    for day in days:
        score_days(conn, [day])
        scoring.compute_ltv(conn, day, settings)
        compute_clv_predicted(conn, day, clv_settings, settings.gross_margin, StageSettings())
        scoring.compute_channel_economics(conn, day, settings)
    compute_clv_calibration(conn, days[-1], clv_settings)
    build_stage_days(conn, days, StageSettings())
    for day in days:
        compute_kpis(conn, day, "UTC", StageSettings())
        build_outreach_day(conn, day, "UTC", book, Renderer(DEFAULT_TEMPLATES), export_root, export=False)
        compute_uplift(conn, day, book)


@pytest.fixture
def warehouse(tmp_path):
    """A hand-built warehouse: 40 customers, their last orders spread over 200 days, every table for DAYS."""
    conn = new_warehouse(tmp_path / "warehouse.duckdb")
    for i in range(40):
        cid = f"C{i:02d}"
        add_customer(conn, cid, signup=at(D0 - dt.timedelta(days=300 - i)), email=f"{cid.lower()}@example.com",
                     email_opt_in=True, first_name=cid)
        for k in range(1 + i % 6):
            add_order(conn, f"{cid}-{k}", cid, at(D0 - dt.timedelta(days=5 * i + 20 * k)), amount=10 + i)
    compute_days(conn, DAYS, tmp_path / "exports")
    yield conn
    conn.close()


def cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "lifecycle-pipeline"), *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def published(bi_dir: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(publish.bi_file(bi_dir)), read_only=True)


def all_rows(conn, table: str) -> list[tuple]:
    return conn.execute(f"select * from {table} order by all").fetchall()


def day_folder_files(bi_dir: Path, table: str, day: dt.date) -> list[Path]:
    schema, name = table.split(".")
    return sorted((bi_dir / "data" / schema / name / f"as_of_date={day}").glob("*.parquet"))


def parquet_rows(path: Path) -> int:
    with duckdb.connect() as mem:
        return mem.execute("select count(*) from read_parquet(?)", [str(path)]).fetchall()[0][0]


def assert_bi_equals_warehouse(conn, bi_dir: Path) -> None:
    """Every published table has exactly the warehouse's rows (days published so far)."""
    through = publish.read_manifest(bi_dir)
    days = sorted({d for (_t, d) in through if d is not None})
    with published(bi_dir) as bi:
        for name, doc in TABLES.items():
            where = f" where as_of_date between '{days[0]}' and '{days[-1]}'" if "as_of_date" in \
                doc.column_names() else ""
            assert all_rows(bi, name) == all_rows(conn, name + where), name


# --- publishing and reading back ------------------------------------------------------------------------


def test_published_days_read_back_through_the_bi_file_as_the_warehouse_has_them(warehouse, tmp_path):
    bi_dir = tmp_path / "bi"
    first = publish.publish_days(warehouse, DAYS[:3], bi_dir, now=T0, settle_seconds=0)
    second = publish.publish_days(warehouse, DAYS[3:], bi_dir, now=T0 + dt.timedelta(hours=1), settle_seconds=0)

    assert first.bi_file_rebuilt and not second.bi_file_rebuilt  # views unchanged: readers keep their file
    assert second.published_through == DAYS[-1] and second.later_days == []
    assert first.rows[("lifecycle.customer_stage_daily", DAYS[2])] == 40
    assert_bi_equals_warehouse(warehouse, bi_dir)
    with published(bi_dir) as bi:
        # same names, column order and types as the dictionary; every view and column commented
        for name, doc in TABLES.items():
            assert describe_columns(bi, name) == [(c, t) for c, t, _ in doc.columns], name
        comments = dict(bi.execute(
            "select schema_name || '.' || view_name, comment from duckdb_views() where not internal").fetchall())
        assert set(comments) >= set(TABLES) | set(CURRENT_VIEWS) | {"quality.daily_summary", "bi.publish_status"}
        assert not set(comments) & (set(ALL_TABLES) - set(TABLES))  # the internal states are not published
        assert all(comments.values())
        column_comments = dict(bi.execute(
            "select schema_name || '.' || table_name || '.' || column_name, comment from duckdb_columns() "
            "where schema_name = 'lifecycle' and table_name = 'customer_stage_daily'").fetchall())
        stage_meaning = {c: m for c, _t, m in TABLES["lifecycle.customer_stage_daily"].columns}["stage"]
        assert column_comments["lifecycle.customer_stage_daily.stage"] == stage_meaning
        # *_current: the latest published day, as the warehouse's own views show it
        for view in CURRENT_VIEWS:
            assert all_rows(bi, view) == all_rows(warehouse, view), view
        assert {r[0] for r in bi.execute("select as_of_date from lifecycle.customer_stage_current").fetchall()} \
            == {DAYS[-1]}
        assert bi.execute("select published_through, days_published from bi.publish_status").fetchall() \
            == [(DAYS[-1], 5)]
        assert bi.execute("select count(*) from bi.published_days where complete").fetchall() == [(5,)]
        # the BI questions of the data dictionary run unchanged and answer as the warehouse does
        for question, query in EXAMPLE_QUERIES.items():
            assert bi.execute(query).fetchall() == warehouse.execute(query).fetchall(), question
        # the quality summary: one row per source and day
        assert bi.execute("select count(*), count(distinct source) from quality.daily_summary").fetchall() \
            == [(5 * 7, 7)]
        # the BI file holds views only: no table, and the only database it opens is itself
        assert bi.execute("select count(*) from duckdb_tables() where not internal").fetchall() == [(0,)]
        assert [r[0] for r in bi.execute("select path from duckdb_databases() where path is not null").fetchall()] \
            == [str(publish.bi_file(bi_dir))]
    # attached read-only into another session, under any name but lifecycle
    with duckdb.connect() as other:
        other.execute(f"attach '{publish.bi_file(bi_dir)}' as served (read_only)")
        assert other.execute("select count(*) from served.lifecycle.kpis_current").fetchall() == [(1,)]


def test_republishing_a_day_replaces_it_exactly_and_old_files_stay_for_the_grace_period(warehouse, tmp_path):
    bi_dir = tmp_path / "bi"
    publish.publish_days(warehouse, DAYS, bi_dir, now=T0, settle_seconds=0)
    bi_file_id = publish.bi_file(bi_dir).stat().st_ino

    # a late order for C05 on day 1: rerun day 1 (the stage rebuild rewrites the later days' history too)
    add_order(warehouse, "LATE", "C05", at(DAYS[1], "09:00:00"), amount=99)
    compute_days(warehouse, [DAYS[1]], tmp_path / "exports")
    t1 = T0 + dt.timedelta(hours=1)
    result = publish.publish_days(warehouse, [DAYS[1]], bi_dir, now=t1, settle_seconds=0)

    assert result.later_days == DAYS[2:]  # customer_stage_daily and transitions of the later days follow
    assert_bi_equals_warehouse(warehouse, bi_dir)  # no duplicates, no stale day
    assert publish.bi_file(bi_dir).stat().st_ino == bi_file_id  # views unchanged: the file was not replaced
    old, new = day_folder_files(bi_dir, "scoring.customer_features", DAYS[1])
    assert new.stem == result.publish_id and parquet_rows(old) == parquet_rows(new) == 40

    # the superseded file stays for the whole grace period, counted from when it was superseded (t1)
    publish.publish_days(warehouse, [DAYS[4]], bi_dir, now=t1 + GRACE - dt.timedelta(minutes=1), settle_seconds=0)
    assert old.exists()
    after = publish.publish_days(warehouse, [DAYS[4]], bi_dir, now=t1 + GRACE + dt.timedelta(minutes=1),
                                 settle_seconds=0)
    assert not old.exists() and new.exists() and after.files_deleted >= 1
    assert day_folder_files(bi_dir, "scoring.customer_features", DAYS[1]) == [new]
    # day 4: its first file was superseded 2 minutes ago, its second just now: both stay beside the current one
    assert len(day_folder_files(bi_dir, "scoring.customer_features", DAYS[4])) == 3
    # manifests: the first (superseded at t1) is gone, the two superseded since and the newest remain
    assert len(list((bi_dir / "manifest").glob("*.parquet"))) == 3
    # a file the newest manifest names is never deleted, however old
    publish.publish_days(warehouse, [DAYS[4]], bi_dir, now=T0 + 10 * GRACE, settle_seconds=0)
    assert day_folder_files(bi_dir, "scoring.customer_features", DAYS[0])[0].stem.startswith("0000000001-")
    assert_bi_equals_warehouse(warehouse, bi_dir)


def test_a_reader_holding_the_bi_file_keeps_working_when_its_views_are_rebuilt(warehouse, tmp_path, monkeypatch):
    bi_dir = tmp_path / "bi"
    publish.publish_days(warehouse, DAYS[:2], bi_dir, now=T0, settle_seconds=0)
    reader = published(bi_dir)
    before = reader.execute("select count(*) from lifecycle.customer_stage_daily").fetchall()
    ddl = publish.bi_ddl
    monkeypatch.setattr(publish, "bi_ddl", lambda root: [*ddl(root), "comment on view bi.manifest is 'changed'"])
    result = publish.publish_days(warehouse, DAYS[2:], bi_dir, now=T0 + dt.timedelta(hours=1), settle_seconds=0)
    assert result.bi_file_rebuilt
    # the old reader still answers (from its old file, over the new manifest: the new days show)
    assert reader.execute("select count(*) from lifecycle.customer_stage_daily").fetchall() == [(200,)] != before
    assert reader.execute("select comment from duckdb_views() where view_name = 'manifest'").fetchall() \
        != [("changed",)]
    reader.close()
    # a new connection (another process: this one caches the open database) sees the new file
    code = ("import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); "
            "print(c.execute(\"select comment from duckdb_views() where view_name = 'manifest'\").fetchall()[0][0])")
    out = subprocess.run([sys.executable, "-c", code, str(publish.bi_file(bi_dir))], capture_output=True, text=True,
                         timeout=60, check=False)
    assert out.stdout.strip() == "changed", out.stderr


def test_a_day_being_published_is_invisible_until_the_manifest_switches(warehouse, tmp_path):
    bi_dir = tmp_path / "bi"
    publish.publish_days(warehouse, DAYS[:3], bi_dir, now=T0, settle_seconds=0)
    with published(bi_dir) as bi:
        before = {name: all_rows(bi, name) for name in TABLES}
    seen = {}

    def check_nothing_changed_yet():
        # every new file is in place, the manifest is not switched yet
        assert len(day_folder_files(bi_dir, "lifecycle.customer_stage_daily", DAYS[3])) == 1
        with published(bi_dir) as bi:
            seen.update({name: all_rows(bi, name) for name in TABLES})
            seen["through"] = bi.execute("select published_through from bi.publish_status").fetchall()

    # day 3 is new, day 1 republished (its customer_features rows are the same, its files are new)
    publish.publish_days(warehouse, [DAYS[1], DAYS[3]], bi_dir, now=T0 + dt.timedelta(hours=1), settle_seconds=0,
                         before_switch=check_nothing_changed_yet)
    assert seen.pop("through") == [(DAYS[2],)]
    assert seen == before
    with published(bi_dir) as bi:
        assert bi.execute("select published_through from bi.publish_status").fetchall() == [(DAYS[3],)]


def test_a_day_that_was_not_computed_is_not_published(warehouse, tmp_path):
    bi_dir = tmp_path / "bi"
    with pytest.raises(publish.PublishError, match=r"cannot publish 2026-03-09: not computed"):
        publish.publish_days(warehouse, [dt.date(2026, 3, 9)], bi_dir, now=T0)
    assert not (bi_dir / publish.MANIFEST_DIR).exists()
    empty = new_warehouse(tmp_path / "empty.duckdb")
    with pytest.raises(publish.PublishError, match=r"the warehouse has no lifecycle\.customer_stage_daily"):
        publish.publish_days(empty, [DAYS[0]], bi_dir, now=T0)
    empty.close()


def test_cli_bi_path_prints_the_file_and_checks_it_read_only(warehouse, tmp_path):
    bi_dir = tmp_path / "bi"
    publish.publish_days(warehouse, DAYS, bi_dir, now=T0, settle_seconds=0)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIFECYCLE_", "DAGSTER_"))}
    env.update({"LIFECYCLE_DATA_DIR": str(tmp_path / "data"), "LIFECYCLE_BI_DIR": str(bi_dir)})
    run = cli(["bi-path"], env)
    assert run.returncode == 0 and run.stdout.strip() == str(bi_dir.resolve() / "lifecycle_bi.duckdb")
    # --check opens it read-only: works while this process holds a read-only connection too
    with published(bi_dir):
        check = cli(["bi-path", "--check"], env)
    assert check.returncode == 0, check.stderr
    assert f"published_through: {DAYS[-1]}" in check.stdout
    assert "lifecycle.customer_stage_daily" in check.stdout and "200" in check.stdout  # 40 customers x 5 days
    env["LIFECYCLE_BI_DIR"] = str(tmp_path / "nothing")
    missing = cli(["bi-path", "--check"], env)
    assert missing.returncode == 1 and "not published yet" in missing.stderr


def test_bi_settings_come_from_the_environment(tmp_path):
    assert load_settings({"LIFECYCLE_DATA_DIR": str(tmp_path)}).bi_dir == tmp_path / "bi"
    env = {"LIFECYCLE_DATA_DIR": str(tmp_path), "LIFECYCLE_BI_DIR": str(tmp_path / "served"),
           "LIFECYCLE_BI_GRACE_HOURS": "1.5"}
    settings = load_settings(env)
    assert (settings.bi_dir, settings.bi_grace_hours) == (tmp_path / "served", 1.5)
    with pytest.raises(SettingsError, match="LIFECYCLE_BI_GRACE_HOURS"):
        load_settings({**env, "LIFECYCLE_BI_GRACE_HOURS": "-1"})


def test_the_publish_asset_runs_last_in_the_daily_job(defs):
    key = dg.AssetKey(["bi", "published_days"])
    asset = defs.resolve_assets_def(key)
    final_tables = {dg.AssetKey(name.split(".")) for name in TABLES}
    clean = {k for a in defs.assets for k in a.keys if k.path[0] == "clean"}
    assert asset.asset_deps[key] == final_tables | clean
    assert asset.group_names_by_key[key] == "bi" and set(asset.specs_by_key[key].kinds) == {"duckdb", "parquet", "matplotlib"}
    assert asset.backfill_policy == dg.BackfillPolicy.single_run() and asset.op.pool == "duckdb_writer"
    job = defs.resolve_job_def("lifecycle_daily_job")
    assert "bi__published_days" in {n.name for n in job.graph.node_defs}


# --- BI readers in other processes while the pipeline runs ------------------------------------------------

READER = textwrap.dedent("""
    import json, os, sys, time
    import duckdb

    bi_file, stop_file, ready_file, out_file = sys.argv[1:5]
    conn = duckdb.connect(bi_file, read_only=True, config={"threads": 1})  # leave the cores to the pipeline
    opened = [r[0] for r in conn.execute("select path from duckdb_databases() where path is not null").fetchall()]
    queries, errors, seen, newest = 0, [], {}, set()
    deadline = time.monotonic() + 240
    while not os.path.exists(stop_file) and time.monotonic() < deadline:
        try:
            # one statement: rows per day of the stage table next to that day's KPI and stage counts
            rows = conn.execute('''
                with s as (select as_of_date, count(*) as n from lifecycle.customer_stage_daily group by all),
                     k as (select as_of_date, known_customers from lifecycle.kpis_daily),
                     c as (select as_of_date, sum(customers) as counted from lifecycle.stage_counts_daily group by all)
                select s.as_of_date::varchar, s.n, k.known_customers, c.counted
                from s left join k using (as_of_date) left join c using (as_of_date)
                order by 1''').fetchall()
            current = conn.execute('''select as_of_date::varchar, count(*) from lifecycle.customer_stage_current
                                      group by all''').fetchall()
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            continue
        queries += 1
        if queries == 1:
            open(ready_file, "w").close()
        for day, n, known, counted in rows:
            seen.setdefault(day, set()).add(n)
            if (known is not None and known != n) or (counted is not None and counted != n):
                errors.append(f"{day}: {n} stage rows but kpis {known}, stage counts {counted}")
        if rows:
            newest.add(rows[-1][0])
        for day, n in current:
            seen.setdefault("current " + day, set()).add(n)
        time.sleep(0.01)
    json.dump({"queries": queries, "errors": errors[:20], "error_count": len(errors), "opened": opened,
               "seen": {d: sorted(v) for d, v in seen.items()}, "newest": sorted(newest)}, open(out_file, "w"))
""")


def open_files(pid: int) -> set[str]:
    folder = Path(f"/proc/{pid}/fd")
    found = set()
    for fd in folder.iterdir() if folder.is_dir() else []:
        try:
            found.add(os.readlink(fd))
        except OSError:
            pass
    return found


def test_bi_readers_in_other_processes_never_block_the_pipeline_and_see_whole_days_only(tmp_path):
    from lifecycle_pipeline.definitions import build_definitions
    from lifecycle_pipeline.sample_data import generate, write_sample_data
    from tests.helpers import materialize

    first, last = dt.date(2026, 2, 1), dt.date(2026, 2, 4)
    settings = ProjectSettings.for_data_dir(tmp_path / "data", start_date="2026-01-01")
    write_sample_data(generate(200, first, last, seed=7), settings.landing_root)
    defs = build_definitions(settings)
    keys = [k.to_user_string() for a in defs.assets for k in a.keys]
    result = materialize(defs, keys, tags={"dagster/asset_partition_range_start": str(first),
                                           "dagster/asset_partition_range_end": str(last - dt.timedelta(days=1))})
    assert result.success
    bi_file = publish.bi_file(settings.bi_dir)
    publishes = [e.materialization for e in result.get_asset_materialization_events()
                 if e.materialization.asset_key == dg.AssetKey(["bi", "published_days"])]
    metadata = publishes[0].metadata
    assert (metadata["days"].value, metadata["published_through"].value) == (3, str(last - dt.timedelta(days=1)))
    assert metadata["bi_file"].value == str(bi_file) and metadata["bytes_written"].value > 0
    assert "lifecycle.customer_stage_daily" in metadata["rows_last_day"].value

    script = tmp_path / "reader.py"
    script.write_text(READER, encoding="utf-8")
    stop = tmp_path / "stop"
    readers = []
    for i in range(2):
        ready, out = tmp_path / f"ready{i}", tmp_path / f"reader{i}.json"
        process = subprocess.Popen([sys.executable, str(script), str(bi_file), str(stop), str(ready), str(out)])
        readers.append((process, ready, out))
    try:
        deadline = time.monotonic() + 60
        while not all(ready.exists() for _, ready, _ in readers):
            assert time.monotonic() < deadline and all(p.poll() is None for p, _, _ in readers), "readers did not start"
            time.sleep(0.1)
        # the readers hold the BI file open while one run writes the warehouse and publishes: two past days
        # again and a new one (the re-run days' later stage history is republished with them)
        rerun = materialize(defs, keys, tags={"dagster/asset_partition_range_start": str(first + dt.timedelta(days=1)),
                                              "dagster/asset_partition_range_end": str(last)})
        assert all(str(settings.duckdb_path) not in open_files(p.pid) for p, _, _ in readers)
        time.sleep(1)  # let the readers query the final state too
    finally:
        stop.touch()
        for process, _, _ in readers:
            process.wait(timeout=60)
    assert rerun.success

    with duckdb.connect(str(settings.duckdb_path), read_only=True) as conn:
        expected = {str(d): n for d, n in conn.execute(
            "select as_of_date, count(*) from lifecycle.customer_stage_daily group by all").fetchall()}
    for process, _, out in readers:
        report = json.loads(out.read_text(encoding="utf-8"))
        assert process.returncode == 0
        assert report["error_count"] == 0, report["errors"]
        assert report["opened"] == [str(bi_file)]  # the readers never open the warehouse
        assert report["queries"] >= 20  # they kept querying while both runs wrote and published
        # every day a query saw, it saw whole: the warehouse's row count, never a part or a double
        for day, counts in report["seen"].items():
            assert counts == [expected[day.removeprefix("current ")]], (day, counts)
        assert str(last) in report["newest"]  # the new day appeared while they were reading
        assert f"current {last}" in report["seen"]
