"""A real history, as a user imports it: a closed signup cohort, bursty orders, no events, no consent column.

The smooth sample data hides what a real export shows: most customers lapsed long ago,
no event stream, no opt-in column, a history that starts years before the default first
partition. These tests build such a history by hand and check what the user is told and
what the scores make of it.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lifecycle_pipeline.scoring import ScoringSettings
from lifecycle_pipeline.stages import compute_kpis, stage_settings
from tests.builders import add_customer, add_order, at
from tests.helpers import write_csv
from tests.scenarios import score_days

BIN = Path(sys.executable).parent


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LIFECYCLE_", "DAGSTER_"))}
    return {**clean, "LIFECYCLE_DATA_DIR": str(tmp_path / "data"), "LIFECYCLE_START_DATE": "2025-01-01"}


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "lifecycle-pipeline"), *args], env=env, capture_output=True, text=True,
                          timeout=300)


def _retail_export(tmp_path: Path, customers_mapping: dict) -> Path:
    """A 1997 shop: one signup quarter, orders over the next year, no opt-in column."""
    exports = tmp_path / "exports"
    write_csv(exports, ".", ".", ["id", "created", "mail"], [
        [str(i), f"1997-0{1 + i % 3}-1{i % 9} 10:00:00", f"c{i}@example.com"] for i in range(12)
    ], name="clients.csv")
    write_csv(exports, ".", ".", ["ref", "client", "placed", "total"], [
        [f"O{i}", str(i % 12), f"1997-{1 + i % 12:02d}-2{i % 8} 12:00:00", "25.00"] for i in range(40)
    ], name="sales.csv")
    mapping = {"timezone": "UTC", "sources": {
        "customers": {"file": "exports/clients.csv", **customers_mapping},
        "orders": {"file": "exports/sales.csv", "columns": {
            "order_id": "ref", "customer_id": "client", "ordered_at": "placed", "amount": "total"},
            "constants": {"status": "completed"}},
    }}
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(mapping))
    return path


CUSTOMER_COLUMNS = {"columns": {"customer_id": "id", "signup_at": "created", "email": "mail"}}


def test_import_warns_when_consent_is_unmapped_and_states_the_start_date_the_history_needs(tmp_path, env):
    result = _cli(["import", "--mapping", str(_retail_export(tmp_path, CUSTOMER_COLUMNS))], env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert ("warning: customers.email_opt_in and customers.sms_opt_in not mapped: outreach will exclude every "
            "customer from those channels (reason no_consent)") in out
    assert "note: orders.status is set to 'completed' for every row (mapping 'constants')" in out
    assert ("the history starts on 1997-01-10, before the first partition (LIFECYCLE_START_DATE=2025-01-01): "
            "set LIFECYCLE_START_DATE=1997-01-10 or earlier") in out
    command = out.split("backfill with:\n")[1].strip()
    # the printed command works as printed: the absolute program path and the start date it needs
    assert command == (f"LIFECYCLE_START_DATE=1997-01-10 {BIN / 'lifecycle-pipeline'} backfill "
                       f"--start 1997-01-10 --end 1997-12-27")


def test_a_consent_constant_is_an_explicit_logged_choice(tmp_path, env):
    mapping = {**CUSTOMER_COLUMNS, "constants": {"email_opt_in": True}}
    result = _cli(["import", "--mapping", str(_retail_export(tmp_path, mapping))], env)
    assert result.returncode == 0, result.stderr
    assert "note: customers.email_opt_in is set to 'true' for every row (mapping 'constants')" in result.stdout
    assert "warning: customers.sms_opt_in not mapped" in result.stdout
    assert "email_opt_in and" not in result.stdout
    bad = {**CUSTOMER_COLUMNS, "constants": {"nope": "1", "email": "x@example.com", "updated_at": "1997-01-01"}}
    result = _cli(["import", "--mapping", str(_retail_export(tmp_path, bad))], env)
    assert result.returncode != 0
    assert result.stderr == ("error: source 'customers': 'constants' cannot set nope, email (also mapped under "
                             "'columns'), updated_at (a timestamp)\n")


def test_summary_says_when_a_source_has_no_rows(tmp_path, env):
    result = _cli(["import", "--mapping", str(_retail_export(tmp_path, CUSTOMER_COLUMNS))], env)
    assert result.returncode == 0, result.stderr
    import duckdb

    from lifecycle_pipeline.contracts import SOURCES
    from lifecycle_pipeline.loading import ensure_clean_tables, ensure_warehouse

    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb")) as conn:
        ensure_warehouse(conn, list(SOURCES.values()))
        ensure_clean_tables(conn, list(SOURCES.values()))
    summary = _cli(["summary"], env).stdout
    assert "days None" not in summary
    assert "clean.events" in summary and "(no rows landed)" in summary


def test_referral_rate_is_null_without_referral_data_and_a_rate_with_it(conn):
    day = dt.date(2026, 3, 10)
    for cid in ("A", "B"):
        add_customer(conn, cid, signup=at(day - dt.timedelta(days=20)))
        add_order(conn, f"O{cid}", cid, at(day - dt.timedelta(days=5)))
    score_days(conn, [day])
    settings = stage_settings("ecommerce")
    from lifecycle_pipeline.stages import build_stage_days

    build_stage_days(conn, [day], settings)
    compute_kpis(conn, day, "UTC", settings)
    assert conn.execute("select referral_rate from lifecycle.kpis_daily where as_of_date = ?", [day]).fetchall() == [
        (None,)]
    add_customer(conn, "C", signup=at(day), referred_by="A")
    score_days(conn, [day])
    build_stage_days(conn, [day], settings)
    compute_kpis(conn, day, "UTC", settings)
    assert conn.execute("select referral_rate from lifecycle.kpis_daily where as_of_date = ?", [day]).fetchall() == [
        (round(1 / 3, 4),)]
    assert ScoringSettings().rfm_window_days == 365  # the referral window the rate counts in


def _warnings(conn, day, lifecycle=None):
    from lifecycle_pipeline.scoring import (
        compute_customer_features,
        compute_early_warnings,
    )

    settings = ScoringSettings()
    compute_customer_features(conn, day, "UTC", settings)
    compute_early_warnings(conn, day, settings, lifecycle or stage_settings("ecommerce"))
    return {r[0]: r[1:] for r in conn.execute(
        "select customer_id, warning_tier, warning_reason from scoring.early_warnings where as_of_date = ?", [day]
    ).fetchall()}


def test_ecommerce_tier2_follows_the_customers_own_purchase_rhythm_without_events(conn):
    """A shop without an event stream: "no aha action for 14 days" would flag nearly every customer."""
    day = dt.date(2026, 6, 30)
    ago = lambda n: at(day - dt.timedelta(days=n))  # noqa: E731
    rhythms = {  # customer: days before `day` of each completed order (all within the living window)
        "WEEKLY_ON_TIME": [6, 13, 20, 27],          # median gap 7, last order 6 days ago
        "WEEKLY_OVERDUE": [15, 22, 29, 36],         # median gap 7: 15 > max(2 x 7, 14)
        "MONTHLY_ON_TIME": [40, 70, 100],           # median gap 30: 40 <= 60
        "MONTHLY_OVERDUE": [55, 80, 105, 130],      # median gap 25: 55 > 50 (and < 60 days: not tier 3)
        "DAILY_BURST": [15, 16, 17, 18],            # median gap 1: 15 > max(2, 14)
        "ONE_ORDER": [20],                          # no rhythm yet: no tier 2
    }
    for cid, orders in rhythms.items():
        add_customer(conn, cid, signup=at(day - dt.timedelta(days=200)))
        for i, n in enumerate(orders):
            add_order(conn, f"{cid}-{i}", cid, ago(n))
    got = _warnings(conn, day)
    assert {cid: tier for cid, (tier, _) in got.items()} == {
        "WEEKLY_ON_TIME": 0, "WEEKLY_OVERDUE": 2, "MONTHLY_ON_TIME": 0, "MONTHLY_OVERDUE": 2,
        "DAILY_BURST": 2, "ONE_ORDER": 0,
    }
    assert got["WEEKLY_OVERDUE"][1] == "no order for 15 days, more than 2.0 x their median gap of 7.0 days between orders (tier 2)"
    assert got["MONTHLY_OVERDUE"][1] == "no order for 55 days, more than 2.0 x their median gap of 25.0 days between orders (tier 2)"
    # the event signals are off, and the reason says so
    assert got["WEEKLY_ON_TIME"][1] == got["ONE_ORDER"][1] == (
        "no event data: the activity-drop and aha-action signals are off")
    # once the business delivers events, the aha-action rule applies again
    from tests.builders import add_event

    add_event(conn, "ONE_ORDER", ago(1), "login")
    assert _warnings(conn, day)["ONE_ORDER"] == (2, "no aha action (core_feature_use or an order) for 20 days (tier 2 at 14)")
    # the saas preset judges activity, not the purchase rhythm
    saas = _warnings(conn, day, stage_settings("saas"))
    assert "median gap" not in " ".join(reason or "" for _, reason in saas.values())


def _bursty_export(tmp_path: Path) -> Path:
    """A closed cohort: 30 signups in the first 3 days of 1997, then none; bursty orders; a handful of NPS answers."""
    exports = tmp_path / "exports"
    write_csv(exports, ".", ".", ["id", "created", "mail", "optin"], [
        [str(i), f"1997-01-0{1 + i % 3} 09:00:00", f"c{i}@example.com", "Y"] for i in range(30)
    ], name="clients.csv")
    orders = []
    for i in range(90):  # orders cluster on a few days (a sale, a holiday) with quiet weeks between
        day = (1, 2, 3, 5, 9, 10, 16, 17, 24)[i % 9]
        orders.append([f"O{i}", str(i % 30), f"1997-{1 + (day - 1) // 31:02d}-{1 + (day - 1) % 31:02d} 12:00:00",
                       "19.90", "paid"])
    write_csv(exports, ".", ".", ["ref", "client", "placed", "total", "state"], orders, name="sales.csv")
    write_csv(exports, ".", ".", ["response_id", "customer_id", "responded_at", "score"], [
        ["N1", "3", "1997-01-05 10:00:00", "9"], ["N2", "4", "1997-01-20 10:00:00", "6"],
        ["N3", "5", "1997-01-22 10:00:00", "10"],
    ], name="nps.csv")
    mapping = {"timezone": "UTC", "sources": {
        "customers": {"file": "exports/clients.csv",
                      "columns": {"customer_id": "id", "signup_at": "created", "email": "mail", "email_opt_in": "optin"},
                      "values": {"email_opt_in": {"Y": "true"}}, "constants": {"sms_opt_in": "false"}},
        "orders": {"file": "exports/sales.csv", "columns": {
            "order_id": "ref", "customer_id": "client", "ordered_at": "placed", "amount": "total", "status": "state"},
            "values": {"status": {"paid": "completed"}}},
        "nps_responses": {"file": "exports/nps.csv"},
    }}
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(mapping))
    return path


def test_a_bursty_history_imports_and_backfills_to_the_end_through_the_cli(tmp_path, env):
    """Every partition of every asset materializes; old days compute outreach lists but export nothing."""
    import dagster as dg

    imported = _cli(["import", "--mapping", str(_bursty_export(tmp_path))], env)
    assert imported.returncode == 0, imported.stderr
    assert "warning:" not in imported.stdout  # consent is mapped (sms by an explicit constant)
    printed = imported.stdout.split("backfill with:\n")[1].strip()
    assignment, program, *args = printed.split()
    name, _, value = assignment.partition("=")
    assert name == "LIFECYCLE_START_DATE" and program == str(BIN / "lifecycle-pipeline")
    env = {**env, name: value}
    backfill = subprocess.run([program, *args], env=env, capture_output=True, text=True, timeout=900)
    assert backfill.returncode == 0, backfill.stdout[-3000:] + backfill.stderr[-3000:]
    assert " of 24 days (100 %)" in backfill.stdout  # progress was shown while it ran
    assert "held back" not in backfill.stdout  # no day blocked by the sparse sources

    first, last = dt.date(1997, 1, 1), dt.date(1997, 1, 24)
    days = {str(first + dt.timedelta(days=i)) for i in range((last - first).days + 1)}
    assert args == ["backfill", "--start", str(first), "--end", str(last)]
    data = tmp_path / "data"
    instance = dg.DagsterInstance.from_config(str(data / "dagster_home"))
    from lifecycle_pipeline.definitions import build_definitions
    from lifecycle_pipeline.settings import load_settings

    defs = build_definitions(load_settings({**env}))
    keys = [k for a in defs.assets for k in a.keys]
    missing = {k.to_user_string(): sorted(days - set(instance.get_materialized_partitions(k))) for k in keys}
    assert {k: v for k, v in missing.items() if v} == {}
    assert len(keys) >= 30
    assert not (data / "exports").exists() or not any((data / "exports").iterdir())  # nobody mails 1997
    import duckdb

    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as conn:
        assert conn.execute("select count(distinct as_of_date) from outreach.outreach_list").fetchall()[0][0] > 0
        assert conn.execute("select count(*) from outreach.outreach_list where export_file is not null"
                            ).fetchall() == [(0,)]
