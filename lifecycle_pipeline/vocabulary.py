"""The value lists of the project, each defined once (DOMAIN.md).

Source contracts (accepted values of landing columns), the playbook's validation, the
sample-data generator and the data dictionary import these tuples; nothing else spells
them out. The order of each tuple is meaningful where it says so.
"""

from __future__ import annotations

# Lifecycle stages, in the order BI tools show them (DOMAIN.md, Lifecycle stage)
STAGES = ("prospect", "new", "active", "loyal", "advocate", "reactivated", "at_risk", "dormant", "churned")
# stages whose customers are no longer warned: they lapsed (DOMAIN.md, Early-warning tiers)
LAPSED_STAGES = ("dormant", "churned")
STAGE_PRESETS = ("ecommerce", "saas")
RECENCY_BASES = ("orders", "activity")

# RFM segments of the R x F grid (DOMAIN.md, Scores; the grid itself is in rfm.py), A-Z
RFM_SEGMENTS = (
    "about_to_sleep",
    "at_risk",
    "cant_lose",
    "champions",
    "hibernating",
    "loyal_customers",
    "need_attention",
    "new_customers",
    "potential_loyalists",
    "promising",
)

# health bands, best first (DOMAIN.md, Scores)
HEALTH_BANDS = ("healthy", "stable", "concerning", "critical")
HEALTH_COMPONENTS = ("activity", "adoption", "service", "nps")
NPS_CATEGORIES = ("promoter", "passive", "detractor")

# early-warning tiers 1-3 and the signal of each (0 = no warning)
WARNING_SIGNALS = {1: "activity_drop", 2: "no_aha_action", 3: "no_activity"}
WARNING_TIERS = tuple(WARNING_SIGNALS)

# accepted values of the landing sources (contracts.py)
ORDER_STATUSES = ("completed", "refunded", "cancelled")
EVENT_TYPES = (
    "login",
    "page_view",
    "core_feature_use",
    "feature_use",
    "email_open",
    "email_click",
    "referral_sent",
)
# where channel economics takes its cohort LTV from (ScoringSettings.channel_ltv)
CHANNEL_LTV_SOURCES = ("formula", "predicted")
ACQUISITION_CHANNELS = ("organic", "paid_search", "social", "display", "affiliate", "email", "referral")
SUPPRESSION_REASONS = ("unsubscribe", "bounce", "complaint", "manual")

# outreach (playbook, lists, exports)
OUTREACH_CHANNELS = ("email", "sms", "call_task")
OUTREACH_STATUSES = ("contacted", "holdout", "excluded")
EXCLUSION_REASONS = (
    "suppressed", "no_consent", "no_address", "frequency_cap", "cooldown", "lower_priority", "daily_limit",
)


def as_text(values) -> str:
    """A value list as prose: ``a, b, c``."""
    return ", ".join(str(v) for v in values)
