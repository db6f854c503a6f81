"""Predictive customer value per day (lifecycle_pipeline/clv.py, assets/clv.py; issue 15).

Protects: the BG/NBD summaries (x, t_x, T, average repeat value) as of a day, read from the running order
state or from the order versions with the same result, on a bursty hand-built history; the refit cadence
(refit days anchored to Mondays, every day uses the fit of the latest refit day at or before it, made from
that day's summaries); a fit without enough repeat buyers or without convergence recorded as such, with
NULL predictions and the reason; point-in-time recomputation; the model-versus-rules flag on hand-built
stage rows; and one Dagster run on sample data that writes and publishes both tables.

Real DuckDB files under ``tmp_path``; the maths itself is tested in ``test_clv_models.py``.
"""

from __future__ import annotations

import datetime as dt
import math

import duckdb
import numpy as np
import pytest

from lifecycle_pipeline import clv, clv_models
from lifecycle_pipeline.clv import ClvSettings, ModelFit
from lifecycle_pipeline.resources import ClvConfig
from lifecycle_pipeline.scoring import ScoringSettings, compute_customer_features
from lifecycle_pipeline.stages import StageSettings, build_stage_days
from tests.builders import add_customer, add_order, at, new_warehouse, stored_fit
from tests.scenarios import score_days

START = dt.date(2026, 3, 2)  # a Monday
DAY = [START + dt.timedelta(days=i) for i in range(1100)]
SETTINGS = ClvSettings()
MARGIN = ScoringSettings().gross_margin


def _summary(conn, day, settings=SETTINGS, from_state=None) -> dict[str, tuple]:
    table = clv.clv_summary(conn, day, settings, from_state=from_state)
    return {row["customer_id"]: (row["repeat_purchases"], row["t_x"], row["age"], row["avg_repeat_value"])
            for row in table.to_pylist()}


def _assert_summaries(got: dict[str, tuple], expected: dict[str, tuple]) -> None:
    assert got.keys() == expected.keys()
    for customer, values in expected.items():
        assert got[customer] == pytest.approx(values), customer


def _predictions(conn, day) -> list[tuple]:
    return conn.execute(f"select * from {clv.PREDICTED_TABLE} where as_of_date = ? order by customer_id",
                        [day]).fetchall()


def _simulate(conn, customers: int, days: int, seed: int, amount: float | None = None, first_days: int = 40) -> None:
    """Customers who buy at their own Poisson rate and may drop out after each purchase (the BG/NBD story),
    each with their own mean order value (Gamma-Gamma), first purchases in the first ``first_days`` days."""
    rng = np.random.default_rng(seed)
    for i in range(customers):
        cid = f"S{i:03d}"
        add_customer(conn, cid, signup=at(DAY[0], "06:00:00"))
        rate, drop, mean_value = rng.gamma(2.0, 0.05), rng.beta(1.5, 6.0), rng.gamma(4.0, 10.0)
        day, k = int(rng.integers(0, first_days)), 0
        while day < days:
            value = amount if amount is not None else round(float(rng.gamma(6.0, mean_value / 6.0)) + 0.01, 2)
            add_order(conn, f"{cid}-{k}", cid, at(DAY[day], "14:00:00"), amount=value)
            k += 1
            if rng.random() < drop:
                break
            day += 1 + int(rng.exponential(1.0 / rate))


def _predict(conn, day) -> tuple[int, ModelFit]:
    """The day's features (the stage rules read them), then its predictions."""
    compute_customer_features(conn, day, "UTC", ScoringSettings())
    return clv.compute_clv_predicted(conn, day, SETTINGS, MARGIN, StageSettings())


@pytest.fixture
def conn(tmp_path):
    conn = new_warehouse(tmp_path / "w.duckdb")
    yield conn
    conn.close()


# --- summaries -------------------------------------------------------------------------------------------------


def _bursty(conn) -> None:
    for cid in ("A", "B", "C", "E", "F"):
        add_customer(conn, cid, signup=at(DAY[0], "06:00:00"))
    add_order(conn, "A1", "A", at(DAY[0], "10:00:00"), amount=10)
    add_order(conn, "A2", "A", at(DAY[0], "18:00:00"), amount=5)  # same day: one purchase worth 15
    add_order(conn, "A3", "A", at(DAY[7]), amount=20)
    add_order(conn, "A4", "A", at(DAY[14]), amount=40)
    add_order(conn, "A4", "A", at(DAY[14]), amount=40, status="refunded", updated_at=at(DAY[20]))  # late refund
    add_order(conn, "A5", "A", at(DAY[21]), amount=30, landed=DAY[23])  # a late file
    add_order(conn, "B1", "B", at(DAY[3]), amount=12)  # a one-time buyer
    add_order(conn, "C1", "C", at(DAY[4]), amount=50, status="cancelled")  # never a buyer
    add_order(conn, "M1", "E", at(DAY[5]), amount=8)
    add_order(conn, "M1", "F", at(DAY[5]), amount=8, updated_at=at(DAY[9]))  # the order moves to F


# as of day -> customer -> (x, t_x, T, average repeat value), in weeks
EXPECTED_SUMMARIES = {
    8: {"A": (1, 1.0, 8 / 7, 20.0), "B": (0, 0.0, 5 / 7, None), "E": (0, 0.0, 3 / 7, None)},
    16: {"A": (2, 2.0, 16 / 7, 30.0), "B": (0, 0.0, 13 / 7, None), "F": (0, 0.0, 11 / 7, None)},
    22: {"A": (1, 1.0, 22 / 7, 20.0), "B": (0, 0.0, 19 / 7, None), "F": (0, 0.0, 17 / 7, None)},
    23: {"A": (2, 3.0, 23 / 7, 25.0), "B": (0, 0.0, 20 / 7, None), "F": (0, 0.0, 18 / 7, None)},
}


def test_summaries_of_a_bursty_history_match_hand_computed_values_from_the_state_and_from_the_orders(conn):
    _bursty(conn)
    for i in range(24):
        compute_customer_features(conn, DAY[i], "UTC", ScoringSettings())
        from_state, from_orders = _summary(conn, DAY[i], from_state=True), _summary(conn, DAY[i], from_state=False)
        assert from_state == from_orders, DAY[i]
        assert _summary(conn, DAY[i]) == from_state  # the state of the day just computed is read
        if i in EXPECTED_SUMMARIES:
            _assert_summaries(from_state, EXPECTED_SUMMARIES[i])
    # the new state columns behind x and the repeat value
    assert conn.execute("select order_days_lifetime, first_day_revenue from scoring.customer_order_state "
                        "where as_of_date = ? and customer_id = 'A'", [DAY[23]]).fetchall() == [(3, 15)]
    # day 8's state is no longer kept: read from the order versions, the same figures
    assert not clv._state_kept(conn, DAY[8])
    _assert_summaries(_summary(conn, DAY[8]), EXPECTED_SUMMARIES[8])
    # in days instead of weeks
    days = _summary(conn, DAY[23], ClvSettings(time_unit_days=1))
    assert days["A"] == (2, 21.0, 23.0, 25.0) and days["B"] == (0, 0.0, 20.0, None)


# --- refit cadence ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("day", "refit_days", "expected"), [
    (dt.date(2026, 3, 2), 7, dt.date(2026, 3, 2)),  # a Monday refits
    (dt.date(2026, 3, 4), 7, dt.date(2026, 3, 2)),  # Wednesday uses Monday's fit
    (dt.date(2026, 3, 8), 7, dt.date(2026, 3, 2)),  # ... and so does Sunday
    (dt.date(2026, 3, 9), 7, dt.date(2026, 3, 9)),
    (dt.date(2026, 3, 4), 1, dt.date(2026, 3, 4)),  # every day
])
def test_refit_days_are_anchored_to_mondays(day, refit_days, expected):
    assert clv.fit_date(day, refit_days) == expected
    assert clv.is_refit_day(day, refit_days) == (day == expected)


@pytest.mark.parametrize("refit_days", [2, 3, 14, 28])
def test_every_day_uses_a_refit_day_at_or_before_it_and_every_cadence_includes_mondays(refit_days):
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(120)]
    for day in days:
        fitted = clv.fit_date(day, refit_days)
        assert fitted <= day < fitted + dt.timedelta(days=refit_days) and clv.is_refit_day(fitted, refit_days)
    if refit_days % 7 == 0:
        assert {clv.fit_date(d, refit_days).weekday() for d in days} == {0}


def test_fits_are_made_on_refit_days_and_reused_in_between(conn):
    _simulate(conn, 120, 60, seed=3, first_days=55)
    made = {}
    for day in DAY[44:59]:  # Wednesday of week 7 to Wednesday of week 9
        fit, made[day] = clv.compute_clv_fit(conn, day, SETTINGS)
        assert fit.fit_date == clv.fit_date(day, 7)
    # Monday 42's fit was made by Wednesday 44 (Monday 42 was never run), then reused; Mondays 49 and 56 refit
    assert [d for d, new in made.items() if new] == [DAY[44], DAY[49], DAY[56]]
    fits = conn.execute(f"select fit_date, customers from {clv.FITS_TABLE} order by 1").fetchall()
    # each fit is made on the buyers known on its fit date, not on the day that asked for it
    assert fits == [(DAY[d], len(_summary(conn, DAY[d], from_state=False))) for d in (42, 49, 56)]
    assert fits[0][1] < fits[1][1]
    # the refit day itself refits; a day in between reuses what is stored
    stored = conn.execute(f"select * from {clv.FITS_TABLE} order by 1").fetchall()
    assert all(row[-1] > 0 for row in stored)  # the seconds each fit took
    assert clv.compute_clv_fit(conn, DAY[49], SETTINGS)[1] and not clv.compute_clv_fit(conn, DAY[50], SETTINGS)[1]
    # the refit of the same summaries gives the same fit: the stored row stays as it was, its time included
    assert conn.execute(f"select * from {clv.FITS_TABLE} order by 1").fetchall() == stored
    # a fit made with other settings is not reused: another model is another row, another minimum replaces it
    bgnbd, made_now = clv.compute_clv_fit(conn, DAY[50], ClvSettings(model="bgnbd"))
    assert made_now and bgnbd.model == "bgnbd" and bgnbd.fit_date == DAY[49]
    stricter, made_now = clv.compute_clv_fit(conn, DAY[50], ClvSettings(min_repeat_buyers=11))
    assert made_now and stricter.min_repeat_buyers == 11
    assert conn.execute(f"select model, min_repeat_buyers from {clv.FITS_TABLE} where fit_date = ? order by 1",
                        [DAY[49]]).fetchall() == [("bgnbd", 30), ("mbgnbd", 11)]


# --- failed fits -----------------------------------------------------------------------------------------------


def test_too_few_repeat_buyers_is_recorded_and_the_days_predictions_are_null_with_the_reason(conn):
    for cid, days in {"A": (0, 10, 20), "B": (5,), "C": (30,)}.items():
        add_customer(conn, cid, signup=at(DAY[0], "06:00:00"))
        for k, d in enumerate(days):
            add_order(conn, f"{cid}{k}", cid, at(DAY[d]))
    rows, fit = _predict(conn, DAY[43])
    assert rows == 3 and fit.fit_date == DAY[42]
    assert (fit.converged, fit.spend_converged, fit.customers, fit.repeat_buyers, fit.r) == (False, False, 3, 1, None)
    assert "mbgnbd: too few repeat buyers: 1 customers with x > 0, need at least 30" in fit.reason
    stored = conn.execute(f"select converged, reason from {clv.FITS_TABLE}").fetchall()
    assert stored == [(False, fit.reason)]
    predicted = _predictions(conn, DAY[43])
    assert {row[8:12] + row[13:] for row in predicted} == {
        (None, None, None, None, None, None, f"no usable mbgnbd fit of {DAY[42]}: {fit.reason}")}
    assert [row[12] for row in predicted] == ["active", "new", "new"]  # the stages are there, the flag is not
    assert predicted[0][2:6] == (2, 20 / 7, 43 / 7, 10.0)  # A's summary is still there


def test_a_gamma_gamma_fit_that_does_not_converge_leaves_p_alive_and_nulls_the_value(conn):
    _simulate(conn, 150, 60, seed=7, amount=25)  # every order is worth the same: no spread of mean values
    _rows, fit = _predict(conn, DAY[56])
    assert fit.converged and not fit.spend_converged and fit.p is None
    assert fit.reason.startswith("gamma_gamma: ")
    nulls = conn.execute(
        f"select count(*), count(p_alive), count(expected_purchases_90d), count(expected_avg_order_value), "
        f"count(expected_value_12m), count(rules_disagree), any_value(reason) from {clv.PREDICTED_TABLE}").fetchall()
    assert nulls == [(fit.customers, fit.customers, fit.customers, 0, 0, fit.customers,  # the flag needs P(alive)
                      f"no usable Gamma-Gamma fit of {DAY[56]}: {fit.reason}")]


def test_expectations_that_overflow_at_extreme_parameters_are_null_with_the_reason_not_nan(conn):
    # a converged fit made on a small simulated base (seed 11): the drop-out is nearly the same for everyone,
    # so a and b run large; the hypergeometric series of the expectation then overflows (clv_models)
    _simulate(conn, 20, 64, seed=1)
    stored_fit(conn, DAY[63], r=3.1414, alpha=5.3364, a=17717.13, b=70572.12)
    _predict(conn, DAY[64])
    rows = conn.execute(f"select count(*), count(p_alive), count(expected_purchases_90d), count(expected_value_12m), "
                        f"count(expected_avg_order_value), any_value(reason) from {clv.PREDICTED_TABLE}").fetchall()
    n = len(_summary(conn, DAY[64]))
    reason = f"expected purchases not computable at the parameters of {DAY[63]} (a = 1.772e+04, b = 7.057e+04: "
    assert rows == [(n, n, 0, 0, n, reason + "numerical overflow)")]


# --- point in time ---------------------------------------------------------------------------------------------


def test_recomputing_past_days_after_newer_days_gives_the_same_rows(conn):
    _simulate(conn, 150, 80, seed=5)  # a seed whose fits keep a and b moderate (see the overflow test)
    days = DAY[60:75]  # Monday 63 and Monday 70 refit
    for day in days:
        score_days(conn, [day])
        clv.compute_clv_fit(conn, day, SETTINGS)
        clv.compute_clv_predicted(conn, day, SETTINGS, MARGIN, StageSettings())
        build_stage_days(conn, [day], StageSettings())
    before = {day: _predictions(conn, day) for day in days}
    fits = conn.execute(f"select * from {clv.FITS_TABLE} order by fit_date").fetchall()
    assert [f[0] for f in fits] == [DAY[56], DAY[63], DAY[70]] and all(f[11] and f[17] for f in fits[1:])
    assert all(row[8] is not None for row in before[DAY[65]])  # real predictions, not NULLs
    # an earlier day whose order state is no longer kept, a refit Monday, and the day after it, again
    assert not clv._state_kept(conn, DAY[65])
    for day in (DAY[65], DAY[63], DAY[64]):
        clv.compute_clv_fit(conn, day, SETTINGS)
        clv.compute_clv_predicted(conn, day, SETTINGS, MARGIN, StageSettings())
        assert _predictions(conn, day) == before[day], day
    assert conn.execute(f"select * from {clv.FITS_TABLE} order by fit_date").fetchall() == fits


# --- the model against the rules -------------------------------------------------------------------------------

def _down(p: float) -> float:
    return math.floor(p * 100) / 100


def _up(p: float) -> float:
    return math.ceil(p * 100) / 100


def test_the_flag_marks_where_p_alive_contradicts_the_days_stage(conn):
    """Real stage rules (ecommerce: active within 45 days, churned after 180, loyal from 5 orders) on the day's
    features, against P(alive) at a stored fit; the stage table, built after, carries the same P(alive)."""
    day = DAY[1090]
    histories = {
        "burst_loyal": range(1042, 1052),  # ten days in a row, then 39 quiet days: loyal, but likely gone
        "sparse_churned": (0, 300, 600, 900),  # a 300-day rhythm, 190 quiet days: churned, but likely alive
        "steady_loyal": range(894, 1090, 7),  # weekly: loyal and alive
        "gone_churned": range(5),  # churned and gone
        "recent_active": (1000, 1060),  # active, P(alive) 0.67: neither threshold
        "once_new": (1080,),  # new: not a stage the flag judges
    }
    for cid, days in histories.items():
        add_customer(conn, cid, signup=at(DAY[0], "06:00:00"))
        for k, d in enumerate(days):
            add_order(conn, f"{cid}{k}", cid, at(DAY[d]), amount=20 + 3 * k)
    stored = stored_fit(conn, clv.fit_date(day, 7))  # used as it is
    rows, fit = _predict(conn, day)
    assert rows == 6 and fit == stored
    got = {r[0]: r[1:] for r in conn.execute(
        f"select customer_id, stage, p_alive, rules_disagree, disagreement from {clv.PREDICTED_TABLE}").fetchall()}
    summary = _summary(conn, day)
    alive = {cid: float(clv_models.p_alive("mbgnbd", fit.purchase_params(), *summary[cid][:3])) for cid in summary}
    assert alive["burst_loyal"] < SETTINGS.p_alive_low and alive["sparse_churned"] > SETTINGS.p_alive_high
    assert got == {
        "burst_loyal": ("loyal", pytest.approx(alive["burst_loyal"]), True,
                        f"rules say loyal, but P(alive) is {_down(alive['burst_loyal']):.2f} (below p_alive_low 0.3)"),
        "sparse_churned": ("churned", pytest.approx(alive["sparse_churned"]), True,
                           (f"rules say churned, but P(alive) is {_up(alive['sparse_churned']):.2f} "
                            "(above p_alive_high 0.7)")),
        "steady_loyal": ("loyal", pytest.approx(alive["steady_loyal"]), False, None),
        "gone_churned": ("churned", pytest.approx(alive["gone_churned"]), False, None),
        "recent_active": ("active", pytest.approx(alive["recent_active"]), False, None),
        "once_new": ("new", pytest.approx(alive["once_new"]), False, None),
    }
    # thresholds a hair from the P(alive)s: the P(alive) in the words is rounded away from the threshold, so
    # they never read as agreement (0.0557 below 0.05574 must not read "0.06"; 0.7306 above 0.73056 not "0.73")
    close = ClvSettings(p_alive_low=alive["burst_loyal"] + 4e-5, p_alive_high=alive["sparse_churned"] - 4e-5)
    clv.compute_clv_predicted(conn, day, close, MARGIN, StageSettings())
    words = dict(conn.execute(f"select customer_id, disagreement from {clv.PREDICTED_TABLE} where rules_disagree"
                              ).fetchall())
    shown = {cid: float(text.split("P(alive) is ")[1].split(" ")[0]) for cid, text in words.items()}
    assert shown == {"burst_loyal": _down(alive["burst_loyal"]), "sparse_churned": _up(alive["sparse_churned"])}
    assert shown["burst_loyal"] < close.p_alive_low and shown["sparse_churned"] > close.p_alive_high
    clv.compute_clv_predicted(conn, day, SETTINGS, MARGIN, StageSettings())
    # the stage table, written after, has the same stages and carries P(alive); prospects get NULL
    add_customer(conn, "prospect", signup=at(DAY[1089], "06:00:00"))
    score_days(conn, [day])
    clv.compute_clv_predicted(conn, day, SETTINGS, MARGIN, StageSettings())
    build_stage_days(conn, [day], StageSettings())
    staged = {r[0]: r[1:] for r in conn.execute(
        "select customer_id, stage, p_alive from lifecycle.customer_stage_daily where as_of_date = ?", [day]).fetchall()}
    assert staged == {cid: (stage, p) for cid, (stage, p, _f, _d) in got.items()} | {"prospect": ("prospect", None)}


def test_predictions_use_the_documented_horizons_margin_and_discount(conn):
    add_customer(conn, "A", signup=at(DAY[0], "06:00:00"))
    for k, d in enumerate((0, 9, 30, 31, 80, 150)):
        add_order(conn, f"A{k}", "A", at(DAY[d]), amount=10 + 7 * k)
    fit = stored_fit(conn, clv.fit_date(DAY[200], 7))
    _predict(conn, DAY[200])
    x, t_x, age, value = _summary(conn, DAY[200])["A"]
    assert (x, t_x, age, value) == (5, 150 / 7, 200 / 7, pytest.approx((17 + 24 + 31 + 38 + 45) / 5))
    params = fit.purchase_params()
    order_value = clv_models.expected_avg_value(fit.spend_params(), x, value)
    expected = clv_models.expected_value("mbgnbd", params, x, t_x, age, order_value, horizon=52, steps=12,
                                         margin=0.3, annual_discount_rate=0.1, periods_per_year=365.25 / 7)
    row = conn.execute(f"select p_alive, expected_purchases_90d, expected_avg_order_value::double, "
                       f"expected_value_12m::double, reason from {clv.PREDICTED_TABLE}").fetchall()[0]
    assert row == (pytest.approx(float(clv_models.p_alive("mbgnbd", params, x, t_x, age))),
                   pytest.approx(float(clv_models.expected_purchases("mbgnbd", params, 90 / 7, x, t_x, age))),
                   pytest.approx(round(float(order_value), 2)), pytest.approx(round(float(expected), 2)), None)


# --- settings --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "message"), [
    ({"model": "pareto"}, "model must be one of mbgnbd, bgnbd"),
    ({"refit_days": 0}, "refit_days must be at least 1"),
    ({"p_alive_low": 0.8}, "p_alive_low < p_alive_high"),
    ({"alive_stages": ["active", "zombie"]}, "unknown stages"),
    ({"annual_discount_rate": -0.1}, "annual_discount_rate"),
])
def test_bad_settings_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        ClvConfig(**change).settings()


def test_the_resource_defaults_are_the_settings_defaults():
    assert ClvConfig().settings() == ClvSettings()
    assert ClvConfig(refit_days=1, alive_stages=["active"]).settings().alive_stages == ("active",)


def test_a_state_table_of_the_older_layout_is_rebuilt_with_the_order_days(conn):
    """A warehouse of the version before these columns: the order state is rebuilt (it is a cache of the
    clean tables), and the summaries read from it equal those computed from the orders."""
    from lifecycle_pipeline.dictionary import TABLES

    _bursty(conn)
    old = [(n, t) for n, t, _ in TABLES["scoring.customer_order_state"].columns
           if n not in ("order_days_lifetime", "first_day_revenue")]
    conn.execute("create schema if not exists scoring")
    conn.execute(f"create table scoring.customer_order_state ({', '.join(f'{n} {t}' for n, t in old)})")
    compute_customer_features(conn, DAY[23], "UTC", ScoringSettings())
    columns = [r[0] for r in conn.execute("describe scoring.customer_order_state").fetchall()]
    assert {"order_days_lifetime", "first_day_revenue"} <= set(columns)
    _assert_summaries(_summary(conn, DAY[23], from_state=True), EXPECTED_SUMMARIES[23])


# --- through Dagster -------------------------------------------------------------------------------------------


def test_a_dagster_run_on_sample_data_writes_and_publishes_both_tables(tmp_path):
    from lifecycle_pipeline.publish import bi_file
    from tests.helpers import materialize_sample_range, query

    settings, _defs, _keys, result = materialize_sample_range(tmp_path, "2026-02-01", "2026-02-17", customers=1000)
    assert result.success
    fits = query(settings, f"select fit_date, converged, reason from {clv.FITS_TABLE} order by 1")
    # the first day uses the fit of the Monday before the data starts; the early weeks have too few repeat buyers
    assert [f[0] for f in fits] == [dt.date(2026, 1, 26), dt.date(2026, 2, 2), dt.date(2026, 2, 9),
                                    dt.date(2026, 2, 16)]
    assert all(not ok and "too few repeat buyers" in reason for _d, ok, reason in fits[:3])
    assert fits[3][1]  # the purchase model (Gamma-Gamma may not be identified on three weeks of data)
    per_day = query(settings, f"select as_of_date, fit_date, count(*), count(p_alive), count(reason) "
                              f"from {clv.PREDICTED_TABLE} group by 1, 2 order by 1")
    assert len(per_day) == 17 and all(fitted == clv.fit_date(day, 7) for day, fitted, *_ in per_day)
    assert all(n == nulls and predicted == 0 for day, _f, n, predicted, nulls in per_day if day < fits[3][0])
    assert all(n == predicted > 0 for day, _f, n, predicted, _r in per_day if day >= fits[3][0])
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as conn:
        conn.execute("set TimeZone = 'UTC'")
        buyers = len(clv.clv_summary(conn, dt.date(2026, 2, 17), SETTINGS, from_state=False))
    assert per_day[-1][2] == buyers
    # both tables reach the BI file: the predictions day by day, the fit history whole
    with duckdb.connect(str(bi_file(settings.bi_dir)), read_only=True) as bi:
        assert bi.execute(f"select count(*) from {clv.FITS_TABLE}").fetchall() == [(4,)]
        assert bi.execute(f"select count(distinct as_of_date), count(*) from {clv.PREDICTED_TABLE}").fetchall() == [
            (17, sum(n for _d, _f, n, _p, _r in per_day))]
    last = next(m for m in result.get_asset_materialization_events()
                if m.asset_key.to_user_string() == "scoring/customer_clv_predicted"
                and m.partition == "2026-02-17").materialization.metadata
    assert last["fit_date"].value == "2026-02-16" and last["converged"].value is True
    assert last["predicted_customers"].value == buyers and 0 < last["mean_p_alive"].value <= 1
    assert {"r", "alpha", "a", "b", "spend_converged", "disagreements", "dagster/row_count"} <= set(last)
    # the stage table carries the same P(alive)
    assert query(settings, "select count(*) from lifecycle.customer_stage_daily as s join "
                           f"{clv.PREDICTED_TABLE} as p using (as_of_date, customer_id) "
                           "where s.p_alive is distinct from p.p_alive") == [(0,)]
    # the calibration of the run's last day: 26 weeks back there were no buyers yet, and it says so
    calibration = next(m for m in result.get_asset_materialization_events()
                       if m.asset_key.to_user_string() == "scoring/clv_calibration").materialization.metadata
    assert calibration["calibrated"].value is True and calibration["calibration_end"].value == "2025-08-19"
    assert calibration["reason"].value == "no buyers by the calibration end 2025-08-19"
    assert "clv_calibration" in calibration and calibration["dagster/row_count"].value == 8
