"""LTV per customer and acquisition-channel economics on hand-built rows (DOMAIN.md, Scores)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from lifecycle_pipeline.scoring import (
    ScoringSettings,
    compute_channel_economics,
    compute_customer_features,
    compute_ltv,
)
from tests.builders import add_customer, add_order, add_spend, at, stored_fit

AS_OF = dt.date(2026, 3, 31)


def ago(days: int) -> dt.date:
    return AS_OF - dt.timedelta(days=days)


def score(conn, settings=ScoringSettings(), as_of=AS_OF):
    compute_customer_features(conn, as_of, "UTC", settings)
    compute_ltv(conn, as_of, settings)
    compute_channel_economics(conn, as_of, settings)


def ltv(conn, as_of=AS_OF):
    rows = conn.execute("select customer_id, historical_ltv, avg_order_value, purchase_frequency, expected_ltv "
                        "from scoring.customer_ltv where as_of_date = ?", [as_of]).fetchall()
    return {r[0]: r[1:] for r in rows}


def channels(conn, as_of=AS_OF):
    cursor = conn.execute("select * from scoring.channel_economics where as_of_date = ?", [as_of])
    names = [d[0] for d in cursor.description]
    return {row[1]: dict(zip(names, row)) for row in cursor.fetchall()}


def test_historical_and_expected_ltv(conn):
    add_customer(conn, "C1")
    add_order(conn, "O1", "C1", at(ago(100)), 100)
    add_order(conn, "O2", "C1", at(ago(10)), 50)
    add_order(conn, "O3", "C1", at(ago(5)), 70, status="refunded")
    add_order(conn, "O4", "C1", at(ago(400)), 30)  # outside the year: counts for history and AOV, not frequency
    add_customer(conn, "P1")
    score(conn)
    # AOV (100 + 50 + 30) / 3 = 60; 2 orders in the trailing year; x 3 years x 0.3 margin = 108
    assert ltv(conn)["C1"] == (Decimal("180.00"), Decimal("60.00"), 2.0, Decimal("108.00"))
    assert ltv(conn)["P1"] == (Decimal("0.00"), None, 0.0, Decimal("0.00"))
    score(conn, ScoringSettings(expected_lifetime_years=2, gross_margin=0.5))
    assert ltv(conn)["C1"][3] == Decimal("120.00")


def test_channel_economics_cac_cohort_ltv_and_flags(conn):
    # paid_search: 2 customers today, 1 ten days ago, 1 thirty days ago (outside the 30-day CAC window)
    for cid, days in [("PS1", 0), ("PS2", 0), ("PS3", 10), ("PS4", 30)]:
        add_customer(conn, cid, signup=at(ago(days)), channel="paid_search")
    add_order(conn, "O1", "PS4", at(ago(20)), 500)
    add_order(conn, "O2", "PS4", at(ago(2)), 500)  # expected LTV 500 x 2 x 0.9 = 900; cohort of 4 -> 225
    add_spend(conn, ago(0), "paid_search", 300)
    add_spend(conn, ago(29), "paid_search", 300)
    add_spend(conn, ago(30), "paid_search", 5000)  # outside the CAC window
    # display: spend, one customer who never ordered -> LTV/CAC 0
    add_customer(conn, "D1", signup=at(ago(3)), channel="display")
    add_spend(conn, ago(3), "display", 1000)
    # referral: LTV/CAC exactly 3 -> not above 3
    add_customer(conn, "R1", signup=at(ago(40)), channel="referral")
    add_order(conn, "O3", "R1", at(ago(1)), 1000)  # 1000 x 1 x 0.9 = 900
    add_spend(conn, ago(5), "referral", 300)
    add_customer(conn, "R2", signup=at(ago(5)), channel="referral")  # cohort avg 450, CAC 300 -> 1.5
    # organic: customers, no spend
    add_customer(conn, "G1", signup=at(ago(1)), channel="organic")
    add_customer(conn, "U1", signup=at(ago(1)))  # no channel given
    score(conn)
    c = channels(conn)

    ps = c["paid_search"]
    assert (ps["new_customers"], ps["spend"], ps["cac"]) == (2, Decimal("300.00"), Decimal("150.00"))
    assert (ps["new_customers_window"], ps["spend_window"], ps["cac_window"]) == (3, Decimal("600.00"), Decimal("200.00"))
    assert (ps["cohort_customers"], ps["avg_expected_ltv"], ps["ltv_to_cac"], ps["ltv_cac_flag"]) == (
        4, Decimal("225.00"), 1.13, "profitable")
    assert ps["avg_historical_ltv"] == Decimal("250.00")
    assert (c["display"]["ltv_to_cac"], c["display"]["ltv_cac_flag"]) == (0.0, "unprofitable")
    assert (c["referral"]["cac_window"], c["referral"]["ltv_to_cac"], c["referral"]["ltv_cac_flag"]) == (
        Decimal("300.00"), 1.5, "profitable")
    assert c["organic"]["ltv_cac_flag"] is None
    assert c["organic"]["note"] == "no spend in the CAC window: LTV/CAC undefined"
    assert c["unknown"]["new_customers_window"] == 1
    assert set(c) == {"paid_search", "display", "referral", "organic", "unknown"}


@pytest.mark.parametrize(("spend", "flag"), [(301, "profitable"), (300, "profitable"), (299, "scale"),
                                             (900, "profitable"), (901, "unprofitable")])
def test_ltv_cac_flag_boundaries(conn, spend, flag):
    add_customer(conn, "R1", signup=at(ago(5)), channel="referral")
    add_order(conn, "O1", "R1", at(ago(1)), 1000)  # expected LTV 900
    add_spend(conn, ago(5), "referral", spend)
    score(conn)
    assert channels(conn)["referral"]["ltv_cac_flag"] == flag  # 900/300 = 3 is not above 3; 900/900 = 1 is not below 1


def test_a_restated_spend_day_replaces_the_earlier_figure_from_the_day_it_lands(conn):
    add_customer(conn, "C1", signup=at(ago(3)), channel="social")
    add_spend(conn, ago(3), "social", 100)
    add_spend(conn, ago(3), "social", 160, landed=ago(1))  # restated two days later
    score(conn, as_of=ago(2))
    assert channels(conn, ago(2))["social"]["spend_window"] == Decimal("100.00")
    score(conn)
    assert channels(conn)["social"]["spend_window"] == Decimal("160.00")


def test_channel_economics_can_take_the_cohort_ltv_from_the_predicted_value(conn):
    """channel_ltv = "predicted": the cohort's average of customer_clv_predicted.expected_value_12m (0 for a
    customer without an order); a cohort customer without a usable prediction leaves LTV/CAC undefined."""
    from lifecycle_pipeline import clv
    from lifecycle_pipeline.clv import ClvSettings
    from lifecycle_pipeline.stages import StageSettings

    for cid, days in [("PS1", 60), ("PS2", 40), ("PS3", 5)]:
        add_customer(conn, cid, signup=at(ago(days)), channel="paid_search")
    add_order(conn, "O1", "PS1", at(ago(60)), 80)
    add_order(conn, "O2", "PS1", at(ago(20)), 120)
    add_order(conn, "O3", "PS2", at(ago(40)), 50)  # PS3 never ordered
    add_spend(conn, ago(5), "paid_search", 90)
    predicted = ScoringSettings(channel_ltv="predicted")
    fit = stored_fit(conn, clv.fit_date(AS_OF, 7))
    score(conn)
    clv.compute_clv_predicted(conn, AS_OF, ClvSettings(), predicted.gross_margin, StageSettings())
    formula = channels(conn)["paid_search"]
    compute_channel_economics(conn, AS_OF, predicted)
    values = dict(conn.execute("select customer_id, expected_value_12m from scoring.customer_clv_predicted").fetchall())
    assert set(values) == {"PS1", "PS2"} and all(v > 0 for v in values.values())
    ps = channels(conn)["paid_search"]
    mean = round((values["PS1"] + values["PS2"] + 0) / 3, 2)
    assert (ps["ltv_basis"], ps["cohort_customers"], ps["avg_expected_ltv"]) == ("predicted", 3, mean)
    assert ps["ltv_to_cac"] == round(float(mean / ps["cac_window"]), 2) and ps["note"] is None
    assert formula["ltv_basis"] == "formula" and formula["avg_expected_ltv"] != mean
    # the day's fit is unusable: the predictions are NULL, so is the cohort's LTV, and the note says why
    stored_fit(conn, fit.fit_date, converged=False, r=None, reason="mbgnbd: test")
    clv.compute_clv_predicted(conn, AS_OF, ClvSettings(), predicted.gross_margin, StageSettings())
    compute_channel_economics(conn, AS_OF, predicted)
    ps = channels(conn)["paid_search"]
    assert (ps["avg_expected_ltv"], ps["ltv_to_cac"], ps["ltv_cac_flag"]) == (None, None, None)
    assert ps["note"] == "2 cohort customers have no predicted value (no usable CLV fit): LTV/CAC undefined"


def test_an_unknown_channel_ltv_source_is_refused():
    with pytest.raises(ValueError, match="channel_ltv must be one of formula, predicted, got 'magic'"):
        ScoringSettings(channel_ltv="magic")
