"""Quarantine the rows that fail critical row-level rules (rule ``validation`` rows of ``quality.quarantine``).

Rows whose values do not cast are quarantined at load (``loading.py``); this module
writes the rows validation rejects: one quarantine row per input row, naming every
critical rule it failed, replacing the range's earlier validation rows (inside the
caller's transaction, with the days' status).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pandas as pd

from lifecycle_pipeline import sql
from lifecycle_pipeline.contracts import SourceContract
from lifecycle_pipeline.db import quote_ident
from lifecycle_pipeline.validation_results import RuleOutcome


def critical_failures(row_outcomes: list[RuleOutcome]) -> dict[tuple[str, int], list[RuleOutcome]]:
    """The critical outcomes each failing row (``(source file, source row)``) failed."""
    failures: dict[tuple[str, int], list[RuleOutcome]] = defaultdict(list)
    for outcome in row_outcomes:
        if outcome.rule.critical:
            for row in outcome.failed_rows:
                failures[row].append(outcome)
    return failures


def _reason(row: tuple[str, int], outcome: RuleOutcome, notes: dict[tuple[str, int], str]) -> str:
    if outcome.rule.name == "key_unique" and row in notes:
        return f"key_unique: {notes[row]}"
    return f"{outcome.rule.name}: {outcome.rule.description}"


def replace_validation_quarantine(
    conn,
    contract: SourceContract,
    first: dt.date,
    last: dt.date,
    failures: dict[tuple[str, int], list[RuleOutcome]],
    notes: dict[tuple[str, int], str] | None = None,
) -> None:
    """Replace the ``validation`` quarantine rows of ``first..last`` with ``failures`` (run it in a transaction).

    ``notes`` say per row why it failed ``key_unique`` (exact copy of which kept row, or conflicting versions).
    """
    notes = notes or {}
    records = [
        {
            "source_file": row[0],
            "source_row": row[1],
            "rule": ",".join(o.rule.name for o in found),
            "reason": "; ".join(_reason(row, o, notes) for o in found),
        }
        for row, found in sorted(failures.items())
    ]
    params = {"source": contract.name, "first_day": first, "last_day": last}
    conn.execute(sql.load("quality/delete_validation_quarantine"), params)
    if records:
        conn.register("failures", pd.DataFrame.from_records(records))
        try:
            columns = ", ".join(f"{quote_ident(c)} := r.{quote_ident(c)}" for c in contract.column_names)
            conn.execute(
                sql.load("quality/replace_validation_quarantine").format(table=quote_ident(contract.name), columns=columns),
                params,
            )
        finally:
            conn.unregister("failures")
