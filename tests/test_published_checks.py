"""Blocking checks on the tables BI reads (lifecycle_pipeline/table_checks.py, assets/checks.py).

Each check fails on a hand-broken table with its counts and sample customers; in a run, a failed
check is recorded for its partition, stops the run and keeps the day out of the BI read path;
the outreach guard re-check records its failure before it stops; every check that ran has one
evaluation per partition (nothing that ran shows as "Skipped").
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import duckdb
import pytest

from lifecycle_pipeline import publish, table_checks
from lifecycle_pipeline.definitions import build_definitions
from lifecycle_pipeline.rule_settings import ScoringSettings
from lifecycle_pipeline.sample_data import generate, write_sample_data
from lifecycle_pipeline.settings import ProjectSettings
from tests.helpers import materialize

D1, D2 = dt.date(2026, 3, 1), dt.date(2026, 3, 2)


@pytest.fixture
def conn():
    """The columns the checks read, two days of consistent rows."""
    c = duckdb.connect()
    for schema in ("lifecycle", "scoring"):
        c.execute(f"create schema {schema}")
    c.execute("create table scoring.customer_features (as_of_date date, customer_id varchar)")
    c.execute("create table lifecycle.customer_stage_daily (as_of_date date, customer_id varchar, stage varchar, "
              "warning_tier integer)")
    c.execute("create table lifecycle.stage_counts_daily (as_of_date date, stage varchar, customers bigint)")
    c.execute("create table scoring.health_scores (as_of_date date, customer_id varchar, health_score double, "
              "health_band varchar)")
    c.execute("create table scoring.customer_ltv (as_of_date date, customer_id varchar, historical_ltv decimal(18,2), "
              "expected_ltv decimal(18,2), avg_order_value decimal(18,2))")
    for day in (D1, D2):
        rows = [("A", "active", 1, 90.0, "healthy"), ("B", "at_risk", 2, 50.0, "concerning"),
                ("C", "dormant", 0, 10.0, "critical")]  # tier 0: no warning
        for customer, stage, tier, score, band in rows:
            c.execute("insert into scoring.customer_features values (?, ?)", [day, customer])
            c.execute("insert into lifecycle.customer_stage_daily values (?, ?, ?, ?)", [day, customer, stage, tier])
            c.execute("insert into scoring.health_scores values (?, ?, ?, ?)", [day, customer, score, band])
            c.execute("insert into scoring.customer_ltv values (?, ?, 100, 120, 50)", [day, customer])
        c.execute("insert into lifecycle.stage_counts_daily values (?, 'active', 1), (?, 'at_risk', 1), "
                  "(?, 'dormant', 1)", [day, day, day])
    return c


PARAMS = ScoringSettings().params()


def outcomes(conn, check):
    found = table_checks.run_check(conn, check, [D1, D2], PARAMS)
    return {day: (o.violations, o.customer_ids) for day, o in found.items()}


ALL_CHECKS = [table_checks.STAGE_ONE_PER_CUSTOMER, table_checks.WARNING_TIERS_LIVE_ONLY,
              table_checks.STAGE_COUNTS_SUM, table_checks.HEALTH_SCORE_VALID, table_checks.LTV_NON_NEGATIVE]


def test_consistent_tables_pass_every_check(conn):
    for check in ALL_CHECKS:
        assert outcomes(conn, check) == {D1: (0, []), D2: (0, [])}, check.name


@pytest.mark.parametrize(("check", "breakage", "expected"), [
    (table_checks.STAGE_ONE_PER_CUSTOMER,
     "insert into lifecycle.customer_stage_daily values ('2026-03-02', 'B', 'loyal', null)", (1, ["B"])),
    (table_checks.STAGE_ONE_PER_CUSTOMER,
     "delete from lifecycle.customer_stage_daily where as_of_date = '2026-03-02' and customer_id in ('A', 'C')",
     (2, ["A", "C"])),
    (table_checks.STAGE_ONE_PER_CUSTOMER,
     "update lifecycle.customer_stage_daily set stage = null where as_of_date = '2026-03-02' and customer_id = 'A'",
     (1, ["A"])),
    (table_checks.WARNING_TIERS_LIVE_ONLY,
     "update lifecycle.customer_stage_daily set warning_tier = 3 where as_of_date = '2026-03-02' and customer_id = 'C'",
     (1, ["C"])),
    (table_checks.STAGE_COUNTS_SUM,
     "update lifecycle.stage_counts_daily set customers = 5 where as_of_date = '2026-03-02' and stage = 'active'",
     (2, [])),  # the total and the stage's own count
    (table_checks.HEALTH_SCORE_VALID,
     "update scoring.health_scores set health_score = 130 where as_of_date = '2026-03-02' and customer_id = 'A'",
     (1, ["A"])),
    (table_checks.HEALTH_SCORE_VALID,
     "update scoring.health_scores set health_band = 'healthy' where as_of_date = '2026-03-02' and customer_id = 'B'",
     (1, ["B"])),
    (table_checks.LTV_NON_NEGATIVE,
     "update scoring.customer_ltv set historical_ltv = -1 where as_of_date = '2026-03-02' and customer_id = 'B'",
     (1, ["B"])),
])
def test_a_hand_broken_table_fails_its_check_on_that_day_only_with_counts_and_customers(conn, check, breakage,
                                                                                      expected):
    conn.execute(breakage)
    assert outcomes(conn, check) == {D1: (0, []), D2: expected}
    broken = table_checks.run_check(conn, check, [D1, D2], PARAMS)[D2]
    assert broken.details and not broken.passed


def _settings(tmp_path) -> ProjectSettings:
    settings = ProjectSettings.for_data_dir(tmp_path / "data", start_date="2026-01-01")
    write_sample_data(generate(300, dt.date(2026, 2, 1), dt.date(2026, 2, 4), seed=11), settings.landing_root)
    return settings


def _all_keys(defs) -> list[str]:
    return [k.to_user_string() for a in defs.assets for k in a.keys]


def _range(start: str, end: str) -> dict:
    return {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end}


def test_a_failed_check_is_recorded_for_its_day_and_keeps_the_day_out_of_bi(tmp_path, monkeypatch):
    settings = _settings(tmp_path)
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    result = materialize(defs, _all_keys(defs), tags=_range("2026-02-01", "2026-02-03"), instance=instance)
    assert result.success
    # every check that ran has one evaluation per day, attached to that day's materialization
    evaluations = result.get_asset_check_evaluations()
    by_check = {}
    for e in evaluations:
        by_check.setdefault((e.asset_key.to_user_string(), e.check_name), []).append(e.partition)
    for check in ALL_CHECKS:
        assert sorted(by_check[(check.table.replace(".", "/"), check.name)]) == ["2026-02-01", "2026-02-02",
                                                                                "2026-02-03"], check.name
    assert sorted(by_check[("outreach/outreach_list", "guards_hold")]) == ["2026-02-01", "2026-02-02", "2026-02-03"]
    assert all(e.passed for e in evaluations if e.check_name in {c.name for c in ALL_CHECKS})
    # in the instance, every check of raw/orders and of the published tables ran for each day: none is left
    # "planned" (which the UI shows as Skipped once the run is over)
    from dagster._core.storage.event_log.base import PartitionKeyFilter

    check_keys = [*defs.resolve_assets_def(dg.AssetKey(["raw", "orders"])).check_keys,
                  *(dg.AssetCheckKey(dg.AssetKey(c.table.split(".")), c.name) for c in ALL_CHECKS)]
    assert len(check_keys) > len(ALL_CHECKS) + 5
    for key in check_keys:
        for partition in ("2026-02-01", "2026-02-02", "2026-02-03"):
            latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(
                [key], partition_filter=PartitionKeyFilter(key=partition))[key]
            assert latest.status.value in ("SUCCEEDED", "FAILED"), (key, partition, latest.status)
    # the GX Data Docs index lists the suites of the run, linked from the ingestion metadata
    [raw_orders] = result.asset_materializations_for_node("raw__orders")[:1]
    index = raw_orders.metadata["data_docs_index"].value
    assert index == (settings.data_dir / "data_docs" / "index.html").as_uri()
    assert "orders_landing_day" in (settings.data_dir / "data_docs" / "index.html").read_text()
    # the charts are on the materializations and in <data dir>/charts/<day>/
    counts = next(m for m in result.asset_materializations_for_node("lifecycle_stages")
                  if m.asset_key.to_user_string() == "lifecycle/stage_counts_daily")
    assert counts.metadata["stage_distribution"].value.startswith("![")
    assert (settings.data_dir / "charts" / "2026-02-03" / "stage_distribution.png").stat().st_size > 1000

    # day 4: a bug writes a health score of 130 for one customer
    from lifecycle_pipeline import scoring

    real = scoring.compute_health

    def broken_health(conn, as_of, settings_):
        rows = real(conn, as_of, settings_)
        conn.execute("update scoring.health_scores set health_score = 130 where as_of_date = ? and customer_id = "
                     "(select min(customer_id) from scoring.health_scores where as_of_date = ?)", [as_of, as_of])
        return rows

    monkeypatch.setattr(scoring, "compute_health", broken_health)
    failed = materialize(defs, _all_keys(defs), partition_key="2026-02-04", instance=instance, raise_on_error=False)
    assert not failed.success
    [evaluation] = [e for e in failed.get_asset_check_evaluations() if e.check_name == "health_score_valid"]
    assert (evaluation.passed, evaluation.partition) == (False, "2026-02-04")
    assert evaluation.metadata["violations"].value == 1 and len(evaluation.metadata["sample_customer_ids"].value) == 1
    key = dg.AssetCheckKey(dg.AssetKey(["scoring", "health_scores"]), "health_score_valid")
    history = instance.event_log_storage.get_asset_check_execution_history(key, limit=10)
    assert [(r.partition, r.status.value) for r in history if r.partition == "2026-02-04"] == [("2026-02-04", "FAILED")]
    # nothing downstream of the failed check ran: the BI layer still ends on day 3
    assert not any(m.asset_key.to_user_string() == "bi/published_days" for m in failed.get_asset_materialization_events()
                   if hasattr(m, "asset_key"))
    assert publish.published_through(publish.read_manifest(settings.bi_dir)) == dt.date(2026, 2, 3)


def test_a_guard_violation_is_recorded_as_a_failed_check_with_counts_and_customers(tmp_path, monkeypatch):
    settings = _settings(tmp_path)
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    assert materialize(defs, _all_keys(defs), tags=_range("2026-02-01", "2026-02-03"), instance=instance).success

    from lifecycle_pipeline.outreach import lists

    real = lists.verify_guards

    def guards_bug(conn, params):  # a bug in the guards: customers without consent get selected
        conn.execute("update outreach_day set status = 'contacted' where list_contains(reasons_excluded, 'no_consent')")
        return real(conn, params)

    monkeypatch.setattr(lists, "verify_guards", guards_bug)
    failed = materialize(defs, ["outreach/outreach_list"], partition_key="2026-02-03", instance=instance,
                         raise_on_error=False)
    assert not failed.success
    [evaluation] = [e for e in failed.get_asset_check_evaluations() if e.check_name == "guards_hold"]
    assert (evaluation.passed, evaluation.partition) == (False, "2026-02-03")
    assert evaluation.metadata["violations_without_consent"].value > 0
    assert evaluation.metadata["sample_customer_ids"].value["without_consent"]
    key = dg.AssetCheckKey(dg.AssetKey(["outreach", "outreach_list"]), "guards_hold")
    latest = instance.event_log_storage.get_asset_check_execution_history(key, limit=1)[0]
    assert (latest.partition, latest.status.value) == ("2026-02-03", "FAILED")
