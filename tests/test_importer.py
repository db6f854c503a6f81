"""Real-data import: user exports + column mapping are split into the landing layout by day."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from lifecycle_pipeline.importer import ImportMappingError, import_history, load_mapping
from lifecycle_pipeline.resources import QualityConfig
from tests.helpers import materialize, query, write_csv


def _export(tmp_path: Path) -> Path:
    """A shop's own exports with its own column names and status words."""
    exports = tmp_path / "exports"
    write_csv(exports, ".", ".", ["id", "created", "mail", "optin"], [
        ["42", "2026-03-01 08:00:00", "a@example.com", "Y"],
        ["43", "2026-03-01 07:00:00", "b@example.com", "N"],
    ], name="clients.csv")
    write_csv(exports, ".", ".", ["ref", "client", "placed", "total", "state"], [
        ["A-1", "42", "2026-03-01 23:30:00", "10.00", "paid"],        # 23:30 in New York = 04:30Z next day
        ["A-2", "42", "2026-03-02T00:00:00-05:00", "12.00", "paid"],  # local midnight: the new day
        ["A-3", "43", "2026-03-01 23:59:59", "7.50", "void"],
    ], name="sales.csv")
    mapping = {
        "timezone": "America/New_York",
        "sources": {
            "customers": {
                "file": "exports/clients.csv",
                "columns": {"customer_id": "id", "signup_at": "created", "email": "mail", "email_opt_in": "optin"},
                "values": {"email_opt_in": {"Y": "true", "N": "false"}},
            },
            "orders": {
                "file": "exports/sales.csv",
                "columns": {"order_id": "ref", "customer_id": "client", "ordered_at": "placed",
                            "amount": "total", "status": "state"},
                "values": {"status": {"paid": "completed", "void": "cancelled"}},
            },
        },
    }
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(mapping))
    return path


def _landed(root: Path, source: str) -> dict[str, list[dict]]:
    return {
        folder.name: pq.read_table(folder / "import.parquet").to_pylist()
        for folder in sorted((root / source).iterdir())
    }


def test_columns_are_mapped_and_rows_split_by_business_day(tmp_path):
    results = import_history(load_mapping(_export(tmp_path)), tmp_path / "landing", business_timezone="America/New_York")
    orders = _landed(tmp_path / "landing", "orders")

    assert sorted(orders) == ["2026-03-01", "2026-03-02"]
    assert [(r["order_id"], r["ordered_at"], r["status"]) for r in orders["2026-03-01"]] == [
        ("A-1", "2026-03-02T04:30:00Z", "completed"),
        ("A-3", "2026-03-02T04:59:59Z", "cancelled"),
    ]
    assert [r["order_id"] for r in orders["2026-03-02"]] == ["A-2"]
    customers = _landed(tmp_path / "landing", "customers")
    assert customers["2026-03-01"][0] == {
        "customer_id": "42", "signup_at": "2026-03-01T13:00:00Z", "email": "a@example.com", "email_opt_in": "true"}
    by_source = {r.source: r for r in results}
    assert (by_source["orders"].rows, by_source["orders"].first_day, by_source["orders"].last_day) == (
        3, dt.date(2026, 3, 1), dt.date(2026, 3, 2))


def test_business_time_zone_decides_the_day_at_midnight(tmp_path):
    """The same export read for a UTC business puts the 23:30 New York order on the next day."""
    import_history(load_mapping(_export(tmp_path)), tmp_path / "landing", business_timezone="UTC")
    orders = _landed(tmp_path / "landing", "orders")
    assert [r["order_id"] for r in orders["2026-03-02"]] == ["A-1", "A-2", "A-3"]
    assert orders["2026-03-01"] == []  # customers signed up that day: an empty orders file, not a gap


def test_imported_history_backfills_into_raw_tables(tmp_path):
    from lifecycle_pipeline.definitions import build_definitions
    from lifecycle_pipeline.settings import ProjectSettings

    settings = ProjectSettings.for_data_dir(tmp_path / "data", start_date="2026-01-01", timezone="America/New_York")
    import_history(load_mapping(_export(tmp_path)), settings.landing_root, business_timezone=settings.timezone)
    defs = build_definitions(settings)
    materialize(defs, ["raw/customers", "raw/orders"], quality=QualityConfig(volume_min_history_days=0), tags={
        "dagster/asset_partition_range_start": "2026-03-01", "dagster/asset_partition_range_end": "2026-03-02"})

    rows = query(settings, "select order_id, status, amount::varchar, ordered_at::date::varchar, _partition_date::varchar "
                           "from raw.orders order by order_id")
    assert rows == [
        ("A-1", "completed", "10.00", "2026-03-01", "2026-03-01"),
        ("A-2", "completed", "12.00", "2026-03-02", "2026-03-02"),
        ("A-3", "cancelled", "7.50", "2026-03-01", "2026-03-01"),
    ]
    assert query(settings, "select customer_id, email_opt_in from raw.customers order by 1") == [("42", True), ("43", False)]
    assert query(settings, "select count(*) from quality.quarantine") == [(0,)]


def test_same_named_columns_need_no_mapping_and_optional_sources_may_be_absent(tmp_path):
    write_csv(tmp_path, ".", ".", ["customer_id", "signup_at"], [["1", "2026-03-01T10:00:00Z"]], name="c.csv")
    write_csv(tmp_path, ".", ".", ["order_id", "customer_id", "ordered_at", "amount", "status"],
              [["9", "1", "2026-03-01T11:00:00Z", "3", "completed"]], name="o.csv")
    (tmp_path / "m.yaml").write_text("sources:\n  customers: {file: c.csv}\n  orders: {file: o.csv}\n")
    results = import_history(load_mapping(tmp_path / "m.yaml"), tmp_path / "landing", business_timezone="UTC")
    assert {r.source: r.rows for r in results} == {"customers": 1, "orders": 1}
    assert sorted(p.name for p in (tmp_path / "landing").iterdir()) == ["customers", "orders"]


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"sources": {"orders": {"file": "o.csv"}}}, "lacks required sources: customers"),
        ({"sources": {"customers": {"file": "c.csv"}, "orders": {"file": "o.csv"}, "crm": {"file": "x"}}}, "unknown source 'crm'"),
        ({"sources": {"customers": {"file": "c.csv", "columns": {"signup": "x"}}, "orders": {"file": "o.csv"}}},
         "signup not in the customers contract"),
        ({"timezone": "Moon/Base", "sources": {}}, "not an IANA time zone"),
    ],
)
def test_invalid_mappings_are_rejected_with_a_clear_message(tmp_path, mapping, message):
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(mapping))
    with pytest.raises(ImportMappingError, match=message):
        load_mapping(tmp_path / "m.yaml")


def test_export_missing_a_required_column_names_the_file_and_column(tmp_path):
    write_csv(tmp_path, ".", ".", ["customer_id", "signup_at"], [["1", "2026-03-01T10:00:00Z"]], name="c.csv")
    write_csv(tmp_path, ".", ".", ["order_id", "customer_id", "ordered_at", "status"], [["9", "1", "2026-03-01", "completed"]], name="o.csv")
    (tmp_path / "m.yaml").write_text("sources:\n  customers: {file: c.csv}\n  orders: {file: o.csv}\n")
    with pytest.raises(ImportMappingError, match=r"no column for required amount in .*o\.csv"):
        import_history(load_mapping(tmp_path / "m.yaml"), tmp_path / "landing", business_timezone="UTC")


def test_rows_without_a_parsable_day_stop_the_import(tmp_path):
    write_csv(tmp_path, ".", ".", ["customer_id", "signup_at"], [["1", "2026-03-01T10:00:00Z"], ["2", "soon"]], name="c.csv")
    write_csv(tmp_path, ".", ".", ["order_id", "customer_id", "ordered_at", "amount", "status"], [], name="o.csv")
    (tmp_path / "m.yaml").write_text("sources:\n  customers: {file: c.csv}\n  orders: {file: o.csv}\n")
    with pytest.raises(ImportMappingError, match="1 rows of .*c.csv have no parsable updated_at / signup_at"):
        import_history(load_mapping(tmp_path / "m.yaml"), tmp_path / "landing", business_timezone="UTC")
