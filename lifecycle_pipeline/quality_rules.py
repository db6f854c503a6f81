"""Data-quality rules per source: what each Dagster asset check means and how strict it is.

Row-level rules are Great Expectations expectations evaluated on one landing day. A
*critical* row-level rule quarantines the failing rows (they never reach ``clean.*``);
its failure blocks the day only when the day's quarantined share exceeds
``max_quarantine_share``. Batch-level rules (volume, freshness, quarantine share, files
loaded) are about the whole day; a failure blocks that day only (``quality.day_status``),
and for volume and freshness only for the sources configured to block (steady feeds):
bursty sources (a closed signup cohort, a handful of NPS answers a day) only warn.
Non-critical rules only warn.

Email format is deliberately non-critical: a malformed address must not remove a
paying customer (and so orphan their orders); outreach simply cannot email them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from lifecycle_pipeline.contracts import SOURCES, SourceContract

EMAIL_REGEX = r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$"


@dataclass(frozen=True)
class QualitySettings:
    """Tunable thresholds of the quality rules (domain-agnostic engineering defaults).

    Meanings and defaults are documented on ``resources.quality.QualityConfig``.
    """

    late_tolerance_days: int = 3
    future_skew_minutes: int = 10
    earliest_timestamp: str = "1980-01-01"
    volume_history_days: int = 28
    volume_min_history_days: int = 7
    volume_min_ratio: float = 0.2
    volume_max_ratio: float = 5.0
    volume_min_median_rows: int = 30
    volume_blocking_sources: tuple[str, ...] = ("orders", "events")
    freshness_blocking_sources: tuple[str, ...] = ("customers", "orders", "events", "marketing_spend")
    max_quarantine_share: float = 0.05
    quarantine_min_rows: int = 30

    def __post_init__(self) -> None:
        for name in ("volume_blocking_sources", "freshness_blocking_sources"):
            value = tuple(getattr(self, name))
            object.__setattr__(self, name, value)
            unknown = [s for s in value if s not in SOURCES]
            if unknown:
                raise ValueError(f"quality.{name}: unknown sources {unknown}; known: {', '.join(SOURCES)}")
        try:
            dt.date.fromisoformat(self.earliest_timestamp)
        except ValueError:
            raise ValueError(f"quality.earliest_timestamp={self.earliest_timestamp!r} is not a YYYY-MM-DD date") from None


@dataclass(frozen=True)
class Rule:
    """One asset check: a named group of GX expectations (row-level) or a batch rule."""

    name: str
    description: str
    critical: bool
    expectations: Callable[[], list] = field(default=lambda: [], compare=False)
    batch: bool = False
    sample_column: str | None = None
    """For rules checked through a computed flag: the column whose values to show."""


def _gx():
    import great_expectations as gx

    return gx


def _not_null(columns):
    return lambda: [_gx().expectations.ExpectColumnValuesToNotBeNull(column=c) for c in columns]


def _flag(column):
    return lambda: [_gx().expectations.ExpectColumnValuesToBeInSet(column=column, value_set=[True])]


def _between(column, low=None, high=None, when: tuple[str, str] | None = None):
    """Values within [low, high]; ``when=(column, value)`` restricts it to matching rows."""

    def build():
        kwargs = {"column": column, "min_value": low, "max_value": high}
        if when:
            from great_expectations.expectations.row_conditions import Column

            kwargs["row_condition"] = Column(when[0]) == when[1]
        return [_gx().expectations.ExpectColumnValuesToBeBetween(**kwargs)]

    return build


def _in_set(columns: dict[str, tuple[str, ...]]):
    return lambda: [
        _gx().expectations.ExpectColumnValuesToBeInSet(column=c, value_set=list(v)) for c, v in columns.items()
    ]


def _email(column):
    return lambda: [_gx().expectations.ExpectColumnValuesToMatchRegex(column=column, regex=EMAIL_REGEX)]


BATCH_RULES = (
    Rule("row_count_in_band", "Rows landed today are within the configured band around the trailing median "
         "(same weekday when there is enough history); blocks only for volume_blocking_sources.", True, batch=True),
    Rule("file_arrived", "The day's landing file arrived (sources never delivered are exempt); blocks only for "
         "freshness_blocking_sources.", True, batch=True),
    Rule("quarantine_share", "The share of the day's rows quarantined stays under the threshold.", True, batch=True),
    Rule("files_loaded", "Every landing file of the day could be read and matches the source contract; otherwise "
         "the day keeps its previous state and is blocked.", True, batch=True),
)
LANDING_FOLDERS_RULE = Rule(
    "landing_folders_recognised",
    "Every entry of the source's landing folder is a YYYY-MM-DD day folder inside the partition range (others are "
    "not loaded; warning only).",
    False,
    batch=True,
)
LATER_DAYS_RULE = Rule(
    "later_days_current",
    "A re-landed day whose rows changed after later days were computed makes those later days stale (their "
    "scores, stages and outreach read it); the check lists them and the command that rebuilds them (warning).",
    False,
    batch=True,
)
RELEASABLE_RULES = ("row_count_in_band", "file_arrived", "quarantine_share")
"""Batch rules a reviewer's release overrides for a day (a file that cannot be read cannot be released)."""


def row_rules(contract: SourceContract) -> list[Rule]:
    """Row-level rules of a source, in the order they are reported."""
    rules: list[Rule] = []
    required = [c for c in contract.required_columns]
    if contract.name == "suppressions":
        rules.append(Rule("required_not_null", "Required values present; each row names a customer or an email.",
                          True, lambda: _not_null(required)() + _flag("_has_target")()))
    else:
        rules.append(Rule("required_not_null", f"Required columns not null: {', '.join(required)}.", True, _not_null(required)))
    rules.append(Rule("key_unique", f"Key ({', '.join(contract.key)}) unique within the day: of exact duplicate rows one "
                      "copy is kept, conflicting versions of a key are all quarantined.", True, _flag("_key_unique"),
                      sample_column=contract.key[0]))
    if "customer_id" in contract.foreign_keys:
        rules.append(Rule("customer_exists", "customer_id is a customer known by the end of this day.", True,
                          _flag("_customer_known"), sample_column="customer_id"))
    day_column = contract.day_columns[-1]
    rules.append(Rule("timestamp_in_day", "The row's day column falls in the partition day (minus the late tolerance).",
                      True, _flag("_in_day_window"), sample_column=day_column))
    rules.append(Rule("timestamp_not_in_future", "No timestamp after the validation time.", True,
                      _flag("_not_in_future"), sample_column="_newest_timestamp"))
    rules.append(Rule("timestamp_not_too_old", "No timestamp before earliest_timestamp (placeholders such as "
                      "1900-01-01 or 1970-01-01).", True, _flag("_not_too_old"), sample_column="_oldest_timestamp"))
    allowed = {c.name: c.allowed_values for c in contract.columns if c.allowed_values}
    if contract.name == "customers":
        rules.append(Rule("acquisition_channel_known", "acquisition_channel is a known channel.", False, _in_set(allowed)))
    elif allowed:
        rules.append(Rule("allowed_values", f"Allowed values for {', '.join(allowed)}.", True, _in_set(allowed)))
    if contract.name == "orders":
        rules.append(Rule("amount_non_negative", "Completed orders have amount >= 0.", True,
                          _between("amount", 0, None, when=("status", "completed"))))
        rules.append(Rule("refund_consistent", "A refund refers to a completed order of at least that amount.", True,
                          _flag("_refund_consistent"), sample_column="order_id"))
    if contract.name == "marketing_spend":
        rules.append(Rule("spend_non_negative", "spend, impressions and clicks are >= 0.", True,
                          lambda: _between("spend", 0)() + _between("impressions", 0)() + _between("clicks", 0)()))
    if contract.name == "nps_responses":
        rules.append(Rule("score_range", "NPS score is an integer 0-10.", True, _between("score", 0, 10)))
    if contract.name == "support_tickets":
        rules.append(Rule("score_range", "CSAT is an integer 1-5 when given.", True, _between("csat", 1, 5)))
    if "email" in contract.column_names:
        rules.append(Rule("email_format", "Email addresses are well-formed (warning only).", False, _email("email")))
    return rules


def all_rules(contract: SourceContract) -> list[Rule]:
    """The rules validated per landing day (row-level, then batch-level)."""
    return [*row_rules(contract), *BATCH_RULES]


def check_rules(contract: SourceContract) -> list[Rule]:
    """Every asset check of ``raw/<source>``: the per-day rules and the landing-folder check."""
    return [*all_rules(contract), LANDING_FOLDERS_RULE, LATER_DAYS_RULE]


def check_names() -> dict[str, list[str]]:
    return {name: [r.name for r in check_rules(c)] for name, c in SOURCES.items()}
