"""Injected bad rows: each kind damages the landing day as reported; ingestion reacts as documented."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pytest

from lifecycle_pipeline.bad_rows import KINDS, inject
from lifecycle_pipeline.contracts import SOURCES
from lifecycle_pipeline.gx_runner import SuiteRunner
from lifecycle_pipeline.loading import LandingSchemaError, ensure_warehouse, load_partition
from lifecycle_pipeline.quality_rules import QualitySettings
from lifecycle_pipeline.sample_data import generate, write_sample_data
from lifecycle_pipeline.validation import validate_days
from tests.helpers import materialize, query

DAY = dt.date(2026, 3, 2)
FIRST = dt.date(2026, 2, 1)


@pytest.fixture
def landed(settings):
    data = generate(1_500, FIRST, dt.date(2026, 3, 3), seed=5)
    write_sample_data(data, settings.landing_root)
    return data


def _clean_rows(data, source, day_index):
    return int((data.day_index[source] == day_index).sum())


def test_row_kinds_change_exactly_the_reported_rows(settings, defs, landed):
    report = inject(settings.landing_root, DAY, ["bad_types", "nps_out_of_range", "volume_spike", "missing_file"])
    assert json.loads((settings.landing_root / "_injected" / f"{DAY}.json").read_text()) == json.loads(json.dumps(report))

    history = {"dagster/asset_partition_range_start": FIRST.isoformat(),
               "dagster/asset_partition_range_end": (DAY - dt.timedelta(days=1)).isoformat()}
    sources = ["raw/customers", "raw/orders", "raw/events", "raw/nps_responses", "raw/marketing_spend"]
    materialize(defs, sources, tags=history)
    result = materialize(defs, sources, DAY.isoformat(), raise_on_error=False)
    failed = {(e.asset_key.path[-1], e.check_name) for e in result.get_asset_check_evaluations() if not e.passed}
    assert ("events", "row_count_in_band") in failed  # the 10x spike
    assert ("nps_responses", "score_range") in failed
    reasons = query(settings, "select source_row, reason from quality.quarantine where source = 'orders' and stage = 'ingestion' order by 1")
    assert [r[0] - 1 for r in reasons] == report["bad_types"]["rows"]
    assert all(r[1] == "amount: 12,50 EUR is not a valid DECIMAL(18,2)" for r in reasons)
    assert query(settings, "select count(*) from raw.events where _partition_date = ?", [DAY]) == [
        (10 * _clean_rows(landed, "events", (DAY - FIRST).days),)]
    assert report["nps_out_of_range"]["rows"]
    assert query(settings, "select max(score) from raw.nps_responses where _partition_date = ?", [DAY]) == [(11,)]  # a rule for quality checks, not a type error
    spend = result.asset_materializations_for_node("raw__marketing_spend")[0]
    assert spend.metadata["file_found"].value is False


def test_missing_column_fails_the_orders_partition_with_the_schema_message(settings, defs, landed):
    inject(settings.landing_root, DAY, ["missing_column"])
    with pytest.raises(LandingSchemaError, match="missing required columns: amount"):
        materialize(defs, ["raw/orders"], DAY.isoformat())


def test_unknown_kind_is_rejected(settings, landed):
    with pytest.raises(ValueError, match="unknown bad-row kinds"):
        inject(settings.landing_root, DAY, ["gremlins"])


def test_every_kind_applies_to_a_generated_day(settings, landed):
    report = inject(settings.landing_root, DAY)
    assert set(report) == set(KINDS)
    assert not (settings.landing_root / "marketing_spend" / DAY.isoformat() / "marketing_spend.csv").exists()


def test_malformed_lines_are_quarantined_by_line_and_conflicting_copies_all_go(settings, landed):
    report = inject(settings.landing_root, DAY, ["conflicting_duplicates", "malformed_lines"])
    path = settings.landing_root / "orders" / DAY.isoformat() / "orders.csv"
    conn = duckdb.connect()
    conn.execute("set TimeZone = 'UTC'")
    ensure_warehouse(conn, list(SOURCES.values()))
    load = load_partition(conn, SOURCES["orders"], DAY, [path])
    validate_days(conn, SOURCES["orders"], [DAY], QualitySettings(), SuiteRunner(None))

    lines = report["malformed_lines"]["lines"]
    assert conn.execute("select source_row + 1, rule from quality.quarantine where stage = 'ingestion' order by 1").fetchall() == [
        (line, "csv_format") for line in lines]
    reasons = conn.execute("select reason from quality.quarantine where stage = 'ingestion' order by source_row").fetchall()
    assert reasons[0][0].startswith(f"line {lines[0]}: field 2 (customer_id) opens a quote")
    assert reasons[1][0].startswith(f"line {lines[1]} has 7 fields where the header has 8")
    conflicting = conn.execute(
        "select original_row->>'order_id', count(*) from quality.quarantine where rule like '%key_unique%' group by 1 order by 1"
    ).fetchall()
    assert conflicting == [(o, 2) for o in sorted(report["conflicting_duplicates"]["order_ids"])]
    assert load.rows_read == len(path.read_text().splitlines()) - 1
