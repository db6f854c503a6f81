"""Health score and early-warning tiers on hand-built customers, at their exact boundaries.

DOMAIN.md (Scores, Early-warning tiers): health = activity 40 % + adoption 30 % +
service 20 % + NPS 10 %, missing components' weights spread over the present ones;
tiers 3 (no activity 60 d) > 2 (no aha action 14 d) > 1 (>= 30 % activity drop).
"""

from __future__ import annotations

import datetime as dt

import pytest

from lifecycle_pipeline.scoring import (
    ScoringSettings,
    compute_customer_features,
    compute_early_warnings,
    compute_health,
)
from tests.builders import add_customer, add_event, add_nps, add_order, add_ticket, at

AS_OF = dt.date(2026, 3, 31)


def ago(days: int) -> dt.date:
    return AS_OF - dt.timedelta(days=days)


def health(conn, settings=ScoringSettings()):
    compute_customer_features(conn, AS_OF, "UTC", settings)
    compute_health(conn, AS_OF, settings)
    rows = conn.execute(
        "select customer_id, health_score, health_band, components_present, activity_component, adoption_component, "
        "service_component, nps_component, missing_note from scoring.health_scores where as_of_date = ?", [AS_OF]
    ).fetchall()
    return {r[0]: r[1:] for r in rows}


def full_customer(conn, cid, nps=True, ticket=True):
    """6 active days in 30 (activity 50), 2 core features (adoption 50), CSAT 4 (service 75), NPS 8 (80)."""
    add_customer(conn, cid)
    for d in range(6):
        add_event(conn, cid, at(ago(d)), "core_feature_use", feature="reports" if d % 2 else "dashboards")
    if ticket:
        add_ticket(conn, cid, at(ago(20)), at(ago(19)), csat=4)
    if nps:
        add_nps(conn, f"N-{cid}", cid, at(ago(5)), 8)


def test_health_with_all_components_and_with_one_or_two_missing(conn):
    full_customer(conn, "ALL")
    full_customer(conn, "NO_NPS", nps=False)
    full_customer(conn, "NO_NPS_NO_TICKET", nps=False, ticket=False)
    h = health(conn)
    # (40*50 + 30*50 + 20*75 + 10*80) / 100
    assert h["ALL"][:7] == (58.0, "concerning", ["activity", "adoption", "service", "nps"], 50.0, 50.0, 75.0, 80.0)
    assert h["ALL"][7] is None
    # NPS missing: its 10 points spread -> (2000 + 1500 + 1500) / 90 = 55.56
    assert h["NO_NPS"][:3] == (55.6, "concerning", ["activity", "adoption", "service"])
    assert h["NO_NPS"][7] == "no NPS answer in the last year"
    # NPS and service missing -> (2000 + 1500) / 70 = 50
    assert h["NO_NPS_NO_TICKET"][:3] == (50.0, "concerning", ["activity", "adoption"])


def test_health_with_three_and_four_missing_components_in_a_business_without_events(conn):
    add_customer(conn, "NPS_ONLY")
    add_nps(conn, "N1", "NPS_ONLY", at(ago(3)), 9)
    add_customer(conn, "SERVICE_ONLY")
    add_ticket(conn, "SERVICE_ONLY", at(ago(10)), at(ago(9)), csat=2)
    add_customer(conn, "NOTHING")
    add_order(conn, "O1", "NOTHING", at(ago(1)))
    h = health(conn)
    assert h["NPS_ONLY"][:3] == (90.0, "healthy", ["nps"])
    assert h["NPS_ONLY"][3:5] == (None, None)  # no event data anywhere: activity and adoption are NULL, not 0
    assert "no event data" in h["NPS_ONLY"][7]
    assert h["SERVICE_ONLY"][:3] == (25.0, "critical", ["service"])
    assert h["NOTHING"][:3] == (None, None, [])
    assert h["NOTHING"][7] == ("no event data: activity and adoption left out; no rated ticket in the CSAT window; "
                               "no NPS answer in the last year")


@pytest.mark.parametrize(("nps", "band"), [(9, "healthy"), (8, "stable"), (6, "stable"), (5, "concerning"),
                                           (4, "concerning"), (3, "critical")])
def test_health_band_boundaries(conn, nps, band):
    add_customer(conn, "C")
    add_nps(conn, "N", "C", at(ago(1)), nps)  # NPS-only health = nps x 10: 60 is stable, 40 concerning
    assert health(conn)["C"][:2] == (nps * 10.0, band)


def test_health_score_of_exactly_85_is_healthy(conn):
    add_customer(conn, "C")
    for i, csat in enumerate([5, 5, 4, 4, 4]):  # average 4.4 -> (4.4 - 1) x 25 = 85
        add_ticket(conn, "C", at(ago(10 + i)), at(ago(9 + i)), csat=csat)
    assert health(conn)["C"][:2] == (85.0, "healthy")


def test_health_weights_and_bands_are_configuration(conn):
    full_customer(conn, "ALL")
    settings = ScoringSettings(weight_activity=0, weight_adoption=0, weight_service=50, weight_nps=50, stable_min=77.5)
    assert health(conn, settings)["ALL"][:2] == (77.5, "stable")  # (75 + 80) / 2
    with pytest.raises(ValueError, match="weights"):
        ScoringSettings(weight_activity=-1)


# --- early-warning tiers --------------------------------------------------------------------------


def warnings(conn, settings=ScoringSettings()):
    compute_customer_features(conn, AS_OF, "UTC", settings)
    compute_early_warnings(conn, AS_OF, settings)
    rows = conn.execute(
        "select customer_id, warning_tier, warning_signal, warning_reason from scoring.early_warnings "
        "where as_of_date = ?", [AS_OF]
    ).fetchall()
    return {r[0]: r[1:] for r in rows}


def add_events(conn, cid, day: dt.date, n: int, event_type="core_feature_use"):
    """``n`` events of one customer on one day, in one statement."""
    conn.execute(
        "insert into clean.events (event_id, customer_id, occurred_at, event_type, feature, _partition_date, "
        "_source_file, _source_row) select ? || '-' || ? || '-' || i, ?, ?::timestamptz + i * interval 1 second, ?, "
        "'reports', ?::date, 'f', i from range(?) as t(i)",
        [cid, str(day), cid, at(day, "08:00:00"), event_type, day, n],
    )


@pytest.mark.parametrize(("recent", "tier"), [(70, 1), (71, 0)])
def test_tier1_fires_at_exactly_a_30_percent_drop_and_not_at_29(conn, recent, tier):
    add_customer(conn, "C", signup=at(ago(200)))
    for d in range(30):  # 300 events in the 90 days before the last 30: a 30-day average of 100
        add_events(conn, "C", ago(31 + 2 * d), 10)
    for d in range(10):  # the last 30 days: `recent` events, the latest today (no tier 2 or 3)
        add_events(conn, "C", ago(d), recent // 10 + (1 if d < recent % 10 else 0))
    w = warnings(conn)["C"]
    assert w[0] == tier
    if tier:
        assert w[1] == "activity_drop"
        assert w[2] == "activity 70 in the last 30 days vs 100.0 on average before: 30.0 % drop (tier 1 at 30 %)"


@pytest.mark.parametrize(("aha_days_ago", "tier"), [(14, 2), (13, 0)])
def test_tier2_fires_after_14_days_without_an_aha_action(conn, aha_days_ago, tier):
    add_customer(conn, "C", signup=at(ago(100)))
    add_event(conn, "C", at(ago(aha_days_ago)), "core_feature_use", "reports")
    add_event(conn, "C", at(ago(0)), "login")  # still active: not tier 3
    w = warnings(conn)["C"]
    assert w[:2] == ((2, "no_aha_action") if tier else (0, None))
    if tier:
        assert w[2] == "no aha action (core_feature_use or an order) for 14 days (tier 2 at 14)"


def test_an_order_is_an_aha_action_and_aha_types_are_configuration(conn):
    add_customer(conn, "BUYER", signup=at(ago(100)))
    add_order(conn, "O1", "BUYER", at(ago(13)))
    add_event(conn, "BUYER", at(ago(0)), "login")
    add_customer(conn, "LOGGER", signup=at(ago(100)))
    add_event(conn, "LOGGER", at(ago(0)), "login")
    assert warnings(conn)["BUYER"][0] == 0
    assert warnings(conn)["LOGGER"][0] == 2
    assert warnings(conn, ScoringSettings(aha_event_types=("login",)))["LOGGER"][0] == 0


@pytest.mark.parametrize(("signup_days_ago", "tier"), [(14, 2), (13, 0)])
def test_a_customer_who_never_had_an_aha_action_counts_from_signup(conn, signup_days_ago, tier):
    add_customer(conn, "C", signup=at(ago(signup_days_ago)))
    add_event(conn, "C", at(ago(0)), "login")
    assert warnings(conn)["C"][0] == tier


@pytest.mark.parametrize(("last_activity", "tier"), [(60, 3), (59, 2)])
def test_tier3_fires_after_60_days_without_any_activity(conn, last_activity, tier):
    add_customer(conn, "C", signup=at(ago(300)))
    add_ticket(conn, "C", at(ago(last_activity)))  # a ticket is activity too
    add_customer(conn, "OTHER", signup=at(ago(300)))
    add_event(conn, "OTHER", at(ago(0)), "login")  # the business delivers events: the aha signal is on
    w = warnings(conn)["C"]
    assert w[0] == tier  # at 59 days tier 3 does not fire; tier 2 (no aha for 59 days) is the highest left
    if tier == 3:
        assert w[1:] == ("no_activity", "no activity for 60 days (tier 3 at 60)")


@pytest.mark.parametrize(("recency", "tier", "reason"), [
    (90, 3, "no activity for 90 days (tier 3 at 60)"),
    (91, 0, "not tiered: dormant or churned (last order 91 days ago)"),
])
def test_dormant_and_churned_customers_get_no_tier(conn, recency, tier, reason):
    add_customer(conn, "C")
    add_order(conn, "O1", "C", at(ago(recency)))
    assert warnings(conn)["C"] == (tier, "no_activity" if tier else None, reason)


def test_the_highest_tier_that_applies_wins(conn):
    add_customer(conn, "C", signup=at(ago(200)))
    for d in range(30):
        add_events(conn, "C", ago(31 + 2 * d), 10, event_type="core_feature_use")
    add_events(conn, "C", ago(0), 5, event_type="login")  # a 95 % drop, and no aha for 31 days
    assert warnings(conn)["C"][:2] == (2, "no_aha_action")
    assert warnings(conn, ScoringSettings(tier2_no_aha_days=40))["C"][:2] == (1, "activity_drop")


def test_a_steady_active_customer_has_no_warning(conn):
    add_customer(conn, "C", signup=at(ago(200)))
    for d in range(0, 120, 3):
        add_events(conn, "C", ago(d), 3)
    assert warnings(conn)["C"] == (0, None, None)


def test_with_the_saas_preset_no_customer_the_stages_call_dormant_or_churned_gets_a_tier(conn):
    """Warnings and stages read one lifecycle configuration: the preset's recency basis and windows."""
    from lifecycle_pipeline.scoring import compute_nps_daily, compute_rfm
    from lifecycle_pipeline.stages import build_stage_days, stage_settings

    saas = stage_settings("saas")  # activity drives recency: at_risk up to 30 days, dormant up to 60
    for cid, last_active in [("ACTIVE", 3), ("AT_RISK", 30), ("DORMANT", 31), ("DORMANT_LATE", 59), ("CHURNED", 75)]:
        add_customer(conn, cid, signup=at(ago(300)))
        add_order(conn, f"O-{cid}", cid, at(ago(last_active)))  # a recent order: ecommerce would call them active
        add_event(conn, cid, at(ago(last_active)), "login")
    add_customer(conn, "PROSPECT", signup=at(ago(200)))  # never active: counts from signup, stays tiered
    settings = ScoringSettings()
    compute_customer_features(conn, AS_OF, "UTC", settings)
    compute_rfm(conn, AS_OF, saas)
    compute_nps_daily(conn, AS_OF, "UTC", settings)
    compute_health(conn, AS_OF, settings)
    compute_early_warnings(conn, AS_OF, settings, saas)
    build_stage_days(conn, [AS_OF], saas)
    rows = conn.execute(
        "select customer_id, stage, w.warning_tier, w.warning_reason from lifecycle.customer_stage_daily "
        "join scoring.early_warnings as w using (as_of_date, customer_id) where as_of_date = ? order by 1", [AS_OF]
    ).fetchall()
    got = {cid: (stage, tier, reason) for cid, stage, tier, reason in rows}
    assert {cid: stage for cid, (stage, _, _) in got.items()} == {
        "ACTIVE": "new", "AT_RISK": "at_risk", "CHURNED": "churned", "DORMANT": "dormant",
        "DORMANT_LATE": "dormant", "PROSPECT": "prospect",
    }
    for cid in ("DORMANT", "DORMANT_LATE", "CHURNED"):
        assert got[cid][1] == 0
    assert got["DORMANT"][2] == "not tiered: dormant or churned (last activity 31 days ago)"
    assert got["CHURNED"][2] == "not tiered: dormant or churned (last activity 75 days ago)"
    assert got["AT_RISK"][1:] == (2, "no aha action (core_feature_use or an order) for 30 days (tier 2 at 14)")
    assert got["PROSPECT"][1:] == (3, "no activity for 200 days (tier 3 at 60)")
    # the same customers under the default (ecommerce) preset: recent orders keep every one of them tiered
    compute_early_warnings(conn, AS_OF, settings)
    tiers = dict(conn.execute(
        "select customer_id, warning_tier from scoring.early_warnings where as_of_date = ?", [AS_OF]).fetchall())
    assert tiers["DORMANT_LATE"] == 2 and tiers["CHURNED"] == 3
