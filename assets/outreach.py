"""Outreach layer (DOMAIN.md, Outreach playbook): daily contact lists, contact history, exports and uplift.

`outreach/outreach_list`, `outreach/contact_history` and `outreach/campaign_exports` are written
together by one multi-asset (the list and the history in one transaction, the export folder
swapped in after it); `outreach/campaign_uplift` follows. Rules: lifecycle_pipeline/outreach/,
sql/outreach/; campaigns: the playbook of the `outreach` resource; table descriptions and columns: the
dictionary entries beside the SQL (sql/outreach/<table>.yml).
"""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from lifecycle_pipeline.assets import day_charts
from lifecycle_pipeline.assets.checks import DayCheck, check_outputs, partition_evaluations
from lifecycle_pipeline.assets.common import (
    DUCKDB_WRITER_POOL,
    OWNERS,
    DayProgress,
    blocked_metadata,
    days_to_compute,
    derived_table_metadata,
    markdown_table,
)
from lifecycle_pipeline.dictionary import asset_description
from lifecycle_pipeline.outreach.lists import (
    HISTORY_TABLE,
    LIST_TABLE,
    GuardViolation,
    OutreachDay,
    build_outreach_day,
)
from lifecycle_pipeline.outreach.uplift import UPLIFT_TABLE, compute_uplift
from lifecycle_pipeline.resources import OutreachConfig, WarehouseResource
from lifecycle_pipeline.vocabulary import EXCLUSION_REASONS

_COMMON = {"group_name": "outreach", "owners": OWNERS, "tags": {"layer": "outreach"}}
EXPORTS_KEY = dg.AssetKey(["outreach", "campaign_exports"])
GUARDS_CHECK = "guards_hold"


def _spec(table: str, deps: list, kinds: frozenset = frozenset({"duckdb"})) -> dg.AssetSpec:
    return dg.AssetSpec(key=dg.AssetKey(table.split(".")), deps=deps, description=asset_description(table),
                        metadata=derived_table_metadata(table), kinds=set(kinds), **_COMMON)


def _campaign_table(day: OutreachDay) -> dg.MetadataValue:
    campaigns = sorted({c for c, _ in day.status_counts})
    header = ["campaign", "matched", "contacted", "holdout", "excluded", *EXCLUSION_REASONS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for c in campaigns:
        cells = [c, sum(n for (k, _), n in day.status_counts.items() if k == c),
                 day.count("contacted", c), day.count("holdout", c), day.count("excluded", c),
                 *(day.exclusions.get((c, r), 0) for r in EXCLUSION_REASONS)]
        lines.append("| " + " | ".join(str(x) for x in cells) + " |")
    return dg.MetadataValue.md("\n".join(lines))


def _samples(day: OutreachDay, limit: int = 3) -> dg.MetadataValue:
    blocks = []
    for campaign, sample in list(day.samples.items())[:limit]:
        blocks.append(f"### {campaign} (customer {sample['customer_id']})\n\n**Subject:** {sample['subject'] or ''}\n\n"
                      f"```text\n{sample['body_text']}```")
        if sample["body_html"]:
            blocks.append(f"```html\n{sample['body_html']}```")
    return dg.MetadataValue.md("\n\n".join(blocks) or "nobody contacted")


def _guard_metadata(counts: dict[str, int], samples: dict[str, list[str]]) -> dict:
    return {**{f"violations_{guard}": dg.MetadataValue.int(n) for guard, n in counts.items()},
            **({"sample_customer_ids": samples} if samples else {})}


def _outreach_results(
    context: dg.AssetExecutionContext, duckdb: WarehouseResource, outreach: OutreachConfig
) -> Iterator[dg.MaterializeResult | dg.AssetCheckEvaluation | dg.Output]:
    """Build the outreach of the run's days, oldest first; results for the list, its guard check, the history
    and the exports, with the last day's figures."""
    list_key = dg.AssetKey(LIST_TABLE.split("."))
    history_key = dg.AssetKey(HISTORY_TABLE.split("."))
    playbook = outreach.playbook()
    renderer = outreach.renderer()
    results: list[OutreachDay] = []
    with duckdb.get_connection() as conn:
        days, blocked = days_to_compute(context, conn)
        progress = DayProgress(context, "outreach/outreach_list", len(days))
        # oldest first: each day's frequency cap and cooldowns read the days before it
        for day in days:
            export = outreach.writes_exports(day, duckdb.timezone)
            try:
                results.append(build_outreach_day(conn, day, duckdb.timezone, playbook, renderer,
                                                  outreach.export_root, export=export))
            except GuardViolation as violation:
                # record the failed check with its counts and sample customers, then stop: nothing of the day went out
                yield from partition_evaluations(context, list_key, GUARDS_CHECK, {day: DayCheck(False, _guard_metadata(
                    violation.counts, violation.samples))}, blocking=True)
                raise dg.Failure(description=str(violation)) from None
            context.log.debug(f"{day}: {results[-1].count('contacted')} contacted, "
                              f"{results[-1].count('holdout')} held out" + ("" if export else ", no export (window)"))
            progress.step()
        last = results[-1]
        list_rows, history_rows, total_contacts = conn.execute(
            f"select (select count(*) from {LIST_TABLE} where as_of_date = $d), "
            f"(select count(*) from {HISTORY_TABLE} where as_of_date = $d), "
            f"(select count(*) from {HISTORY_TABLE} where not held_out)", {"d": last.day}
        ).fetchall()[0]
    reasons = {f"excluded_{r}": dg.MetadataValue.int(sum(n for (_, k), n in last.exclusions.items() if k == r))
               for r in EXCLUSION_REASONS}
    yield dg.MaterializeResult(
        asset_key=list_key,
        metadata={
            "dagster/row_count": dg.MetadataValue.int(list_rows),
            "days": len(days),
            **blocked_metadata(blocked),
            "playbook_version": playbook.version,
            "contacted": dg.MetadataValue.int(last.count("contacted")),
            "holdout": dg.MetadataValue.int(last.count("holdout")),
            "excluded": dg.MetadataValue.int(last.count("excluded")),
            **reasons,
            "campaigns": _campaign_table(last),
            "rendered_sample": _samples(last),
        },
    )
    # build_outreach_day raises on any violation (recorded above), so every day here passed its re-check
    yield from partition_evaluations(context, list_key, GUARDS_CHECK, {
        r.day: DayCheck(True, {**_guard_metadata(r.guard_violations, {}), "selected_rows_checked": dg.MetadataValue.int(
            r.count("contacted") + r.count("holdout"))}) for r in results}, blocking=True)
    yield from check_outputs(context, [dg.AssetCheckKey(list_key, GUARDS_CHECK)])
    yield dg.MaterializeResult(
        asset_key=history_key,
        metadata={"dagster/row_count": dg.MetadataValue.int(history_rows),
                  "contacts_all_days": dg.MetadataValue.int(total_contacts)},
    )
    yield dg.MaterializeResult(
        asset_key=EXPORTS_KEY,
        metadata={
            "export_folder": dg.MetadataValue.path(str(last.export_dir)) if last.export_dir
            else f"none: {last.day} is outside the export window (export_window_days={outreach.export_window_days})",
            "days_exported": dg.MetadataValue.int(sum(r.export_dir is not None for r in results)),
            "files": dg.MetadataValue.int(len(playbook.active_campaigns)),
            "rows_exported": dg.MetadataValue.int(last.count("contacted")),
            **{f"rows_{c.id}": dg.MetadataValue.int(last.count("contacted", c.id))
               for c in playbook.active_campaigns},
        },
    )


def _uplift_result(
    context: dg.AssetExecutionContext, duckdb: WarehouseResource, outreach: OutreachConfig, data_dir: Path
) -> dg.MaterializeResult:
    """Compute the campaign uplift of the run's days; the last day's uplift per campaign as metadata."""
    playbook = outreach.playbook(check_templates=False)  # the uplift renders nothing
    with duckdb.get_connection() as conn:
        days, _ = days_to_compute(context, conn)
        for day in days:
            rows = compute_uplift(conn, day, playbook)
        table = markdown_table(
            conn, f"select campaign, contacted, held_out, contacted_conversion_rate, held_out_conversion_rate, "
                  f"conversion_uplift, conversion_z, improvement_uplift from {UPLIFT_TABLE} "
                  "where as_of_date = ? order by campaign", [days[-1]])
        chart = day_charts.outreach_chart(conn, data_dir, days[-1])
    return dg.MaterializeResult(metadata={"dagster/row_count": dg.MetadataValue.int(rows), "days": len(days),
                                          "window_days": playbook.uplift.window_days, "uplift": table, **chart})


def build_outreach_assets(partitions_def: dg.PartitionsDefinition, data_dir: Path) -> list[dg.AssetsDefinition]:
    list_key = dg.AssetKey(LIST_TABLE.split("."))
    history_key = dg.AssetKey(HISTORY_TABLE.split("."))
    inputs = [dg.AssetKey(["lifecycle", "customer_stage_daily"]), dg.AssetKey(["scoring", "customer_features"]),
              dg.AssetKey(["scoring", "health_scores"]), dg.AssetKey(["scoring", "customer_clv_predicted"]),
              dg.AssetKey(["clean", "customers"]), dg.AssetKey(["clean", "suppressions"])]
    written_together = [
        _spec(LIST_TABLE, inputs, frozenset({"duckdb", "jinja"})),  # messages rendered with jinja2
        _spec(HISTORY_TABLE, [list_key]),
        dg.AssetSpec(
            key=EXPORTS_KEY, deps=[list_key], kinds={"csv", "jinja"},
            description="Per-campaign CSV files for CRM / ESP upload: `<export_dir>/<YYYY-MM-DD>/<campaign>.csv` "
            "(contacted customers only, with address, offer code and the rendered subject, text and HTML) and "
            "`manifest.json` (rows and SHA-256 per file). A day's folder is written beside the export root and "
            "renamed into place, so a reader never sees a partial day; re-running a day gives identical bytes.",
            **_COMMON,
        ),
    ]

    guards_check = dg.AssetCheckSpec(
        name=GUARDS_CHECK, asset=list_key, partitions_def=partitions_def, blocking=True,
        description="Independent re-check of every selected row (contacted or held out) against the sources before "
        "anything is recorded or exported: channel consent in the latest customer record, no suppression, the "
        "frequency cap and the campaign cooldown over earlier days' contact history, one campaign per customer per "
        "day (sql/outreach/guard_violations.sql). A violation fails the asset, so nothing of that day goes out.",
    )

    @dg.multi_asset(
        specs=written_together,
        check_specs=[guards_check],
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=DUCKDB_WRITER_POOL,
        name="outreach_lists",
    )
    def outreach_lists(context: dg.AssetExecutionContext, duckdb: WarehouseResource, outreach: OutreachConfig):
        yield from _outreach_results(context, duckdb, outreach)

    @dg.asset(
        key=dg.AssetKey(UPLIFT_TABLE.split(".")),
        deps=[history_key, dg.AssetKey(["lifecycle", "customer_stage_daily"]),
              dg.AssetKey(["scoring", "customer_features"])],
        description=asset_description(UPLIFT_TABLE),
        metadata=derived_table_metadata(UPLIFT_TABLE),
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=DUCKDB_WRITER_POOL,
        kinds={"duckdb", "matplotlib"},
        **_COMMON,
    )
    def campaign_uplift(context: dg.AssetExecutionContext, duckdb: WarehouseResource, outreach: OutreachConfig):
        return _uplift_result(context, duckdb, outreach, data_dir)

    return [outreach_lists, campaign_uplift]
