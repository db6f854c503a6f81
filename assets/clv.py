"""Predictive customer value (issue 15): `scoring/clv_model_fits` and `scoring/customer_clv_predicted`.

Thin wrappers over ``lifecycle_pipeline/clv.py``. The fits asset refits the purchase (MBG/NBD or BG/NBD)
and Gamma-Gamma models on the refit days of its run and makes sure every other day's fit (the latest refit
day's) is stored; the predictions asset scores every buyer of each day with that fit and compares P(alive)
with the day's stage by the stage rules (the `stages` resource); `lifecycle/customer_stage_daily`, written
after it, carries its P(alive). Settings: the `clv`
resource (``ClvConfig``); the margin is the `scoring` resource's ``gross_margin`` (the LTV margin).
"""

from pathlib import Path

import dagster as dg

from lifecycle_pipeline import charts, clv_calibration, clv_models
from lifecycle_pipeline import clv as rules
from lifecycle_pipeline.assets.common import (
    DUCKDB_WRITER_POOL,
    OWNERS,
    DayProgress,
    blocked_metadata,
    days_to_compute,
    derived_table_metadata,
    markdown_table,
    partition_row_count,
)
from lifecycle_pipeline.dictionary import asset_description
from lifecycle_pipeline.resources import ClvConfig, ScoringConfig, StageConfig, WarehouseResource

FITS_KEY = dg.AssetKey(rules.FITS_TABLE.split("."))
FEATURES_KEY = dg.AssetKey(["scoring", "customer_features"])  # writes the order state the summaries read
ORDERS_KEY = dg.AssetKey(["clean", "orders"])  # the calibration reads the order versions
_PARAMS = (*clv_models.PURCHASE_PARAMS, *clv_models.GAMMA_GAMMA_PARAMS)


def _table_fields(table: str, kinds: set[str]) -> dict:
    """What the UI shows of a table's asset: key, group, kinds, owners, its dictionary entry."""
    return {
        "key": dg.AssetKey(table.split(".")),
        "group_name": "scoring",
        "kinds": kinds,
        "owners": OWNERS,
        "tags": {"layer": "scoring"},
        "metadata": derived_table_metadata(table),
        "description": asset_description(table),
    }


def _common(table: str, partitions_def: dg.PartitionsDefinition) -> dict:
    return {
        **_table_fields(table, {"duckdb", "scipy"}),
        "partitions_def": partitions_def,
        "backfill_policy": dg.BackfillPolicy.single_run(),
        "pool": DUCKDB_WRITER_POOL,
    }


def fit_metadata(fit: rules.ModelFit) -> dict:
    """The fit a day uses, as materialization metadata: its date, model, parameters, convergence and reason."""
    metadata = {
        "fit_date": str(fit.fit_date),
        "model": fit.model,
        "converged": dg.MetadataValue.bool(fit.converged),
        "spend_converged": dg.MetadataValue.bool(fit.spend_converged),
        "fit_customers": dg.MetadataValue.int(fit.customers),
        "fit_repeat_buyers": dg.MetadataValue.int(fit.repeat_buyers),
    }
    metadata["fit_seconds"] = dg.MetadataValue.float(fit.seconds)
    metadata |= {name: dg.MetadataValue.float(getattr(fit, name)) for name in _PARAMS
                 if getattr(fit, name) is not None}
    if fit.reason:
        metadata["fit_reason"] = fit.reason
    return metadata


def _warn_unusable(context: dg.AssetExecutionContext, day, fit: rules.ModelFit) -> None:
    if not (fit.converged and fit.spend_converged):
        context.log.warning(f"{day}: the fit of {fit.fit_date} is not usable, predictions NULL: {fit.reason}")


def prediction_metadata(conn, day) -> dict:
    """The day's predictions in figures: customers predicted, mean P(alive), disagreements, a sample of them."""
    predicted, mean_alive, disagreements, value = conn.execute(
        f"select count(p_alive), avg(p_alive), count(*) filter (where rules_disagree), sum(expected_value_12m) "
        f"from {rules.PREDICTED_TABLE} where as_of_date = ?", [day]).fetchall()[0]
    metadata = {
        "predicted_customers": dg.MetadataValue.int(predicted),
        "disagreements": dg.MetadataValue.int(disagreements),
        "expected_value_12m_total": dg.MetadataValue.float(float(value or 0)),
        "disagreement_sample": markdown_table(
            conn, f"select customer_id, p_alive, disagreement from {rules.PREDICTED_TABLE} "
                  "where as_of_date = ? and rules_disagree order by customer_id limit 10", [day]),
    }
    if mean_alive is not None:
        metadata["mean_p_alive"] = dg.MetadataValue.float(round(float(mean_alive), 4))
    return metadata


def calibration_results(result: clv_calibration.CalibrationResult | None, day, data_dir: Path, by_frequency=None):
    """The two calibration tables' materializations: the day's figures, the frequency table and the chart (or,
    when the run's last day needed no new calibration, which day's calibration stands)."""
    keys = [dg.AssetKey(table.split(".")) for table in (clv_calibration.FREQUENCY_TABLE, clv_calibration.TRACKING_TABLE)]
    if result is None:
        note = {"calibrated": dg.MetadataValue.bool(False),
                "note": f"{day}: the calibration of this refit week already stands (one per week, on its refit day "
                        "or the first day a run reaches)"}
        for key in keys:
            yield dg.MaterializeResult(asset_key=key, metadata=note)
        return
    path = charts.chart_path(data_dir, day, "clv_calibration")
    png = charts.clv_calibration(result.frequency, result.tracking, day=day, file_path=path)
    figures = {
        "calibrated": dg.MetadataValue.bool(True),
        "calibration_end": str(result.calibration_end),
        "holdout_weeks": dg.MetadataValue.float(round(result.holdout_periods * result.fit.time_unit_days / 7, 2)),
        "cohort_customers": dg.MetadataValue.int(result.cohort_customers),
        "actual_holdout_purchases": dg.MetadataValue.int(result.actual_total),
        "seconds": dg.MetadataValue.float(result.seconds),
    }
    if result.expected_total is not None:
        figures["expected_holdout_purchases"] = dg.MetadataValue.float(round(result.expected_total, 1))
        if result.actual_total:
            figures["expected_to_actual"] = dg.MetadataValue.float(round(result.expected_total / result.actual_total, 3))
    if result.reason:
        figures["reason"] = result.reason
    yield dg.MaterializeResult(asset_key=keys[0], metadata={
        "dagster/row_count": dg.MetadataValue.int(result.frequency_rows), **figures, "by_frequency": by_frequency,
        **charts.chart_metadata("clv_calibration", png, path)})
    yield dg.MaterializeResult(asset_key=keys[1], metadata={
        "dagster/row_count": dg.MetadataValue.int(result.tracking_rows), **figures,
        **charts.chart_metadata("clv_calibration", png, path)})


def build_clv_assets(partitions_def: dg.PartitionsDefinition, data_dir: Path) -> list[dg.AssetsDefinition]:
    @dg.asset(deps=[FEATURES_KEY], **_common(rules.FITS_TABLE, partitions_def))
    def clv_model_fits(context: dg.AssetExecutionContext, duckdb: WarehouseResource, clv: ClvConfig):
        settings = clv.settings()
        with duckdb.get_connection() as conn:
            days, blocked = days_to_compute(context, conn)
            progress = DayProgress(context, "scoring/clv_model_fits", len(days))
            made = []
            for day in days:
                fit, new = rules.compute_clv_fit(conn, day, settings)
                if new:
                    made.append(str(fit.fit_date))
                    context.log.info(f"fit of {fit.fit_date} ({fit.model}): converged {fit.converged}, Gamma-Gamma "
                                     f"{fit.spend_converged}, {fit.customers} buyers, {fit.seconds} s")
                _warn_unusable(context, day, fit)
                progress.step()
            (rows,) = conn.execute(f"select count(*) from {rules.FITS_TABLE}").fetchall()[0]
            history = markdown_table(
                conn, f"select fit_date, model, customers, repeat_buyers, round(r, 4) as r, round(alpha, 4) as alpha, "
                      "round(a, 4) as a, round(b, 4) as b, round(p, 4) as p, round(q, 4) as q, "
                      f"round(gamma, 4) as gamma, converged, spend_converged, reason from {rules.FITS_TABLE} "
                      "order by fit_date desc, model limit 10", [])
        return dg.MaterializeResult(metadata={
            "dagster/row_count": dg.MetadataValue.int(rows), "days": len(days), **blocked_metadata(blocked),
            "fits_made": dg.MetadataValue.json(made), **fit_metadata(fit), "latest_fits": history})

    @dg.asset(deps=[FITS_KEY, FEATURES_KEY], **_common(rules.PREDICTED_TABLE, partitions_def))
    def customer_clv_predicted(context: dg.AssetExecutionContext, duckdb: WarehouseResource, clv: ClvConfig,
                               scoring: ScoringConfig, stages: StageConfig):
        settings, margin, stage_settings = clv.settings(), scoring.settings().gross_margin, stages.settings()
        with duckdb.get_connection() as conn:
            days, blocked = days_to_compute(context, conn)
            progress = DayProgress(context, "scoring/customer_clv_predicted", len(days))
            rows_per_day = {}
            for day in days:
                rows_per_day[day], fit = rules.compute_clv_predicted(conn, day, settings, margin, stage_settings)
                _warn_unusable(context, day, fit)
                progress.step()
            metadata = prediction_metadata(conn, days[-1])
        return dg.MaterializeResult(metadata={
            "dagster/row_count": dg.MetadataValue.int(rows_per_day[days[-1]]), "days": len(days),
            **blocked_metadata(blocked), **partition_row_count(rows_per_day), **fit_metadata(fit), **metadata})

    calibration_specs = [
        dg.AssetSpec(deps=[ORDERS_KEY], **_table_fields(table, {"duckdb", "scipy", "matplotlib"}))
        for table in (clv_calibration.FREQUENCY_TABLE, clv_calibration.TRACKING_TABLE)
    ]

    @dg.multi_asset(specs=calibration_specs, partitions_def=partitions_def, name="clv_calibration",
                    backfill_policy=dg.BackfillPolicy.single_run(), pool=DUCKDB_WRITER_POOL)
    def clv_calibration_tables(context: dg.AssetExecutionContext, duckdb: WarehouseResource, clv: ClvConfig):
        settings = clv.settings()
        with duckdb.get_connection() as conn:
            days, _blocked = days_to_compute(context, conn)
            day = days[-1]  # one calibration per refit week (clv_calibration.calibration_due)
            result, by_frequency = None, None
            if clv_calibration.calibration_due(conn, day, settings):
                result = clv_calibration.compute_clv_calibration(conn, day, settings)
                context.log.info(f"calibration of {day} (calibration end {result.calibration_end}): "
                                 f"{result.actual_total} holdout purchase days, expected {result.expected_total}")
                by_frequency = markdown_table(
                    conn, "select frequency_group, customers, round(actual_mean, 3) as actual_mean, "
                          "round(expected_mean, 3) as expected_mean "
                          f"from {clv_calibration.FREQUENCY_TABLE} where as_of_date = ? order by frequency_min", [day])
        yield from calibration_results(result, day, data_dir, by_frequency)

    return [clv_model_fits, customer_clv_predicted, clv_calibration_tables]
