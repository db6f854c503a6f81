"""The daily outreach list: candidates and guards in SQL, messages rendered with jinja2, exports and history.

``build_outreach_day`` runs one day: the candidates query (``sql/outreach/outreach_candidates.sql``)
matches every customer's stage row against the playbook's targets and applies the guards;
an independent re-check (``guard_violations.sql``) verifies the selected rows against the
sources; the contacted rows of a day inside the export window are rendered a campaign at a time
(``Renderer.render_columns``: once per distinct combination of the values a template reads) and
each campaign's file is written by DuckDB into a temporary folder (held-out rows and older days
are not messaged, so not rendered; a template error discards the folder before anything is
recorded); the day's list and contact history replace the old ones in one transaction; then the
export folder is swapped into place.
A run killed at any point leaves either the old day or the new day, and re-running the
day recomputes it from the contact history of earlier days only, so the result is the same.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from lifecycle_pipeline import sql
from lifecycle_pipeline.daily_tables import end_of_day, ensure_table
from lifecycle_pipeline.db import bind, transaction
from lifecycle_pipeline.outreach import exports
from lifecycle_pipeline.outreach.playbook import Campaign, Playbook
from lifecycle_pipeline.outreach.rendering import PART_COLUMNS, Renderer

LIST_TABLE = "outreach.outreach_list"
HISTORY_TABLE = "outreach.contact_history"

_CAMPAIGNS_DDL = """
create or replace temp table outreach_campaigns (
    campaign varchar, channel varchar, priority integer, template varchar,
    stages varchar[], entered varchar[], entered_from varchar[], warning_tiers integer[],
    rfm_segments varchar[], health_bands varchar[], cooldown_days integer, holdout_share double,
    offer_code varchar, offer_description varchar, offer_unique boolean, offer_valid_days integer,
    consent_column varchar, address_column varchar, daily_limit integer,
    p_alive_below double, p_alive_above double, expected_value_above double
)
"""

# what the list keeps of each rendered message (registered as outreach_rendered for _LIST_SELECT)
_RENDERED_COLUMNS = ("customer_id", "campaign", *PART_COLUMNS.values(), "export_file")
_NOTHING_RENDERED = pa.table({c: pa.array([], pa.string()) for c in _RENDERED_COLUMNS})

_LIST_SELECT = """
select d.as_of_date, d.customer_id, d.campaign, d.channel, d.priority, d.status, d.held_out, d.reason_selected,
    d.reasons_excluded, d.stage, d.address, d.offer_code, r.subject, r.body_text, r.body_html, r.export_file,
    d.playbook_version
from outreach_day as d
left join outreach_rendered as r on r.customer_id = d.customer_id and r.campaign = d.campaign
order by d.campaign, d.customer_id
"""

_HISTORY_SELECT = """
select as_of_date, customer_id, campaign, channel, held_out, offer_code, playbook_version
from outreach_day
where status <> 'excluded'
order by customer_id
"""


@dataclass
class OutreachDay:
    """What one day's run decided (for the asset metadata)."""

    day: dt.date
    export_dir: Path | None  # None: outside the export window, no files written
    status_counts: dict[tuple[str, str], int] = field(default_factory=dict)  # (campaign, status) -> rows
    exclusions: dict[tuple[str, str], int] = field(default_factory=dict)  # (campaign, reason) -> rows
    samples: dict[str, dict] = field(default_factory=dict)  # campaign -> first rendered contacted row
    guard_violations: dict[str, int] = field(default_factory=dict)  # the re-check's count per guard (all 0)

    def count(self, status: str, campaign: str | None = None) -> int:
        return sum(n for (c, s), n in self.status_counts.items() if s == status and campaign in (None, c))


def register_campaigns(conn: duckdb.DuckDBPyConnection, playbook: Playbook) -> None:
    """The playbook's active campaigns as the temp table ``outreach_campaigns`` (values bound, not formatted)."""
    conn.execute(_CAMPAIGNS_DDL)
    rows = []
    for c in playbook.active_campaigns:
        rule = playbook.channels[c.channel]
        offer = c.offer
        rows.append([
            c.id, c.channel, c.priority, c.template,
            c.target.stages, c.target.entered, c.target.entered_from, c.target.warning_tiers,
            c.target.rfm_segments, c.target.health_bands, c.cooldown_days, c.holdout_share,
            offer.code if offer else None, offer.description if offer else None,
            offer.unique_per_customer if offer else None, offer.valid_days if offer else None,
            rule.consent, rule.address, c.daily_limit,
            c.target.p_alive_below, c.target.p_alive_above, c.target.expected_value_above,
        ])
    # one statement for all campaigns (executemany runs one insert per row: 30 ms a day)
    row = f"({', '.join('?' * len(rows[0]))})"
    conn.execute(f"insert into outreach_campaigns values {', '.join([row] * len(rows))}",
                 [value for values in rows for value in values])


GUARDS = ("without_consent", "suppressed", "over_frequency_cap", "in_cooldown", "second_campaign_same_day")
SAMPLE_SIZE = 5


class GuardViolation(RuntimeError):
    """The independent re-check found a selected row that a guard should have excluded (a bug: nothing is sent)."""

    def __init__(self, day: dt.date, counts: dict[str, int], samples: dict[str, list[str]]):
        self.day, self.counts, self.samples = day, counts, samples
        broken = {guard: n for guard, n in counts.items() if n}
        super().__init__(f"outreach of {day}: selected rows break a guard {broken} (e.g. {samples}); "
                         "nothing was recorded or exported")


def verify_guards(conn: duckdb.DuckDBPyConnection, params: dict) -> dict[str, int]:
    """Re-check the day's selected rows against the sources (``sql/outreach/guard_violations.sql``).

    Returns the (zero) count per guard; raises ``GuardViolation`` with the counts and sample
    customer ids before anything is written otherwise.
    """
    statement = sql.load("outreach/guard_violations")
    rows = conn.execute(statement, bind(statement, params)).fetchall()
    counts = dict.fromkeys(GUARDS, 0)
    samples: dict[str, list[str]] = {}
    for guard, customer_id, _campaign in sorted(rows):
        counts[guard] += 1
        if len(found := samples.setdefault(guard, [])) < SAMPLE_SIZE:
            found.append(customer_id)
    if rows:
        raise GuardViolation(params["as_of"], counts, samples)
    return counts


def build_outreach_day(
    conn: duckdb.DuckDBPyConnection,
    day: dt.date,
    timezone: str,
    playbook: Playbook,
    renderer: Renderer,
    export_root: Path | str,
    export: bool = True,
) -> OutreachDay:
    """Decide, render, record and export the outreach of ``day`` (see the module docstring).

    ``export=False`` (a day outside the export window: nobody sends messages to the past)
    computes and records the list and the contact history but writes no export files and
    leaves an existing export folder of the day as it is.
    """
    ensure_table(conn, HISTORY_TABLE)
    register_campaigns(conn, playbook)
    params = {
        "as_of": day,
        "as_of_end": end_of_day(day, timezone),
        "cap_days": playbook.frequency_cap.days,
        "cap_max_contacts": playbook.frequency_cap.max_contacts,
        "playbook_version": playbook.version,
    }
    statement = "create or replace temp table outreach_day as " + sql.load("outreach/outreach_candidates")
    conn.execute(statement, bind(statement, params))
    guards = verify_guards(conn, params)

    # render the messages that are sent (the contacted rows of a day that is exported), one campaign
    # at a time, each campaign's file written to a temporary folder as soon as it is rendered; a
    # template error stops everything before anything is recorded or published. Held-out rows and
    # days outside the export window send nothing, so nothing is rendered.
    rendered: list[pa.Table] = []
    samples: dict[str, dict] = {}
    staging = None
    try:
        if export:
            exports.remove_leftovers(export_root, day)
            staging = exports.start_day(export_root, day)
        files = []
        for campaign in sorted(playbook.active_campaigns, key=lambda c: c.id) if export else ():
            sent = _render_campaign(conn, renderer, campaign, exports.relative_name(day, campaign.id))
            rendered.append(sent.select(_RENDERED_COLUMNS))
            if sent.num_rows:
                samples[campaign.id] = {c: sent[c][0].as_py() for c in ("customer_id", *PART_COLUMNS.values())}
            files.append(exports.write_campaign(conn, staging, campaign.id, sent))
        if staging is not None:
            exports.write_manifest(staging, day, files, playbook.version)
        conn.register("outreach_rendered", pa.concat_tables(rendered) if rendered else _NOTHING_RENDERED)
        try:
            ensure_table(conn, LIST_TABLE, _LIST_SELECT)
            with transaction(conn):
                for table, select in ((LIST_TABLE, _LIST_SELECT), (HISTORY_TABLE, _HISTORY_SELECT)):
                    conn.execute(f"delete from {table} where as_of_date = ?", [day])
                    conn.execute(f"insert into {table} {select}")
        finally:
            conn.unregister("outreach_rendered")
    except BaseException:
        if staging is not None:
            exports.discard(staging)
        raise
    export_dir = exports.publish_day(staging, export_root, day) if staging is not None else None
    return _summary(conn, day, export_dir, samples, guards)


def _render_campaign(conn: duckdb.DuckDBPyConnection, renderer: Renderer, campaign: Campaign,
                     export_file: str) -> pa.Table:
    """``campaign``'s contacted rows of the day in customer order: ``exports.EXPORT_COLUMNS`` with the
    rendered messages, and ``export_file``. Only the columns the templates read become Python values."""
    read = dict.fromkeys(("customer_id", *renderer.variables_for(campaign)))
    fetched = dict.fromkeys((*read, *(c for c in exports.EXPORT_COLUMNS if c not in PART_COLUMNS.values())))
    table = conn.sql(  # column names from code, the campaign bound
        f"select {', '.join(fetched)} from outreach_day where status = 'contacted' and campaign = ? "
        "order by customer_id", params=[campaign.id]).to_arrow_table()
    parts = renderer.render_columns(campaign, {name: table[name].to_pylist() for name in read})
    for column, texts in parts.items():
        table = table.append_column(pa.field(column, pa.large_string()), pa.array(texts, pa.large_string()))
    table = table.append_column(pa.field("export_file", pa.string()), pa.array([export_file] * table.num_rows,
                                                                                pa.string()))
    return table.select([*exports.EXPORT_COLUMNS, "export_file"])


def _summary(conn, day, export_dir, samples, guards) -> OutreachDay:
    summary = OutreachDay(day=day, export_dir=export_dir, samples=samples, guard_violations=guards)
    summary.status_counts = {
        (campaign, status): n for campaign, status, n in conn.execute(
            "select campaign, status, count(*) from outreach_day group by all order by all").fetchall()
    }
    summary.exclusions = {
        (campaign, reason): n for campaign, reason, n in conn.execute(
            "select campaign, reason, count(*) from (select campaign, unnest(reasons_excluded) as reason "
            "from outreach_day) group by all order by all").fetchall()
    }
    return summary
