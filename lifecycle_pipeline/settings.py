"""Where the project keeps its files and which calendar it runs on.

Every value can be set from the environment; the defaults keep everything inside the
project's own ``data/`` folder so that a fresh clone runs with no configuration.

| variable | default | meaning |
|---|---|---|
| ``LIFECYCLE_DATA_DIR`` | ``<project>/data`` | root of everything the pipeline writes |
| ``LIFECYCLE_DUCKDB_PATH`` | ``<data dir>/warehouse.duckdb`` | the warehouse file |
| ``LIFECYCLE_LANDING_ROOT`` | ``<data dir>/landing`` | ``<root>/<source>/<YYYY-MM-DD>/`` files |
| ``LIFECYCLE_TIMEZONE`` | ``UTC`` | business time zone: day boundaries of partitions |
| ``LIFECYCLE_START_DATE`` | ``2025-01-01`` | first daily partition |
| ``LIFECYCLE_SCHEDULE_HOUR`` | ``2`` | hour (business time) the daily schedule runs |
| ``LIFECYCLE_EXPORT_DIR`` | ``<data dir>/exports`` | outreach exports: ``<dir>/<YYYY-MM-DD>/<campaign>.csv`` |
| ``LIFECYCLE_PLAYBOOK`` | built-in ``playbook.yaml`` | outreach playbook; its templates in ``templates/`` beside it |
| ``LIFECYCLE_EXPORT_WINDOW_DAYS`` | ``14`` | exports only for days this recent (``all``: every day) |
| ``LIFECYCLE_BI_DIR`` | ``<data dir>/bi`` | read-only serving layer for BI tools: Parquet, manifest, ``lifecycle_bi.duckdb`` |
| ``LIFECYCLE_BI_GRACE_HOURS`` | ``6`` | superseded BI files are kept this long for readers mid-query |
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """A setting from the environment has an invalid value."""


WAREHOUSE_SCHEMAS = ("raw", "clean", "quality", "scoring", "lifecycle", "outreach")
# the built-in playbook's uplift reads 14 + 28 days back; a month of margin for restatements
MIN_CUSTOMER_DAYS_KEPT = 60
# the warehouse connection's buffer pool: DuckDB's own default (80 % of RAM) unless set. A cap of
# 3GiB made the first (from scratch) day of 3 years of 1M customers fail with an out-of-memory
# error: not every operator spills, so a cap is a deployment's choice, not a default
DEFAULT_DUCKDB_MEMORY_LIMIT = "auto"
_MEMORY_SIZE = re.compile(r"^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)


@dataclass(frozen=True)
class ProjectSettings:
    """Resolved locations and calendar of one deployment of the pipeline."""

    data_dir: Path
    duckdb_path: Path
    landing_root: Path
    timezone: str = "UTC"
    start_date: str = "2025-01-01"
    schedule_hour: int = 2
    export_dir: Path | None = None  # None: <data_dir>/exports
    playbook_path: Path | None = None  # None: the built-in playbook
    export_window_days: int | None = 14  # None: export every day (see OutreachConfig.export_window_days)
    bi_root: Path | None = None  # None: <data_dir>/bi (property bi_dir)
    bi_grace_hours: float = 6.0  # superseded BI files are deleted only this long after they were superseded
    # newest days of the customer x day tables the warehouse keeps after publishing (None: all; retention.py)
    customer_days_kept: int | None = 90
    # cap of DuckDB's buffer pool in the pipeline's warehouse connections (None: DuckDB's 80 % of RAM)
    duckdb_memory_limit: str | None = None

    def __post_init__(self) -> None:
        if Path(self.duckdb_path).stem.lower() in WAREHOUSE_SCHEMAS:
            # DuckDB names the catalog after the file: a catalog named like a schema makes `lifecycle.x` ambiguous
            raise SettingsError(
                f"LIFECYCLE_DUCKDB_PATH={str(self.duckdb_path)!r}: the file name must not be one of the warehouse "
                f"schemas ({', '.join(WAREHOUSE_SCHEMAS)}); e.g. warehouse.duckdb"
            )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            # `from None`: the message says it all; zoneinfo's chained lookup errors only bury it
            raise SettingsError(
                f"LIFECYCLE_TIMEZONE={self.timezone!r} is not an IANA time zone (e.g. UTC, Europe/Berlin, America/New_York)"
            ) from None
        try:
            dt.date.fromisoformat(self.start_date)
        except ValueError as exc:
            raise SettingsError(f"LIFECYCLE_START_DATE={self.start_date!r} is not a YYYY-MM-DD date") from exc
        if not 0 <= self.schedule_hour <= 23:
            raise SettingsError(f"LIFECYCLE_SCHEDULE_HOUR={self.schedule_hour} must be 0-23")
        if self.duckdb_memory_limit is not None and not _MEMORY_SIZE.match(self.duckdb_memory_limit):
            raise SettingsError(
                f"LIFECYCLE_DUCKDB_MEMORY_LIMIT={self.duckdb_memory_limit!r} must be a size such as 3GiB or 512MB, "
                "or 'auto' (DuckDB's default: 80 % of the machine's memory)"
            )
        if self.customer_days_kept is not None and self.customer_days_kept < MIN_CUSTOMER_DAYS_KEPT:
            raise SettingsError(
                f"LIFECYCLE_CUSTOMER_DAYS_KEPT={self.customer_days_kept} must be 'all' or at least "
                f"{MIN_CUSTOMER_DAYS_KEPT} days (the campaign uplift reads window_days + cohort_days of them)"
            )

    @property
    def outreach_export_dir(self) -> Path:
        return Path(self.export_dir) if self.export_dir else self.data_dir / "exports"

    @property
    def bi_dir(self) -> Path:
        """The published, read-only BI layer (``lifecycle_pipeline/publish.py``)."""
        return Path(self.bi_root) if self.bi_root else self.data_dir / "bi"

    @property
    def dagster_home(self) -> Path:
        return self.data_dir / "dagster_home"

    @classmethod
    def for_data_dir(cls, data_dir: Path | str, **overrides) -> ProjectSettings:
        """Settings with every path under ``data_dir`` (used by tests and the CLI)."""
        data_dir = Path(data_dir).resolve()
        values = {
            "data_dir": data_dir,
            "duckdb_path": data_dir / "warehouse.duckdb",
            "landing_root": data_dir / "landing",
        }
        values.update(overrides)
        return cls(**values)


def load_settings(environ: Mapping[str, str] | None = None) -> ProjectSettings:
    """Resolve settings from ``environ`` (default: the process environment)."""
    env = os.environ if environ is None else environ
    data_dir = Path(env.get("LIFECYCLE_DATA_DIR") or PROJECT_ROOT / "data").resolve()
    hour = env.get("LIFECYCLE_SCHEDULE_HOUR") or "2"
    if not hour.isdigit():
        raise SettingsError(f"LIFECYCLE_SCHEDULE_HOUR={hour!r} must be a whole hour 0-23")
    return ProjectSettings(
        data_dir=data_dir,
        duckdb_path=Path(env.get("LIFECYCLE_DUCKDB_PATH") or data_dir / "warehouse.duckdb").resolve(),
        landing_root=Path(env.get("LIFECYCLE_LANDING_ROOT") or data_dir / "landing").resolve(),
        timezone=env.get("LIFECYCLE_TIMEZONE") or "UTC",
        start_date=env.get("LIFECYCLE_START_DATE") or "2025-01-01",
        schedule_hour=int(hour),
        export_dir=Path(env["LIFECYCLE_EXPORT_DIR"]).resolve() if env.get("LIFECYCLE_EXPORT_DIR") else None,
        playbook_path=Path(env["LIFECYCLE_PLAYBOOK"]).resolve() if env.get("LIFECYCLE_PLAYBOOK") else None,
        bi_root=Path(env["LIFECYCLE_BI_DIR"]).resolve() if env.get("LIFECYCLE_BI_DIR") else None,
        bi_grace_hours=_grace_hours(env.get("LIFECYCLE_BI_GRACE_HOURS") or "6"),
        export_window_days=_days_or_all(
            "LIFECYCLE_EXPORT_WINDOW_DAYS", env.get("LIFECYCLE_EXPORT_WINDOW_DAYS") or "14", "a number of days >= 0"),
        customer_days_kept=_days_or_all(
            "LIFECYCLE_CUSTOMER_DAYS_KEPT", env.get("LIFECYCLE_CUSTOMER_DAYS_KEPT") or "90", "a number of days"),
        duckdb_memory_limit=_memory_limit(env.get("LIFECYCLE_DUCKDB_MEMORY_LIMIT") or DEFAULT_DUCKDB_MEMORY_LIMIT),
    )


def _memory_limit(text: str) -> str | None:
    """A DuckDB memory size, or None for 'auto' (DuckDB's own default)."""
    return None if text.strip().lower() == "auto" else text.strip()


def _days_or_all(variable: str, text: str, meaning: str) -> int | None:
    """A whole number of days, or None for 'all'."""
    if text.strip().lower() == "all":
        return None
    if not text.strip().isdigit():
        raise SettingsError(f"{variable}={text!r} must be {meaning} or 'all'")
    return int(text)


def _grace_hours(text: str) -> float:
    try:
        hours = float(text)
    except ValueError:
        hours = -1.0
    if not hours >= 0:
        raise SettingsError(f"LIFECYCLE_BI_GRACE_HOURS={text!r} must be a number of hours >= 0")
    return hours
