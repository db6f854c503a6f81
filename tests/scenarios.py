"""Shared scenarios: a customer's journey over days, and scoring the days it covers.

Used by the stage, outreach and data-dictionary tests; the expected stages of the
journey are asserted in ``test_stages.py``.
"""

from __future__ import annotations

import datetime as dt

from lifecycle_pipeline import scoring
from lifecycle_pipeline.stages import StageSettings
from tests.builders import add_customer, add_order, at


def score_days(conn, days):
    settings = scoring.ScoringSettings()
    for day in days:
        scoring.compute_customer_features(conn, day, "UTC", settings)
        scoring.compute_rfm(conn, day)
        scoring.compute_nps_daily(conn, day, "UTC", settings)
        scoring.compute_health(conn, day, settings)
        scoring.compute_early_warnings(conn, day, settings)


# --- a customer's journey over days -----------------------------------------------------------------------

D0 = dt.date(2026, 3, 1)
DAYS = [D0 + dt.timedelta(days=i) for i in range(16)]
SHORT = StageSettings(active_max_days=3, at_risk_max_days=6, dormant_max_days=10, reactivation_gap_days=6)


def journey(conn):
    """A signs up on day 0, buys on day 1, lapses, goes dormant and buys again on day 11; B signs up on day 3."""
    add_customer(conn, "A", signup=at(DAYS[0], "10:00:00"))
    add_order(conn, "A1", "A", at(DAYS[1]))
    add_order(conn, "A2", "A", at(DAYS[11]))
    add_customer(conn, "B", signup=at(DAYS[3], "10:00:00"))
    score_days(conn, DAYS)
