"""Sample generator: deterministic, contract-conformant, and realistic enough to show every stage."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pytest

from lifecycle_pipeline.contracts import SOURCES
from lifecycle_pipeline.sample_data import generate, write_sample_data
from lifecycle_pipeline.vocabulary import EVENT_TYPES
from tests.helpers import materialize, query

START, END = dt.date(2025, 1, 1), dt.date(2025, 12, 31)


@pytest.fixture(scope="module")
def year():
    return generate(3_000, START, END, seed=7, timezone="Europe/Berlin")


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*.*"))}


def test_same_seed_writes_byte_identical_files_and_another_seed_does_not(tmp_path):
    for name, seed in [("a", 3), ("b", 3), ("c", 4)]:
        write_sample_data(generate(500, START, dt.date(2025, 2, 28), seed=seed), tmp_path / name)
    a, b, c = (_digest(tmp_path / n) for n in "abc")
    assert len(a) == 7 * 59  # one file per source per day, empty days included
    assert a == b
    assert a != c


def test_every_column_belongs_to_the_source_contract(year):
    for source, table in year.tables.items():
        assert set(table.column_names) <= set(SOURCES[source].column_names), source
        assert set(SOURCES[source].required_columns) <= set(table.column_names), source


def test_history_has_the_behaviours_lifecycle_stages_need(year):
    orders = year.tables["orders"].to_pandas()
    completed = orders[orders.status == "completed"].copy()
    completed["ts"] = completed.ordered_at.astype("datetime64[s, UTC]")
    per_customer = completed.groupby("customer_id").ts.agg(["count", "max"])
    assert (per_customer["count"] == 1).mean() > 0.2            # one-time buyers
    assert (per_customer["count"] >= 5).sum() > 100              # loyal buyers
    gaps = completed.sort_values("ts").groupby("customer_id").ts.diff().dt.days
    assert (gaps > 90).sum() > 20                                # returning after a long gap
    lapsed = np.datetime64("2026-01-01", "s") - per_customer["max"].dt.tz_convert(None).to_numpy()
    assert (lapsed > np.timedelta64(180, "D")).sum() > 100      # churned by the end
    assert len(year.tables["customers"]) > orders.customer_id.nunique()  # prospects never buy
    refunds = orders[orders.status == "refunded"]
    assert 0.02 < len(refunds) / len(completed) < 0.08
    assert set(refunds.order_id) <= set(completed.order_id)     # a refund updates an earlier order
    assert set(year.tables["events"].column("event_type").to_pylist()) == set(EVENT_TYPES)
    scores = year.tables["nps_responses"].column("score")
    assert pc.min(scores).as_py() >= 0 and pc.max(scores).as_py() <= 10
    assert year.tables["suppressions"].num_rows > 0


def test_orders_follow_seasonality_with_a_late_november_peak(year):
    day = year.day_index["orders"]
    per_day = np.bincount(day, minlength=year.calendar.n_days)
    black_friday = (dt.date(2025, 11, 28) - START).days
    assert per_day[black_friday - 2 : black_friday + 3].mean() > 1.3 * per_day[200:300].mean()


def test_day_files_hold_only_rows_of_that_local_day_across_dst(tmp_path, year):
    write_sample_data(year, tmp_path)
    from zoneinfo import ZoneInfo

    import pyarrow.csv as pacsv

    for folder in ["2025-03-30", "2025-10-26"]:  # the two DST switches in Berlin
        table = pacsv.read_csv(tmp_path / "orders" / folder / "orders.csv")
        local_days = {
            ts.astimezone(ZoneInfo("Europe/Berlin")).date().isoformat()
            for ts in table.column("updated_at").to_pylist()
        }
        assert local_days == {folder}


def test_generated_files_ingest_without_quarantine(tmp_path):
    from lifecycle_pipeline.definitions import build_definitions
    from lifecycle_pipeline.settings import ProjectSettings

    settings = ProjectSettings.for_data_dir(tmp_path, start_date="2025-01-01", timezone="Europe/Berlin")
    data = generate(800, START, dt.date(2025, 1, 10), seed=1, timezone="Europe/Berlin")
    write_sample_data(data, settings.landing_root, fmt="parquet")
    materialize(build_definitions(settings), [f"raw/{s}" for s in SOURCES], tags={
        "dagster/asset_partition_range_start": "2025-01-01", "dagster/asset_partition_range_end": "2025-01-10"})
    for source, rows in data.row_counts().items():
        assert query(settings, f"select count(*) from raw.{source}") == [(rows,)], source
    assert query(settings, "select count(*) from quality.quarantine") == [(0,)]
