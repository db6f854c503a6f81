"""Test helpers (not fixtures): landing files, materializing assets, querying the warehouse.

Fixtures live in ``conftest.py``; hand-built clean rows in ``builders.py``; shared
customer journeys in ``scenarios.py``.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import dagster as dg
import duckdb

from lifecycle_pipeline.definitions import build_definitions
from lifecycle_pipeline.settings import ProjectSettings


def write_csv(root: Path, source: str, day: str, header: list[str], rows: list[list], name: str | None = None) -> Path:
    """Write one landing CSV ``<root>/<source>/<day>/<name>`` and return its path."""
    path = root / source / day / (name or f"{source}.csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def materialize(defs: dg.Definitions, keys: list[str], partition_key: str | None = None, quality=None, **kwargs):
    """Materialize assets of ``defs`` (keys like ``raw/orders``) with their real resources.

    ``quality`` replaces the QualityConfig resource (e.g. a lenient one for tests about loading).
    """
    wanted = {dg.AssetKey(k.split("/")) for k in keys}
    selection = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition) and set(a.keys) & wanted]
    resources = {k: defs.resources[k] for k in ("duckdb", "landing", "quality", "scoring", "stages", "outreach", "clv")}
    if quality is not None:
        resources["quality"] = quality
    tags = kwargs.pop("tags", None)
    return dg.materialize(selection, partition_key=partition_key, resources=resources, tags=tags, **kwargs)


def materialize_sample_range(
    tmp_path: Path, start: str, end: str, customers: int = 1_000, seed: int = 5, **settings_overrides
):
    """Sample data for ``start..end`` and every asset materialized over that range as one run.

    Returns (settings, defs, asset keys, result).
    """
    from lifecycle_pipeline.sample_data import generate, write_sample_data

    settings = ProjectSettings.for_data_dir(tmp_path / "data", start_date="2026-01-01", **settings_overrides)
    write_sample_data(generate(customers, day(start), day(end), seed=seed), settings.landing_root)
    defs = build_definitions(settings)
    keys = [k.to_user_string() for a in defs.assets for k in a.keys]
    result = materialize(defs, keys, tags={"dagster/asset_partition_range_start": start,
                                           "dagster/asset_partition_range_end": end})
    return settings, defs, keys, result


def query(settings: ProjectSettings, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as conn:
        conn.execute("set TimeZone = ?", [settings.timezone])
        return conn.execute(sql, params or []).fetchall()


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)
