"""A corrected file re-landed for an old day: the documented propagation rebuilds every later day exactly.

Scores, stages, outreach and uplift of a day read every earlier day (lifetime orders,
spells, contact history), so re-running only the restated day would leave the later days
wrong. The documented remedy is one range run from the restated day through the latest
day (`lifecycle-pipeline backfill --start D`); afterwards every table and export must equal
a from-scratch rebuild of the same landing files.
"""

from __future__ import annotations

import csv
import shutil

import dagster as dg
import duckdb

from lifecycle_pipeline.definitions import build_definitions
from lifecycle_pipeline.fingerprint import table_fingerprints, tree_fingerprint
from lifecycle_pipeline.settings import ProjectSettings
from tests.helpers import materialize, materialize_sample_range

START, RESTATED, END = "2026-02-01", "2026-02-04", "2026-02-12"
DERIVED = ("raw", "clean", "scoring", "lifecycle", "outreach")


def _reland_with_40_more_orders(settings: ProjectSettings) -> None:
    """A corrected orders file for RESTATED: the original rows plus 40 late-reported orders of known customers."""
    folder = settings.landing_root / "orders" / RESTATED
    [original] = list(folder.glob("*.csv"))
    with open(original, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    customers = sorted({r["customer_id"] for r in rows})
    template = rows[0]
    for i in range(40):
        rows.append({**template, "order_id": f"LATE-{i:03d}", "customer_id": customers[i % len(customers)],
                     "ordered_at": f"{RESTATED}T{10 + i % 10:02d}:{i:02d}:00Z", "status": "completed"})
    with open(original, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(template))
        writer.writeheader()
        writer.writerows(rows)


def _fingerprints(settings: ProjectSettings) -> dict:
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as conn:
        tables = table_fingerprints(conn, schemas=DERIVED)
    return {**tables, "exports": tree_fingerprint(settings.outreach_export_dir)}


def test_a_restated_old_day_propagated_through_the_latest_day_equals_a_full_rebuild(tmp_path):
    settings, defs, keys, result = materialize_sample_range(
        tmp_path / "a", START, END, customers=300, seed=3, export_window_days=None)
    assert result.success
    before = _fingerprints(settings)

    _reland_with_40_more_orders(settings)
    # loading only the restated day tells the user which later days it made stale, and how to rebuild them
    only_day = materialize(defs, ["raw/orders"], partition_key=RESTATED)
    [check] = [c for c in only_day.get_asset_check_evaluations() if c.check_name == "later_days_current"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["stale_from"].value == "2026-02-05" and check.metadata["stale_through"].value == END
    assert check.metadata["rebuild"].value == f"lifecycle-pipeline backfill --start {RESTATED} --end {END}"
    unchanged = materialize(defs, ["raw/orders"], partition_key=RESTATED)  # same files again: nothing is stale
    assert [c.passed for c in unchanged.get_asset_check_evaluations() if c.check_name == "later_days_current"] == [True]

    propagated = materialize(defs, keys, tags={"dagster/asset_partition_range_start": RESTATED,
                                               "dagster/asset_partition_range_end": END})
    assert propagated.success
    after = _fingerprints(settings)

    rebuilt_settings = ProjectSettings.for_data_dir(tmp_path / "b" / "data", start_date="2026-01-01",
                                                    export_window_days=None)
    shutil.copytree(settings.landing_root, rebuilt_settings.landing_root)
    rebuilt = materialize(build_definitions(rebuilt_settings), keys,
                          tags={"dagster/asset_partition_range_start": START, "dagster/asset_partition_range_end": END})
    assert rebuilt.success
    expected = _fingerprints(rebuilt_settings)

    assert after == expected
    # the restatement really changed later days (the comparison is not vacuous)
    changed = {name for name in expected if before.get(name) != expected[name]}
    assert {"scoring.customer_features", "lifecycle.customer_stage_daily", "lifecycle.stage_history",
            "raw.orders", "clean.orders"} <= changed
