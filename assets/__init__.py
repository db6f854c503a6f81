"""Software-defined assets, one module per layer."""

import warnings

import dagster as dg

# Every partitioned asset deliberately uses BackfillPolicy.single_run() (beta in Dagster
# 1.13): a backfill of N days is then one run that walks the days in order, instead of
# N runs queueing for the single DuckDB writer. Silence only that notice.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)
