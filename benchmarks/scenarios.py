"""The benchmark scenarios: how many customers, how many days of history, and how the history gets there."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class Scenario:
    name: str
    customers: int
    history_days: int
    """Days of history before the new day (the new day itself comes on top)."""
    bulk: bool
    """True: the history is generated in bulk into the warehouse (``history.py``), then the day before and
    the new day run through Dagster. False: ``lifecycle-pipeline generate`` writes landing files for every
    day and the history is backfilled through Dagster as one run."""
    description: str

    @property
    def scaled(self) -> bool:
        """Whether the sizes differ from the named scenario's (a scaled-down run)."""
        base = SCENARIOS[self.name]
        return (self.customers, self.history_days) != (base.customers, base.history_days)

    @property
    def label(self) -> str:
        """``L``, or ``L-100000c-365d`` for a scaled run."""
        return f"{self.name}-{self.customers}c-{self.history_days}d" if self.scaled else self.name


SCENARIOS = {
    "S": Scenario("S", 5_000, 89, False,
                  "5k customers, 90 days of generated landing files: days 1..89 backfilled as one run, then day 90"),
    "M": Scenario("M", 100_000, 365, False,
                  "100k customers: a 365-day backfill from nothing as one run, then one new day"),
    "L": Scenario("L", 1_000_000, 365, True,
                  "1M customers, a year of history (~9M orders, ~45M events) loaded in bulk, the day before "
                  "materialized, then one new day"),
}


def scenario(name: str, customers: int | None = None, days: int | None = None) -> Scenario:
    """The named scenario, with the customer count and history days overridden when given."""
    base = SCENARIOS[name]
    return dataclasses.replace(base, customers=customers or base.customers, history_days=days or base.history_days)
