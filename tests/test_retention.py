"""Retention of the customer x day tables (LIFECYCLE_CUSTOMER_DAYS_KEPT): what is pruned, what is kept forever,
and that a pruned day cannot be recomputed by accident."""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import pytest

from lifecycle_pipeline import retention
from lifecycle_pipeline.settings import SettingsError, load_settings
from lifecycle_pipeline.stages import StageSettings, build_stage_days
from tests.builders import add_customer, add_order, at, new_warehouse
from tests.scenarios import score_days

START = dt.date(2026, 1, 1)
DAYS = [START + dt.timedelta(days=i) for i in range(64)]
KEPT = 60


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """64 scored and staged days of two customers, built once; each test gets its own copy."""
    path = tmp_path_factory.mktemp("retention") / "warehouse.duckdb"
    conn = new_warehouse(path)
    add_customer(conn, "A", signup=at(DAYS[0], "08:00:00"))
    add_customer(conn, "B", signup=at(DAYS[1], "08:00:00"))
    for i in (1, 20, 50):
        add_order(conn, f"A{i}", "A", at(DAYS[i]))
    score_days(conn, DAYS)
    build_stage_days(conn, DAYS, StageSettings())
    conn.close()
    return path


@pytest.fixture
def conn(built, tmp_path):
    shutil.copy(built, tmp_path / "warehouse.duckdb")
    conn = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield conn
    conn.close()


def _days(conn, table):
    return conn.execute(f"select min(as_of_date), count(distinct as_of_date) from {table}").fetchall()[0]


def test_the_newest_days_are_kept_and_the_small_tables_forever(conn):
    spells = conn.execute("select * from lifecycle.stage_history order by all").fetchall()
    counts = _days(conn, "lifecycle.stage_counts_daily")
    deleted = retention.prune(conn, KEPT)
    horizon = DAYS[-1] - dt.timedelta(days=KEPT - 1)
    assert deleted["scoring.customer_features"] == 2 * 4 - 1  # days 0-3: A on 4, B from day 1
    for table in ("scoring.customer_features", "scoring.rfm_scores", "scoring.health_scores",
                  "scoring.early_warnings", "lifecycle.customer_stage_daily"):
        first, days = _days(conn, table)
        assert first >= horizon and days <= KEPT, table
    assert conn.execute("select * from lifecycle.stage_history order by all").fetchall() == spells
    assert _days(conn, "lifecycle.stage_counts_daily") == counts == (DAYS[0], 64)
    assert retention.pruned_before(conn) == horizon
    assert retention.prune(conn, KEPT) == {t: 0 for t in deleted}  # idempotent


def test_a_pruned_day_is_final_and_says_how_to_rebuild(conn):
    retention.prune(conn, KEPT)
    retention.check_recomputable(conn, DAYS[4:])  # the kept window can be recomputed
    with pytest.raises(retention.DayPrunedError, match=r"2026-01-02 \.\. 2026-01-04: the warehouse keeps the "
                                                       r"customer x day tables from 2026-01-05 on .*CUSTOMER_DAYS_KEPT=all"):
        retention.check_recomputable(conn, DAYS[1:10])


def test_nothing_is_pruned_when_everything_is_kept(conn):
    assert retention.prune(conn, None) == {}
    assert retention.pruned_before(conn) is None
    assert _days(conn, "scoring.customer_features") == (DAYS[0], 64)


@pytest.mark.parametrize(("value", "kept"), [(None, 90), ("all", None), ("120", 120)])
def test_the_setting(value, kept, tmp_path):
    env = {"LIFECYCLE_DATA_DIR": str(tmp_path)} | ({"LIFECYCLE_CUSTOMER_DAYS_KEPT": value} if value else {})
    assert load_settings(env).customer_days_kept == kept


@pytest.mark.parametrize(("value", "message"), [
    ("30", "LIFECYCLE_CUSTOMER_DAYS_KEPT=30 must be 'all' or at least 60 days"),
    ("ninety", "LIFECYCLE_CUSTOMER_DAYS_KEPT='ninety' must be a number of days or 'all'"),
])
def test_a_bad_setting_is_refused(value, message, tmp_path):
    with pytest.raises(SettingsError, match=message):
        load_settings({"LIFECYCLE_DATA_DIR": str(tmp_path), "LIFECYCLE_CUSTOMER_DAYS_KEPT": value})
