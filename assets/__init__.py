"""Software-defined assets, one module per layer."""

import warnings

import dagster as dg

# Deliberate uses of features that Dagster 1.13 marks beta/preview; silence only those notices.
# - BackfillPolicy.single_run(): a backfill of N days is one run that walks the days in
#   order, instead of N runs queueing for the single DuckDB writer.
# - partitions_def on AssetCheckSpec: check results are recorded per daily partition.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)
warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec", category=dg.PreviewWarning)
