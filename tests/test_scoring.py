"""Scoring rules on hand-built rows: customer features as of a day, and RFM scores and segments.

Rows are written straight into the clean tables of a real DuckDB file; the functions
under test are the same ones the scoring assets run.
"""

from __future__ import annotations

import datetime as dt
import random

import pandas as pd
import pytest

from lifecycle_pipeline.contracts import SOURCES
from lifecycle_pipeline.rfm import SEGMENTS, segment_for
from lifecycle_pipeline.scoring import (
    ScoringSettings,
    compute_channel_economics,
    compute_customer_features,
    compute_early_warnings,
    compute_health,
    compute_ltv,
    compute_nps_daily,
    compute_rfm,
)
from tests.builders import (
    add_customer,
    add_event,
    add_nps,
    add_order,
    add_spend,
    add_ticket,
    new_warehouse,
)

AS_OF = dt.date(2026, 3, 31)


def features(conn, as_of=AS_OF):
    compute_customer_features(conn, as_of, "UTC", ScoringSettings())
    df = conn.execute("select * from scoring.customer_features where as_of_date = ? order by customer_id", [as_of]).df()
    return df.set_index("customer_id")


def test_refunded_and_cancelled_orders_are_not_revenue_or_orders(conn):
    add_customer(conn, "C1")
    add_order(conn, "O1", "C1", "2026-03-01T10:00:00Z", 100)
    add_order(conn, "O2", "C1", "2026-03-05T10:00:00Z", 40)
    add_order(conn, "O2", "C1", "2026-03-05T10:00:00Z", 40, "refunded", updated_at="2026-03-09T10:00:00Z")
    add_order(conn, "O3", "C1", "2026-03-06T10:00:00Z", 70, "cancelled")
    f = features(conn).loc["C1"]
    assert (f.orders_lifetime, f.orders_365d, float(f.revenue_lifetime), float(f.avg_order_value)) == (1, 1, 100.0, 100.0)
    assert f.recency_days == 30
    # as of the day before the refund landed, O2 still counts
    before = features(conn, dt.date(2026, 3, 8)).loc["C1"]
    assert (before.orders_lifetime, float(before.revenue_lifetime)) == (2, 140.0)


def test_an_order_at_235959_counts_that_day_and_one_at_midnight_the_next(conn):
    add_customer(conn, "C1")
    add_customer(conn, "C2")
    add_order(conn, "O1", "C1", "2026-03-31T23:59:59Z")
    add_order(conn, "O2", "C2", "2026-04-01T00:00:00Z")
    f = features(conn)
    assert f.loc["C1"].orders_lifetime == 1 and f.loc["C1"].recency_days == 0
    assert f.loc["C2"].orders_lifetime == 0 and pd.isna(f.loc["C2"].recency_days)  # no order yet
    nxt = features(conn, dt.date(2026, 4, 1))
    assert nxt.loc["C2"].orders_lifetime == 1 and nxt.loc["C1"].recency_days == 1


def test_trailing_window_and_gap_between_the_last_two_orders(conn):
    add_customer(conn, "C1")
    add_order(conn, "O1", "C1", "2025-03-31T12:00:00Z", 5)   # 365 days before: outside the window
    add_order(conn, "O2", "C1", "2025-04-01T12:00:00Z", 7)   # 364 days before: inside
    add_order(conn, "O3", "C1", "2026-03-01T12:00:00Z", 11)
    f = features(conn).loc["C1"]
    assert (f.orders_lifetime, f.orders_365d, float(f.revenue_365d)) == (3, 2, 18.0)
    assert f.gap_last_two_orders_days == 334


def test_customers_and_orders_landed_after_the_day_are_ignored(conn):
    add_customer(conn, "C1")
    add_customer(conn, "C9", signup="2026-04-02T00:00:00Z")
    add_order(conn, "O1", "C1", "2026-03-30T12:00:00Z", 9, landed="2026-04-02")  # late-landed: not known on 03-31
    f = features(conn)
    assert list(f.index) == ["C1"]
    assert f.loc["C1"].orders_lifetime == 0


@pytest.mark.parametrize(("r", "f", "segment"), [
    (5, 1, "new_customers"), (5, 2, "potential_loyalists"), (5, 3, "potential_loyalists"), (5, 4, "champions"),
    (5, 5, "champions"), (4, 1, "promising"), (4, 2, "potential_loyalists"), (4, 3, "potential_loyalists"),
    (4, 4, "loyal_customers"), (4, 5, "loyal_customers"), (3, 1, "about_to_sleep"), (3, 2, "about_to_sleep"),
    (3, 3, "need_attention"), (3, 4, "loyal_customers"), (3, 5, "loyal_customers"), (2, 1, "hibernating"),
    (2, 2, "hibernating"), (2, 3, "at_risk"), (2, 4, "at_risk"), (2, 5, "cant_lose"), (1, 1, "hibernating"),
    (1, 2, "hibernating"), (1, 3, "at_risk"), (1, 4, "at_risk"), (1, 5, "cant_lose"),
])
def test_each_of_the_25_rf_cells_maps_to_its_segment(r, f, segment):
    assert segment_for(r, f) == segment


def test_segment_map_has_the_ten_domain_segments_and_rejects_bad_scores():
    assert len(SEGMENTS) == 10
    with pytest.raises(ValueError, match="1-5"):
        segment_for(0, 3)


def _rfm(conn, as_of=AS_OF):
    compute_customer_features(conn, as_of, "UTC", ScoringSettings())
    compute_rfm(conn, as_of)
    return {
        r[0]: r[1:]
        for r in conn.execute(
            "select customer_id, r_score, f_score, m_score, rfm_code, rfm_segment from scoring.rfm_scores "
            "where as_of_date = ?", [as_of]).fetchall()
    }


def test_rfm_quintiles_give_equal_values_equal_scores(conn):
    # ten buyers: recency 0..9 days, except C3/C4 tie on recency and orders, C8/C9 tie on revenue
    spec = {  # customer: (days before AS_OF of last order, orders in window, amount per order)
        "C0": (0, 5, 10), "C1": (1, 4, 10), "C2": (2, 4, 20), "C3": (3, 3, 10), "C4": (3, 3, 10),
        "C5": (5, 2, 10), "C6": (6, 2, 30), "C7": (7, 1, 10), "C8": (8, 1, 50), "C9": (9, 1, 50),
    }
    for cid, (days_ago, n, amount) in spec.items():
        add_customer(conn, cid)
        for i in range(n):
            day = AS_OF - dt.timedelta(days=days_ago + 10 * i)
            add_order(conn, f"{cid}-{i}", cid, f"{day}T12:00:00Z", amount)
    add_customer(conn, "P1")  # prospect: no RFM row
    rfm = _rfm(conn)

    assert "P1" not in rfm
    assert rfm["C3"] == rfm["C4"]  # tied on everything -> identical scores
    # score = floor(5 * (rank - 1) / 10) + 1; a tie group is scored where it starts.
    # R, recency descending: C9 r1, C8 r2, C7 r3, C6 r4, C5 r5, C3=C4 r6, C2 r8, C1 r9, C0 r10
    assert [rfm[c][0] for c in ("C0", "C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9")] == [5, 5, 4, 3, 3, 3, 2, 2, 1, 1]
    # F: the three one-order buyers tie at rank 1 -> all F = 1; 2 orders r4 -> 2; 3 r6 -> 3; 4 r8 -> 4; 5 r10 -> 5
    assert [rfm[c][1] for c in ("C7", "C8", "C9", "C5", "C6", "C3", "C1", "C2", "C0")] == [1, 1, 1, 2, 2, 3, 4, 4, 5]
    # M: revenue 10, 20, 30, 30, 40, 50, 50, 50, 60, 80 -> the three at 50 tie at rank 6 -> 3
    assert rfm["C0"][2] == rfm["C8"][2] == rfm["C9"][2] == 3
    assert [rfm[c][2] for c in ("C7", "C5", "C3", "C1", "C6", "C2")] == [1, 1, 2, 3, 5, 5]
    assert rfm["C0"][3] == "553" and rfm["C0"][4] == "champions"
    assert rfm["C9"][3] == "113" and rfm["C9"][4] == "hibernating"
    assert all(rfm[c][4] == segment_for(rfm[c][0], rfm[c][1]) for c in rfm)


def test_a_majority_of_one_time_buyers_all_score_f1(conn):
    for i in range(10):
        add_customer(conn, f"C{i}")
        for k in range(1 if i < 6 else i - 4):  # six one-order buyers, then 2..5 orders
            add_order(conn, f"O{i}-{k}", f"C{i}", f"{AS_OF - dt.timedelta(days=k + 1)}T12:00:00Z")
    rfm = _rfm(conn)
    assert [rfm[f"C{i}"][1] for i in range(10)] == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]


SCORE_TABLES = ["customer_features", "rfm_scores", "nps_daily", "health_scores", "early_warnings", "customer_ltv",
                "channel_economics"]


def _all_scores(conn, as_of=AS_OF):
    settings = ScoringSettings()
    compute_customer_features(conn, as_of, "UTC", settings)
    compute_rfm(conn, as_of)
    compute_nps_daily(conn, as_of, "UTC", settings)
    compute_health(conn, as_of, settings)
    compute_early_warnings(conn, as_of, settings)
    compute_ltv(conn, as_of, settings)
    compute_channel_economics(conn, as_of, settings)
    return {t: conn.execute(f"select * from scoring.{t} where as_of_date = ? order by all", [as_of]).fetchall()
            for t in SCORE_TABLES}


def test_shuffling_input_rows_does_not_change_any_score(tmp_path):
    rng = random.Random(3)
    customers = [(f"C{c:02d}", f"{AS_OF - dt.timedelta(days=rng.randint(0, 500))}T08:00:00Z",
                  rng.choice(["organic", "social", "paid_search"])) for c in range(60)]
    rows = []  # (builder, args)
    for cid, _signup, _channel in customers:
        for i in range(rng.randint(0, 6)):
            day = AS_OF - dt.timedelta(days=rng.randint(0, 400))
            amount = rng.choice([10, 20, 20, 35])
            rows.append((add_order, (f"O{cid}-{i}", cid, f"{day}T{rng.randint(0, 23):02d}:00:00Z", amount,
                                     rng.choice(["completed"] * 5 + ["refunded"]))))
        for _ in range(rng.choice([0, rng.randint(1, 40)])):
            day = AS_OF - dt.timedelta(days=rng.randint(0, 150))
            rows.append((add_event, (cid, f"{day}T{rng.randint(0, 23):02d}:00:00Z",
                                     rng.choice(["login", "core_feature_use", "referral_sent"]),
                                     rng.choice(["reports", "dashboards", "alerts"]))))
        if rng.random() < 0.4:
            day = AS_OF - dt.timedelta(days=rng.randint(1, 170))
            rows.append((add_ticket, (cid, f"{day}T09:00:00Z", f"{day}T18:00:00Z", rng.randint(1, 5))))
        if rng.random() < 0.4:
            day = AS_OF - dt.timedelta(days=rng.randint(0, 80))
            rows.append((add_nps, (f"N{cid}", cid, f"{day}T10:00:00Z", rng.randint(0, 10))))
    for d in range(0, 40, 3):
        rows.append((add_spend, (AS_OF - dt.timedelta(days=d), rng.choice(["social", "paid_search"]), 100 + d)))
    results = []
    for attempt in range(3):
        shuffled, people = rows[:], customers[:]
        random.Random(attempt).shuffle(shuffled)
        random.Random(attempt).shuffle(people)
        conn = new_warehouse(tmp_path / f"{attempt}.duckdb")
        for cid, signup, channel in people:
            add_customer(conn, cid, signup=signup, channel=channel)
        for builder, args in shuffled:
            builder(conn, *args)
        scores = _all_scores(conn)
        results.append(scores)
        conn.close()
    assert results[0] == results[1] == results[2]
    assert len(results[0]["customer_features"]) == 60
    assert {row[2] for row in results[0]["early_warnings"]} == {0, 1, 2, 3}  # the fixture exercises every tier


def test_recomputing_a_past_day_after_newer_days_gives_the_same_result(conn):
    add_customer(conn, "C1", channel="social")
    add_customer(conn, "C2")
    add_order(conn, "O1", "C1", "2026-03-10T12:00:00Z", 10)
    add_order(conn, "O2", "C2", "2026-03-20T12:00:00Z", 20)
    add_event(conn, "C1", "2026-03-30T12:00:00Z", "core_feature_use", "reports")
    add_nps(conn, "N1", "C2", "2026-03-25T12:00:00Z", 9)
    add_spend(conn, AS_OF, "social", 50)
    first = _all_scores(conn)
    # newer days land: a new order, a refund of O1, a new customer, events, an answer, restated spend
    add_order(conn, "O3", "C2", "2026-04-05T12:00:00Z", 30)
    add_order(conn, "O1", "C1", "2026-03-10T12:00:00Z", 10, "refunded", updated_at="2026-04-06T12:00:00Z")
    add_customer(conn, "C3", signup="2026-04-07T00:00:00Z", referred_by="C1")
    add_event(conn, "C2", "2026-04-08T12:00:00Z", "core_feature_use", "alerts")
    add_nps(conn, "N2", "C2", "2026-04-08T12:00:00Z", 2)
    add_spend(conn, AS_OF, "social", 80, landed="2026-04-09")
    later = _all_scores(conn, dt.date(2026, 4, 10))
    ltv_c1 = [r[5] for r in later["customer_ltv"] if r[1] == "C1"]
    assert ltv_c1 == [0] and [r[5] for r in first["customer_ltv"] if r[1] == "C1"] == [10]  # the refund landed
    assert _all_scores(conn) == first


def test_scoring_assets_backfill_and_recompute_a_past_day_identically(tmp_path):
    from lifecycle_pipeline.definitions import build_definitions
    from lifecycle_pipeline.sample_data import generate, write_sample_data
    from lifecycle_pipeline.settings import ProjectSettings
    from tests.helpers import materialize, query

    settings = ProjectSettings.for_data_dir(tmp_path / "data", start_date="2026-01-01")
    write_sample_data(generate(1_500, dt.date(2026, 2, 1), dt.date(2026, 3, 10), seed=2), settings.landing_root)
    defs = build_definitions(settings)
    scoring_keys = [f"scoring/{t}" for t in SCORE_TABLES]
    keys = [f"{layer}/{s}" for layer in ("raw", "clean") for s in SOURCES] + scoring_keys
    result = materialize(defs, keys, tags={"dagster/asset_partition_range_start": "2026-02-01",
                                           "dagster/asset_partition_range_end": "2026-03-10"})
    assert "champions" in result.asset_materializations_for_node("scoring__rfm_scores")[0].metadata["rfm_segment_counts"].value

    day = dt.date(2026, 3, 1)
    known = query(settings, "select count(distinct customer_id) from clean.customers where _partition_date <= ?", [day])
    assert query(settings, "select count(*) from scoring.customer_features where as_of_date = ?", [day]) == known
    buyers = query(settings, "select count(*) from scoring.customer_features where as_of_date = ? and orders_lifetime > 0", [day])
    assert query(settings, "select count(*) from scoring.rfm_scores where as_of_date = ?", [day]) == buyers
    assert query(settings, "select count(distinct as_of_date) from scoring.rfm_scores") == [(38,)]

    assert query(settings, "select count(*) from scoring.health_scores where as_of_date = ?", [day]) == known
    assert query(settings, "select count(*) from scoring.channel_economics where as_of_date = ? and cac_window > 0",
                 [day])[0][0] >= 3  # the sample spends on several channels

    snapshot = {t: f"select * from scoring.{t} where as_of_date = ? order by all" for t in SCORE_TABLES}
    before = {t: query(settings, q, [day]) for t, q in snapshot.items()}
    materialize(defs, scoring_keys, day.isoformat())
    assert {t: query(settings, q, [day]) for t, q in snapshot.items()} == before


@pytest.mark.parametrize(("score", "category"), [(0, "detractor"), (6, "detractor"), (7, "passive"), (8, "passive"),
                                                 (9, "promoter"), (10, "promoter")])
def test_nps_category_boundaries(conn, score, category):
    add_customer(conn, "C1")
    add_nps(conn, "N1", "C1", "2026-03-30T10:00:00Z", score)
    assert features(conn).loc["C1"].nps_category == category


def test_company_nps_counts_each_customers_latest_answer_in_the_window(conn):
    from lifecycle_pipeline.scoring import compute_nps_daily

    for cid, answers in {
        "C1": [("2026-03-30", 10)],                     # promoter
        "C2": [("2026-03-01", 2), ("2026-03-20", 9)],   # latest answer counts: promoter
        "C3": [("2026-03-15", 7)],                      # passive
        "C4": [("2026-01-01", 10), ("2026-03-29", 3)],  # detractor
        "C5": [("2025-12-31", 0)],                      # 90 days before AS_OF: outside the window
    }.items():
        add_customer(conn, cid)
        for i, (day, score) in enumerate(answers):
            add_nps(conn, f"{cid}-{i}", cid, f"{day}T12:00:00Z", score)
    compute_nps_daily(conn, AS_OF, "UTC", ScoringSettings())
    row = conn.execute("select respondents, promoters, passives, detractors, nps, note from scoring.nps_daily "
                       "where as_of_date = ?", [AS_OF]).fetchall()
    assert row == [(4, 2, 1, 1, 25.0, None)]  # (2 - 1) / 4 = 25


def test_company_nps_without_answers_is_null_and_says_why(conn):
    from lifecycle_pipeline.scoring import compute_nps_daily

    compute_nps_daily(conn, AS_OF, "UTC", ScoringSettings())
    assert conn.execute("select respondents, nps, note from scoring.nps_daily").fetchall() == [
        (0, None, "no NPS answers in the window")]


def test_each_query_binds_only_the_settings_it_uses(conn):
    from lifecycle_pipeline.db import bind

    statement = "-- uses $ignored only in a comment\nselect $as_of::date as d, $recent_days as r"
    assert bind(statement, {"as_of": AS_OF, "recent_days": 30, "ignored": 1, "other": 2}) == {
        "as_of": AS_OF, "recent_days": 30}
    assert conn.execute(statement, bind(statement, {"as_of": AS_OF, "recent_days": 30, "ignored": 1})).fetchall() == [
        (AS_OF, 30)]
    assert bind("select 1", {"as_of": AS_OF}) is None


def test_in_a_mostly_lapsed_base_no_lapsed_customer_lands_in_a_segment_of_the_living(conn):
    """77 % churned (like a real retail history): quintiles alone would give churned customers R = 4-5."""
    from lifecycle_pipeline.stages import build_stage_days, stage_settings
    from tests.scenarios import score_days

    rng = random.Random(7)
    recencies = [rng.randint(181, 430) for _ in range(77)] + [rng.randint(91, 180) for _ in range(8)] \
        + [rng.randint(46, 90) for _ in range(5)] + [rng.randint(0, 45) for _ in range(10)]
    for i, recency in enumerate(recencies):
        cid = f"C{i:03d}"
        add_customer(conn, cid, signup="2024-06-01T00:00:00Z")
        for k in range(rng.randint(1, 7)):  # frequent buyers among the lapsed too: F 4-5 is common
            day = AS_OF - dt.timedelta(days=recency + 7 * k)
            add_order(conn, f"{cid}-{k}", cid, f"{day}T12:00:00Z", 40)
    score_days(conn, [AS_OF])
    build_stage_days(conn, [AS_OF], stage_settings("ecommerce"))
    by_stage = dict(conn.execute(
        "select stage, list(distinct rfm_segment order by rfm_segment) from lifecycle.customer_stage_daily "
        "where as_of_date = ? group by stage", [AS_OF]).fetchall())
    assert set(by_stage) >= {"churned", "dormant", "at_risk"}
    living_segments = {"champions", "loyal_customers", "potential_loyalists", "new_customers", "promising"}
    for stage in ("churned", "dormant", "at_risk"):
        assert not set(by_stage[stage]) & living_segments, (stage, by_stage[stage])
    assert set(by_stage["churned"]) | set(by_stage["dormant"]) <= {"hibernating", "at_risk", "cant_lose"}
    r_scores = dict(conn.execute(
        "select s.stage, max(r.r_score) from lifecycle.customer_stage_daily as s join scoring.rfm_scores as r "
        "using (as_of_date, customer_id) where as_of_date = ? group by 1", [AS_OF]).fetchall())
    assert r_scores["churned"] == r_scores["dormant"] == 1 and r_scores["at_risk"] <= 2
    # the quintiles of the living are untouched: the most recent buyers still reach R = 5
    assert max(r_scores[s] for s in r_scores if s not in ("churned", "dormant", "at_risk")) == 5
