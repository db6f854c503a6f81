"""Data-quality rules per source: what each Dagster asset check means and how strict it is.

Row-level rules are Great Expectations expectations evaluated on one landing day. A
*critical* row-level rule quarantines the failing rows (they never reach ``clean.*``);
its check blocks downstream assets only when the day's quarantined share exceeds
``max_quarantine_share``. Batch-level rules (volume, freshness, quarantine share) are
about the whole day and block it when they fail. Non-critical rules only warn.

Email format is deliberately non-critical: a malformed address must not remove a
paying customer (and so orphan their orders); outreach simply cannot email them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from lifecycle_pipeline.contracts import SOURCES, SourceContract

EMAIL_REGEX = r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$"


@dataclass(frozen=True)
class QualitySettings:
    """Tunable thresholds of the quality rules (DOMAIN-agnostic engineering defaults)."""

    late_tolerance_days: int = 3
    future_skew_minutes: int = 10
    volume_history_days: int = 14
    volume_min_history_days: int = 7
    volume_min_ratio: float = 0.2
    volume_max_ratio: float = 5.0
    volume_min_median_rows: int = 30
    max_quarantine_share: float = 0.05


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


def _unique(key):
    """Unique within a landing day: the frame may hold several days, so the day is part of the key."""

    def build():
        columns = [*key, "_partition_date"]
        return [_gx().expectations.ExpectCompoundColumnsToBeUnique(column_list=columns, ignore_row_if="any_value_is_missing")]

    return build


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
    Rule("row_count_in_band", "Rows landed today are within the configured band around the trailing median.", True, batch=True),
    Rule("file_arrived", "The day's landing file arrived (sources never delivered are exempt).", True, batch=True),
    Rule("quarantine_share", "The share of the day's rows quarantined stays under the threshold.", True, batch=True),
)


def row_rules(contract: SourceContract) -> list[Rule]:
    """Row-level rules of a source, in the order they are reported."""
    rules: list[Rule] = []
    required = [c for c in contract.required_columns]
    if contract.name == "suppressions":
        rules.append(Rule("required_not_null", "Required values present; each row names a customer or an email.",
                          True, lambda: _not_null(required)() + _flag("_has_target")()))
    else:
        rules.append(Rule("required_not_null", f"Required columns not null: {', '.join(required)}.", True, _not_null(required)))
    rules.append(Rule("key_unique", f"Key ({', '.join(contract.key)}) unique within the day.", True, _unique(contract.key)))
    if "customer_id" in contract.foreign_keys:
        rules.append(Rule("customer_exists", "customer_id is a customer known by the end of this day.", True,
                          _flag("_customer_known"), sample_column="customer_id"))
    day_column = contract.day_columns[-1]
    rules.append(Rule("timestamp_in_day", "The row's day column falls in the partition day (minus the late tolerance).",
                      True, _flag("_in_day_window"), sample_column=day_column))
    rules.append(Rule("timestamp_not_in_future", "No timestamp after the validation time.", True,
                      _flag("_not_in_future"), sample_column=day_column))
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
    return [*row_rules(contract), *BATCH_RULES]


def check_names() -> dict[str, list[str]]:
    return {name: [r.name for r in all_rules(c)] for name, c in SOURCES.items()}
