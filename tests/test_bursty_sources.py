"""Backfills finish on real, bursty data: a blocking failure holds back its own day only.

A closed signup cohort (customers only on the first days, then header-only files) and
sparse NPS answers (0-3 a day, many days without any) never block a day; a steady source
(orders) whose volume collapses on one day blocks that day only, in the same single-run
backfill, and a reviewer's release (run tags) lets the day through and is recorded.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import dagster as dg
import pytest

from lifecycle_pipeline import day_status
from lifecycle_pipeline.definitions import build_definitions
from lifecycle_pipeline.settings import ProjectSettings
from tests.helpers import materialize, query, write_csv

FIRST = dt.date(2026, 2, 1)
DAYS = [FIRST + dt.timedelta(days=i) for i in range(32)]
COLLAPSE = DAYS[20]  # a Saturday, with only 2 Saturdays before it: judged against the median of all days
COHORT = 30  # customers signing up on each of the first two days, then none
ORDERS_PER_DAY = 40
SOURCES = ["customers", "orders", "nps_responses"]
KEYS = [f"{layer}/{s}" for layer in ("raw", "clean") for s in SOURCES]
ORDER_HEADER = ["order_id", "customer_id", "ordered_at", "amount", "status"]
NPS_HEADER = ["response_id", "customer_id", "responded_at", "score"]


def _range(first: dt.date, last: dt.date) -> dict[str, str]:
    return {"dagster/asset_partition_range_start": first.isoformat(), "dagster/asset_partition_range_end": last.isoformat()}


def nps_answers(i: int) -> int:
    """0-3 answers a day, none on most days."""
    return 0 if i % 3 == 0 or i % 5 == 0 else (i * 7) % 4


def _land(root: Path) -> None:
    for i, day in enumerate(DAYS):
        signups = [[f"C{i * COHORT + j}", f"{day}T09:00:00Z"] for j in range(COHORT)] if i < 2 else []
        write_csv(root, "customers", day.isoformat(), ["customer_id", "signup_at"], signups)  # header-only from day 3
        n = 3 if day == COLLAPSE else ORDERS_PER_DAY
        orders = [[f"O{i}-{j}", f"C{j % COHORT}", f"{day}T10:{j % 60:02d}:00Z", "10.00", "completed"] for j in range(n)]
        write_csv(root, "orders", day.isoformat(), ORDER_HEADER, orders)
        answers = [[f"R{i}-{j}", f"C{j}", f"{day}T15:00:00Z", str(j * 3)] for j in range(nps_answers(i))]
        if answers or i % 2:  # a day without answers: a header-only file, or no file at all
            write_csv(root, "nps_responses", day.isoformat(), NPS_HEADER, answers)


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory):
    """The whole range landed and materialized as one single-run backfill."""
    root = tmp_path_factory.mktemp("bursty")
    settings = ProjectSettings.for_data_dir(root, start_date="2026-01-01")
    _land(settings.landing_root)
    result = materialize(build_definitions(settings), KEYS, tags=_range(DAYS[0], DAYS[-1]))
    return root, result


@pytest.fixture
def env(backfilled, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(backfilled[0], root)
    settings = ProjectSettings.for_data_dir(root, start_date="2026-01-01")
    return settings, build_definitions(settings)


def _check(result, source: str, name: str) -> dg.AssetCheckEvaluation:
    """The check's evaluation of the run's day; in a range run, of the first day it failed (if any)."""
    found = [e for e in result.get_asset_check_evaluations() if e.asset_key.path[-1] == source and e.check_name == name]
    return next((e for e in found if not e.passed), found[0])


def _status(settings) -> list[tuple]:
    return query(settings, "select source, as_of_date, blocked, reasons, released_by, release_reason "
                           "from quality.day_status where blocked or released_by is not null order by all")


def _clean_rows_by_day(settings, source: str) -> dict[dt.date, int]:
    return dict(query(settings, f"select _partition_date, count(*) from clean.{source} group by 1"))


def test_a_range_backfill_materializes_every_day_and_blocks_only_the_collapsed_day(backfilled):
    root, result = backfilled
    settings = ProjectSettings.for_data_dir(root, start_date="2026-01-01")
    assert result.success
    for key in KEYS:
        node = key.replace("/", "__")
        assert {m.partition for m in result.asset_materializations_for_node(node)} == {d.isoformat() for d in DAYS}
    [(source, day, blocked, [reason], _, _)] = _status(settings)
    assert (source, day, blocked) == ("orders", COLLAPSE, True)
    assert reason == "row_count_in_band: 3 rows vs trailing 28-day median 40 (allowed 8..200)"
    assert _clean_rows_by_day(settings, "orders") == {d: ORDERS_PER_DAY for d in DAYS if d != COLLAPSE}
    assert query(settings, "select count(*) from raw.orders where _partition_date = ?", [COLLAPSE]) == [(3,)]
    orders_volume = _check(result, "orders", "row_count_in_band")
    assert orders_volume.severity == dg.AssetCheckSeverity.ERROR
    assert [e.partition for e in result.get_asset_check_evaluations()
            if e.asset_key.path[-1] == "orders" and e.check_name == "row_count_in_band" and not e.passed] \
        == [COLLAPSE.isoformat()]
    clean_orders = result.asset_materializations_for_node("clean__orders")[0]
    assert clean_orders.metadata["blocked_days"].value == [{"day": COLLAPSE.isoformat(), "reasons": [reason]}]


def test_a_closed_cohort_and_sparse_nps_only_warn(backfilled):
    root, result = backfilled
    settings = ProjectSettings.for_data_dir(root, start_date="2026-01-01")
    # raw and clean agree on every day: the cohort's days, then the header-only days with no rows
    raw = dict(query(settings, "select _partition_date, count(*) from raw.customers group by 1"))
    assert raw == {DAYS[0]: COHORT, DAYS[1]: COHORT} == _clean_rows_by_day(settings, "customers")
    expected_nps = {d: nps_answers(i) for i, d in enumerate(DAYS) if nps_answers(i)}
    assert _clean_rows_by_day(settings, "nps_responses") == expected_nps
    customers_volume = _check(result, "customers", "row_count_in_band")
    assert not customers_volume.passed and customers_volume.severity == dg.AssetCheckSeverity.WARN
    assert "warn only: customers is not in volume_blocking_sources" in customers_volume.metadata["detail"].value
    nps_file = _check(result, "nps_responses", "file_arrived")
    assert not nps_file.passed and nps_file.severity == dg.AssetCheckSeverity.WARN
    blocking = [(e.asset_key.path[-1], e.check_name) for e in result.get_asset_check_evaluations()
                if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]
    assert blocking == [("orders", "row_count_in_band")]
    assert query(settings, "select count(*) from quality.quarantine") == [(0,)]


def test_a_release_in_the_run_tags_unblocks_the_day_and_records_who_and_why(env):
    settings, defs = env
    release = day_status.Release(COLLAPSE, "ana@example.com", "supplier outage confirmed, 3 orders are right", ("orders",))
    result = materialize(defs, ["raw/orders", "clean/orders"], COLLAPSE.isoformat(), tags=day_status.release_tags(release))

    [(source, day, blocked, [reason], by, why)] = _status(settings)
    assert (source, day, blocked, by, why) == ("orders", COLLAPSE, False, release.by, release.reason)
    assert reason.startswith("row_count_in_band: 3 rows vs trailing 28-day median 40")
    assert _clean_rows_by_day(settings, "orders")[COLLAPSE] == 3
    check = _check(result, "orders", "row_count_in_band")
    assert check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["released_by"].value == release.by
    assert check.metadata["release_reason"].value == release.reason
    raw = result.asset_materializations_for_node("raw__orders")[0]
    assert raw.metadata["released_days"].value[0]["overridden"] == [reason]
    # a release names its day: the next day is judged as usual, and a re-run without the release blocks again
    materialize(defs, ["raw/orders", "clean/orders"], COLLAPSE.isoformat())
    assert [r[:3] for r in _status(settings)] == [("orders", COLLAPSE, True)]
    assert COLLAPSE not in _clean_rows_by_day(settings, "orders")


def test_a_header_only_file_on_a_loaded_day_empties_raw_and_clean_together(env):
    settings, defs = env
    day = DAYS[25]  # a Thursday with 3 Thursdays before it: judged against their median
    assert _clean_rows_by_day(settings, "orders")[day] == ORDERS_PER_DAY
    write_csv(settings.landing_root, "orders", day.isoformat(), ORDER_HEADER, [])
    result = materialize(defs, ["raw/orders", "clean/orders"], day.isoformat())

    assert result.success
    assert query(settings, "select count(*) from raw.orders where _partition_date = ?", [day]) == [(0,)]
    assert day not in _clean_rows_by_day(settings, "orders")
    blocked = {r[1]: r[3] for r in _status(settings)}
    assert blocked[day] == ["row_count_in_band: 0 rows vs trailing 28-day median 40 of Thursdays (allowed 8..200)"]


def test_the_cli_names_the_blocked_day_and_releases_it_with_who_and_why(tmp_path):
    """`lifecycle-pipeline backfill` reports the held-back day; `release` re-runs it and every later day."""
    import os
    import subprocess
    import sys

    bin_dir = Path(sys.executable).parent
    data = tmp_path / "data"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("LIFECYCLE_", "DAGSTER_"))},
           "LIFECYCLE_DATA_DIR": str(data), "LIFECYCLE_START_DATE": "2026-01-01", "USER": "ana"}
    settings = ProjectSettings.for_data_dir(data, start_date="2026-01-01")
    _land(settings.landing_root)
    end = COLLAPSE + dt.timedelta(days=2)

    def cli(*args):
        return subprocess.run([str(bin_dir / "lifecycle-pipeline"), *args], env=env, capture_output=True, text=True,
                              timeout=900)

    first = DAYS[0]  # the cohort signs up on the first two days: later days' orders need them loaded
    backfill = cli("backfill", "--start", str(first), "--end", str(end))
    assert backfill.returncode == 0, backfill.stdout[-2000:] + backfill.stderr[-2000:]
    assert f"1 day(s) held back by a failed blocking check (their downstream did not run):\n  {COLLAPSE}: " \
           f"raw/orders: row_count_in_band: 3 rows vs trailing" in backfill.stdout
    assert f"lifecycle-pipeline release --day {COLLAPSE} --reason" in backfill.stdout
    assert f"{COLLAPSE} skipped: blocked by raw/orders" in backfill.stdout
    assert query(settings, "select count(*) from lifecycle.customer_stage_daily where as_of_date = ?",
                 [COLLAPSE]) == [(0,)]
    assert query(settings, "select count(distinct as_of_date) from lifecycle.customer_stage_daily") == [
        (len(DAYS[DAYS.index(first): DAYS.index(end) + 1]) - 1,)]  # every other day went through

    release = cli("release", "--day", str(COLLAPSE), "--end", str(end), "--reason", "supplier outage, 3 is right")
    assert release.returncode == 0, release.stdout[-2000:] + release.stderr[-2000:]
    assert f"releasing {COLLAPSE} (every source) by ana: supplier outage, 3 is right" in release.stdout
    assert "held back" not in release.stdout
    assert query(settings, "select blocked, released_by, release_reason from quality.day_status "
                           "where source = 'orders' and as_of_date = ?", [COLLAPSE]) == [
        (False, "ana", "supplier outage, 3 is right")]
    assert query(settings, "select count(*) > 0 from lifecycle.customer_stage_daily where as_of_date = ?",
                 [COLLAPSE]) == [(True,)]
    instance = dg.DagsterInstance.from_config(str(data / "dagster_home"))
    [run] = [r for r in instance.get_runs() if r.tags.get(day_status.RELEASE_DAY_TAG) == str(COLLAPSE)]
    assert run.tags[day_status.RELEASED_BY_TAG] == "ana"
    assert run.tags[day_status.RELEASE_REASON_TAG] == "supplier outage, 3 is right"
