"""Shared fixtures: settings, definitions and a hand-built warehouse under ``tmp_path``.

Helpers that are not fixtures live in ``tests/helpers.py`` (landing files, materialize,
query), ``tests/builders.py`` (hand-built clean rows) and ``tests/scenarios.py``
(shared customer journeys).
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from lifecycle_pipeline.definitions import build_definitions
from lifecycle_pipeline.settings import ProjectSettings
from tests.builders import new_warehouse


@pytest.fixture
def settings(tmp_path: Path) -> ProjectSettings:
    return ProjectSettings.for_data_dir(tmp_path / "data", start_date="2026-01-01", timezone="UTC")


@pytest.fixture
def defs(settings: ProjectSettings) -> dg.Definitions:
    return build_definitions(settings)


@pytest.fixture
def conn(tmp_path: Path):
    """A fresh warehouse with empty clean tables, for rows built by hand (tests/builders.py)."""
    conn = new_warehouse(tmp_path / "w.duckdb")
    yield conn
    conn.close()


# `make test` runs the files on two workers, one file per worker at a time (pytest-xdist,
# --dist loadfile --no-loadscope-reorder: files are handed out in collection order). The files
# that take longest go first, so the short ones fill in at the end instead of one long file
# running alone while the other worker idles. Seconds per file on 2 cores (2026-11-27, --durations).
SLOWEST_FILES_FIRST = (
    "test_quality.py",  # ~150 s
    "test_kill_safety.py",  # 78 s
    "test_restatement.py",  # 76 s
    "test_bursty_sources.py",  # 73 s
    "test_bench_smoke.py",  # 64 s
    "test_customer_state.py",  # 62 s
    "test_stages.py",  # 59 s
    "test_bi_path.py",  # 58 s
    "test_scoring.py",  # 54 s
    "test_real_history.py",  # 45 s
    "test_outreach.py",  # 43 s
    "test_ui_check.py",  # 43 s
    "test_clv.py",  # 36 s
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(SLOWEST_FILES_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order
