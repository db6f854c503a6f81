"""Ingestion layer: one asset per landing source, loading a day's files into ``raw.<source>``."""

import datetime as dt
from pathlib import Path

import dagster as dg

from lifecycle_pipeline.assets.common import daily_table_asset, partition_days
from lifecycle_pipeline.contracts import SOURCES, SourceContract
from lifecycle_pipeline.loading import PartitionLoad, ensure_warehouse, load_partition
from lifecycle_pipeline.quality_rules import all_rules
from lifecycle_pipeline.validation import SuiteRunner, validate_days
from lifecycle_pipeline.resources import LandingZone, QualityConfig, WarehouseResource


def _preview(conn, contract: SourceContract, days: list[dt.date]) -> str:
    df = conn.execute(
        f"select * exclude (_source_file) from {contract.table} where _partition_date = ? order by _source_row limit 5",
        [days[-1]],
    ).df()
    return df.to_markdown(index=False) if not df.empty else "_no rows_"


def _load_summary(loads: list[PartitionLoad]) -> str:
    lines = ["| day | files | rows read | loaded | quarantined |", "|---|---|---|---|---|"]
    for load in loads:
        files = str(len(load.files)) if load.file_found else "no file (empty partition)"
        lines.append(f"| {load.day} | {files} | {load.rows_read} | {load.rows_loaded} | {load.rows_quarantined} |")
    return "\n".join(lines)


def build_ingestion_asset(contract: SourceContract, partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    required = "required for every business" if contract.required_for_business else "optional source"
    description = (
        f"{contract.description} Raw table `{contract.table}`, grain: one landed row, partitioned by "
        f"`_partition_date` (the landing folder day). Loaded from `<landing root>/{contract.name}/<YYYY-MM-DD>/` "
        f"(CSV or Parquet) with types enforced by the source contract in `lifecycle_pipeline/contracts.py` "
        f"({required}); rows whose values do not cast are quarantined in `quality.quarantine` with the reason. "
        f"Each load is validated by the source's Great Expectations suite (`lifecycle_pipeline/quality_rules.py`); "
        f"rows failing critical rules are quarantined and left out of `clean.{contract.name}`."
    )
    key = dg.AssetKey(["raw", contract.name])
    check_specs = [
        dg.AssetCheckSpec(
            name=rule.name, asset=key, description=rule.description, blocking=rule.critical, partitions_def=partitions_def
        )
        for rule in all_rules(contract)
    ]
    deps = [dg.AssetKey(["raw", "customers"])] if "customer_id" in contract.foreign_keys else []

    @daily_table_asset(
        key,
        "raw",
        contract,
        partitions_def,
        description=description,
        check_specs=check_specs,
        deps=deps,
        group_name="ingestion",
        kinds={"duckdb", "csv", "parquet"},
    )
    def ingest(
        context: dg.AssetExecutionContext, duckdb: WarehouseResource, landing: LandingZone, quality: QualityConfig
    ):
        days = partition_days(context)
        loads: list[PartitionLoad] = []
        docs_dir = Path(quality.data_docs_dir) if quality.data_docs_dir else None
        runner = SuiteRunner(docs_dir)
        with duckdb.get_connection() as conn:
            ensure_warehouse(conn, list(SOURCES.values()))
            for day in days:
                load = load_partition(conn, contract, day, landing.files_for(contract.name, day))
                if not load.file_found:
                    context.log.info(f"{contract.name} {day}: no landing file; partition is empty")
                elif load.rows_quarantined:
                    context.log.warning(f"{contract.name} {day}: {load.rows_quarantined} rows quarantined (type_cast)")
                loads.append(load)
            validation = validate_days(conn, contract, days, quality.settings(), runner)
            preview = _preview(conn, contract, days)
        runner.build_docs()
        check_results = []
        for rule in all_rules(contract):
            passed, blocking, metadata = validation.check(rule.name)
            if not passed:
                context.log.warning(f"check {rule.name} failed for {contract.name}: {metadata.get('failing_days')}")
            check_results.append(
                dg.AssetCheckResult(
                    check_name=rule.name,
                    passed=passed,
                    # a critical rule is an ERROR check; a failure whose rows were
                    # quarantined (share under the limit) is reported as a WARN
                    severity=dg.AssetCheckSeverity.ERROR
                    if blocking or (passed and rule.critical)
                    else dg.AssetCheckSeverity.WARN,
                    metadata=metadata,
                )
            )
        quarantined = sum(d.rows_quarantined_validation for d in validation.days)
        return dg.MaterializeResult(
            check_results=check_results,
            metadata={
                "rows_quarantined_by_rules": dg.MetadataValue.int(quarantined),
                "data_docs": dg.MetadataValue.url(validation.data_docs) if validation.data_docs else "not built",
                "dagster/row_count": dg.MetadataValue.int(sum(x.rows_loaded for x in loads)),
                "rows_read": dg.MetadataValue.int(sum(x.rows_read for x in loads)),
                "rows_quarantined": dg.MetadataValue.int(sum(x.rows_quarantined for x in loads)),
                "days": dg.MetadataValue.int(len(loads)),
                "days_without_file": dg.MetadataValue.int(sum(not x.file_found for x in loads)),
                "file_found": dg.MetadataValue.bool(all(x.file_found for x in loads)),
                "files": dg.MetadataValue.json([f.path for x in loads for f in x.files][:50]),
                "loads": dg.MetadataValue.md(_load_summary(loads[-31:])),
                "preview": dg.MetadataValue.md(preview),
            }
        )

    return ingest


def build_ingestion_assets(partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    return [build_ingestion_asset(contract, partitions_def) for contract in SOURCES.values()]
