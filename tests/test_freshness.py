"""The final assets carry the daily freshness policy: PASS after the daily run, WARN, then FAIL (overdue)
when a day's run is missing; no other asset has a policy.

The states come from an iteration of Dagster's own ``FreshnessDaemon``, the one ``dagster dev``
runs every 30 s. It runs over the project's code location (``lifecycle_pipeline.definitions``
with a temporary data dir), and ``freeze_time`` moves the clock. ``freeze_time`` and the
daemon are internal Dagster APIs; the project pins dagster to 1.13. The materializations are
real materialization records, written with ``report_runless_asset_event`` at the frozen time.
Building the final assets for real needs the whole chain from sample landing files, which
takes minutes. The policy reads only the timestamp of the asset's latest materialization, and
a reported materialization has one just like a run's.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from dagster._core.test_utils import create_test_daemon_workspace_context, freeze_time
from dagster._core.workspace.load_target import ModuleTarget
from dagster._daemon.freshness import FreshnessDaemon

from lifecycle_pipeline.freshness import FAIL_WINDOW, FRESHNESS_METADATA_KEY, WARN_WINDOW, daily_freshness_policy
from lifecycle_pipeline.settings import PROJECT_ROOT

FINAL = {
    "lifecycle/customer_stage_daily", "lifecycle/stage_history", "lifecycle/stage_transitions_daily",
    "lifecycle/stage_counts_daily", "lifecycle/kpis_daily",
    "outreach/outreach_list", "outreach/contact_history", "outreach/campaign_exports", "outreach/campaign_uplift",
    "bi/published_days",
}
FINAL_KEYS = sorted(dg.AssetKey(k.split("/")) for k in FINAL)
RAW_ORDERS = dg.AssetKey(["raw", "orders"])
# the 02:00 (UTC) scheduled run for 2026-03-01 has just finished
RUN_DONE = dt.datetime(2026, 3, 2, 2, 20, tzinfo=dt.UTC)


def test_the_policy_is_on_exactly_the_final_assets(defs):
    graph = defs.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    with_policy = {k.to_user_string() for k in keys if graph.get(k).freshness_policy is not None}
    assert with_policy == FINAL
    assert {k.to_user_string() for k in keys if not graph.get(k).child_keys} <= FINAL  # the graph's leaves
    assert not any(k.startswith(("raw/", "clean/", "scoring/")) for k in with_policy)
    for key in FINAL_KEYS:
        node = graph.get(key)
        assert node.freshness_policy == daily_freshness_policy()
        assert node.metadata[FRESHNESS_METADATA_KEY] == (
            "WARN 26 h and FAIL (overdue) 28 h after the latest materialization; "
            "the daily schedule refreshes it at 02:00 UTC")


def test_the_windows_are_26_and_28_hours():
    policy = daily_freshness_policy()
    assert policy.warn_window.to_timedelta() == WARN_WINDOW == dt.timedelta(hours=26)
    assert policy.fail_window.to_timedelta() == FAIL_WINDOW == dt.timedelta(hours=28)


@pytest.mark.parametrize(
    ("timezone", "day"),
    [("UTC", dt.date(2026, 3, 9)), ("Europe/Berlin", dt.date(2026, 10, 24)), ("America/New_York", dt.date(2026, 3, 7))],
)
def test_an_on_time_schedule_stays_under_warn_and_a_missed_day_reaches_fail(timezone, day):
    """Two ticks of the 02:00 schedule are 23-25 h apart (25 h when summer time ends); a missed tick means 48 h."""
    zone = ZoneInfo(timezone)
    ticks = [dt.datetime.combine(day + dt.timedelta(days=n), dt.time(2), zone) for n in range(3)]
    gaps = [b.astimezone(dt.UTC) - a.astimezone(dt.UTC) for a, b in itertools.pairwise(ticks)]
    assert max(gaps) < WARN_WINDOW
    assert ticks[2].astimezone(dt.UTC) - ticks[0].astimezone(dt.UTC) > FAIL_WINDOW


def _report(instance: dg.DagsterInstance, keys: Iterable[dg.AssetKey], at: dt.datetime, partition: str) -> None:
    with freeze_time(at):
        for key in keys:
            instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key, partition=partition))


def test_the_freshness_daemon_turns_the_final_assets_overdue_when_a_day_is_missed(tmp_path, monkeypatch):
    monkeypatch.setenv("LIFECYCLE_DATA_DIR", str(tmp_path / "data"))  # read by the code server the daemon starts
    monkeypatch.setenv("LIFECYCLE_START_DATE", "2026-01-01")
    target = ModuleTarget(module_name="lifecycle_pipeline.definitions", attribute="defs",
                          working_directory=str(PROJECT_ROOT), location_name="lifecycle_pipeline")
    (tmp_path / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance, \
            create_test_daemon_workspace_context(target, instance) as workspace:

        def states(at: dt.datetime) -> dict[str, str]:
            """One daemon iteration at ``at``; the states the UI shows, by asset."""
            with freeze_time(at):
                list(FreshnessDaemon().run_iteration(workspace))
            records = instance.get_freshness_state_records([*FINAL_KEYS, RAW_ORDERS])
            return {key.to_user_string(): record.freshness_state.value for key, record in records.items()}

        def final(state: str) -> dict[str, str]:
            return {**dict.fromkeys(FINAL, state), "raw/orders": "NOT_APPLICABLE"}

        assert states(RUN_DONE - dt.timedelta(hours=1)) == final("UNKNOWN")  # never materialized
        _report(instance, FINAL_KEYS, RUN_DONE, "2026-03-01")
        assert states(RUN_DONE) == final("PASS")
        assert states(RUN_DONE + dt.timedelta(hours=25)) == final("PASS")  # the next run may still be running
        # the 02:00 run of 2026-03-03 did not happen
        assert states(RUN_DONE + dt.timedelta(hours=26)) == final("WARN")
        assert states(RUN_DONE + dt.timedelta(hours=28)) == final("FAIL")
        # a late run that failed before the BI publish: the others are fresh again, bi/published_days stays overdue
        late = RUN_DONE + dt.timedelta(hours=29)
        _report(instance, [k for k in FINAL_KEYS if k != dg.AssetKey(["bi", "published_days"])], late, "2026-03-02")
        assert states(late) == {**final("PASS"), "bi/published_days": "FAIL"}
