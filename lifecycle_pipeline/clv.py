"""Predictive customer value per business day (issue 15; DOMAIN.md, Scores: LTV): who is likely to buy again,
and what they will be worth.

Pure functions over a DuckDB connection (no Dagster); ``assets/clv.py`` wraps them, the maths is in
``clv_models.py``.

* **Summaries** (:func:`clv_summary`, ``sql/scoring/clv_summary.sql``): per buyer as of a day, in time units
  of ``time_unit_days`` days (default 7, weeks): x = repeat purchase days (distinct days with a completed
  order, minus the first), t_x = first to last order day, T (``age``) = first order day to the day, and the
  average value of the repeat purchase days. Read from that day's running order state
  (``scoring.customer_order_state``) while it is kept (the last week), else computed from the order versions
  (``clv_buyers_orders.sql``); both give the same figures. Only data known at the end of the day counts.
* **Fits** (``scoring.clv_model_fits``): MBG/NBD (default) or BG/NBD, and Gamma-Gamma, fitted on all buyers
  of a *fit date*. Refit cadence, anchored to the calendar: a day is a refit day when its distance in days
  from Monday 0001-01-01 is a multiple of ``refit_days`` (default 7: every Monday; 1: every day; 14: every
  other Monday). Every day uses the fit of the latest refit day at or before it (:func:`fit_date`), made from
  that refit day's summaries. Anchoring to the calendar, not to the first fit the pipeline happened to make,
  makes the fit a day uses a function of the day alone: backfilling earlier days or starting on another day
  never moves the refit days. A fit date's fit is made when first needed (the refit day's run, or a later
  day's run when the refit day was not run, e.g. before the first partition or held back by a check),
  stored, and reused until the next refit day; re-running the refit day itself refits (restated data). A
  stored fit is reused only if it was made with the same model, time unit and ``min_repeat_buyers``. A fit
  that does not converge or has too few repeat buyers is stored with ``converged = false`` and the reason.
* **Predictions** (``scoring.customer_clv_predicted``): per buyer and day, P(alive), expected purchases in
  the next 90 days, the Gamma-Gamma expected order value and the discounted expected value of the next
  ``value_horizon_weeks`` weeks (margin: ``ScoringSettings.gross_margin``, the LTV margin), and whether the
  model and the stage rules of the same day disagree (the stage by the rules' macro on the day's features;
  the stage table, written after, carries P(alive)). Without a usable fit the predictions are NULL with
  the reason, never numbers from a failed fit.

Recomputing a past day after newer days exist gives the same rows: its fit date is fixed by the calendar,
the stored fit is reused, and a refit recomputes it deterministically from the same summaries.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from lifecycle_pipeline import clv_models, sql
from lifecycle_pipeline.customer_state import LOG_TABLE as STATE_LOG_TABLE
from lifecycle_pipeline.daily_tables import end_of_day, ensure_table, table_exists, write_day
from lifecycle_pipeline.db import bind, transaction
from lifecycle_pipeline.order_state import ORDER_STATE
from lifecycle_pipeline.rule_settings import StageSettings
from lifecycle_pipeline.vocabulary import STAGES

FITS_TABLE = "scoring.clv_model_fits"
PREDICTED_TABLE = "scoring.customer_clv_predicted"
FEATURES_TABLE = "scoring.customer_features"
PURCHASES_HORIZON_DAYS = 90  # expected_purchases_90d
VALUE_STEPS = 12  # the value horizon is cut into this many slices ("months"), each discounted from its end
DAYS_PER_YEAR = 365.25  # the discount rate is annual
_MONDAY_ORDINAL = dt.date(1, 1, 1).toordinal()  # a Monday: refit days are counted from it
_PREDICTIONS = pa.schema([
    ("customer_id", pa.string()), ("repeat_purchases", pa.int64()), ("t_x", pa.float64()), ("age", pa.float64()),
    ("avg_repeat_value", pa.float64()), ("p_alive", pa.float64()), ("expected_purchases_90d", pa.float64()),
    ("expected_avg_order_value", pa.float64()), ("expected_value_12m", pa.float64()), ("reason", pa.string()),
])


class ClvError(RuntimeError):
    """Predictions were asked for before what they read exists (the day's features)."""


@dataclass(frozen=True)
class ClvSettings:
    """Model, refit cadence, time unit, horizons and the thresholds of the model-vs-rules flag (issue 15)."""

    model: str = clv_models.MBGNBD  # "mbgnbd": one-time buyers can be dead too; "bgnbd": the 2005 model
    refit_days: int = 7  # refit on days whose distance from Monday 0001-01-01 is a multiple of this (7: Mondays)
    time_unit_days: int = 7  # summaries and fitted alpha in units of this many days (7: weeks)
    min_repeat_buyers: int = 30  # fewer buyers with x > 0 on the fit date: no fit, NULL predictions
    value_horizon_weeks: int = 52  # expected_value_12m: the value of the purchases in the next N weeks
    annual_discount_rate: float = 0.1  # expected_value_12m: each month's value discounted at this yearly rate
    calibration_holdout_weeks: int = 26  # calibration view: the last N weeks before the day are the holdout
    p_alive_low: float = 0.3  # a living stage with P(alive) below this: the model disagrees
    p_alive_high: float = 0.7  # a lapsed stage with P(alive) above this: the model disagrees
    alive_stages: tuple[str, ...] = ("active", "loyal")  # stages the rules consider alive
    lapsed_stages: tuple[str, ...] = ("churned",)  # stages the rules consider gone

    def __post_init__(self):
        if self.model not in clv_models.PURCHASE_MODELS:
            raise ValueError(f"model must be one of {', '.join(clv_models.PURCHASE_MODELS)}, got {self.model!r}")
        for name in ("refit_days", "time_unit_days", "min_repeat_buyers", "value_horizon_weeks",
                     "calibration_holdout_weeks"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0 <= self.annual_discount_rate < 1:
            raise ValueError(f"annual_discount_rate must be in [0, 1), got {self.annual_discount_rate}")
        if not 0 <= self.p_alive_low < self.p_alive_high <= 1:
            raise ValueError(f"need 0 <= p_alive_low < p_alive_high <= 1, got {self.p_alive_low}, {self.p_alive_high}")
        for name in ("alive_stages", "lapsed_stages"):
            stages = tuple(getattr(self, name))
            unknown = [s for s in stages if s not in STAGES]
            if unknown:
                raise ValueError(f"{name}: unknown stages {unknown} (stages: {', '.join(STAGES)})")
            object.__setattr__(self, name, stages)

    def params(self) -> dict:
        """The settings as named SQL parameters (each query binds the ones it uses)."""
        return {**dataclasses.asdict(self), "alive_stages": list(self.alive_stages),
                "lapsed_stages": list(self.lapsed_stages)}


@dataclass(frozen=True)
class ModelFit:
    """One row of ``scoring.clv_model_fits`` (same columns, same order). Parameters are None when not fitted."""

    fit_date: dt.date
    model: str
    time_unit_days: int
    min_repeat_buyers: int
    customers: int
    repeat_buyers: int
    r: float | None
    alpha: float | None
    a: float | None
    b: float | None
    log_likelihood: float | None
    converged: bool
    spend_customers: int
    p: float | None
    q: float | None
    gamma: float | None
    spend_log_likelihood: float | None
    spend_converged: bool
    reason: str | None
    # time the two fits took; a refit that gives the same fit keeps the stored row, time included, so a
    # re-run leaves the table exactly as it was (tests/test_kill_safety.py)
    seconds: float = 0.0

    def purchase_params(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in clv_models.PURCHASE_PARAMS}

    def spend_params(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in clv_models.GAMMA_GAMMA_PARAMS}

    def matches(self, settings: ClvSettings) -> bool:
        """Whether this fit was made with ``settings``' model, time unit and minimum of repeat buyers."""
        return (self.model, self.time_unit_days, self.min_repeat_buyers) == (
            settings.model, settings.time_unit_days, settings.min_repeat_buyers)


_FIT_COLUMNS = [f.name for f in dataclasses.fields(ModelFit)]


# --- refit cadence --------------------------------------------------------------------------------------------


def is_refit_day(day: dt.date, refit_days: int) -> bool:
    """Whether ``day`` is a refit day: a multiple of ``refit_days`` days after Monday 0001-01-01 (7: Mondays)."""
    return (day.toordinal() - _MONDAY_ORDINAL) % refit_days == 0


def fit_date(day: dt.date, refit_days: int) -> dt.date:
    """The refit day whose fit ``day`` uses: the latest refit day at or before ``day``."""
    return day - dt.timedelta(days=(day.toordinal() - _MONDAY_ORDINAL) % refit_days)


# --- summaries ------------------------------------------------------------------------------------------------


def _state_kept(conn: duckdb.DuckDBPyConnection, as_of: dt.date) -> bool:
    """Whether the running order state of ``as_of`` is in the warehouse (the state keeps the last week)."""
    if not (table_exists(conn, STATE_LOG_TABLE) and table_exists(conn, ORDER_STATE.table)):
        return False
    return conn.execute(f"select count(*) from {STATE_LOG_TABLE} where state = ? and as_of_date = ?",
                        [ORDER_STATE.name, as_of]).fetchall()[0][0] > 0


def clv_summary(conn: duckdb.DuckDBPyConnection, as_of: dt.date, settings: ClvSettings,
                from_state: bool | None = None) -> pa.Table:
    """The BG/NBD summaries of ``as_of``, one row per buyer ordered by customer_id: ``customer_id``,
    ``repeat_purchases`` (x), ``t_x``, ``age`` (T), ``avg_repeat_value`` (NULL when x = 0), in time units of
    ``settings.time_unit_days`` days; only data known at the end of ``as_of`` counts.

    Read from the day's ``scoring.customer_order_state`` when it is kept, else from the order versions
    (``from_state`` forces one way; the two agree). Dates are those of the connection's time zone.
    """
    if from_state is None:
        from_state = _state_kept(conn, as_of)
    source = "scoring/clv_buyers_state" if from_state else "scoring/clv_buyers_orders"
    statement = sql.load("scoring/clv_summary").replace("{buyers}", sql.load(source).strip())
    (timezone,) = conn.execute("select current_setting('TimeZone')").fetchall()[0]
    params = {"as_of": as_of, "as_of_end": end_of_day(as_of, timezone), **settings.params()}
    return conn.sql(statement, params=bind(statement, params)).to_arrow_table()


def _arrays(summary: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x, t_x, T, average repeat value with 0 where x = 0) as float arrays."""
    x = summary["repeat_purchases"].to_numpy().astype(float)
    t_x = summary["t_x"].to_numpy().astype(float)
    age = summary["age"].to_numpy().astype(float)
    value = summary["avg_repeat_value"].fill_null(0.0).to_numpy().astype(float)
    return x, t_x, age, value


# --- fits -----------------------------------------------------------------------------------------------------


def _number(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def fit_models(summary: pa.Table, day: dt.date, settings: ClvSettings) -> ModelFit:
    """Fit the purchase model (``settings.model``) and Gamma-Gamma on a day's summaries (pure, deterministic)."""
    x, t_x, age, value = _arrays(summary)
    purchase = clv_models.fit_bgnbd(x, t_x, age, model=settings.model, min_repeat_buyers=settings.min_repeat_buyers)
    spend = clv_models.fit_gamma_gamma(x, value, min_repeat_buyers=settings.min_repeat_buyers)
    reasons = [f"{settings.model}: {purchase.message}"] if not purchase.converged else []
    reasons += [f"gamma_gamma: {spend.message}"] if not spend.converged else []
    return ModelFit(
        fit_date=day, model=settings.model, time_unit_days=settings.time_unit_days,
        min_repeat_buyers=settings.min_repeat_buyers, customers=int(x.size), repeat_buyers=int((x > 0).sum()),
        **{name: _number(purchase.params[name]) for name in clv_models.PURCHASE_PARAMS},
        log_likelihood=_number(purchase.log_likelihood), converged=bool(purchase.converged),
        spend_customers=int(spend.n_customers),
        **{name: _number(spend.params[name]) for name in clv_models.GAMMA_GAMMA_PARAMS},
        spend_log_likelihood=_number(spend.log_likelihood), spend_converged=bool(spend.converged),
        reason="; ".join(reasons) or None, seconds=round(purchase.seconds + spend.seconds, 3),
    )


def _stored(conn: duckdb.DuckDBPyConnection, day: dt.date, model: str) -> ModelFit | None:
    """The row of (fit date ``day``, ``model``) in ``scoring.clv_model_fits`` (None: none, or no table)."""
    if not table_exists(conn, FITS_TABLE):
        return None
    rows = conn.execute(f"select {', '.join(_FIT_COLUMNS)} from {FITS_TABLE} where fit_date = ? and model = ?",
                        [day, model]).fetchall()
    return ModelFit(*rows[0]) if rows else None


def stored_fit(conn: duckdb.DuckDBPyConnection, day: dt.date, settings: ClvSettings) -> ModelFit | None:
    """The stored fit of fit date ``day`` for ``settings`` (None: none, or made with other settings)."""
    fit = _stored(conn, day, settings.model)
    return fit if fit is not None and fit.matches(settings) else None


def write_fit(conn: duckdb.DuckDBPyConnection, fit: ModelFit) -> ModelFit:
    """Replace the stored fit of (fit_date, model) with ``fit``, in one transaction, and return what is stored:
    a stored fit equal to ``fit`` in everything but the time it took stays as it is (a deterministic refit of
    the same summaries, e.g. a re-run of the refit day)."""
    ensure_table(conn, FITS_TABLE)
    stored = _stored(conn, fit.fit_date, fit.model)
    if stored is not None and dataclasses.replace(stored, seconds=fit.seconds) == fit:
        return stored
    values = [getattr(fit, name) for name in _FIT_COLUMNS]
    with transaction(conn):
        conn.execute(f"delete from {FITS_TABLE} where fit_date = ? and model = ?", [fit.fit_date, fit.model])
        conn.execute(f"insert into {FITS_TABLE} ({', '.join(_FIT_COLUMNS)}) "
                     f"values ({', '.join('?' for _ in _FIT_COLUMNS)})", values)
    return fit


def fit_for_day(conn: duckdb.DuckDBPyConnection, day: dt.date, settings: ClvSettings, *, refit: bool = False,
                summary: pa.Table | None = None) -> tuple[ModelFit, bool]:
    """The fit ``day`` uses and whether it was made now: the stored fit of its fit date (:func:`fit_date`),
    else one made from the fit date's summaries and stored. ``refit`` makes it anew even when stored (the
    refit day's own run). ``summary`` may pass ``day``'s summaries when ``day`` is its own fit date."""
    fitted_on = fit_date(day, settings.refit_days)
    if not refit:
        stored = stored_fit(conn, fitted_on, settings)
        if stored is not None:
            return stored, False
    if summary is None or fitted_on != day:
        summary = clv_summary(conn, fitted_on, settings)
    return write_fit(conn, fit_models(summary, fitted_on, settings)), True


# --- predictions ----------------------------------------------------------------------------------------------


def finite_array(values: np.ndarray) -> pa.Array:
    """A float column with NULL where ``values`` is NaN or infinite (never a NaN stored as a number)."""
    return pa.array(np.where(np.isfinite(values), values, np.nan), pa.float64(), from_pandas=True)


def _explain(reason: np.ndarray, where: np.ndarray, text: str) -> None:
    """Add ``text`` to the reasons of the rows ``where`` (a row may have several, joined by '; ')."""
    rows = np.flatnonzero(where)
    empty = np.equal(reason[rows], None)
    reason[rows[empty]] = text
    reason[rows[~empty]] = reason[rows[~empty]] + f"; {text}"


def _predict_with(fit: ModelFit, settings: ClvSettings, margin: float, x, t_x, age, value, reason) -> list:
    """[p_alive, expected purchases, expected order value, expected value] of a converged purchase fit.

    Values the maths cannot give are NaN with the reason added: the order value and value under a
    non-converged Gamma-Gamma fit or with an infinite mean (q <= 1), expectations that overflow at extreme
    parameters.
    """
    params, unit = fit.purchase_params(), settings.time_unit_days
    order_value, expected = np.full(x.size, np.nan), np.full(x.size, np.nan)
    with np.errstate(all="ignore"):  # non-finite results are handled below, row by row
        p_alive = clv_models.p_alive(fit.model, params, x, t_x, age)
        purchases = clv_models.expected_purchases(fit.model, params, PURCHASES_HORIZON_DAYS / unit, x, t_x, age)
        if fit.spend_converged:
            order_value = clv_models.expected_avg_value(fit.spend_params(), x, value)
            expected = clv_models.expected_value(
                fit.model, params, x, t_x, age, np.where(np.isfinite(order_value), order_value, 0.0),
                horizon=settings.value_horizon_weeks * 7 / unit, steps=VALUE_STEPS, margin=margin,
                annual_discount_rate=settings.annual_discount_rate, periods_per_year=DAYS_PER_YEAR / unit)
    if not fit.spend_converged:
        _explain(reason, np.ones(x.size, bool), f"no usable Gamma-Gamma fit of {fit.fit_date}: {fit.reason}")
    else:
        _explain(reason, ~np.isfinite(order_value), f"expected order value undefined: Gamma-Gamma q = {fit.q:.4g} "
                 "<= 1 gives a customer without repeat purchases an infinite mean")
    overflow = ~np.isfinite(purchases) | (np.isfinite(order_value) & ~np.isfinite(expected))
    _explain(reason, overflow, f"expected purchases not computable at the parameters of {fit.fit_date} "
             f"(a = {fit.a:.4g}, b = {fit.b:.4g}: numerical overflow)")
    expected = np.where(np.isfinite(order_value) & ~overflow, expected, np.nan)
    return [p_alive, np.where(overflow, np.nan, purchases), order_value, expected]


def predict(summary: pa.Table, fit: ModelFit, settings: ClvSettings, margin: float) -> pa.Table:
    """Per-buyer predictions of a day's summaries with ``fit`` (pure; NULL with the reason where unusable).

    ``margin`` (the LTV ``gross_margin``) turns expected revenue into expected value.
    """
    x, t_x, age, value = _arrays(summary)
    reason = np.full(x.size, None, dtype=object)
    values = [np.full(x.size, np.nan)] * 4
    if not fit.converged:
        reason[:] = f"no usable {fit.model} fit of {fit.fit_date}: {fit.reason}"
    elif x.size:
        values = _predict_with(fit, settings, margin, x, t_x, age, value, reason)
    columns = [summary[name] for name in ("customer_id", "repeat_purchases", "t_x", "age", "avg_repeat_value")]
    columns += [finite_array(v) for v in values]
    return pa.Table.from_arrays([*columns, pa.array(reason, pa.string())], schema=_PREDICTIONS)


def compute_clv_predicted(conn: duckdb.DuckDBPyConnection, as_of: dt.date, settings: ClvSettings,
                          margin: float, stage_settings: StageSettings) -> tuple[int, ModelFit]:
    """Rebuild ``scoring.customer_clv_predicted`` for ``as_of``; returns its row count and the fit it used.

    The model-vs-rules flag compares P(alive) with the day's stage by the stage rules (``stage_settings``),
    computed from the day's ``scoring.customer_features`` with the same macro as the stage table, which is
    written after this table and carries its P(alive). The fit comes from :func:`fit_for_day` (stored, or
    made now).
    """
    if not table_exists(conn, FEATURES_TABLE):
        raise ClvError(f"{PREDICTED_TABLE} reads the day's features: {FEATURES_TABLE} does not exist yet; "
                       "materialize scoring/customer_features first")
    summary = clv_summary(conn, as_of, settings)
    fit, _made = fit_for_day(conn, as_of, settings, summary=summary)
    predictions = predict(summary, fit, settings, margin)
    ensure_table(conn, PREDICTED_TABLE)
    conn.execute(sql.load("scoring/lifecycle_recency"))  # the stage rule macros (also made with the features)
    params = {**stage_settings.params(), "as_of": as_of, "fit_date": fit.fit_date, "model": fit.model,
              **settings.params()}
    conn.register("clv_predictions", predictions)
    try:
        with transaction(conn):
            rows = write_day(conn, PREDICTED_TABLE, as_of, sql.load("scoring/customer_clv_predicted"), params)
    finally:
        conn.unregister("clv_predictions")
    return rows, fit


def compute_clv_fit(conn: duckdb.DuckDBPyConnection, as_of: dt.date, settings: ClvSettings) -> tuple[ModelFit, bool]:
    """The ``scoring/clv_model_fits`` step of one day: refit on a refit day, else make sure the fit the day
    uses is stored (made from its fit date's summaries if missing). Returns the fit and whether it was made."""
    return fit_for_day(conn, as_of, settings, refit=is_refit_day(as_of, settings.refit_days))
