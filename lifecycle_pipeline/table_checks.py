"""Checks on the tables BI reads, run on the days just written and before they are published.

Each check is a query in ``sql/checks/`` returning the violating rows of days ``$first..$last``
as ``(as_of_date, customer_id, detail)``; no rows means the check passed. The assets that
write the tables run them as blocking Dagster asset checks (``assets/checks.py``): a failure
stops the run before ``bi/published_days``, so the day never reaches the BI read path.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import duckdb

from lifecycle_pipeline import sql
from lifecycle_pipeline.db import bind
from lifecycle_pipeline.vocabulary import LAPSED_STAGES

SAMPLE_SIZE = 5


@dataclass(frozen=True)
class TableCheck:
    """A check on ``table``: its name in the UI, what it asserts, and its query (``sql/checks/<name>.sql``)."""

    name: str
    table: str
    description: str

    @property
    def query(self) -> str:
        return sql.load(f"checks/{self.name}")


@dataclass
class DayOutcome:
    """One day's result of a check: how many violations, a few of them, and sample customer ids."""

    violations: int = 0
    details: list[str] = field(default_factory=list)
    customer_ids: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.violations == 0


STAGE_ONE_PER_CUSTOMER = TableCheck(
    "stage_one_per_customer", "lifecycle.customer_stage_daily",
    "Exactly one stage row per known customer per day: no customer twice, none without a stage, every customer the "
    "day's features know has a row (sql/checks/stage_one_per_customer.sql).")
WARNING_TIERS_LIVE_ONLY = TableCheck(
    "warning_tiers_live_only", "lifecycle.customer_stage_daily",
    "Early-warning tiers only for customers not dormant or churned (DOMAIN.md, Early-warning tiers; "
    "sql/checks/warning_tiers_live_only.sql).")
STAGE_COUNTS_SUM = TableCheck(
    "stage_counts_sum", "lifecycle.stage_counts_daily",
    "The day's stage counts sum to the customers known that day and each equals its stage's rows in "
    "customer_stage_daily (sql/checks/stage_counts_sum.sql).")
HEALTH_SCORE_VALID = TableCheck(
    "health_score_valid", "scoring.health_scores",
    "Health score within 0-100 and its band the one the score falls in (DOMAIN.md, Scores; "
    "sql/checks/health_score_valid.sql).")
LTV_NON_NEGATIVE = TableCheck(
    "ltv_non_negative", "scoring.customer_ltv",
    "Historical LTV, expected LTV and average order value are never negative (sql/checks/ltv_non_negative.sql).")


def run_check(
    conn: duckdb.DuckDBPyConnection, check: TableCheck, days: list[dt.date], params: dict | None = None
) -> dict[dt.date, DayOutcome]:
    """Each of ``days``' outcome of ``check`` (``params``: settings the query may use, e.g. band thresholds)."""
    outcomes = {day: DayOutcome() for day in days}
    values = {**(params or {}), "first": min(days), "last": max(days), "lapsed_stages": list(LAPSED_STAGES)}
    statement = check.query
    rows = conn.execute(statement, bind(statement, values)).fetchall()
    samples: dict[dt.date, list[tuple]] = defaultdict(list)
    for day, customer_id, detail in rows:
        outcome = outcomes.setdefault(day, DayOutcome())
        outcome.violations += 1
        samples[day].append((customer_id or "", detail))
    for day, found in samples.items():
        found.sort()
        outcomes[day].details = [detail for _, detail in found[:SAMPLE_SIZE]]
        outcomes[day].customer_ids = [c for c, _ in found[:SAMPLE_SIZE] if c]
    return outcomes
