"""Data quality: each injected defect is caught by its named Great Expectations check.

Row-level defects are quarantined with the reason (clean + quarantine = rows landed,
exactly) without blocking; batch-level defects (volume, freshness) and a too-large
quarantined share block the day (``quality.day_status``, no clean rows), and only that
day: the run itself succeeds.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path
from urllib.parse import urlparse

import dagster as dg
import pyarrow.csv as pacsv
import pytest

from lifecycle_pipeline.bad_rows import inject
from lifecycle_pipeline.definitions import build_definitions
from lifecycle_pipeline.resources import QualityConfig
from lifecycle_pipeline.sample_data import generate, write_sample_data
from lifecycle_pipeline.settings import ProjectSettings
from tests.helpers import materialize, query

FIRST, DAY = dt.date(2026, 2, 1), dt.date(2026, 3, 2)
SOURCES = ["customers", "orders", "events", "support_tickets", "nps_responses", "marketing_spend", "suppressions"]
RAW = [f"raw/{s}" for s in SOURCES]
CLEAN = [f"clean/{s}" for s in SOURCES]


def _range(first: dt.date, last: dt.date) -> dict[str, str]:
    return {"dagster/asset_partition_range_start": first.isoformat(), "dagster/asset_partition_range_end": last.isoformat()}


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Path:
    """A warehouse with 29 validated days of sample data; DAY's files landed but not loaded."""
    root = tmp_path_factory.mktemp("history")
    settings = ProjectSettings.for_data_dir(root, start_date="2026-01-01")
    write_sample_data(generate(4_000, FIRST, DAY, seed=11), settings.landing_root)
    materialize(build_definitions(settings), RAW + CLEAN, tags=_range(FIRST, DAY - dt.timedelta(days=1)))
    return root


@pytest.fixture
def env(history, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(history, root)
    settings = ProjectSettings.for_data_dir(root, start_date="2026-01-01")
    return settings, build_definitions(settings)


def _run_day(defs, **kwargs):
    return materialize(defs, RAW + CLEAN, DAY.isoformat(), raise_on_error=False, **kwargs)


# The sample's NPS answers ramp up ~20x over its first month (a survey rollout): on DAY their volume is far
# over the trailing median. NPS is a bursty source, so that only warns; every test sees this warning.
NPS_RAMP = ("nps_responses", "row_count_in_band")


def _failed(result) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    failed = {(e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations() if not e.passed}
    if NPS_RAMP in failed:
        assert failed.pop(NPS_RAMP).severity == dg.AssetCheckSeverity.WARN
    return failed


def _blocked(settings) -> list[tuple]:
    return query(settings, "select source, as_of_date, reasons from quality.day_status where blocked order by all")


def _landed_rows(settings, source) -> int:
    folder = settings.landing_root / source / DAY.isoformat()
    return sum(pacsv.read_csv(p).num_rows for p in folder.glob("*.csv"))


def _accounted(settings, source) -> tuple[int, int]:
    (clean,) = query(settings, f"select count(*) from clean.{source} where _partition_date = ?", [DAY])[0]
    (quarantined,) = query(settings, "select count(*) from quality.quarantine where source = ? and partition_date = ?",
                           [source, DAY])[0]
    return clean, quarantined


def test_a_clean_day_passes_every_check(env):
    settings, defs = env
    result = _run_day(defs)
    assert result.success
    assert _failed(result) == {}
    assert _blocked(settings) == []
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == sum(len(defs.resolve_assets_def(dg.AssetKey(["raw", s])).check_keys) for s in SOURCES)
    for source in SOURCES:
        assert _accounted(settings, source) == (_landed_rows(settings, source), 0)


ROW_LEVEL = [
    # kind, source, check that catches it, injected rows that must be quarantined
    ("nulls", "orders", "required_not_null", 3),
    ("duplicates", "orders", "key_unique", 2),  # 2 exact copies: the originals are kept
    ("orphans", "orders", "customer_exists", 3),
    ("negative_amounts", "orders", "amount_non_negative", 2),
    ("out_of_day", "orders", "timestamp_in_day", 2),
    ("bad_enums", "orders", "allowed_values", 2),
    ("bad_event_types", "events", "allowed_values", 2),
    ("nps_out_of_range", "nps_responses", "score_range", 1),
]


@pytest.mark.parametrize(("kind", "source", "check", "bad"), ROW_LEVEL)
def test_row_level_defect_is_quarantined_by_its_named_check_without_blocking(env, kind, source, check, bad):
    settings, defs = env
    inject(settings.landing_root, DAY, [kind])
    result = _run_day(defs)

    failed = _failed(result)
    assert set(failed) == {(source, check)}
    evaluation = failed[(source, check)]
    assert evaluation.severity == dg.AssetCheckSeverity.WARN  # quarantined, so downstream may run
    assert evaluation.metadata["unexpected_count"].value >= bad - 1
    assert evaluation.metadata["sample_unexpected_values"].value
    assert result.success
    rules = query(settings, "select rule, reason from quality.quarantine where source = ? and partition_date = ?", [source, DAY])
    assert len(rules) == bad
    assert all(check in rule and check in reason for rule, reason in rules)
    clean, quarantined = _accounted(settings, source)
    assert clean + quarantined == _landed_rows(settings, source)
    assert _blocked(settings) == []


def test_exact_duplicates_keep_one_copy_and_name_the_kept_row(env):
    settings, defs = env
    report = inject(settings.landing_root, DAY, ["duplicates"])
    _run_day(defs)
    rows = query(settings, "select original_row->>'order_id', reason from quality.quarantine where source = 'orders' "
                           "and partition_date = ? order by 1", [DAY])
    assert [r[0] for r in rows] == sorted(report["duplicates"]["order_ids"])
    assert all(r[1].startswith("key_unique: exact duplicate of ") and r[1].endswith(", which is kept") for r in rows)
    kept = query(settings, "select order_id, count(*) from clean.orders where _partition_date = ? and order_id in "
                           "(select unnest(?::varchar[])) group by 1 order by 1", [DAY, report["duplicates"]["order_ids"]])
    assert kept == [(o, 1) for o in sorted(report["duplicates"]["order_ids"])]


def test_bad_types_are_quarantined_at_load_and_malformed_emails_only_warn(env):
    settings, defs = env
    inject(settings.landing_root, DAY, ["bad_types", "bad_emails"])
    result = _run_day(defs)

    failed = _failed(result)
    assert set(failed) == {("customers", "email_format")}
    assert failed[("customers", "email_format")].severity == dg.AssetCheckSeverity.WARN
    assert all(" at " in v for v in failed[("customers", "email_format")].metadata["sample_unexpected_values"].value)
    assert query(settings, "select stage, rule from quality.quarantine where partition_date = ?", [DAY]) == [
        ("ingestion", "type_cast"), ("ingestion", "type_cast")]
    for source in ("orders", "customers"):
        clean, quarantined = _accounted(settings, source)
        assert clean + quarantined == _landed_rows(settings, source)


@pytest.mark.parametrize(
    ("kind", "source", "check"),
    [
        ("volume_spike", "events", "row_count_in_band"),
        ("empty_day", "events", "row_count_in_band"),
        ("missing_file", "marketing_spend", "file_arrived"),
    ],
)
def test_batch_defect_blocks_that_sources_day_only(env, kind, source, check):
    settings, defs = env
    inject(settings.landing_root, DAY, [kind])
    result = _run_day(defs)

    assert result.success  # the run goes on; the day is held back
    failed = _failed(result)
    assert set(failed) == {(source, check)}
    assert failed[(source, check)].severity == dg.AssetCheckSeverity.ERROR
    assert failed[(source, check)].partition == DAY.isoformat()
    [(blocked_source, blocked_day, reasons)] = _blocked(settings)
    assert (blocked_source, blocked_day) == (source, DAY)
    assert len(reasons) == 1 and reasons[0].startswith(f"{check}: ")
    # clean has no rows for the blocked day (raw keeps what landed); other sources go on
    assert _accounted(settings, source)[0] == 0
    clean_mat = result.asset_materializations_for_node(f"clean__{source}")[0]
    assert clean_mat.metadata["blocked_days"].value == [{"day": DAY.isoformat(), "reasons": reasons}]
    assert _accounted(settings, "orders")[0] > 0
    # the previous day is untouched and can still be rebuilt
    materialize(defs, [f"raw/{source}", f"clean/{source}"], (DAY - dt.timedelta(days=1)).isoformat())
    assert query(settings, f"select count(*) > 0 from clean.{source} where _partition_date = ?",
                 [DAY - dt.timedelta(days=1)]) == [(True,)]


def test_a_blocking_failure_names_its_day_and_reason_without_failing_the_run(env):
    settings, defs = env
    inject(settings.landing_root, DAY, ["volume_spike"])
    result = materialize(defs, ["raw/customers", "raw/events", "clean/events"], DAY.isoformat())
    assert result.success
    [(source, day, [reason])] = _blocked(settings)
    assert (source, day) == ("events", DAY)
    assert re.fullmatch(r"row_count_in_band: \d+ rows vs trailing 28-day median [\d.]+ of Mondays "
                        r"\(allowed [\d.]+\.\.[\d.]+\)", reason), reason
    raw = result.asset_materializations_for_node("raw__events")[0]
    assert raw.metadata["blocked_days"].value == [{"day": DAY.isoformat(), "reasons": [reason]}]


def test_a_quarantined_share_over_the_threshold_blocks(env):
    settings, defs = env
    inject(settings.landing_root, DAY, ["orphans"])
    result = _run_day(defs, quality=QualityConfig(max_quarantine_share=0.001))
    failed = _failed(result)
    assert {("orders", "customer_exists"), ("orders", "quarantine_share")} <= set(failed)
    assert all(e.severity == dg.AssetCheckSeverity.ERROR for e in failed.values())
    [(source, day, reasons)] = _blocked(settings)
    assert (source, day) == ("orders", DAY) and reasons[0].startswith("quarantine_share: 3 of ")
    assert _accounted(settings, "orders")[0] == 0


def test_rerunning_a_day_replaces_its_quarantine_exactly(env):
    settings, defs = env
    inject(settings.landing_root, DAY, ["nulls", "bad_types"])
    _run_day(defs)
    first = query(settings, "select stage, source_row, rule from quality.quarantine order by all")
    _run_day(defs)
    assert query(settings, "select stage, source_row, rule from quality.quarantine order by all") == first
    assert len(first) == 5


def test_check_metadata_links_the_data_docs_page(env):
    settings, defs = env
    inject(settings.landing_root, DAY, ["nulls"])
    result = _run_day(defs)
    evaluation = _failed(result)[("orders", "required_not_null")]
    page = Path(urlparse(evaluation.metadata["data_docs"].value).path)
    assert page.is_file() and page.suffix == ".html"
    html = page.read_text()
    assert "customer_id" in html and "unexpected values found" in html
    # pages of the other sources of the same run are kept, not cleaned away
    pages = list((settings.data_dir / "data_docs" / "validations").glob("*/*2026-03-02*/*/*.html"))
    assert {p.parent.parent.parent.name for p in pages} >= {f"{s}_landing_day" for s in ("customers", "orders", "events")}
