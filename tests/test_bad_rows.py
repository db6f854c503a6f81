"""Injected bad rows: each kind damages the landing day as reported; ingestion reacts as documented."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from lifecycle_pipeline.bad_rows import KINDS, inject
from lifecycle_pipeline.loading import LandingSchemaError
from lifecycle_pipeline.sample_data import generate, write_sample_data
from tests.conftest import materialize, query

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
