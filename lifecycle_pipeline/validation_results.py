"""What validating landing days found: one outcome per rule, per day and over the range.

Produced by ``gx_runner`` (row-level rules), ``batch_rules`` (volume, freshness,
quarantine share, files loaded) and assembled by ``validation.validate_days``; the
ingestion asset turns a ``RangeValidation`` into Dagster asset-check results.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from lifecycle_pipeline.quality_rules import Rule


@dataclass
class RuleOutcome:
    """Result of one rule on one day, with GX's numbers."""

    rule: Rule
    passed: bool
    unexpected_count: int = 0
    unexpected_percent: float = 0.0
    sample: list = field(default_factory=list)
    expectations: list[str] = field(default_factory=list)
    detail: str = ""
    failed_rows: set[tuple[str, int]] = field(default_factory=set)
    blocking_failure: bool = False
    released_by: str | None = None
    release_reason: str | None = None

    def metadata(self) -> dict:
        data = {
            "unexpected_count": self.unexpected_count,
            "unexpected_percent": round(self.unexpected_percent, 4),
            "sample_unexpected_values": [str(v) for v in self.sample],
            "expectations": self.expectations,
        }
        if self.detail:
            data["detail"] = self.detail
        return data

    def reason(self) -> str:
        """One short line for ``quality.day_status``: ``row_count_in_band: 3 rows vs …``."""
        return f"{self.rule.name}: {self.detail or f'{self.unexpected_count} rows failed'}"


@dataclass
class DayValidation:
    source: str
    day: dt.date
    rows_read: int
    rows_validated: int
    outcomes: list[RuleOutcome]
    rows_quarantined_validation: int
    rows_quarantined_total: int
    reasons: list[str] = field(default_factory=list)
    """The day's blocking failures (also those a release overrode), as recorded in ``quality.day_status``."""
    blocked: bool = False
    released_by: str | None = None
    release_reason: str | None = None

    def outcome(self, name: str) -> RuleOutcome:
        return next(o for o in self.outcomes if o.rule.name == name)


@dataclass
class CheckSummary:
    """One asset check over a run's range: did every day pass, did a failure block a day, who released which."""

    passed: bool
    blocking: bool
    released: bool
    metadata: dict


@dataclass
class RangeValidation:
    """Validation of a run's partition range: GX numbers for the range, outcomes per day."""

    source: str
    days: list[DayValidation]
    row_outcomes: list[RuleOutcome]
    data_docs: str | None

    def check(self, name: str) -> CheckSummary:
        """The outcome of one check over the whole range."""
        per_day = [(d.day, d.outcome(name)) for d in self.days]
        failing = [(day, o) for day, o in per_day if not o.passed]
        released = [(day, o) for day, o in per_day if o.released_by]
        ranged = next((o for o in self.row_outcomes if o.rule.name == name), None)
        metadata = ranged.metadata() if ranged is not None else {}
        if ranged is None and len(per_day) == 1:
            metadata = per_day[0][1].metadata()
        metadata["failing_days"] = [
            {"day": day.isoformat(), "unexpected_count": o.unexpected_count, "detail": o.detail,
             "blocks_the_day": o.blocking_failure}
            for day, o in failing
        ]
        if released:
            metadata["released_days"] = [
                {"day": day.isoformat(), "released_by": o.released_by, "release_reason": o.release_reason,
                 "detail": o.detail}
                for day, o in released
            ]
            metadata["released_by"] = ", ".join(sorted({o.released_by for _, o in released}))
            metadata["release_reason"] = "; ".join(sorted({o.release_reason for _, o in released}))
        if self.data_docs:
            metadata["data_docs"] = self.data_docs
        return CheckSummary(not failing, any(o.blocking_failure for _, o in failing), bool(released), metadata)

    def blocked_days(self) -> dict[dt.date, list[str]]:
        return {d.day: d.reasons for d in self.days if d.blocked}

    def released_days(self) -> dict[dt.date, tuple[str, str, list[str]]]:
        return {d.day: (d.released_by, d.release_reason, d.reasons) for d in self.days if d.released_by}
