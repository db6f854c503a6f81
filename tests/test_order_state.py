"""The incremental order state equals a from-scratch computation, day by day, bit for bit.

Two warehouses get the same bursty history (a closed signup cohort, weeks without orders,
same-day orders, category ties, a late file, a late refund of an old order, an order whose
later version moves it to another customer). One computes every day from the day before's
state (what a daily run and a backfill do); the other computes every day from all order
versions. ``scoring.customer_order_state`` and ``scoring.customer_features`` must be
identical on every day, before and after a restated day.
"""

from __future__ import annotations

import datetime as dt

import pytest

from lifecycle_pipeline import order_state
from lifecycle_pipeline.order_state import record_clean_load
from lifecycle_pipeline.scoring import ScoringSettings, compute_customer_features
from tests.builders import add_customer, add_event, add_order, at, new_warehouse

START = dt.date(2026, 1, 1)
DAYS = [START + dt.timedelta(days=i) for i in range(135)]
# short windows so that orders cross every window edge (365 / 30 / 90 days by default) in the history
SETTINGS = ScoringSettings(rfm_window_days=40, recent_days=7, baseline_days=14)
TABLES = ("scoring.customer_order_state", "scoring.customer_features")


def _history(conn) -> None:
    # a closed cohort: everyone signs up in the first week, nobody after
    for i in range(12):
        add_customer(conn, f"C{i}", signup=at(DAYS[i % 7], "08:00:00"))
    # bursts of orders with quiet weeks between them
    for burst in (3, 10, 11, 12, 45, 46, 90, 91, 92, 130):
        for i in range(burst % 5, 12, 2):
            add_order(conn, f"O{burst}-{i}", f"C{i}", at(DAYS[burst], f"{10 + i % 3}:00:00"),
                      amount=10 + i + burst % 7, category=["books", "games", "toys"][(i + burst) % 3])
    # two orders on the same day (a gap of 0 days), and a tie between categories
    add_order(conn, "SAME1", "C1", at(DAYS[20], "09:00:00"), amount=5, category="games")
    add_order(conn, "SAME2", "C1", at(DAYS[20], "18:00:00"), amount=7, category="books")
    # a late file: an order of day 30 lands on day 34
    add_order(conn, "LATE", "C2", at(DAYS[30]), amount=99, landed=DAYS[34])
    # a late refund: C1's order of day 46 (15.00) is refunded on day 100 (a new version of an old order)
    add_order(conn, "O46-1", "C1", at(DAYS[46], "11:00:00"), amount=15, status="refunded",
              updated_at=at(DAYS[100]))
    # an order re-attributed to another customer by a later version
    add_order(conn, "MOVE", "C3", at(DAYS[50]), amount=20)
    add_order(conn, "MOVE", "C4", at(DAYS[50]), amount=20, updated_at=at(DAYS[60]))
    # a cancelled order and an order whose only version is a cancellation
    add_order(conn, "CANCEL", "C5", at(DAYS[70]), amount=30, status="cancelled")
    for i in range(0, 12, 3):
        add_event(conn, f"C{i}", at(DAYS[10 + i]))


def _tables(conn, day) -> dict[str, list[tuple]]:
    return {t: conn.execute(f"select * from {t} where as_of_date = ? order by customer_id", [day]).fetchall()
            for t in TABLES}


@pytest.fixture
def warehouses(tmp_path):
    incremental, full = new_warehouse(tmp_path / "incremental.duckdb"), new_warehouse(tmp_path / "full.duckdb")
    for conn in (incremental, full):
        _history(conn)
    yield incremental, full
    incremental.close()
    full.close()


def _compare_days(incremental, full, days) -> list[str]:
    modes = []
    for day in days:
        compute_customer_features(incremental, day, "UTC", SETTINGS)
        compute_customer_features(full, day, "UTC", SETTINGS, full=True)
        assert _tables(incremental, day) == _tables(full, day), day
        modes.append(incremental.execute(
            "select mode from scoring.order_state_days where as_of_date = ?", [day]).fetchall()[0][0])
    return modes


def test_every_day_of_a_bursty_history_equals_a_from_scratch_computation(warehouses):
    incremental, full = warehouses
    modes = _compare_days(incremental, full, DAYS)
    assert modes[0] == "full" and set(modes[1:]) == {"incremental"}
    # the history exercised what it claims: windows emptied, the refund and the move took effect
    def features(day, customers):
        return incremental.execute(
            "select customer_id, orders_lifetime, revenue_lifetime, orders_365d from scoring.customer_features "
            "where as_of_date = ? and list_contains(?, customer_id) order by customer_id", [day, customers]
        ).fetchall()

    # quiet weeks after day 46 empty the 40-day window of everyone but MOVE's buyer (day 50)
    assert [row[0] for row in features(DAYS[89], [f"C{i}" for i in range(12)]) if row[3]] == ["C4"]
    (before,), (after,) = features(DAYS[99], ["C1"]), features(DAYS[100], ["C1"])
    assert after[1:3] == (before[1] - 1, before[2] - 15)  # the late refund of O46-1
    (c3_before, c4_before), (c3, c4) = features(DAYS[59], ["C3", "C4"]), features(DAYS[60], ["C3", "C4"])
    assert (c3[1], c4[1]) == (c3_before[1] - 1, c4_before[1] + 1)  # MOVE went from C3 to C4


def test_a_restated_day_then_later_days_equal_a_from_scratch_computation(warehouses):
    incremental, full = warehouses
    _compare_days(incremental, full, DAYS[:60])
    # day 45 is restated: one order's amount corrected, one order dropped, one added
    for conn in (incremental, full):
        conn.execute("update clean.orders set amount = 1 where order_id = 'O45-2'")
        conn.execute("delete from clean.orders where order_id = 'O45-4'")
        add_order(conn, "NEW45", "C7", at(DAYS[45]), amount=42)
        record_clean_load(conn, "orders", DAYS[45], DAYS[45])
    # only the latest day re-run: yesterday's state predates the restatement, so it is rebuilt from scratch
    assert _compare_days(incremental, full, [DAYS[59]]) == ["full"]
    # the restated day and every later one, in order (what the restatement check asks for); the state
    # of day 44 is older than the week kept, so day 45 starts from scratch and the rest from their day before
    modes = _compare_days(incremental, full, DAYS[45:60])
    assert modes[0] == "full" and set(modes[1:]) == {"incremental"}


def test_other_settings_or_time_zone_start_from_scratch(warehouses):
    incremental, _ = warehouses
    compute_customer_features(incremental, DAYS[10], "UTC", SETTINGS)
    assert order_state.incremental_basis(incremental, DAYS[11], "UTC", SETTINGS)
    assert not order_state.incremental_basis(incremental, DAYS[11], "Europe/Berlin", SETTINGS)
    assert not order_state.incremental_basis(incremental, DAYS[11], "UTC", ScoringSettings())
    assert not order_state.incremental_basis(incremental, DAYS[12], "UTC", SETTINGS)  # no state for day 11


def test_only_the_last_week_of_state_is_kept(warehouses):
    incremental, _ = warehouses
    for day in DAYS[:20]:
        compute_customer_features(incremental, day, "UTC", SETTINGS)
    kept = incremental.execute("select min(as_of_date), max(as_of_date) from scoring.customer_order_state").fetchall()
    assert kept == [(DAYS[19] - dt.timedelta(days=order_state.STATE_DAYS_KEPT), DAYS[19])]
    # the features themselves are kept for every day
    assert incremental.execute("select count(distinct as_of_date) from scoring.customer_features").fetchall() == [(20,)]
