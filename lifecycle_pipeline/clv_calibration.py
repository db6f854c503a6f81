"""Calibration view of the purchase model (issue 15, "Predictive customer value"): for a business day, how
well would the model have predicted the last ``calibration_holdout_weeks`` weeks?

Pure functions over a DuckDB connection (no Dagster); the maths is in ``clv_models.py``, the summaries and
the fit come from ``clv.py``.

For a day ``as_of`` the *holdout* is the ``7 * calibration_holdout_weeks`` days up to and including it, and
the *calibration end* the day before the holdout starts (:func:`calibration_end`). The purchase model
(``settings.model``) is fitted with :func:`clv.fit_models` on the BG/NBD summaries of the calibration end,
read from the order versions known at its end (:func:`clv.clv_summary` with ``from_state=False``): exactly
what a fit made that day would have seen. Its buyers are the *calibration cohort*. This fit is made for the
view only; it is not stored in ``scoring.clv_model_fits``.

* ``scoring.clv_calibration`` (``sql/scoring/clv_calibration.sql``), one row per frequency group: the cohort
  grouped by its repeat purchases x at the calibration end (0 ... 6 and 7+, always all eight groups), with
  the purchase days it actually made in the holdout (order versions known at the end of ``as_of``; a day with
  several orders is one purchase; ``sql/scoring/clv_calibration_days.sql``) against those the fit expects
  (:func:`clv_models.expected_purchases` over the holdout length, given x, t_x and T).
* ``scoring.clv_calibration_tracking`` (``sql/scoring/clv_calibration_tracking.sql``), one row per period end:
  the cohort's cumulative repeat purchase days (a purchase day after the customer's first) against the
  cumulative expectation of the fit, the unconditional E[X(t)] (:func:`clv_models.expected_purchases_unconditional`)
  summed over the cohort customers with t the time since each one's first purchase day. Period ends are every
  ``time_unit_days`` days counted back from ``as_of``, plus the calibration end itself (so the calibration end
  is a row whatever the time unit), from the cohort's first purchase day but no earlier than
  ``TRACKING_CALIBRATION_WEEKS`` (104) weeks before the calibration end: at most two years of the calibration
  period and the whole holdout. Cumulative figures count from the cohort's first purchase, also before the
  first row. Calibration-period purchase days are those known at the calibration end (what the fit saw: the
  row of the calibration end has the sum of the cohort's x), holdout days those known at the end of ``as_of``
  (the last row adds the frequency table's ``actual_total``).

When the fit is not usable (no buyers by the calibration end, too few repeat buyers, no convergence) the
expected columns are NULL and ``reason`` says why; the actual figures are still written. Expectations that
overflow at extreme parameters are NULL with their reason too, never NaN.

A calibration is a fit, so a daily asset may calibrate once per refit week (:func:`calibration_due`: on the
refit day, or the first day of the week a run reaches). Both tables are replaced for ``as_of`` in one
transaction (delete the day, insert), so re-running a day gives the same rows; only data known at the end of
``as_of`` is read, so later orders, refunds and files leave its rows as they are.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from lifecycle_pipeline import clv, clv_models, sql
from lifecycle_pipeline.daily_tables import end_of_day, ensure_table, table_exists, write_day
from lifecycle_pipeline.db import bind, transaction

FREQUENCY_TABLE = "scoring.clv_calibration"
TRACKING_TABLE = "scoring.clv_calibration_tracking"
TOP_FREQUENCY_GROUP = 7  # x >= 7 is one group, '7+'
TRACKING_CALIBRATION_WEEKS = 104  # tracking rows reach at most this far before the calibration end
_CUSTOMERS = pa.schema([("customer_id", pa.string()), ("repeat_purchases", pa.int64()),
                        ("holdout_purchases", pa.int64()), ("expected_holdout", pa.float64())])
_PERIODS = pa.schema([("period_end", pa.date32()), ("customers", pa.int64()), ("actual_cumulative", pa.int64()),
                      ("expected_cumulative", pa.float64())])


@dataclass(frozen=True)
class CalibrationResult:
    """What :func:`compute_clv_calibration` wrote for a day, and the frames of the chart
    (``charts.clv_calibration(result.frequency, result.tracking, day=result.as_of)``)."""

    as_of: dt.date
    calibration_end: dt.date
    holdout_periods: float  # holdout length in time units (26 weeks: 26.0)
    fit: clv.ModelFit  # made on the calibration end's summaries (its fit_date); not stored
    cohort_customers: int  # buyers known at the calibration end
    actual_total: int  # their purchase days in the holdout
    expected_total: float | None  # expected by the fit (None: not usable, see reason)
    reason: str | None  # why the expected figures are NULL (None: they are not)
    frequency_rows: int
    tracking_rows: int
    frequency: pd.DataFrame  # the day's scoring.clv_calibration rows, by frequency_min
    tracking: pd.DataFrame  # the day's scoring.clv_calibration_tracking rows, by period_end
    seconds: float  # time the whole computation took (the fit: fit.seconds)


def calibration_end(as_of: dt.date, settings: clv.ClvSettings) -> dt.date:
    """The last day of the calibration period of ``as_of``: ``calibration_holdout_weeks`` weeks before it."""
    return as_of - dt.timedelta(days=7 * settings.calibration_holdout_weeks)


def calibration_due(conn: duckdb.DuckDBPyConnection, day: dt.date, settings: clv.ClvSettings) -> bool:
    """Whether ``day`` needs a calibration when calibrating once per refit week: it is a refit day
    (:func:`clv.is_refit_day`), or no day of its refit week up to it (``clv.fit_date(day)`` .. ``day``) has a
    calibration with ``settings.model`` yet (e.g. the refit day was not run)."""
    if clv.is_refit_day(day, settings.refit_days) or not table_exists(conn, FREQUENCY_TABLE):
        return True
    (count,) = conn.execute(f"select count(*) from {FREQUENCY_TABLE} where as_of_date between ? and ? and model = ?",
                            [clv.fit_date(day, settings.refit_days), day, settings.model]).fetchall()[0]
    return count == 0


def _unusable(fit: clv.ModelFit, cohort: int) -> str | None:
    """Why the fit cannot predict (None: it can). Only the purchase model matters here, not Gamma-Gamma."""
    if cohort == 0:
        return f"no buyers by the calibration end {fit.fit_date}"
    if not fit.converged:
        purchase = (fit.reason or "").split("; gamma_gamma: ")[0].removeprefix(f"{fit.model}: ")
        return f"no usable {fit.model} fit at the calibration end {fit.fit_date}: {purchase}"
    return None


def _overflow_reason(fit: clv.ModelFit) -> str:
    return (f"expected purchases not computable at the parameters of the calibration fit of {fit.fit_date} "
            f"(a = {fit.a:.4g}, b = {fit.b:.4g}: numerical overflow)")


def _cohort_days(conn: duckdb.DuckDBPyConnection, as_of: dt.date, end: dt.date, timezone: str) -> pa.Table:
    """``clv_calibration_days.sql``: (customer_id, first_offset, day_offset) per cohort purchase day."""
    statement = sql.load("scoring/clv_calibration_days")
    params = {"as_of": as_of, "as_of_end": end_of_day(as_of, timezone), "calibration_end": end,
              "calibration_cutoff": end_of_day(end, timezone)}
    return conn.sql(statement, params=bind(statement, params)).to_arrow_table()


def _tracking(fit: clv.ModelFit, settings: clv.ClvSettings, usable: bool, first: np.ndarray,
              repeat_days: np.ndarray, holdout_days: int) -> pa.Table:
    """The tracking rows (period_end, customers, actual_cumulative, expected_cumulative) of a cohort whose
    first purchase days are ``first`` and repeat purchase days ``repeat_days`` (days from the calibration end)."""
    if first.size == 0:
        return _PERIODS.empty_table()
    unit = settings.time_unit_days
    start = max(int(first.min()), -7 * TRACKING_CALIBRATION_WEEKS)
    ends = np.union1d(np.arange(holdout_days, start - 1, -unit), [0])
    ends = ends[ends >= start]
    firsts, counts = np.unique(first, return_counts=True)
    customers = np.searchsorted(np.sort(first), ends, side="right")
    actual = np.searchsorted(np.sort(repeat_days), ends, side="right")
    expected = np.full(ends.size, np.nan)
    if usable:
        lags = np.arange(holdout_days - int(firsts.min()) + 1)  # every possible period end - first day
        with np.errstate(all="ignore"):
            curve = clv_models.expected_purchases_unconditional(fit.model, fit.purchase_params(), lags / unit)
        lag = ends[:, None] - firsts[None, :]
        bought = lag >= 0
        terms = np.where(bought, curve[np.where(bought, lag, 0)] * counts[None, :], 0.0)
        expected = terms.sum(axis=1)
    days = [fit.fit_date + dt.timedelta(days=int(offset)) for offset in ends]
    return pa.Table.from_arrays([pa.array(days, pa.date32()), pa.array(customers, pa.int64()),
                                 pa.array(actual, pa.int64()), clv.finite_array(expected)], schema=_PERIODS)


def compute_clv_calibration(conn: duckdb.DuckDBPyConnection, as_of: dt.date,
                            settings: clv.ClvSettings) -> CalibrationResult:
    """Fit the purchase model at ``as_of``'s calibration end and rebuild ``scoring.clv_calibration`` and
    ``scoring.clv_calibration_tracking`` for ``as_of`` (one transaction). Dates are those of the connection's
    time zone. See the module docstring."""
    started = time.perf_counter()
    end = calibration_end(as_of, settings)
    holdout_days = (as_of - end).days
    holdout_periods = holdout_days / settings.time_unit_days
    (timezone,) = conn.execute("select current_setting('TimeZone')").fetchall()[0]

    summary = clv.clv_summary(conn, end, settings, from_state=False)
    fit = clv.fit_models(summary, end, settings)
    reason = _unusable(fit, summary.num_rows)

    days = _cohort_days(conn, as_of, end, timezone)
    ids = summary["customer_id"].to_pandas()
    position = pd.Index(ids).get_indexer(days["customer_id"].to_pandas())
    if np.any(position < 0):  # both read the same order versions: cannot happen unless the SQL drifts apart
        raise RuntimeError(f"calibration cohort of {as_of}: purchase days of customers without a summary")
    first_offset, day_offset = (days[name].to_numpy().astype(np.int64) for name in ("first_offset", "day_offset"))
    in_holdout = day_offset > 0
    holdout = np.bincount(position[in_holdout], minlength=summary.num_rows).astype(np.int64)
    first = np.zeros(summary.num_rows, dtype=np.int64)
    first[position] = first_offset

    x, t_x, age = (summary[name].to_numpy().astype(float) for name in ("repeat_purchases", "t_x", "age"))
    expected = np.full(x.size, np.nan)
    if reason is None and x.size:
        with np.errstate(all="ignore"):
            expected = clv_models.expected_purchases(fit.model, fit.purchase_params(), holdout_periods, x, t_x, age)
    customers = pa.Table.from_arrays([summary["customer_id"], pa.array(x.astype(np.int64)), pa.array(holdout),
                                      clv.finite_array(expected)], schema=_CUSTOMERS)
    periods = _tracking(fit, settings, reason is None, first, day_offset[day_offset > first_offset], holdout_days)

    params = {"as_of": as_of, "calibration_end": end, "model": fit.model, "reason": reason,
              "overflow_reason": _overflow_reason(fit) if reason is None else None,
              "top_group": TOP_FREQUENCY_GROUP}
    for table in (FREQUENCY_TABLE, TRACKING_TABLE):
        ensure_table(conn, table)
    conn.register("clv_calibration_customers", customers)
    conn.register("clv_calibration_periods", periods)
    try:
        with transaction(conn):
            frequency_rows = write_day(conn, FREQUENCY_TABLE, as_of, sql.load("scoring/clv_calibration"), params)
            tracking_rows = write_day(conn, TRACKING_TABLE, as_of, sql.load("scoring/clv_calibration_tracking"),
                                      params)
    finally:
        conn.unregister("clv_calibration_customers")
        conn.unregister("clv_calibration_periods")

    frequency, tracking = calibration_frames(conn, as_of)
    expected_total = frequency["expected_total"]
    return CalibrationResult(
        as_of=as_of, calibration_end=end, holdout_periods=holdout_periods, fit=fit,
        cohort_customers=int(summary.num_rows), actual_total=int(holdout.sum()),
        expected_total=None if expected_total.isna().any() else float(expected_total.sum()),
        reason=next((r for r in frequency["reason"] if isinstance(r, str)), None),
        frequency_rows=int(frequency_rows), tracking_rows=int(tracking_rows), frequency=frequency,
        tracking=tracking, seconds=round(time.perf_counter() - started, 3),
    )


def calibration_frames(conn: duckdb.DuckDBPyConnection, as_of: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The stored rows of ``as_of``: (``scoring.clv_calibration`` by frequency_min,
    ``scoring.clv_calibration_tracking`` by period_end), the frames ``charts.clv_calibration`` draws."""
    frequency = conn.execute(f"select * from {FREQUENCY_TABLE} where as_of_date = ? order by frequency_min",
                             [as_of]).df()
    tracking = conn.execute(f"select * from {TRACKING_TABLE} where as_of_date = ? order by period_end",
                            [as_of]).df()
    return frequency, tracking
