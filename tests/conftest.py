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
