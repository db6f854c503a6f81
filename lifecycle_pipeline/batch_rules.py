"""Evaluate the batch-level rules of ``quality_rules.BATCH_RULES`` on one landing day.

Volume (rows read vs a robust trailing baseline), freshness (did a file arrive), the
quarantined share and whether every file could be read are about the whole day, read
from ``quality.landing_loads``. A failure blocks that day (``blocking_failure``) only
where it means something:

* volume: only for ``volume_blocking_sources`` (steady feeds), only once the source has
  ``volume_min_history_days`` days of history, and never when both the baseline and
  today are under ``volume_min_median_rows`` (a ratio of tiny counts means nothing);
  the baseline is the median of the same weekday over the window when there are at
  least ``WEEKDAY_MIN_DAYS`` of them, else of all days;
* freshness: only for ``freshness_blocking_sources``;
* quarantined share: only on days with at least ``quarantine_min_rows`` rows read.

Every other failure is a warning: a closed signup cohort or a source with a handful of
NPS answers a day never blocks its day.
"""

from __future__ import annotations

import datetime as dt
import statistics

from lifecycle_pipeline import sql
from lifecycle_pipeline.quality_rules import BATCH_RULES, QualitySettings
from lifecycle_pipeline.validation_results import RuleOutcome

WEEKDAY_MIN_DAYS = 3
_RULES = {rule.name: rule for rule in BATCH_RULES}


def volume_baseline(history: list[tuple[dt.date, int]], day: dt.date) -> tuple[float, str]:
    """(median rows, what it is a median of): the same weekday when there are enough such days, else all days."""
    same_weekday = [rows for d, rows in history if d.weekday() == day.weekday()]
    if len(same_weekday) >= WEEKDAY_MIN_DAYS:
        return statistics.median(same_weekday), f"{day.strftime('%A')}s"
    return statistics.median(rows for _, rows in history), "days"


def volume_outcome(conn, contract, day, rows_read, files, settings: QualitySettings) -> RuleOutcome:
    rule = _RULES["row_count_in_band"]
    if files == 0:
        return RuleOutcome(rule, True, detail="no file; see file_arrived")
    history = [
        (r[0], r[2])
        for r in conn.execute(
            sql.load("quality/landing_history"),
            {"source": contract.name, "day": day, "history_days": settings.volume_history_days},
        ).fetchall()
    ]
    if not history:
        return RuleOutcome(rule, True, detail="no history yet")
    median, of_what = volume_baseline(history, day)
    floor = settings.volume_min_median_rows
    if median < floor and rows_read < floor:
        return RuleOutcome(rule, True, detail=f"{rows_read} rows vs trailing median {median:g}: both under "
                           f"{floor} rows, too few to judge")
    low, high = settings.volume_min_ratio * median, settings.volume_max_ratio * median
    passed = low <= rows_read <= high
    of_weekday = f" of {of_what}" if of_what != "days" else ""
    outcome = RuleOutcome(
        rule, passed, sample=[rows_read],
        detail=f"{rows_read} rows vs trailing {settings.volume_history_days}-day median {median:g}{of_weekday} "
        f"(allowed {low:g}..{high:g})",
    )
    if passed:
        return outcome
    if contract.name not in settings.volume_blocking_sources:
        outcome.detail += f"; warn only: {contract.name} is not in volume_blocking_sources"
    elif len(history) < settings.volume_min_history_days:
        outcome.detail += f"; warn only: {len(history)} of {settings.volume_min_history_days} days of history"
    else:
        outcome.blocking_failure = True
    return outcome


def freshness_outcome(conn, contract, day, files, settings: QualitySettings) -> RuleOutcome:
    rule = _RULES["file_arrived"]
    if files > 0:
        return RuleOutcome(rule, True, detail=f"{files} file(s) arrived")
    (ever,) = conn.execute(
        "select count(*) from quality.landing_loads where source = ? and files > 0", [contract.name]
    ).fetchall()[0]
    if ever == 0 and not contract.required_for_business:
        return RuleOutcome(rule, True, detail="source not delivered by this business; downstream treats it as absent")
    outcome = RuleOutcome(rule, False, detail=f"no {contract.name} file for {day}")
    if contract.name in settings.freshness_blocking_sources:
        outcome.blocking_failure = True
    else:
        outcome.detail += f"; warn only: {contract.name} is not in freshness_blocking_sources"
    return outcome


def quarantine_share_outcome(
    rows_read: int, type_rejects: int, by_rules: int, settings: QualitySettings
) -> RuleOutcome:
    """Share of the day's rows quarantined, at load (type casts, malformed lines) and by critical rules."""
    quarantined = type_rejects + by_rules
    share = quarantined / rows_read if rows_read else 0.0
    outcome = RuleOutcome(
        _RULES["quarantine_share"], share <= settings.max_quarantine_share,
        unexpected_count=quarantined, unexpected_percent=100 * share,
        detail=f"{quarantined} of {rows_read} rows quarantined ({type_rejects} at load, "
        f"{by_rules} by rules); limit {100 * settings.max_quarantine_share:g}%",
    )
    if not outcome.passed:
        if rows_read >= settings.quarantine_min_rows:
            outcome.blocking_failure = True
        else:
            outcome.detail += f"; warn only: under {settings.quarantine_min_rows} rows read"
    return outcome


def files_loaded_outcome(files: int, load_error: str | None) -> RuleOutcome:
    """Whether the day's files could be read (a file that cannot be read fails the day, which keeps its previous state)."""
    rule = _RULES["files_loaded"]
    if load_error is None:
        return RuleOutcome(rule, True, detail=f"{files} file(s) read")
    return RuleOutcome(rule, False, detail=f"{load_error}; the day keeps its previous state", blocking_failure=True)
