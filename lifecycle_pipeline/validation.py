"""Validate landing days with their Great Expectations suite; quarantine what fails; record each day's status.

Pure functions over a DuckDB connection (no Dagster). ``validate_days`` reads the
days' raw rows plus flags computed in SQL next to the data
(``sql/quality/validation_frame.sql``) and puts the pieces together:

* ``gx_runner`` runs the source's GX suite on that frame (row-level rules);
* ``validation_quarantine`` writes the rows failing critical rules to the quarantine;
* ``batch_rules`` evaluates volume, freshness, the quarantined share and the file loads per day;
* ``day_status`` records per day whether a blocking failure holds it back (or a
  reviewer's release let it through), in the same transaction as the quarantine;
* ``validation_results`` holds what comes back (``RangeValidation`` and its parts).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass

import duckdb
import pandas as pd

from lifecycle_pipeline import day_status, sql
from lifecycle_pipeline.batch_rules import (
    files_loaded_outcome,
    freshness_outcome,
    quarantine_share_outcome,
    volume_outcome,
)
from lifecycle_pipeline.contracts import TIMESTAMP, SourceContract
from lifecycle_pipeline.db import quote_ident, transaction
from lifecycle_pipeline.gx_runner import ROW_ID, SuiteRunner, row_outcomes
from lifecycle_pipeline.quality_rules import RELEASABLE_RULES, QualitySettings
from lifecycle_pipeline.validation_quarantine import critical_failures, replace_validation_quarantine
from lifecycle_pipeline.validation_results import DayValidation, RangeValidation, RuleOutcome


def _timestamp(contract: SourceContract, name: str) -> str:
    column = f"r.{quote_ident(name)}"
    return column if contract.column(name).type == TIMESTAMP else f"{column}::timestamptz"


def _frame_sql(contract: SourceContract) -> str:
    day_cols = [_timestamp(contract, c) for c in contract.day_columns]
    stamps = [_timestamp(contract, c.name) for c in contract.columns if c.type in (TIMESTAMP, "DATE")]
    customer_known, customer_join = "null::boolean", ""
    if "customer_id" in contract.foreign_keys:
        customer_join = "left join first_seen as fs on fs.customer_id = r.customer_id"
        customer_known = (
            "case when r.customer_id is null then null "
            "else coalesce(fs.first_day <= r._partition_date, false) end"
        )
    refund_consistent = "null::boolean"
    if contract.name == "orders":
        refund_consistent = (
            "case when r.status is distinct from 'refunded' then null else exists ("
            "select 1 from raw.orders o where o.order_id = r.order_id and o.status = 'completed' "
            "and o._partition_date <= r._partition_date and o.amount >= r.amount) end"
        )
    has_target = "null::boolean"
    if contract.name == "suppressions":
        has_target = "(r.customer_id is not null or r.email is not null)"
    keys = [quote_ident(k) for k in contract.key]
    return sql.load("quality/validation_frame").format(
        day_value=f"coalesce({', '.join(day_cols)})" if len(day_cols) > 1 else day_cols[0],
        newest_timestamp=f"greatest({', '.join(stamps)})" if len(stamps) > 1 else stamps[0],
        oldest_timestamp=f"least({', '.join(stamps)})" if len(stamps) > 1 else stamps[0],
        content_columns=", ".join(quote_ident(c) for c in contract.column_names),
        key_columns=", ".join(keys),
        l_key_columns=", ".join(f"l.{k}" for k in keys),
        key_missing=" or ".join(f"r.{k} is null" for k in keys),
        customer_known=customer_known,
        customer_join=customer_join,
        refund_consistent=refund_consistent,
        has_target=has_target,
        table=quote_ident(contract.name),
    )


def _validation_frame(conn, contract, first, last, settings: QualitySettings, now: dt.datetime) -> pd.DataFrame:
    return conn.execute(
        _frame_sql(contract),
        {
            "first_day": first,
            "last_day": last,
            "late_tolerance_days": settings.late_tolerance_days,
            "now": now + dt.timedelta(minutes=settings.future_skew_minutes),
            "earliest_timestamp": settings.earliest_timestamp,
        },
    ).df()


def _row_days(frame: pd.DataFrame, outcomes: list[RuleOutcome]) -> dict[tuple[str, int], dt.date]:
    """The landing day of each failed row (only those: a big day has millions of rows)."""
    failed_rows = sorted(set().union(*(o.failed_rows for o in outcomes)))
    if not failed_rows:
        return {}
    keys = pd.MultiIndex.from_tuples(failed_rows, names=ROW_ID)
    found = frame.set_index(ROW_ID)["_partition_date"].loc[keys]
    return {key: _as_date(value) for key, value in zip(failed_rows, found, strict=True)}


def _key_notes(frame: pd.DataFrame, outcomes: list[RuleOutcome]) -> dict[tuple[str, int], str]:
    """Why each row failing ``key_unique`` failed (an exact copy of which row, or a conflicting version)."""
    failed = next((o.failed_rows for o in outcomes if o.rule.name == "key_unique"), set())
    if not failed:
        return {}
    keys = pd.MultiIndex.from_tuples(sorted(failed), names=ROW_ID)
    notes = frame.set_index(ROW_ID)["_key_note"].loc[keys]
    return {key: note for key, note in zip(sorted(failed), notes, strict=True) if isinstance(note, str)}


def _landing_loads(conn, source: str, first: dt.date, last: dt.date) -> dict[dt.date, tuple[int, int, int]]:
    """(files, rows read, rows quarantined at load) per landing day."""
    return {
        r[0]: r[1:]
        for r in conn.execute(
            "select partition_date, files, rows_read, rows_quarantined from quality.landing_loads "
            "where source = ? and partition_date between ? and ?",
            [source, first, last],
        ).fetchall()
    }


def _rule_outcome_on(ranged: RuleOutcome, failed: int, validated: int, share_blocks: bool) -> RuleOutcome:
    """A row-level rule's outcome over the range, narrowed to a day with ``failed`` of its rows failing it."""
    outcome = RuleOutcome(
        ranged.rule, not failed, unexpected_count=failed,
        unexpected_percent=100 * failed / validated if validated else 0.0,
        # GX's examples are of the range (for a one-day run, of the day); the expectations are the same
        sample=list(ranged.sample) if failed else [], expectations=list(ranged.expectations),
    )
    outcome.blocking_failure = bool(failed) and ranged.rule.critical and share_blocks
    return outcome


@dataclass
class _RangeFacts:
    """What the range's frame, GX run and landing records say, to be narrowed to each day."""

    ranged_outcomes: list[RuleOutcome]
    row_day: dict[tuple[str, int], dt.date]
    # per ranged outcome: how many of its failed rows each landing day holds (counted once, not per day)
    failed_per_day: list[Counter]
    rows_per_day: dict[dt.date, int]
    loads: dict[dt.date, tuple[int, int, int]]
    quarantined_by_day: dict[dt.date, int]
    load_errors: dict[dt.date, str]


def _day_validation(conn, contract, day, settings, facts: _RangeFacts) -> DayValidation:
    files, rows_read, type_rejects = facts.loads.get(day, (0, 0, 0))
    by_rules = facts.quarantined_by_day[day]
    share_outcome = quarantine_share_outcome(rows_read, type_rejects, by_rules, settings)
    validated = facts.rows_per_day.get(day, 0)
    day_outcomes = [
        _rule_outcome_on(ranged, failed[day], validated, share_outcome.blocking_failure)
        for ranged, failed in zip(facts.ranged_outcomes, facts.failed_per_day, strict=True)
    ]
    batch = [
        volume_outcome(conn, contract, day, rows_read, files, settings),
        freshness_outcome(conn, contract, day, files, settings),
        share_outcome,
    ]
    if day in facts.load_errors:  # nothing new was loaded: the other batch rules have nothing to judge
        batch = [RuleOutcome(o.rule, True, detail="not judged: the day's files could not be read") for o in batch]
        day_outcomes = [RuleOutcome(o.rule, o.passed, o.unexpected_count, o.unexpected_percent) for o in day_outcomes]
    day_outcomes += [*batch, files_loaded_outcome(files, facts.load_errors.get(day))]
    result = DayValidation(
        source=contract.name, day=day, rows_read=rows_read, rows_validated=validated, outcomes=day_outcomes,
        rows_quarantined_validation=by_rules, rows_quarantined_total=type_rejects + by_rules,
    )
    result.reasons = [o.reason() for o in day_outcomes if o.blocking_failure and o.rule.batch]
    return result


def _apply_release(result: DayValidation, release: day_status.Release | None) -> day_status.Release | None:
    """Override the day's blocking batch failures when a reviewer's release covers it; the release to record."""
    if release is None or not release.covers(result.source, result.day) or not result.reasons:
        return None
    blocking = [o for o in result.outcomes if o.blocking_failure]
    if any(o.rule.batch and o.rule.name not in RELEASABLE_RULES for o in blocking):
        return None  # a file that could not be read cannot be released
    for outcome in blocking:
        outcome.blocking_failure = False
        if outcome.rule.batch:
            outcome.passed = True
            outcome.released_by, outcome.release_reason = release.by, release.reason
            outcome.detail += f"; released by {release.by}: {release.reason}"
    result.released_by, result.release_reason = release.by, release.reason
    return release


def validate_days(
    conn: duckdb.DuckDBPyConnection,
    contract: SourceContract,
    days: list[dt.date],
    settings: QualitySettings,
    runner: SuiteRunner,
    now: dt.datetime | None = None,
    *,
    release: day_status.Release | None = None,
    load_errors: dict[dt.date, str] | None = None,
) -> RangeValidation:
    """Run the source's suite on ``raw.<source>`` for ``days`` (consecutive) in one GX run.

    Rows failing critical rules replace the days' ``validation`` quarantine rows (one
    quarantine row per input row, naming every rule it failed). Batch rules are
    evaluated per day from ``quality.landing_loads``; ``load_errors`` names the days whose
    files could not be read (they keep their previous rows and are blocked). Each day's
    status (blocked by which failures, or released by whom) is recorded in
    ``quality.day_status`` in the same transaction as the quarantine rows.
    """
    first, last = days[0], days[-1]
    frame = _validation_frame(conn, contract, first, last, settings, now or dt.datetime.now(dt.UTC))
    label = first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"
    ranged_outcomes, gx_result = row_outcomes(contract, frame, runner, label)
    failures = critical_failures(ranged_outcomes)
    row_day = _row_days(frame, ranged_outcomes)
    facts = _RangeFacts(
        ranged_outcomes=ranged_outcomes,
        row_day=row_day,
        failed_per_day=[Counter(row_day[row] for row in o.failed_rows) for o in ranged_outcomes],
        rows_per_day={_as_date(k): int(v) for k, v in frame.groupby("_partition_date").size().items()},
        loads=_landing_loads(conn, contract.name, first, last),
        quarantined_by_day=defaultdict(int),
        load_errors=load_errors or {},
    )
    for row in failures:
        facts.quarantined_by_day[facts.row_day[row]] += 1
    results = [_day_validation(conn, contract, day, settings, facts) for day in days]
    day_status.ensure_table(conn)
    with transaction(conn):
        replace_validation_quarantine(conn, contract, first, last, failures, _key_notes(frame, ranged_outcomes))
        for result in results:
            applied = _apply_release(result, release)
            result.blocked = day_status.record(conn, contract.name, result.day, result.reasons, applied)
    return RangeValidation(contract.name, results, ranged_outcomes, runner.docs_page(gx_result))


def _as_date(value) -> dt.date:
    return value.date() if isinstance(value, (pd.Timestamp, dt.datetime)) else value
