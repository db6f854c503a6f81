"""Which landing days are blocked by a failed blocking check, and which were released after review.

A blocking data-quality failure (volume, freshness, too many quarantined rows) holds back
that source's day only: ``quality.day_status`` records it, ``clean.<source>`` gets no rows
for the day, and every downstream asset skips the day (its scores, stages, outreach and BI
publication wait) while the other days of a backfill proceed. A reviewer releases a day with
``lifecycle-pipeline release --day D --reason …`` (or the same run tags in the launchpad):
the day is re-materialized with its batch rules overridden and the release is recorded here
and in the run's tags.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import duckdb

TABLE = "quality.day_status"

# run tags of a release (set by `lifecycle-pipeline release`, or by hand in the launchpad)
RELEASE_DAY_TAG = "lifecycle/release_day"
RELEASED_BY_TAG = "lifecycle/released_by"
RELEASE_REASON_TAG = "lifecycle/release_reason"
RELEASE_SOURCES_TAG = "lifecycle/release_sources"  # comma-separated; absent = every source

_DDL = f"""
create table if not exists {TABLE} (
    as_of_date date not null,
    source varchar not null,
    blocked boolean not null,
    reasons varchar[] not null,
    released_by varchar,
    release_reason varchar,
    recorded_at timestamp with time zone not null
)
"""


@dataclass(frozen=True)
class Release:
    """A reviewed day whose blocking batch rules are overridden in this run."""

    day: dt.date
    by: str
    reason: str
    sources: tuple[str, ...] | None = None  # None: every source

    def covers(self, source: str, day: dt.date) -> bool:
        return day == self.day and (self.sources is None or source in self.sources)

    def run_config(self) -> dict:
        """The ``quality`` resource config that carries this release into a run."""
        return {"release_day": self.day.isoformat(), "released_by": self.by, "release_reason": self.reason,
                "release_sources": list(self.sources) if self.sources else None}


class ReleaseTagError(ValueError):
    """The release tags of a run are incomplete or malformed."""


def release_from_tags(tags: Mapping[str, str]) -> Release | None:
    """The release a run carries in its tags, if any; who and why are required."""
    if RELEASE_DAY_TAG not in tags:
        return None
    try:
        day = dt.date.fromisoformat(tags[RELEASE_DAY_TAG])
    except ValueError:
        raise ReleaseTagError(f"run tag {RELEASE_DAY_TAG}={tags[RELEASE_DAY_TAG]!r} is not a YYYY-MM-DD date") from None
    by, reason = tags.get(RELEASED_BY_TAG, "").strip(), tags.get(RELEASE_REASON_TAG, "").strip()
    if not by or not reason:
        raise ReleaseTagError(f"a release needs both {RELEASED_BY_TAG} and {RELEASE_REASON_TAG} run tags (who and why)")
    sources = tags.get(RELEASE_SOURCES_TAG)
    return Release(day, by, reason, tuple(s.strip() for s in sources.split(",") if s.strip()) if sources else None)


def release_from_config(day: str | None, by: str | None, reason: str | None, sources: list[str] | None) -> Release | None:
    """The release given in the ``quality`` resource's run config (what ``lifecycle-pipeline release`` sets)."""
    if not day:
        return None
    return release_from_tags({RELEASE_DAY_TAG: day, RELEASED_BY_TAG: by or "", RELEASE_REASON_TAG: reason or "",
                              **({RELEASE_SOURCES_TAG: ",".join(sources)} if sources else {})})


def release_tags(release: Release) -> dict[str, str]:
    tags = {RELEASE_DAY_TAG: release.day.isoformat(), RELEASED_BY_TAG: release.by, RELEASE_REASON_TAG: release.reason}
    if release.sources:
        tags[RELEASE_SOURCES_TAG] = ",".join(release.sources)
    return tags


def ensure_table(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute("create schema if not exists quality")
    conn.execute(_DDL)


def record(
    conn: duckdb.DuckDBPyConnection,
    source: str,
    day: dt.date,
    reasons: list[str],
    release: Release | None = None,
) -> bool:
    """Record the status of ``source``'s ``day`` (inside the caller's transaction); returns whether it is blocked.

    ``reasons`` are the blocking failures found; a release covering the day keeps them as
    the record of what was overridden, and the day is not blocked.
    """
    ensure_table(conn)
    released = release is not None and release.covers(source, day) and bool(reasons)
    blocked = bool(reasons) and not released
    conn.execute(f"delete from {TABLE} where source = ? and as_of_date = ?", [source, day])
    conn.execute(
        f"insert into {TABLE} values (?, ?, ?, ?, ?, ?, current_timestamp)",
        [day, source, blocked, reasons, release.by if released else None, release.reason if released else None],
    )
    return blocked


def blocked_days(conn: duckdb.DuckDBPyConnection, days: list[dt.date]) -> dict[dt.date, list[str]]:
    """The days among ``days`` that some source blocks, with ``source: reason`` lines."""
    if not days:
        return {}
    ensure_table(conn)
    rows = conn.execute(
        f"select as_of_date, source, reasons from {TABLE} where blocked and as_of_date between ? and ? "
        "order by as_of_date, source",
        [min(days), max(days)],
    ).fetchall()
    wanted = set(days)
    found: dict[dt.date, list[str]] = {}
    for day, source, reasons in rows:
        if day in wanted:
            found.setdefault(day, []).extend(f"raw/{source}: {reason}" for reason in reasons)
    return found
