"""Calibration view of the purchase model (lifecycle_pipeline/clv_calibration.py; issue 15).

Protects: on a simulated MBG/NBD history, the frequency table's customers, calibration purchases and holdout
purchases equal counts made independently from the simulated purchase days, and the fit's expectations agree
with what happened (the model is true for these data); the tracking rows are cumulative, on the documented
grid, and end at the cohort's total repeat purchases; re-running a day gives the same rows; data after the day
(later orders, a refund or a file landed later) leave its rows as they are, while a refund known by then
counts; a tiny history gives NULL expectations with the reason and exact actual figures; the tracking window
is capped before the calibration end; expectations that overflow are NULL with their reason.

Real DuckDB files under ``tmp_path``; the maths is tested in ``test_clv_models.py``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

import numpy as np
import pandas as pd
import pytest

from lifecycle_pipeline import charts, clv, clv_calibration
from lifecycle_pipeline.clv import ClvSettings
from lifecycle_pipeline.clv_calibration import FREQUENCY_TABLE, TRACKING_TABLE, compute_clv_calibration
from tests.builders import add_customer, add_order, at, new_warehouse

START = dt.date(2025, 1, 6)  # a Monday
SETTINGS = ClvSettings()  # 26 weeks of holdout, weeks as the time unit
AS_OF_DAY = 546  # 78 weeks after START
CAL_END_DAY = AS_OF_DAY - 7 * SETTINGS.calibration_holdout_weeks  # day 364
AS_OF = START + dt.timedelta(days=AS_OF_DAY)
CAL_END = START + dt.timedelta(days=CAL_END_DAY)
TRUE_PARAMS = {"r": 0.8, "alpha": 4.0, "a": 2.0, "b": 5.0}  # alpha in weeks
GROUPS = ["0", "1", "2", "3", "4", "5", "6", "7+"]


def day(offset: int) -> dt.date:
    return START + dt.timedelta(days=offset)


def simulate_purchase_days(customers: int, seed: int, first_days: int = 400, last_day: int = 640,
                           ) -> dict[str, list[int]]:
    """Purchase days (offsets from START) of customers following MBG/NBD with ``TRUE_PARAMS``: a purchase rate
    lambda ~ Gamma(r, alpha) per week, a drop-out probability p ~ Beta(a, b) tossed after the first purchase and
    after every repeat purchase; first purchases uniform over the first ``first_days`` days (some after the
    calibration end: not in its cohort). Several purchases on one day are one purchase day."""
    rng = np.random.default_rng(seed)
    history = {}
    for i in range(customers):
        rate, drop = rng.gamma(TRUE_PARAMS["r"], 1.0 / TRUE_PARAMS["alpha"]), rng.beta(TRUE_PARAMS["a"],
                                                                                     TRUE_PARAMS["b"])
        first = int(rng.integers(0, first_days))
        days, weeks = [first], 0.0
        alive = rng.random() >= drop
        while alive:
            weeks += rng.exponential(1.0 / rate)
            offset = first + int(weeks * 7)
            if offset > last_day:
                break
            days.append(offset)
            alive = rng.random() >= drop
        history[f"S{i:05d}"] = sorted(set(days))
    return history


def insert_orders(conn, history: dict[str, list[int]], keep=lambda offset: True) -> None:
    """One completed order per purchase day at 14:00 UTC, landed that day (bulk insert), for days ``keep``s."""
    rows = [(f"{cid}-{k}", cid, offset) for cid, days in history.items() for k, offset in enumerate(days)
            if keep(offset)]
    frame = pd.DataFrame(rows, columns=["order_id", "customer_id", "offset"])
    frame["ordered_at"] = (pd.Timestamp(START, tz="UTC") + pd.to_timedelta(frame["offset"], unit="D")
                           + pd.Timedelta(hours=14))
    conn.register("simulated_orders", frame)
    conn.execute(
        "insert into clean.orders (order_id, customer_id, ordered_at, amount, status, updated_at, "
        "_partition_date, _source_file, _source_row) "
        "select order_id, customer_id, ordered_at, 20, 'completed', ordered_at, ordered_at::date, 'simulated', "
        "row_number() over (order by order_id) from simulated_orders")
    conn.unregister("simulated_orders")


def rows(conn, table: str, as_of: dt.date) -> list[tuple]:
    order = "frequency_min" if table == FREQUENCY_TABLE else "period_end"
    return conn.execute(f"select * from {table} where as_of_date = ? order by {order}", [as_of]).fetchall()


def frequency_of(conn, as_of: dt.date = AS_OF) -> pd.DataFrame:
    return clv_calibration.calibration_frames(conn, as_of)[0].set_index("frequency_group")


@pytest.fixture
def conn(tmp_path):
    conn = new_warehouse(tmp_path / "w.duckdb")
    yield conn
    conn.close()


@pytest.fixture
def simulated(conn):
    """A simulated history up to AS_OF (later days are held back for the point-in-time test)."""
    history = simulate_purchase_days(4000, seed=3)
    insert_orders(conn, history, keep=lambda offset: offset <= AS_OF_DAY)
    return history


def independent_counts(history: dict[str, list[int]]) -> pd.DataFrame:
    """Per calibration-cohort customer, straight from the simulated days: x at the calibration end, holdout
    purchase days, and all repeat purchase days up to AS_OF."""
    counts = []
    for cid, days in history.items():
        if days[0] > CAL_END_DAY:
            continue
        x = sum(d <= CAL_END_DAY for d in days) - 1
        holdout = sum(CAL_END_DAY < d <= AS_OF_DAY for d in days)
        counts.append({"customer_id": cid, "x": x, "holdout": holdout, "repeat": x + holdout,
                       "group": str(x) if x < 7 else "7+"})
    return pd.DataFrame(counts)


# --- a simulated history ---------------------------------------------------------------------------------------


def test_a_simulated_history_is_counted_exactly_and_the_true_model_predicts_its_holdout(conn, simulated):
    result = compute_clv_calibration(conn, AS_OF, SETTINGS)
    truth = independent_counts(simulated)
    assert len(truth) < len(simulated)  # some customers start after the calibration end: not in the cohort
    assert result.calibration_end == CAL_END and result.fit.fit_date == CAL_END and result.fit.converged
    assert result.cohort_customers == result.fit.customers == len(truth)
    assert (result.frequency_rows, result.reason, result.holdout_periods) == (8, None, 26.0)

    table = frequency_of(conn)
    assert list(table.index) == GROUPS and list(table["frequency_min"]) == list(range(8))
    assert set(table["calibration_end"].dt.date) == {CAL_END} and set(table["holdout_end"].dt.date) == {AS_OF}
    assert set(table["model"]) == {"mbgnbd"} and table["reason"].isna().all()
    by_group = truth.groupby("group").agg(customers=("x", "size"), x=("x", "sum"), holdout=("holdout", "sum"))
    assert table["customers"].sum() == len(truth)
    assert table["customers"].to_dict() == by_group["customers"].to_dict()
    assert table["calibration_purchases"].to_dict() == by_group["x"].to_dict()
    assert table["actual_total"].to_dict() == by_group["holdout"].to_dict()
    assert result.actual_total == truth["holdout"].sum() > 1000
    assert table["actual_mean"].to_numpy() == pytest.approx((by_group["holdout"] / by_group["customers"]).to_numpy())
    assert table["expected_mean"].to_numpy() == pytest.approx((table["expected_total"] / table["customers"]).to_numpy())

    # the model is true for these data: expected close to actual in aggregate, and in the large groups
    assert result.expected_total == pytest.approx(table["expected_total"].sum())
    assert abs(result.expected_total / result.actual_total - 1) < 0.15, (result.expected_total, result.actual_total)
    large = table[table["customers"] >= 400]
    assert len(large) >= 2
    assert np.all(np.abs(large["expected_mean"] / large["actual_mean"] - 1) < 0.25), large

    # tracking: weekly to AS_OF from the cohort's first purchase, cumulative, ending at the cohort's repeat total
    track = result.tracking
    ends = list(track["period_end"].dt.date)
    assert result.tracking_rows == len(track) and ends[-1] == AS_OF and CAL_END in ends
    assert all((later - earlier).days == 7 for earlier, later in itertools.pairwise(ends))
    assert day(0) <= ends[0] < day(7)
    assert list(track["period"]) == ["calibration" if d <= CAL_END else "holdout" for d in ends]
    for column in ("customers", "actual_cumulative", "expected_cumulative"):
        assert np.all(np.diff(track[column].to_numpy()) >= 0), column
    last, at_end = track.iloc[-1], track[track["period_end"].dt.date == CAL_END].iloc[0]
    assert last["customers"] == len(truth) and last["actual_cumulative"] == truth["repeat"].sum()
    assert at_end["actual_cumulative"] == truth["x"].sum() == table["calibration_purchases"].sum()
    assert last["actual_cumulative"] - at_end["actual_cumulative"] == result.actual_total
    assert abs(last["expected_cumulative"] / last["actual_cumulative"] - 1) < 0.05
    assert abs(at_end["expected_cumulative"] / at_end["actual_cumulative"] - 1) < 0.05
    assert track["reason"].isna().all() and set(track["model"]) == {"mbgnbd"}

    png = charts.clv_calibration(result.frequency, result.tracking, day=AS_OF)
    assert png.startswith(charts.PNG_MAGIC) and len(png) < charts.MAX_EMBED_BYTES


def test_rerunning_a_day_gives_the_same_rows_and_leaves_other_days_alone(conn, simulated):
    later = AS_OF - dt.timedelta(days=7)
    compute_clv_calibration(conn, later, SETTINGS)
    first = compute_clv_calibration(conn, AS_OF, SETTINGS)
    before = {table: (rows(conn, table, AS_OF), rows(conn, table, later)) for table in (FREQUENCY_TABLE, TRACKING_TABLE)}
    again = compute_clv_calibration(conn, AS_OF, SETTINGS)
    after = {table: (rows(conn, table, AS_OF), rows(conn, table, later)) for table in (FREQUENCY_TABLE, TRACKING_TABLE)}
    assert after == before
    assert before[FREQUENCY_TABLE][0] != before[FREQUENCY_TABLE][1]  # another day, another calibration
    assert again.fit == dataclasses.replace(first.fit, seconds=again.fit.seconds)  # the same fit, remade
    assert conn.execute(f"select count(*) from {FREQUENCY_TABLE}").fetchall() == [(16,)]


def test_data_after_the_day_do_not_change_it_but_a_refund_known_by_then_does(conn, simulated):
    compute_clv_calibration(conn, AS_OF, SETTINGS)
    before = {table: rows(conn, table, AS_OF) for table in (FREQUENCY_TABLE, TRACKING_TABLE)}
    truth = independent_counts(simulated).set_index("customer_id")
    holdout_buyers = [cid for cid in truth.index if truth.loc[cid, "holdout"] > 0]
    first, second, third = holdout_buyers[:3]
    holdout_day = {cid: next(d for d in simulated[cid] if d > CAL_END_DAY) for cid in (first, second, third)}
    # later orders; a holdout purchase refunded after the day; a holdout-day order in a file landed after it
    insert_orders(conn, simulated, keep=lambda offset: offset > AS_OF_DAY)
    order = f"{first}-{simulated[first].index(holdout_day[first])}"
    add_order(conn, order, first, at(day(holdout_day[first]), "14:00:00"), amount=20, status="refunded",
              updated_at=at(day(AS_OF_DAY + 1)))
    add_order(conn, "LATE-1", "S-new", at(day(AS_OF_DAY - 3)), landed=day(AS_OF_DAY + 2))
    new_day = next(d for d in range(CAL_END_DAY + 1, AS_OF_DAY) if d not in simulated[second])
    add_order(conn, "LATE-2", second, at(day(new_day)), landed=day(AS_OF_DAY + 2))
    compute_clv_calibration(conn, AS_OF, SETTINGS)
    assert {table: rows(conn, table, AS_OF) for table in (FREQUENCY_TABLE, TRACKING_TABLE)} == before

    # a refund of a holdout purchase known by the end of the day: one purchase day fewer in its group
    order = f"{third}-{simulated[third].index(holdout_day[third])}"
    add_order(conn, order, third, at(day(holdout_day[third]), "14:00:00"), amount=20, status="refunded",
              updated_at=at(day(AS_OF_DAY), "08:00:00"))
    # a calibration-period purchase refunded in the holdout: the fit saw it, the calibration figures keep it
    calibration_buyer = next(cid for cid in truth.index if truth.loc[cid, "x"] > 0 and cid != third)
    refunded_day = simulated[calibration_buyer][1]
    add_order(conn, f"{calibration_buyer}-1", calibration_buyer, at(day(refunded_day), "14:00:00"), amount=20,
              status="refunded", updated_at=at(day(CAL_END_DAY + 10)))
    result = compute_clv_calibration(conn, AS_OF, SETTINGS)
    group = truth.loc[third, "group"]
    old = pd.DataFrame(before[FREQUENCY_TABLE], columns=result.frequency.columns).set_index("frequency_group")
    new = frequency_of(conn)
    assert new.loc[group, "actual_total"] == old.loc[group, "actual_total"] - 1
    assert new.drop(index=group)["actual_total"].to_dict() == old.drop(index=group)["actual_total"].to_dict()
    assert new["calibration_purchases"].to_dict() == old["calibration_purchases"].to_dict()
    assert new["expected_total"].to_list() == pytest.approx(old["expected_total"].to_list(), rel=1e-12)
    assert result.tracking["actual_cumulative"].iloc[-1] == before[TRACKING_TABLE][-1][6] - 1


# --- unusable fits ---------------------------------------------------------------------------------------------


def tiny(conn) -> None:
    """Three buyers: A buys on days 0, 100, 400 and 500, B on day 10 and day 370 twice, C once on day 200;
    D's first purchase is in the holdout (not in the cohort); E's only calibration order was cancelled."""
    for cid in "ABCDE":
        add_customer(conn, cid, signup=at(day(0), "06:00:00"))
    for k, offset in enumerate((0, 100, 400, 500)):
        add_order(conn, f"A{k}", "A", at(day(offset)))
    add_order(conn, "B0", "B", at(day(10)))
    add_order(conn, "B1", "B", at(day(370), "09:00:00"))
    add_order(conn, "B2", "B", at(day(370), "18:00:00"))  # the same day: one purchase
    add_order(conn, "C0", "C", at(day(200)))
    add_order(conn, "D0", "D", at(day(380)))
    add_order(conn, "D1", "D", at(day(390)))
    add_order(conn, "E0", "E", at(day(50)), status="cancelled")
    add_order(conn, "E1", "E", at(day(450)))


def test_a_tiny_history_gives_the_reason_null_expectations_and_exact_actual_figures(conn):
    tiny(conn)
    result = compute_clv_calibration(conn, AS_OF, SETTINGS)
    reason = (f"no usable mbgnbd fit at the calibration end {CAL_END}: too few repeat buyers: 1 customers with "
              "x > 0, need at least 30")
    assert result.reason == reason and not result.fit.converged and result.expected_total is None
    assert (result.cohort_customers, result.actual_total) == (3, 3)
    got = conn.execute(f"select frequency_group, customers, calibration_purchases, actual_total, expected_total, "
                       f"actual_mean, expected_mean, reason from {FREQUENCY_TABLE} order by frequency_min").fetchall()
    assert got == [("0", 2, 0, 1, None, 0.5, None, reason), ("1", 1, 1, 2, None, 2.0, None, reason)] + [
        (g, 0, 0, 0, None, None, None, reason) for g in GROUPS[2:]]
    track = result.tracking.assign(period_end=result.tracking["period_end"].dt.date).set_index("period_end")
    assert track.index[0] == day(0) and track.index[-1] == AS_OF
    assert track["expected_cumulative"].isna().all() and set(track["reason"]) == {reason}
    # A repeats on 100 (calibration), 400 and 500 (holdout); B on 370 (holdout); customers by their first day
    for offset, customers, repeats in ((0, 1, 0), (98, 2, 0), (105, 2, 1), (203, 3, 1), (CAL_END_DAY, 3, 1),
                                       (371, 3, 2), (406, 3, 3), (AS_OF_DAY, 3, 4)):
        assert tuple(track.loc[day(offset), ["customers", "actual_cumulative"]]) == (customers, repeats), offset
    png = charts.clv_calibration(result.frequency, result.tracking, day=AS_OF)
    assert png != charts.clv_calibration(pd.DataFrame(), pd.DataFrame(), day=AS_OF)


def test_no_buyers_by_the_calibration_end_gives_eight_empty_groups_with_the_reason(conn):
    tiny(conn)
    as_of = day(100)  # the calibration end is before the first order
    result = compute_clv_calibration(conn, as_of, SETTINGS)
    reason = f"no buyers by the calibration end {as_of - dt.timedelta(days=182)}"
    assert (result.reason, result.cohort_customers, result.tracking_rows, result.actual_total) == (reason, 0, 0, 0)
    assert conn.execute(f"select frequency_group, customers, actual_total, expected_total, reason "
                        f"from {FREQUENCY_TABLE} order by frequency_min").fetchall() == [
        (g, 0, 0, None, reason) for g in GROUPS]


def test_the_tracking_window_is_capped_and_always_has_the_calibration_end(conn):
    tiny(conn)
    add_customer(conn, "OLD", signup=at(day(-1000), "06:00:00"))
    add_order(conn, "OLD0", "OLD", at(day(-1000)))
    add_order(conn, "OLD1", "OLD", at(day(-900)))  # a repeat purchase long before the window
    settings = ClvSettings(time_unit_days=5)  # 182 days of holdout are not a multiple of 5
    result = compute_clv_calibration(conn, AS_OF, settings)
    ends = list(result.tracking["period_end"].dt.date)
    assert ends[-1] == AS_OF and CAL_END in ends
    assert ends[0] >= CAL_END - dt.timedelta(weeks=clv_calibration.TRACKING_CALIBRATION_WEEKS) > ends[0] - \
        dt.timedelta(days=5)
    # every 5 days back from AS_OF (182 = 36 * 5 + 2), the calibration end 2 days after a grid day
    assert {(b - a).days for a, b in itertools.pairwise(ends)} == {5, 2, 3}
    first = result.tracking.iloc[0]
    assert (first["customers"], first["actual_cumulative"]) == (1, 1)  # OLD, counted from before the window
    assert result.tracking["actual_cumulative"].iloc[-1] == 5


def test_expectations_that_overflow_are_null_with_the_reason(conn, simulated, monkeypatch):
    fitted = clv.fit_models

    def extreme(summary, day_, settings):  # a converged fit whose a and b overflow the expectations
        fit = fitted(summary, day_, settings)
        return dataclasses.replace(fit, r=3.1414, alpha=5.3364, a=17717.13, b=70572.12)

    monkeypatch.setattr(clv, "fit_models", extreme)
    result = compute_clv_calibration(conn, AS_OF, SETTINGS)
    reason = (f"expected purchases not computable at the parameters of the calibration fit of {CAL_END} "
              "(a = 1.772e+04, b = 7.057e+04: numerical overflow)")
    assert result.reason == reason and result.expected_total is None
    table = frequency_of(conn)
    assert table["expected_total"].isna().all() and set(table["reason"]) == {reason}
    assert table["actual_total"].sum() == result.actual_total > 0  # the actual figures are still there
    track = result.tracking
    assert track["expected_cumulative"].iloc[0] == 0 or np.isnan(track["expected_cumulative"].iloc[0])
    assert track["expected_cumulative"].iloc[1:].isna().all()
    assert set(track["reason"].iloc[1:]) == {reason}


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd"])
def test_the_model_of_the_settings_is_fitted_and_named(conn, simulated, model):
    result = compute_clv_calibration(conn, AS_OF, ClvSettings(model=model))
    assert result.fit.model == model and result.fit.converged
    assert set(result.frequency["model"]) == set(result.tracking["model"]) == {model}
    assert result.expected_total is not None and result.expected_total > 0


def test_a_calibration_is_due_once_per_refit_week(conn):
    tiny(conn)
    monday = AS_OF - dt.timedelta(days=AS_OF.weekday())
    wednesday, thursday = monday + dt.timedelta(days=2), monday + dt.timedelta(days=3)
    assert clv_calibration.calibration_due(conn, wednesday, SETTINGS)  # nothing written yet
    compute_clv_calibration(conn, wednesday, SETTINGS)  # the Monday was not run: Wednesday calibrates
    assert not clv_calibration.calibration_due(conn, thursday, SETTINGS)
    assert clv_calibration.calibration_due(conn, thursday, ClvSettings(model="bgnbd"))  # another model
    assert clv_calibration.calibration_due(conn, monday + dt.timedelta(days=7), SETTINGS)  # the next refit day
    assert clv_calibration.calibration_due(conn, monday, SETTINGS)  # a refit day always recalibrates
    assert clv_calibration.calibration_due(conn, thursday, ClvSettings(refit_days=1))  # every day a refit day
