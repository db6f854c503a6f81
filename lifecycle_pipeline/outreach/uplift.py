"""Campaign uplift: what contacted customers did afterwards compared with the campaign's holdout.

Rules in ``sql/outreach/campaign_uplift.sql``; the window, the pooled contact days and the
stage order that defines an improvement come from the playbook (``uplift``).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from lifecycle_pipeline import sql
from lifecycle_pipeline.daily_tables import ensure_table, replace_day
from lifecycle_pipeline.outreach.lists import HISTORY_TABLE
from lifecycle_pipeline.outreach.playbook import Playbook

UPLIFT_TABLE = "outreach.campaign_uplift"


def compute_uplift(conn: duckdb.DuckDBPyConnection, day: dt.date, playbook: Playbook) -> int:
    """Replace ``day``'s rows of ``outreach.campaign_uplift``; returns the number of campaigns measured."""
    ensure_table(conn, HISTORY_TABLE)
    order = playbook.uplift.stage_order
    conn.register("outreach_stage_order", pd.DataFrame({"stage": order, "stage_rank": range(len(order))}))
    try:
        params = {"as_of": day, "window_days": playbook.uplift.window_days,
                  "cohort_days": playbook.uplift.cohort_days}
        return replace_day(conn, UPLIFT_TABLE, day, sql.load("outreach/campaign_uplift"), params)
    finally:
        conn.unregister("outreach_stage_order")
