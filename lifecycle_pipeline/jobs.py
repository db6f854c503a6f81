"""Jobs over the partitioned asset graph."""

import dagster as dg


def build_jobs():
    lifecycle_daily_job = dg.define_asset_job(
        "lifecycle_daily_job",
        selection=dg.AssetSelection.all(),
        description="The whole chain for one day (or a range of days): ingestion onwards.",
    )
    ingestion_job = dg.define_asset_job(
        "ingestion_job",
        selection=dg.AssetSelection.groups("ingestion"),
        description="Load the landing files of one day (or a range of days) into raw.* tables.",
    )
    return {"lifecycle_daily_job": lifecycle_daily_job, "ingestion_job": ingestion_job}
