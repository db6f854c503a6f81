"""Freshness of the tables people read: WARN, then FAIL ("overdue") when the daily run has not refreshed them.

The daily schedule (``schedules.py``) runs once a day at ``LIFECYCLE_SCHEDULE_HOUR`` business
time for the day that just ended. So a final asset is refreshed about every 24 h, a little
later when a run takes longer than the previous one. The policy is Dagster's
``FreshnessPolicy.time_window``, measured from the asset's latest materialization (of any
partition):

* WARN after 26 h: today's run is more than 2 h later than yesterday's. 2 h also covers the
  25 h day when the business time zone leaves summer time.
* FAIL after 28 h: today's run has not refreshed the asset 4 h after yesterday's run did
  (by the clock). A missed or failed scheduled run turns the assets FAIL the same morning.

Dagster's freshness daemon evaluates the policies. It is part of ``dagster dev`` / ``dg dev``
and ``dagster-daemon`` and runs every 30 s. It records a state change on each asset, which the
UI shows. An asset that was never materialized is UNKNOWN. The window counts from the latest
materialization of any day. A backfill or ``lifecycle-pipeline release`` of an older day
therefore makes the assets PASS even while the newest day is missing. The partitions view
shows which days are missing.

The final assets are the lifecycle, outreach and BI groups. They include the two leaves of
the graph, ``bi/published_days`` and ``outreach/campaign_exports``. They also include the
tables people and BI read: the stage tables and KPIs, and the outreach lists, contact
history and uplift. Ingestion, clean and scoring assets get no policy: when one of them is
late, the final assets built from it are late too.
"""

from __future__ import annotations

import datetime as dt
import warnings

import dagster as dg

from lifecycle_pipeline.settings import ProjectSettings

SCHEDULE_PERIOD = dt.timedelta(hours=24)  # the daily schedule
WARN_GRACE = dt.timedelta(hours=2)  # a run later or slower than yesterday's; the 25 h day at the end of summer time
FAIL_GRACE = dt.timedelta(hours=4)  # past this, the day's scheduled run has not refreshed the asset
WARN_WINDOW = SCHEDULE_PERIOD + WARN_GRACE  # 26 h
FAIL_WINDOW = SCHEDULE_PERIOD + FAIL_GRACE  # 28 h
FINAL_GROUPS = ("lifecycle", "outreach", "bi")
FRESHNESS_METADATA_KEY = "freshness_window"


def daily_freshness_policy() -> dg.FreshnessPolicy:
    """WARN 26 h and FAIL 28 h after the latest materialization."""
    return dg.FreshnessPolicy.time_window(fail_window=FAIL_WINDOW, warn_window=WARN_WINDOW)


def is_final(spec: dg.AssetSpec) -> bool:
    """An asset people read: in the lifecycle, outreach or BI group."""
    return spec.group_name in FINAL_GROUPS


def _hours(delta: dt.timedelta) -> str:
    return f"{delta.total_seconds() / 3600:g} h"


def freshness_note(settings: ProjectSettings) -> str:
    """The window in words, shown in each final asset's metadata."""
    return (f"WARN {_hours(WARN_WINDOW)} and FAIL (overdue) {_hours(FAIL_WINDOW)} after the latest materialization; "
            f"the daily schedule refreshes it at {settings.schedule_hour:02d}:00 {settings.timezone}")


def with_freshness_policy(spec: dg.AssetSpec, settings: ProjectSettings) -> dg.AssetSpec:
    """``spec`` with the daily policy and its note if it is final; any other spec unchanged.
    A policy set where the asset is defined wins."""
    if not is_final(spec):
        return spec
    spec = dg.apply_freshness_policy(spec, daily_freshness_policy(), overwrite_existing=False)
    if FRESHNESS_METADATA_KEY in spec.metadata:
        return spec
    return spec.merge_attributes(metadata={FRESHNESS_METADATA_KEY: freshness_note(settings)})


def apply_freshness_policies(defs: dg.Definitions, settings: ProjectSettings) -> dg.Definitions:
    """``defs`` with the daily freshness policy on every final asset."""
    with warnings.catch_warnings():
        # Definitions.map_asset_specs is a preview API of Dagster 1.13; it calls map_resolved_asset_specs
        warnings.filterwarnings("ignore", message=r"Function `Definitions\.map_", category=dg.PreviewWarning)
        return defs.map_asset_specs(func=lambda spec: with_freshness_policy(spec, settings))
