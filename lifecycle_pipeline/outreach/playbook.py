"""The outreach playbook: which campaigns exist, whom each targets, through which channel, with which template.

The playbook is a versioned YAML file (default: ``lifecycle_pipeline/outreach/playbook.yaml``,
DOMAIN.md's Outreach playbook) that marketers edit. It is validated completely when it is
loaded: every problem is reported at once, naming the campaign and the field, and every
template a campaign names is parsed and checked for unknown variables (``rendering.py``, called by
``loader.py``, which reads the file; this module holds the models only).
"""

from __future__ import annotations

from typing import Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from lifecycle_pipeline.vocabulary import (
    HEALTH_BANDS,
    OUTREACH_CHANNELS,
    RFM_SEGMENTS,
    STAGES,
    WARNING_TIERS,
)

Channel = Literal[OUTREACH_CHANNELS]
Stage = Literal[STAGES]
RfmSegment = Literal[RFM_SEGMENTS]
HealthBand = Literal[HEALTH_BANDS]
WarningTier = Literal[WARNING_TIERS]

# the template files each channel needs, in <templates>/<template>/
CHANNEL_PARTS: dict[str, tuple[str, ...]] = {
    "email": ("subject.j2", "body.txt.j2", "body.html.j2"),
    "sms": ("body.txt.j2",),
    "call_task": ("subject.j2", "body.txt.j2"),  # task title + call brief for the account manager
}


class PlaybookError(ValueError):
    """The playbook file or one of its templates is invalid; the message lists every problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Target(_Strict):
    """Whom a campaign targets: every given criterion must match (AND); a list matches any of its values (OR)."""

    stages: list[Stage] | None = None
    entered: list[Stage] | None = Field(
        None, description="The customer moved into one of these stages today (a signup counts as entering prospect)."
    )
    entered_from: list[Stage] | None = Field(None, description="With `entered`: only moves from these stages.")
    warning_tiers: list[WarningTier] | None = None
    rfm_segments: list[RfmSegment] | None = None
    health_bands: list[HealthBand] | None = None
    p_alive_below: float | None = Field(
        None, gt=0, le=1, description="P(alive) by the purchase model (lifecycle.customer_stage_daily.p_alive) below "
        "this; customers without a prediction (no order, no usable fit) never match.",
    )
    p_alive_above: float | None = Field(None, ge=0, lt=1, description="P(alive) above this (see p_alive_below).")
    expected_value_above: float | None = Field(
        None, ge=0, description="Predicted value of the next value_horizon_weeks (scoring.customer_clv_predicted."
        "expected_value_12m) above this; customers without a prediction never match.",
    )

    @model_validator(mode="after")
    def _meaningful(self) -> Target:
        given = {k: v for k, v in self.model_dump().items() if v is not None}
        if not given:
            raise ValueError("a target needs at least one of " + ", ".join(Target.model_fields))
        empty = [k for k, v in given.items() if isinstance(v, list) and not v]
        if empty:
            raise ValueError(f"empty list for {', '.join(empty)} (leave the key out to not filter on it)")
        if self.entered_from is not None and self.entered is None:
            raise ValueError("entered_from needs entered (the stages moved into)")
        if self.p_alive_below is not None and self.p_alive_above is not None \
                and self.p_alive_above >= self.p_alive_below:
            raise ValueError(f"p_alive_above {self.p_alive_above} and p_alive_below {self.p_alive_below} match no one")
        return self


class Offer(_Strict):
    code: str = Field(pattern=r"^[A-Z0-9][A-Z0-9_-]{1,29}$", description="Offer code (upper case).")
    description: str = Field(min_length=1)
    unique_per_customer: bool = Field(
        True, description="Append a per-customer suffix (deterministic: the same customer, campaign and day)."
    )
    valid_days: int | None = Field(None, ge=1, description="The offer expires this many days after the list day.")


class Campaign(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,62}$")
    description: str = ""
    target: Target
    channel: Channel
    template: str = Field(pattern=r"^[a-z0-9_]+$", description="Folder under the templates directory.")
    priority: int = Field(ge=1, description="1 = first choice when a customer qualifies for several campaigns.")
    offer: Offer | None = None
    cooldown_days: int = Field(30, ge=0, description="Days before this campaign may contact the same customer again.")
    holdout_share: float = Field(0.1, ge=0, lt=1, description="Share of selected customers held out (not contacted).")
    daily_limit: int | None = Field(
        None, ge=1, description="At most this many customers selected per day (e.g. account-manager capacity), "
        "those with the most lifetime revenue first; the others wait for a later day.",
    )
    enabled: bool = True


class FrequencyCap(_Strict):
    """At most ``max_contacts`` contacts per customer in any ``days`` consecutive days, across campaigns."""

    max_contacts: int = Field(1, ge=1)
    days: int = Field(7, ge=1)


class ChannelRule(_Strict):
    consent: Literal["email_opt_in", "sms_opt_in"] = Field(description="Customer column that must be true.")
    address: Literal["email", "phone"] = Field(description="Customer column the contact goes to.")


class Uplift(_Strict):
    window_days: int = Field(14, ge=1, description="Days after the contact in which an order or a better stage counts.")
    cohort_days: int = Field(28, ge=1, description="Contact days pooled into one comparison.")
    stage_order: list[Stage] = Field(
        ["churned", "dormant", "at_risk", "prospect", "new", "reactivated", "active", "loyal", "advocate"],
        description="Worst to best: moving later in this list is a stage improvement.",
    )

    @field_validator("stage_order")
    @classmethod
    def _every_stage_once(cls, order: list[str]) -> list[str]:
        if sorted(order) != sorted(STAGES):
            raise ValueError(f"must list every stage exactly once: {', '.join(STAGES)}")
        return order


def _default_channels() -> dict[str, ChannelRule]:
    return {
        "email": ChannelRule(consent="email_opt_in", address="email"),
        "sms": ChannelRule(consent="sms_opt_in", address="phone"),
        # a call is a phone contact: it needs the phone consent the customer gave
        "call_task": ChannelRule(consent="sms_opt_in", address="phone"),
    }


class Playbook(_Strict):
    version: str = Field(min_length=1, description="Playbook version, recorded with every list row and export.")
    frequency_cap: FrequencyCap = FrequencyCap()
    channels: dict[Channel, ChannelRule] = Field(default_factory=_default_channels)
    uplift: Uplift = Uplift()
    campaigns: list[Campaign] = Field(min_length=1)

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value):
        return str(value) if isinstance(value, (int, float)) else value

    @model_validator(mode="after")
    def _consistent(self) -> Playbook:
        problems = []
        for attribute in ("id", "priority"):
            seen: dict = {}
            for c in self.active_campaigns:
                if getattr(c, attribute) in seen:
                    problems.append(f"campaigns {seen[getattr(c, attribute)]} and {c.id} have the same {attribute} "
                                    f"{getattr(c, attribute)!r}")
                seen[getattr(c, attribute)] = c.id
        missing = sorted({c.channel for c in self.campaigns} - set(self.channels))
        if missing:
            problems.append(f"channels: no consent/address rule for {', '.join(missing)}")
        if not self.active_campaigns:
            problems.append("every campaign is disabled")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def active_campaigns(self) -> list[Campaign]:
        return sorted((c for c in self.campaigns if c.enabled), key=lambda c: c.priority)


def _location(loc: tuple, raw: dict) -> str:
    """``campaigns[dormant_recall].target.stages[0]`` from pydantic's ``('campaigns', 3, 'target', 'stages', 0)``."""
    parts: list[str] = []
    campaigns = raw.get("campaigns") if isinstance(raw, dict) else None
    for i, item in enumerate(loc):
        if isinstance(item, int):
            name = item
            if i == 1 and loc[0] == "campaigns" and isinstance(campaigns, list) and item < len(campaigns):
                entry = campaigns[item]
                name = entry.get("id", item) if isinstance(entry, dict) else item
            parts.append(f"[{name}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"


def parse_playbook(text: str, source: str = "playbook") -> Playbook:
    """A validated playbook from YAML text; ``PlaybookError`` lists every problem with its location."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PlaybookError(f"{source} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise PlaybookError(f"{source}: expected a mapping with version and campaigns, got {type(raw).__name__}")
    try:
        return Playbook.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            where = _location(error["loc"], raw)
            message = error["msg"].removeprefix("Value error, ")
            got = "" if error["type"] in ("missing", "value_error") else f" (got {error.get('input')!r})"
            lines.append(f"  - {where}: {message}{got}")
        raise PlaybookError(f"{source} is invalid:\n" + "\n".join(lines)) from None
