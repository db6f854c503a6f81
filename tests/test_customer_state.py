"""The incremental per-customer states equal a from-scratch computation, day by day, bit for bit.

Two warehouses get the same bursty history (a closed signup cohort, weeks without orders or
events, same-day orders, category ties, late files, a late refund of an old order, an order
whose later version moves it to another customer, core features used and abandoned, events
that leave the 365-day window). One computes every day from the day before's state (what a
daily run and a backfill do); the other computes every day from the clean tables.
``scoring.customer_order_state``, ``scoring.customer_event_state`` and
``scoring.customer_features`` must be identical on every day, also around a restated day.
"""

from __future__ import annotations

import datetime as dt

import pytest

from lifecycle_pipeline import customer_state
from lifecycle_pipeline.customer_state import record_clean_load
from lifecycle_pipeline.event_state import EVENT_STATE
from lifecycle_pipeline.order_state import ORDER_STATE
from lifecycle_pipeline.scoring import ScoringSettings, compute_customer_features
from tests.builders import add_customer, add_event, add_order, at, new_warehouse

START = dt.date(2025, 1, 1)
DAY = [START + dt.timedelta(days=i) for i in range(400)]
# the days computed: from day 250 (from scratch) to day 385, so events of days 0-20 leave the year of events
DAYS = DAY[250:386]
# short windows, so that orders and events cross every edge (365 / 30 / 90 / 90 days by default)
SETTINGS = ScoringSettings(rfm_window_days=40, recent_days=7, baseline_days=14, adoption_days=20,
                           aha_event_types=("core_feature_use", "export"))
TABLES = ("scoring.customer_order_state", "scoring.customer_event_state", "scoring.customer_features")


def _orders(conn) -> None:
    for burst in (253, 260, 261, 262, 295, 296, 340, 341, 342, 380):
        for i in range(burst % 5, 12, 2):
            add_order(conn, f"O{burst}-{i}", f"C{i}", at(DAY[burst], f"{10 + i % 3}:00:00"),
                      amount=10 + i + burst % 7, category=["books", "games", "toys"][(i + burst) % 3])
    # an old order, two orders on the same day (a gap of 0 days) and a tie between categories
    add_order(conn, "OLD", "C1", at(DAY[5]), amount=3, category="toys")
    add_order(conn, "SAME1", "C1", at(DAY[270], "09:00:00"), amount=5, category="games")
    add_order(conn, "SAME2", "C1", at(DAY[270], "18:00:00"), amount=7, category="books")
    add_order(conn, "LATE", "C2", at(DAY[280]), amount=99, landed=DAY[284])  # a late file
    # a late refund: C1's order of day 296 is refunded on day 350
    add_order(conn, "O296-1", "C1", at(DAY[296], "11:00:00"), amount=15, status="refunded", updated_at=at(DAY[350]))
    # an order re-attributed to another customer by a later version
    add_order(conn, "MOVE", "C3", at(DAY[300]), amount=20)
    add_order(conn, "MOVE", "C4", at(DAY[300]), amount=20, updated_at=at(DAY[310]))
    add_order(conn, "CANCEL", "C5", at(DAY[320]), amount=30, status="cancelled")


def _events(conn) -> None:
    # early events that leave the 365-day window while the days are computed (day 365 + n drops day n)
    for i in range(0, 12, 3):
        add_event(conn, f"C{i}", at(DAY[i + 10]), "referral_sent")
        add_event(conn, f"C{i}", at(DAY[i + 10], "15:00:00"), "core_feature_use", feature="reports")
    # bursts of activity with quiet weeks between them, several events on some days
    for burst in (251, 252, 258, 275, 276, 277, 300, 330, 331, 360, 379, 384):
        for i in range(burst % 4, 12, 3):
            add_event(conn, f"C{i}", at(DAY[burst], f"{8 + i % 5}:00:00"), "login")
            if i % 2 == 0:
                add_event(conn, f"C{i}", at(DAY[burst], "20:00:00"), "core_feature_use",
                          feature=["reports", "alerts", "api"][burst % 3])
            if burst % 5 == 0:
                add_event(conn, f"C{i}", at(DAY[burst], "21:00:00"), "export")
    add_event(conn, "C7", at(DAY[290]), "core_feature_use", feature=None)  # no feature: not counted
    add_event(conn, "C8", at(DAY[300]), "login", landed=DAY[303])  # a late file: day 300 becomes active on 303
    add_event(conn, "C8", at(DAY[303]), "login")
    add_event(conn, "C9", at(DAY[305]), "referral_sent", landed=DAY[305] + dt.timedelta(days=0))


def _history(conn) -> None:
    for i in range(12):  # a closed cohort: everyone signs up in the first week, nobody after
        add_customer(conn, f"C{i}", signup=at(DAY[i % 7], "08:00:00"))
    _orders(conn)
    _events(conn)


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


def _modes(conn, day) -> tuple[str, str]:
    return tuple(conn.execute("select mode from scoring.customer_state_days where as_of_date = ? order by state",
                              [day]).fetchall()[i][0] for i in range(2))  # (events, orders)


def _compare_days(incremental, full, days) -> list[tuple[str, str]]:
    modes = []
    for day in days:
        compute_customer_features(incremental, day, "UTC", SETTINGS)
        compute_customer_features(full, day, "UTC", SETTINGS, full=True)
        assert _tables(incremental, day) == _tables(full, day), day
        modes.append(_modes(incremental, day))
    return modes


def _features(conn, day, customers, columns):
    return conn.execute(f"select customer_id, {columns} from scoring.customer_features where as_of_date = ? "
                        "and list_contains(?, customer_id) order by customer_id", [day, customers]).fetchall()


def test_every_day_of_a_bursty_history_equals_a_from_scratch_computation(warehouses):
    incremental, full = warehouses
    modes = _compare_days(incremental, full, DAYS)
    assert modes[0] == ("full", "full") and set(modes[1:]) == {("incremental", "incremental")}
    everyone = [f"C{i}" for i in range(12)]
    # the history exercised what it claims: the order window emptied, the refund and the move took effect
    assert [r[0] for r in _features(incremental, DAY[339], everyone, "orders_365d") if r[1]] == ["C4"]
    (before,), (after,) = (_features(incremental, DAY[d], ["C1"], "orders_lifetime, revenue_lifetime") for d in (349, 350))
    assert after[1:] == (before[1] - 1, before[2] - 13)  # the sale of O296-1 was 13.00
    (c3_0, c4_0), (c3, c4) = (_features(incremental, DAY[d], ["C3", "C4"], "orders_lifetime") for d in (309, 310))
    assert (c3[1], c4[1]) == (c3_0[1] - 1, c4_0[1] + 1)
    # ... the early referrals left the year of events, the late event made day 300 an active day on day 303
    assert {r[1] for r in _features(incremental, DAY[364], ["C0", "C3"], "referrals_365d")} == {1}
    assert {r[1] for r in _features(incremental, DAY[385], ["C0", "C3"], "referrals_365d")} == {0}
    assert _features(incremental, DAY[302], ["C8"], "active_days_30d") == [("C8", 0)]
    assert _features(incremental, DAY[303], ["C8"], "active_days_30d") == [("C8", 2)]
    assert _features(incremental, DAY[277], ["C6"], "core_features_90d") == [("C6", 2)]  # api on 275, reports on 276


def test_a_restated_day_then_later_days_equal_a_from_scratch_computation(warehouses):
    incremental, full = warehouses
    _compare_days(incremental, full, DAYS[:60])
    # day 295 is restated: an order's amount corrected, an order dropped, an order and an event added
    for conn in (incremental, full):
        conn.execute("update clean.orders set amount = 1 where order_id = 'O295-2'")
        conn.execute("delete from clean.orders where order_id = 'O295-4'")
        add_order(conn, "NEW295", "C7", at(DAY[295]), amount=42)
        add_event(conn, "C7", at(DAY[295]), "export")
        record_clean_load(conn, "orders", DAY[295], DAY[295])
    # only the latest day re-run: yesterday's states predate the restatement, so they are rebuilt from scratch
    assert _compare_days(incremental, full, [DAYS[59]]) == [("full", "full")]
    # the restated day and every later one, in order (what the restatement check asks for); the state of
    # day 294 is older than the week kept, so day 295 starts from scratch and the rest from their day before
    modes = _compare_days(incremental, full, DAY[295:310])
    assert modes[0] == ("full", "full") and set(modes[1:]) == {("incremental", "incremental")}


def test_other_settings_or_time_zone_start_from_scratch(warehouses):
    incremental, _ = warehouses
    compute_customer_features(incremental, DAYS[10], "UTC", SETTINGS)
    for spec in (ORDER_STATE, EVENT_STATE):
        assert customer_state.incremental_basis(incremental, spec, DAYS[11], "UTC", SETTINGS)
        assert not customer_state.incremental_basis(incremental, spec, DAYS[11], "Europe/Berlin", SETTINGS)
        assert not customer_state.incremental_basis(incremental, spec, DAYS[12], "UTC", SETTINGS)  # no day 11
    other_windows = ScoringSettings(rfm_window_days=41, recent_days=7, baseline_days=14, adoption_days=20,
                                    aha_event_types=SETTINGS.aha_event_types)
    assert not customer_state.incremental_basis(incremental, ORDER_STATE, DAYS[11], "UTC", other_windows)
    assert customer_state.incremental_basis(incremental, EVENT_STATE, DAYS[11], "UTC", other_windows)
    other_aha = ScoringSettings(**{**SETTINGS.params(), "aha_event_types": ("export",)})
    assert not customer_state.incremental_basis(incremental, EVENT_STATE, DAYS[11], "UTC", other_aha)


def test_only_the_last_week_of_state_is_kept(warehouses):
    incremental, _ = warehouses
    for day in DAYS[:20]:
        compute_customer_features(incremental, day, "UTC", SETTINGS)
    for table in TABLES[:2]:
        kept = incremental.execute(f"select min(as_of_date), max(as_of_date) from {table}").fetchall()
        assert kept == [(DAYS[19] - dt.timedelta(days=customer_state.STATE_DAYS_KEPT), DAYS[19])]
    # the features themselves are kept for every day
    assert incremental.execute("select count(distinct as_of_date) from scoring.customer_features").fetchall() == [(20,)]


@pytest.mark.parametrize("how", ["older layout", "dropped by hand"])
def test_a_state_table_made_anew_is_not_taken_for_yesterday_state(warehouses, how):
    """A warehouse of an older version: the state table has another layout (or the user dropped it). Its
    log still names yesterday's state; the new table is empty, so the next day must start from scratch."""
    incremental, full = warehouses
    _compare_days(incremental, full, DAYS[:5])
    if how == "older layout":
        incremental.execute("alter table scoring.customer_order_state drop column first_day_revenue")
    else:
        incremental.execute("drop table scoring.customer_order_state")
    modes = _compare_days(incremental, full, DAYS[5:8])  # the tables equal the from-scratch ones
    assert modes == [("incremental", "full"), ("incremental", "incremental"), ("incremental", "incremental")]
    columns = [r[0] for r in incremental.execute("describe scoring.customer_order_state").fetchall()]
    assert "first_day_revenue" in columns
