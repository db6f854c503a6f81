"""Ingestion assets: a partition is replaced exactly, absent days are empty, bad files fail clearly.

Runs the real assets with ``dagster.materialize`` against a DuckDB file under tmp_path.
"""

from __future__ import annotations

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lifecycle_pipeline.loading import LandingFileError, LandingSchemaError
from lifecycle_pipeline.resources import QualityConfig
from tests.helpers import materialize as _materialize
from tests.helpers import query, write_csv

# These tests are about loading; the fixtures' orders reference customers that are never
# landed, so quality rules would quarantine them and block. Quality has its own tests.
LENIENT = QualityConfig(max_quarantine_share=1.0)


def materialize(defs, keys, partition_key=None, **kwargs):
    return _materialize(defs, keys, partition_key, quality=LENIENT, **kwargs)

ORDER_HEADER = ["order_id", "customer_id", "ordered_at", "amount", "status", "updated_at", "currency", "category"]
ORDERS_DAY1 = [
    ["O1", "C1", "2026-03-01T09:00:00Z", "19.99", "completed", "2026-03-01T09:00:00Z", "USD", "books"],
    ["O2", "C2", "2026-03-01T23:59:59Z", "5.00", "completed", "", "USD", ""],
    ["O0", "C1", "2026-02-27T10:00:00Z", "12.50", "refunded", "2026-03-01T10:00:00Z", "USD", "home"],
]


def _orders(settings):
    return query(
        settings,
        "select order_id, customer_id, ordered_at, amount, status, updated_at, currency, category, "
        "_partition_date, _source_row from raw.orders order by _partition_date, order_id",
    )


def test_rematerializing_a_partition_gives_identical_rows(settings, defs):
    root = settings.landing_root
    write_csv(root, "orders", "2026-03-01", ORDER_HEADER, ORDERS_DAY1)
    write_csv(root, "orders", "2026-03-02", ORDER_HEADER, [["O3", "C3", "2026-03-02T08:00:00Z", "7", "cancelled", "", "", ""]])

    materialize(defs, ["raw/orders"], "2026-03-01")
    materialize(defs, ["raw/orders"], "2026-03-02")
    first = _orders(settings)
    result = materialize(defs, ["raw/orders"], "2026-03-01")
    second = _orders(settings)

    assert len(first) == 4
    assert first == second
    mat = result.asset_materializations_for_node("raw__orders")[0]
    assert mat.metadata["dagster/row_count"].value == 3
    assert mat.metadata["rows_quarantined"].value == 0


def test_values_are_typed_and_empty_optional_fields_are_null(settings, defs):
    write_csv(settings.landing_root, "orders", "2026-03-01", ORDER_HEADER, ORDERS_DAY1)
    materialize(defs, ["raw/orders"], "2026-03-01")
    types = dict(query(settings, "select column_name, data_type from information_schema.columns where table_name = 'orders'"))
    assert types["ordered_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["amount"] == "DECIMAL(18,2)"
    row = query(settings, "select amount, updated_at, category, ordered_at::varchar from raw.orders where order_id = 'O2'")[0]
    assert str(row[0]) == "5.00"
    assert row[1] is None and row[2] is None
    assert row[3] == "2026-03-01 23:59:59+00"


def test_changed_file_replaces_the_partition_without_touching_other_days(settings, defs):
    root = settings.landing_root
    write_csv(root, "orders", "2026-03-01", ORDER_HEADER, ORDERS_DAY1)
    write_csv(root, "orders", "2026-03-02", ORDER_HEADER, [["O3", "C3", "2026-03-02T08:00:00Z", "7", "completed", "", "", ""]])
    materialize(defs, ["raw/orders"], "2026-03-01")
    materialize(defs, ["raw/orders"], "2026-03-02")

    write_csv(root, "orders", "2026-03-01", ORDER_HEADER, ORDERS_DAY1[:1])
    materialize(defs, ["raw/orders"], "2026-03-01")

    rows = query(settings, "select _partition_date::varchar, order_id from raw.orders order by 1, 2")
    assert rows == [("2026-03-01", "O1"), ("2026-03-02", "O3")]


def test_absent_source_day_is_an_empty_partition_that_succeeds(settings, defs):
    write_csv(settings.landing_root, "orders", "2026-03-01", ORDER_HEADER, ORDERS_DAY1)
    result = materialize(defs, ["raw/orders", "raw/nps_responses"], "2026-03-01")

    assert result.success
    mat = result.asset_materializations_for_node("raw__nps_responses")[0]
    assert mat.metadata["file_found"].value is False
    assert mat.metadata["days_without_file"].value == 1
    assert mat.metadata["dagster/row_count"].value == 0
    assert query(settings, "select count(*) from raw.nps_responses") == [(0,)]


def test_day_whose_file_disappears_is_emptied_on_rerun(settings, defs):
    path = write_csv(settings.landing_root, "orders", "2026-03-01", ORDER_HEADER, ORDERS_DAY1)
    materialize(defs, ["raw/orders"], "2026-03-01")
    path.unlink()
    result = materialize(defs, ["raw/orders"], "2026-03-01", raise_on_error=False)
    assert query(settings, "select count(*) from raw.orders") == [(0,)]
    failed = [e.check_name for e in result.get_asset_check_evaluations() if not e.passed]
    assert failed == ["file_arrived"]  # orders are required: a missing file blocks the day


def test_wrong_column_set_fails_with_file_columns_and_expected_schema(settings, defs):
    root = settings.landing_root
    write_csv(root, "orders", "2026-03-01", ORDER_HEADER, ORDERS_DAY1)
    materialize(defs, ["raw/orders"], "2026-03-01")
    bad_header = ["order_id", "customer_id", "ordered_at", "amt", "status"]
    path = write_csv(root, "orders", "2026-03-01", bad_header, [["O9", "C9", "2026-03-01T01:00:00Z", "1", "completed"]])

    with pytest.raises(LandingSchemaError) as info:
        materialize(defs, ["raw/orders"], "2026-03-01")

    message = str(info.value)
    assert str(path) in message
    assert "missing required columns: amount" in message
    assert "unexpected columns: amt" in message
    assert "Expected schema: order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMPTZ, amount DECIMAL(18,2)" in message
    # the failed load left the previous contents of the day in place
    assert query(settings, "select count(*) from raw.orders") == [(3,)]


def test_header_matching_ignores_case_and_column_order(settings, defs):
    header = ["STATUS", " Amount ", "ordered_at", "customer_id", "order_id"]
    write_csv(settings.landing_root, "orders", "2026-03-01", header, [["completed", "3.10", "2026-03-01T01:00:00Z", "C1", "O1"]])
    materialize(defs, ["raw/orders"], "2026-03-01")
    assert query(settings, "select order_id, amount::varchar, status from raw.orders") == [("O1", "3.10", "completed")]


def test_values_that_do_not_cast_are_quarantined_with_reason(settings, defs):
    rows = [
        ["O1", "C1", "2026-03-01T09:00:00Z", "19.99", "completed", "", "", ""],
        ["O2", "C2", "yesterday", "12,50 EUR", "completed", "", "", ""],
        ["O3", "C3", "2026-03-01T10:00:00Z", "4", "completed", "", "", ""],
    ]
    write_csv(settings.landing_root, "orders", "2026-03-01", ORDER_HEADER, rows)
    result = materialize(defs, ["raw/orders"], "2026-03-01")

    assert query(settings, "select order_id from raw.orders order by 1") == [("O1",), ("O3",)]
    quarantined = query(
        settings,
        "select source, partition_date::varchar, stage, source_row, rule, reason, original_row->>'order_id' "
        "from quality.quarantine where stage = 'ingestion'",
    )
    assert quarantined == [
        (
            "orders",
            "2026-03-01",
            "ingestion",
            2,
            "type_cast",
            "ordered_at: yesterday is not a valid TIMESTAMPTZ; amount: 12,50 EUR is not a valid DECIMAL(18,2)",
            "O2",
        )
    ]
    mat = result.asset_materializations_for_node("raw__orders")[0]
    assert mat.metadata["rows_read"].value == 3
    assert mat.metadata["rows_quarantined"].value == 1
    # re-running the day does not duplicate quarantine rows
    materialize(defs, ["raw/orders"], "2026-03-01")
    assert query(settings, "select count(*) from quality.quarantine where stage = 'ingestion'") == [(1,)]


def test_parquet_and_csv_files_of_one_day_are_both_loaded(settings, defs):
    root = settings.landing_root
    write_csv(root, "events", "2026-03-01", ["event_id", "customer_id", "occurred_at", "event_type"],
              [["E1", "C1", "2026-03-01T01:00:00Z", "login"]])
    table = pa.table({"event_id": ["E2"], "customer_id": ["C1"], "occurred_at": pa.array(
        [pa.scalar(1772330400, pa.timestamp("s", tz="UTC")).value], pa.timestamp("s", tz="UTC")),
        "event_type": ["core_feature_use"], "feature": ["search"]})
    pq.write_table(table, root / "events" / "2026-03-01" / "more.parquet")
    (root / "events" / "2026-03-01" / "_SUCCESS").write_text("")

    materialize(defs, ["raw/events"], "2026-03-01")

    rows = query(settings, "select event_id, occurred_at::varchar, feature, _source_file like '%.parquet' from raw.events order by 1")
    assert rows == [("E1", "2026-03-01 01:00:00+00", None, False), ("E2", "2026-03-01 02:00:00+00", "search", True)]


def test_unsupported_file_type_is_an_error_not_skipped(settings, defs):
    write_csv(settings.landing_root, "orders", "2026-03-01", ORDER_HEADER, ORDERS_DAY1, name="orders.xlsx")
    with pytest.raises(LandingFileError, match="unsupported type"):
        materialize(defs, ["raw/orders"], "2026-03-01")


def test_partition_range_run_loads_each_day(settings, defs):
    root = settings.landing_root
    for i, d in enumerate(["2026-03-01", "2026-03-02", "2026-03-03"]):
        write_csv(root, "orders", d, ORDER_HEADER[:5], [[f"O{i}{j}", "C1", f"{d}T12:00:00Z", "1", "completed"] for j in range(i + 1)])
    result = materialize(
        defs, ["raw/orders"],
        tags={"dagster/asset_partition_range_start": "2026-03-01", "dagster/asset_partition_range_end": "2026-03-03"},
    )
    assert query(settings, "select _partition_date::varchar, count(*) from raw.orders group by 1 order by 1") == [
        ("2026-03-01", 1), ("2026-03-02", 2), ("2026-03-03", 3)]
    mat = result.asset_materializations_for_node("raw__orders")
    assert {m.partition for m in mat} == {"2026-03-01", "2026-03-02", "2026-03-03"}


def test_timestamps_without_offset_are_read_in_the_business_time_zone(tmp_path):
    from lifecycle_pipeline.definitions import build_definitions
    from lifecycle_pipeline.settings import ProjectSettings

    settings = ProjectSettings.for_data_dir(tmp_path, start_date="2026-01-01", timezone="America/New_York")
    defs = build_definitions(settings)
    write_csv(settings.landing_root, "orders", "2026-03-01", ORDER_HEADER[:5],
              [["O1", "C1", "2026-03-01 23:30:00", "1", "completed"], ["O2", "C1", "2026-03-02T04:30:00Z", "1", "completed"]])
    materialize(defs, ["raw/orders"], "2026-03-01")
    rows = query(settings, "select order_id, ordered_at::date::varchar, epoch(ordered_at)::bigint from raw.orders order by 1")
    assert rows[0] == ("O1", "2026-03-01", rows[1][2])  # same instant: 23:30 EST == 04:30Z
    assert rows[1][1] == "2026-03-01"


def test_ingestion_assets_carry_partitions_schema_and_pool(defs):
    keys = [dg.AssetKey(["raw", s]) for s in
            ["customers", "orders", "events", "support_tickets", "nps_responses", "marketing_spend", "suppressions"]]
    for key in keys:
        asset = defs.resolve_assets_def(key)
        assert isinstance(asset.partitions_def, dg.DailyPartitionsDefinition)
        assert asset.partitions_def.timezone == "UTC"
        assert asset.backfill_policy == dg.BackfillPolicy.single_run()
        spec = next(iter(asset.specs))
        assert asset.op.pool == "duckdb_writer"
        assert spec.group_name == "ingestion"
        assert "grain" in spec.description
        assert "dagster/column_schema" in spec.metadata
