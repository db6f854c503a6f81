"""The landing-file contract of every source: columns, types, keys and day column.

This is the single source of truth for what a landing file may contain. Ingestion
builds its DDL and casts from it, the importer maps user exports onto it, the sample
generator writes it and the data-quality suites read its keys and allowed values.
Only ``customers`` and ``orders`` are required for a business; the other sources may
be absent for the whole history and every downstream asset must still work.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lifecycle_pipeline.vocabulary import (
    ACQUISITION_CHANNELS,
    EVENT_TYPES,
    ORDER_STATUSES,
    SUPPRESSION_REASONS,
)

TIMESTAMP = "TIMESTAMPTZ"
MONEY = "DECIMAL(18,2)"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool
    description: str
    allowed_values: tuple[str, ...] | None = None


@dataclass(frozen=True)
class SourceContract:
    name: str
    description: str
    key: tuple[str, ...]
    day_columns: tuple[str, ...]
    """Timestamp/date columns whose first non-null value (in the business time zone)
    decides the landing day of a row; the importer splits exports by it."""
    columns: tuple[Column, ...]
    required_for_business: bool = False
    foreign_keys: dict[str, str] = field(default_factory=dict)

    @property
    def table(self) -> str:
        return f"raw.{self.name}"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")

    def describe_schema(self) -> str:
        """Human-readable expected schema, used in error messages."""
        parts = [f"{c.name} {c.type}{'' if c.required else ' (optional)'}" for c in self.columns]
        return ", ".join(parts)



CUSTOMERS = SourceContract(
    name="customers",
    description="Customer master records: one row per customer per change (signup, consent change).",
    key=("customer_id",),
    day_columns=("updated_at", "signup_at"),
    required_for_business=True,
    columns=(
        Column("customer_id", "VARCHAR", True, "Customer identifier (stable across sources)."),
        Column("signup_at", TIMESTAMP, True, "When the customer became known (registration)."),
        Column("updated_at", TIMESTAMP, False, "When this version of the record was written; NULL = signup_at."),
        Column("first_name", "VARCHAR", False, "Given name, used to personalise messages."),
        Column("last_name", "VARCHAR", False, "Family name."),
        Column("email", "VARCHAR", False, "Email address."),
        Column("phone", "VARCHAR", False, "Phone number in E.164 form."),
        Column("country", "VARCHAR", False, "ISO 3166-1 alpha-2 country code."),
        Column("acquisition_channel", "VARCHAR", False, "Channel that acquired the customer.", ACQUISITION_CHANNELS),
        Column("segment", "VARCHAR", False, "Plan or customer segment."),
        Column("email_opt_in", "BOOLEAN", False, "Consent to marketing email; NULL counts as no consent."),
        Column("sms_opt_in", "BOOLEAN", False, "Consent to marketing SMS; NULL counts as no consent."),
        Column("referred_by", "VARCHAR", False, "customer_id of the referrer, if referred."),
    ),
)

ORDERS = SourceContract(
    name="orders",
    description="Orders: one row per order per status change (placed, refunded, cancelled).",
    key=("order_id",),
    day_columns=("updated_at", "ordered_at"),
    required_for_business=True,
    foreign_keys={"customer_id": "customers"},
    columns=(
        Column("order_id", "VARCHAR", True, "Order identifier."),
        Column("customer_id", "VARCHAR", True, "Buyer (customers.customer_id)."),
        Column("ordered_at", TIMESTAMP, True, "When the order was placed."),
        Column("amount", MONEY, True, "Order value in the order currency."),
        Column("status", "VARCHAR", True, "completed / refunded / cancelled.", ORDER_STATUSES),
        Column("updated_at", TIMESTAMP, False, "When the status was set; NULL = ordered_at."),
        Column("currency", "VARCHAR", False, "ISO 4217 currency code."),
        Column("category", "VARCHAR", False, "Main product category of the order."),
    ),
)

EVENTS = SourceContract(
    name="events",
    description="Product and engagement events: one row per event.",
    key=("event_id",),
    day_columns=("occurred_at",),
    foreign_keys={"customer_id": "customers"},
    columns=(
        Column("event_id", "VARCHAR", True, "Event identifier."),
        Column("customer_id", "VARCHAR", True, "Actor (customers.customer_id)."),
        Column("occurred_at", TIMESTAMP, True, "When the event happened."),
        Column("event_type", "VARCHAR", True, "login, core_feature_use, email_open, ...", EVENT_TYPES),
        Column("feature", "VARCHAR", False, "Feature used, for feature events."),
    ),
)

SUPPORT_TICKETS = SourceContract(
    name="support_tickets",
    description="Support tickets: one row per ticket per change (opened, resolved with CSAT).",
    key=("ticket_id",),
    day_columns=("resolved_at", "opened_at"),
    foreign_keys={"customer_id": "customers"},
    columns=(
        Column("ticket_id", "VARCHAR", True, "Ticket identifier."),
        Column("customer_id", "VARCHAR", True, "Requester (customers.customer_id)."),
        Column("opened_at", TIMESTAMP, True, "When the ticket was opened."),
        Column("resolved_at", TIMESTAMP, False, "When it was resolved; NULL while open."),
        Column("csat", "SMALLINT", False, "Customer satisfaction 1-5 after resolution."),
    ),
)

NPS_RESPONSES = SourceContract(
    name="nps_responses",
    description="Net Promoter Score survey answers: one row per response.",
    key=("response_id",),
    day_columns=("responded_at",),
    foreign_keys={"customer_id": "customers"},
    columns=(
        Column("response_id", "VARCHAR", True, "Response identifier."),
        Column("customer_id", "VARCHAR", True, "Respondent (customers.customer_id)."),
        Column("responded_at", TIMESTAMP, True, "When the answer was given."),
        Column("score", "SMALLINT", True, "Likelihood to recommend, 0-10."),
        Column("comment", "VARCHAR", False, "Free-text comment."),
    ),
)

MARKETING_SPEND = SourceContract(
    name="marketing_spend",
    description="Marketing spend: one row per day and acquisition channel.",
    key=("spend_date", "channel"),
    day_columns=("spend_date",),
    columns=(
        Column("spend_date", "DATE", True, "Day the money was spent (business calendar)."),
        Column("channel", "VARCHAR", True, "Acquisition channel.", ACQUISITION_CHANNELS),
        Column("spend", MONEY, True, "Amount spent."),
        Column("impressions", "BIGINT", False, "Ad impressions."),
        Column("clicks", "BIGINT", False, "Ad clicks."),
    ),
)

SUPPRESSIONS = SourceContract(
    name="suppressions",
    description="Never-contact list: unsubscribes, bounces, complaints (by customer or email).",
    key=("customer_id", "email", "reason"),
    day_columns=("suppressed_at",),
    columns=(
        Column("customer_id", "VARCHAR", False, "Suppressed customer, if known."),
        Column("email", "VARCHAR", False, "Suppressed email address, if known."),
        Column("reason", "VARCHAR", True, "unsubscribe / bounce / complaint / manual.", SUPPRESSION_REASONS),
        Column("suppressed_at", TIMESTAMP, True, "When the suppression was recorded."),
    ),
)

SOURCES: dict[str, SourceContract] = {
    c.name: c
    for c in (CUSTOMERS, ORDERS, EVENTS, SUPPORT_TICKETS, NPS_RESPONSES, MARKETING_SPEND, SUPPRESSIONS)
}


def get_contract(source: str) -> SourceContract:
    try:
        return SOURCES[source]
    except KeyError:
        raise KeyError(f"unknown source {source!r}; known sources: {', '.join(SOURCES)}") from None
