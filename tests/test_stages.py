"""Lifecycle stages on hand-built customers: every rule at its boundary, both presets, a customer's
journey over days, history and transitions, and out-of-order backfills (DOMAIN.md, Lifecycle stage)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from lifecycle_pipeline.stages import (
    StageSettings,
    build_stage_days,
    compute_kpis,
    stage_settings,
)
from tests.builders import (
    add_customer,
    add_event,
    add_nps,
    add_order,
    at,
    new_warehouse,
)
from tests.scenarios import DAYS, SHORT, journey, score_days

AS_OF = dt.date(2026, 6, 30)


def ago(days: int, base: dt.date = AS_OF) -> dt.date:
    return base - dt.timedelta(days=days)


def stages_on(conn, settings=StageSettings(), day=AS_OF):
    score_days(conn, [day])
    build_stage_days(conn, [day], settings)
    rows = conn.execute("select customer_id, stage from lifecycle.customer_stage_daily where as_of_date = ?",
                        [day]).fetchall()
    return dict(rows)


def buyer(conn, cid, last_order_days_ago, orders=1, spacing=10, signup="2024-01-01T00:00:00Z"):
    """A customer whose ``orders`` completed orders end ``last_order_days_ago`` days before AS_OF."""
    add_customer(conn, cid, signup=signup)
    for i in range(orders):
        add_order(conn, f"{cid}-{i}", cid, at(ago(last_order_days_ago + i * spacing)))


@pytest.mark.parametrize(("recency", "stage"), [
    (0, "new"), (45, "new"), (46, "at_risk"), (90, "at_risk"), (91, "dormant"), (180, "dormant"), (181, "churned"),
])
def test_recency_windows_at_their_boundaries(conn, recency, stage):
    buyer(conn, "C", recency)
    assert stages_on(conn)["C"] == stage


@pytest.mark.parametrize(("orders", "stage"), [(1, "new"), (2, "active"), (4, "active"), (5, "loyal"), (9, "loyal")])
def test_order_counts_at_their_boundaries(conn, orders, stage):
    buyer(conn, "C", 3, orders=orders)
    assert stages_on(conn)["C"] == stage


@pytest.mark.parametrize(("gap", "stage"), [(90, "active"), (91, "reactivated")])
def test_reactivation_gap_of_90_vs_91_days(conn, gap, stage):
    buyer(conn, "C", 2, orders=2, spacing=gap)
    assert stages_on(conn)["C"] == stage


def test_reactivated_comes_before_new_active_and_loyal_and_after_at_risk(conn):
    buyer(conn, "LOYAL_BACK", 1, orders=6, spacing=100)  # 6 orders, the last after a 100-day gap
    buyer(conn, "GAP_BUT_LAPSED", 50, orders=2, spacing=100)  # r = 50: at_risk wins over the gap
    s = stages_on(conn)
    assert (s["LOYAL_BACK"], s["GAP_BUT_LAPSED"]) == ("reactivated", "at_risk")


def test_prospect_has_no_completed_order(conn):
    add_customer(conn, "P")
    add_customer(conn, "REFUNDED")
    add_order(conn, "O1", "REFUNDED", at(ago(5)), status="refunded")
    assert stages_on(conn) == {"P": "prospect", "REFUNDED": "prospect"}


@pytest.mark.parametrize(("nps", "stage"), [(9, "advocate"), (10, "advocate"), (8, "loyal")])
def test_advocate_via_nps(conn, nps, stage):
    buyer(conn, "C", 2, orders=5)
    add_nps(conn, "N1", "C", at(ago(100)), nps)
    assert stages_on(conn)["C"] == stage


def test_advocate_via_a_referral_sent_or_a_referred_signup_within_365_days(conn):
    buyer(conn, "SENT", 2, orders=5)
    add_event(conn, "SENT", at(ago(364)), "referral_sent")
    buyer(conn, "SENT_LONG_AGO", 2, orders=5)
    add_event(conn, "SENT_LONG_AGO", at(ago(365)), "referral_sent")
    buyer(conn, "BROUGHT_A_FRIEND", 2, orders=5)
    add_customer(conn, "FRIEND", signup=at(ago(30)), referred_by="BROUGHT_A_FRIEND")
    buyer(conn, "FOUR_ORDERS", 2, orders=4)
    add_event(conn, "FOUR_ORDERS", at(ago(3)), "referral_sent")
    s = stages_on(conn)
    assert (s["SENT"], s["SENT_LONG_AGO"], s["BROUGHT_A_FRIEND"], s["FOUR_ORDERS"]) == (
        "advocate", "loyal", "advocate", "active")


# --- the SaaS preset: activity drives recency ---------------------------------------------------------------

SAAS = stage_settings("saas")


@pytest.mark.parametrize(("inactive", "stage"), [
    (14, "new"), (15, "at_risk"), (30, "at_risk"), (31, "dormant"), (60, "dormant"), (61, "churned"),
])
def test_saas_recency_counts_from_the_last_activity(conn, inactive, stage):
    buyer(conn, "C", 200)  # paid once, long ago: churned for ecommerce
    for gap in (0, 5, 10):  # used the product every 5 days until `inactive` days ago (no reactivation gap)
        add_event(conn, "C", at(ago(inactive + gap)), "login")
    assert stages_on(conn, SAAS)["C"] == stage
    assert stages_on(conn)["C"] == "churned"


@pytest.mark.parametrize(("orders", "stage"), [(5, "active"), (6, "loyal")])
def test_saas_loyalty_starts_at_six_payments(conn, orders, stage):
    buyer(conn, "C", 2, orders=orders, spacing=10)
    assert stages_on(conn, SAAS)["C"] == stage


@pytest.mark.parametrize(("gap", "stage"), [(30, "active"), (31, "reactivated")])
def test_saas_reactivation_is_a_gap_between_activity_days(conn, gap, stage):
    buyer(conn, "C", 200, orders=3, spacing=5)
    add_event(conn, "C", at(ago(gap)), "login")
    add_event(conn, "C", at(ago(0)), "login")
    assert stages_on(conn, SAAS)["C"] == stage


def test_stage_settings_validate_and_presets_take_overrides():
    assert stage_settings("saas", active_max_days=20).active_max_days == 20
    assert stage_settings("saas", active_max_days=None).active_max_days == 14
    with pytest.raises(ValueError, match="unknown stage preset 'b2b'"):
        stage_settings("b2b")
    with pytest.raises(ValueError, match="active_max_days < at_risk_max_days"):
        StageSettings(active_max_days=100)


def test_the_row_records_what_decided_the_stage(conn):
    buyer(conn, "C", 50, orders=2, spacing=100)
    stages_on(conn)
    row = conn.execute("select stage, recency_days, recency_basis, orders_lifetime, gap_before_last_days, rfm_segment, "
                       "health_band, warning_tier, preset from lifecycle.customer_stage_daily").fetchall()
    # the only buyer scores R = F = 1 (hibernating); no events: no health band and no aha signal; the last order
    # 50 days ago is within 2 x the customer's own rhythm (100 days between orders): no tier
    assert row == [("at_risk", 50, "orders", 2, 100, "hibernating", None, 0, "ecommerce")]


# --- a customer's journey over days (tests/scenarios.py) -------------------------------------------------

JOURNEY = (["prospect"] + ["new"] * 4 + ["at_risk"] * 3 + ["dormant"] * 3 + ["reactivated"] * 4 + ["at_risk"])


def table(conn, name, order="all"):
    return conn.execute(f"select * from lifecycle.{name} order by {order}").fetchall()


def test_a_customer_who_buys_lapses_goes_dormant_and_returns(conn):
    journey(conn)
    build_stage_days(conn, DAYS, SHORT)
    daily = conn.execute("select stage, previous_stage, days_in_stage from lifecycle.customer_stage_daily "
                         "where customer_id = 'A' order by as_of_date").fetchall()
    assert [r[0] for r in daily] == JOURNEY
    assert daily[8] == ("dormant", "at_risk", 1) and daily[10] == ("dormant", "dormant", 3)
    assert table(conn, "stage_history where customer_id = 'A'", "valid_from") == [
        ("A", "prospect", DAYS[0], DAYS[0], None),
        ("A", "new", DAYS[1], DAYS[4], "prospect"),
        ("A", "at_risk", DAYS[5], DAYS[7], "new"),
        ("A", "dormant", DAYS[8], DAYS[10], "at_risk"),
        ("A", "reactivated", DAYS[11], DAYS[14], "dormant"),
        ("A", "at_risk", DAYS[15], None, "reactivated"),
    ]
    assert table(conn, "stage_transitions_daily") == [
        (DAYS[0], "(new)", "prospect", 1), (DAYS[1], "prospect", "new", 1), (DAYS[3], "(new)", "prospect", 1),
        (DAYS[5], "new", "at_risk", 1), (DAYS[8], "at_risk", "dormant", 1), (DAYS[11], "dormant", "reactivated", 1),
        (DAYS[15], "reactivated", "at_risk", 1),
    ]
    # stage counts of each day sum to the customers known that day
    sums = conn.execute("select as_of_date, sum(customers), count(*) from lifecycle.stage_counts_daily "
                        "group by 1 order by 1").fetchall()
    assert [(s, n) for _d, s, n in sums] == [(1, 9)] * 3 + [(2, 9)] * 13


@pytest.mark.parametrize("order", [[10, 5, 7], [7, 10, 5], [15, 0, 8, 3]])
def test_backfilling_days_out_of_order_gives_the_same_tables_as_in_order(tmp_path, order):
    results = []
    for attempt, days in enumerate([sorted(order), order]):
        conn = new_warehouse(tmp_path / f"{attempt}.duckdb")
        journey(conn)
        for i in days:
            build_stage_days(conn, [DAYS[i]], SHORT)
        results.append({name: table(conn, name) for name in
                        ("customer_stage_daily", "stage_history", "stage_transitions_daily", "stage_counts_daily")})
        conn.close()
    assert results[0] == results[1]
    assert len(results[0]["customer_stage_daily"]) > 0


def test_rerunning_a_past_day_after_its_data_changed_rewrites_history_consistently(conn):
    journey(conn)
    build_stage_days(conn, DAYS, SHORT)
    # A's return order turns out to have been placed on day 9 (landed late on day 9): re-run days 9-15
    conn.execute("update clean.orders set ordered_at = ?::timestamptz, updated_at = ?::timestamptz, "
                 "_partition_date = ? where order_id = 'A2'", [at(DAYS[9]), at(DAYS[9]), DAYS[9]])
    score_days(conn, DAYS[9:])
    for day in DAYS[9:]:
        build_stage_days(conn, [day], SHORT)
    incremental = {n: table(conn, n) for n in ("customer_stage_daily", "stage_history", "stage_transitions_daily")}
    conn.execute("delete from lifecycle.customer_stage_daily")
    conn.execute("delete from lifecycle.stage_history")
    build_stage_days(conn, DAYS, SHORT)
    assert {n: table(conn, n) for n in incremental} == incremental
    spells = table(conn, "stage_history where customer_id = 'A'", "valid_from")
    assert [(s[1], s[2], s[3]) for s in spells][-3:] == [
        ("dormant", DAYS[8], DAYS[8]), ("reactivated", DAYS[9], DAYS[12]), ("at_risk", DAYS[13], None)]


def test_current_views_show_the_latest_day(conn):
    journey(conn)
    build_stage_days(conn, DAYS[:5], SHORT)
    compute_kpis(conn, DAYS[4], "UTC", SHORT)
    assert conn.execute("select distinct as_of_date from lifecycle.customer_stage_current").fetchall() == [(DAYS[4],)]
    assert conn.execute("select known_customers from lifecycle.kpis_current").fetchall() == [(2,)]
    assert conn.execute("select sum(customers) from lifecycle.stage_counts_current").fetchall() == [(2,)]


def test_kpis_of_a_day_match_their_definitions(conn):
    add_customer(conn, "X")
    add_order(conn, "X1", "X", at(ago(45)), 100)
    add_order(conn, "X2", "X", at(ago(0)), 50)
    add_nps(conn, "N1", "X", at(ago(5)), 10)
    add_customer(conn, "R1", signup=at(ago(0)), referred_by="X")
    add_customer(conn, "R2", signup=at(ago(0)))
    add_event(conn, "R2", at(ago(0)), "login")
    add_customer(conn, "K1", signup=at(ago(40)))
    add_order(conn, "K1-1", "K1", at(ago(15)), 30)  # first order 25 days after signup: converted
    add_customer(conn, "K2", signup=at(ago(35)))
    add_order(conn, "K2-1", "K2", at(ago(4)), 20)  # 31 days after signup: not converted
    add_order(conn, "K2-2", "K2", at(ago(0)), 70)
    add_order(conn, "K2-2", "K2", at(ago(0)), 70, status="refunded", updated_at=at(ago(0), "18:00:00"))
    add_customer(conn, "K3", signup=at(ago(30)))
    add_event(conn, "K3", at(ago(30)), "login")  # active 30 days ago, not since: not retained
    stages_on(conn)
    compute_kpis(conn, AS_OF, "UTC", StageSettings())
    cursor = conn.execute("select * exclude (as_of_date) from lifecycle.kpis_daily where as_of_date = ?", [AS_OF])
    kpis = dict(zip([d[0] for d in cursor.description], cursor.fetchall()[0]))
    assert kpis == {
        "known_customers": 6,
        "registrations": 2, "referred_registrations": 1,
        "conversion_cohort": 3, "first_purchase_conversion": 0.3333,  # K1 of K1, K2, K3
        "daily_active_customers": 3,  # X and K2 ordered (K2's order was refunded, still activity), R2 logged in
        "retention_base": 2, "retention_30d": 0.5,  # X and K3 were active 30-59 days ago; X again since
        "buyers": 3, "repurchase_rate": 0.3333,  # X, K1, K2; only X has two completed orders
        "orders": 1, "revenue": Decimal("50.00"), "avg_order_value": Decimal("50.00"),  # K2's refund excluded
        "avg_ltv": Decimal("66.67"),  # (150 + 30 + 20) / 3
        "nps": 100.0,
        "referral_rate": 0.1667,  # X brought R1: 1 of 6
    }


def test_stage_assets_on_sample_data_count_every_known_customer_every_day(tmp_path):
    from lifecycle_pipeline.contracts import SOURCES
    from tests.helpers import materialize_sample_range, query

    settings, _defs, keys, result = materialize_sample_range(tmp_path, "2026-02-01", "2026-02-28", seed=5)
    assert result.success and len(keys) == len(SOURCES) * 2 + 7 + 4 + 5 + 4 + 1  # + 4 clv, bi/published_days
    per_day = query(settings, """
        select c.as_of_date, sum(c.customers), k.known_customers,
               (select count(distinct customer_id) from clean.customers where _partition_date <= c.as_of_date)
        from lifecycle.stage_counts_daily c join lifecycle.kpis_daily k using (as_of_date)
        group by c.as_of_date, k.known_customers order by 1""")
    assert len(per_day) == 28
    assert all(total == known == customers for _day, total, known, customers in per_day)
    # every known customer has exactly one open spell; the first day's transitions are all entries from nothing
    assert query(settings, "select count(*) from lifecycle.stage_history where valid_to is null") == [(per_day[-1][1],)]
    assert query(settings, "select from_stage, sum(customers) from lifecycle.stage_transitions_daily "
                           "where as_of_date = '2026-02-01' group by 1") == [("(new)", per_day[0][1])]
    meta = result.asset_materializations_for_node("lifecycle_stages")
    counts = next(m for m in meta if m.asset_key.path == ["lifecycle", "stage_counts_daily"]).metadata
    assert sum(counts[f"customers_{s}"].value for s in
               ("prospect", "new", "active", "loyal", "advocate", "reactivated", "at_risk", "dormant", "churned")) \
        == per_day[-1][1]
