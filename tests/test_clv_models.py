"""BG/NBD, MBG/NBD and Gamma-Gamma maths (lifecycle_pipeline.clv_models, issue 15).

Reference numbers:

* BG/NBD on the CDNOW sample -- Fader, Hardie & Lee (2005a), "Counting Your Customers the Easy
  Way", section 5: r 0.243, alpha 4.414, a 0.793, b 2.426, LL -9582.4; and the worked example
  (x=2, t_x=30.43, T=38.86, next 39 weeks) of 1.226 expected purchases.
* MBG/NBD on CDNOW -- r 0.525, alpha 6.183, a 0.891, b 1.614: lifetimes' test suite
  (``test_params_out_is_close_to_BTYDplus``), which checks them against the BTYDplus R package.
* Gamma-Gamma on the 946 CDNOW repeat buyers -- Fader & Hardie (2013), "The Gamma-Gamma Model of
  Monetary Value": p 6.25, q 3.74, gamma 15.44 (as cited with LL -4055.9177 in CLVTools'
  ``test_correctness_gg.R``); the lifetimes docs print p 6.25, q 3.74, v 15.45 and the expected
  average order values and 12-"month" CLVs of the first ten customers.

Hand values are written out below as plain scalar formulas (``math.lgamma`` and a direct 2F1
series), independent of the module's vectorised, Euler-transformed implementation.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate
from scipy import special as sp

from lifecycle_pipeline import clv_models
from lifecycle_pipeline.clv_models import (
    BGNBD,
    MBGNBD,
    expected_avg_value,
    expected_purchases,
    expected_purchases_unconditional,
    expected_value,
    fit_bgnbd,
    fit_gamma_gamma,
    group_rfm,
    p_alive,
)

CDNOW_CSV = Path(__file__).parent / "data" / "cdnow" / "cdnow_customers_summary.csv"
PAPER_BGNBD = {"r": 0.2426, "alpha": 4.4136, "a": 0.7930, "b": 2.4259}
PAPER_BGNBD_ROUNDED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
BTYDPLUS_MBGNBD = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}
PAPER_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "gamma": 15.44}


@pytest.fixture(scope="module")
def cdnow() -> dict[str, np.ndarray]:
    data = np.genfromtxt(CDNOW_CSV, delimiter=",", names=True)
    return {name: np.asarray(data[name], dtype=float) for name in data.dtype.names}


@pytest.fixture(scope="module")
def bg_fit(cdnow):
    return fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"], model=BGNBD)


@pytest.fixture(scope="module")
def mbg_fit(cdnow):
    return fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"])


@pytest.fixture(scope="module")
def gg_fit(cdnow):
    repeat = cdnow["x"] > 0
    return fit_gamma_gamma(cdnow["x"][repeat], cdnow["zbar"][repeat])


def close(actual: float, expected: float, rel: float) -> bool:
    return abs(actual - expected) <= rel * abs(expected)


# --- hand formulas (scalar, written out from the papers) -------------------------------------------------


def hyp2f1_series(a: float, b: float, c: float, z: float) -> float:
    """Gauss 2F1 by its defining series, sum (a)_n (b)_n / ((c)_n n!) z^n, for 0 <= z < 1."""
    term = total = 1.0
    n = 0
    while abs(term) > 1e-17 * abs(total):
        term *= (a + n) * (b + n) / ((c + n) * (n + 1)) * z
        total += term
        n += 1
    return total


def hand_p_alive(model: str, prm: dict, x: float, t_x: float, T: float) -> float:
    """Hardie's note 021 for BG/NBD; Batislam et al. (2007) appendix A eq. (5) for MBG/NBD."""
    r, alpha, a, b = prm["r"], prm["alpha"], prm["a"], prm["b"]
    if model == BGNBD:
        if x == 0:
            return 1.0
        return 1.0 / (1.0 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))
    return 1.0 / (1.0 + a / (b + x) * ((alpha + T) / (alpha + t_x)) ** (r + x))


def hand_expected_purchases(model: str, prm: dict, t: float, x: float, t_x: float, T: float) -> float:
    """FHL (2005a) eq. (10); for MBG/NBD Wagner & Hoppe (2008): b+x -> b+x+1, a+b+x-1 -> a+b+x."""
    r, alpha, a, b = prm["r"], prm["alpha"], prm["a"], prm["b"]
    b_post = b + x + (1 if model == MBGNBD else 0)
    c = a + b_post - 1
    z = t / (alpha + T + t)
    bracket = 1.0 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1_series(r + x, b_post, c, z)
    return c / (a - 1) * bracket * hand_p_alive(model, prm, x, t_x, T)


def hand_log_likelihood(model: str, prm: dict, x: float, t_x: float, T: float) -> float:
    """One customer's log L: FHL (2005a) eq. (6) / Batislam et al. (2007) appendix A, with math.lgamma."""
    r, alpha, a, b = prm["r"], prm["alpha"], prm["a"], prm["b"]

    def log_beta(u, v):
        return math.lgamma(u) + math.lgamma(v) - math.lgamma(u + v)

    common = math.lgamma(r + x) - math.lgamma(r) + r * math.log(alpha) - log_beta(a, b)
    if model == BGNBD:
        first = log_beta(a, b + x) - (r + x) * math.log(alpha + T)
        second = log_beta(a + 1, b + x - 1) - (r + x) * math.log(alpha + t_x) if x > 0 else -math.inf
    else:
        first = log_beta(a, b + x + 1) - (r + x) * math.log(alpha + T)
        second = log_beta(a + 1, b + x) - (r + x) * math.log(alpha + t_x)
    return common + math.log(math.exp(first) + (math.exp(second) if second > -math.inf else 0.0))


def quadrature_expected_purchases(model: str, prm: dict, t: float, x: float, t_x: float, T: float) -> float:
    """P(alive) * E_p[(1 - ((alpha+T)/(alpha+T+p t))^(r+x)) / p] over the posterior Beta(a, b'), numerically."""
    r, alpha, a, b = prm["r"], prm["alpha"], prm["a"], prm["b"]
    b_post = b + x + (1 if model == MBGNBD else 0)

    def integrand(p):
        density = math.exp((a - 1) * math.log(p) + (b_post - 1) * math.log1p(-p) - sp.betaln(a, b_post))
        return -math.expm1((r + x) * -math.log1p(p * t / (alpha + T))) / p * density

    value = integrate.quad(integrand, 0, 0.5, epsabs=0, epsrel=1e-12, limit=200)[0]
    value += integrate.quad(integrand, 0.5, 1, epsabs=0, epsrel=1e-12, limit=200)[0]
    return value * hand_p_alive(model, prm, x, t_x, T)


def simulate(n: int, prm: dict, model: str, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, t_x, T) of ``n`` customers drawn from the (M)BG/NBD generative process, times in whole days.

    Per customer: lambda ~ Gamma(r, 1/alpha), p ~ Beta(a, b), age T uniform over 1..364 days. The
    number of repeat purchases made before dropping out is geometric: BG/NBD tosses the drop-out
    coin after each repeat purchase (1, 2, ...), MBG/NBD also right after the first (0, 1, ...).
    x = min(that number, Poisson(lambda T) purchases in (0, T]); given n purchases in (0, T], the
    x-th arrival is T times the x-th of n sorted uniforms, a Beta(x, n - x + 1) draw.
    """
    rng = np.random.default_rng(seed)
    T = rng.integers(1, 365, n) / 7.0
    lam = rng.gamma(prm["r"], 1.0 / prm["alpha"], n)
    p = rng.beta(prm["a"], prm["b"], n)
    lifetime = rng.geometric(p) - (1 if model == MBGNBD else 0)
    in_window = rng.poisson(lam * T)
    x = np.minimum(in_window, lifetime)
    t_x = np.zeros(n)
    buyers = x > 0
    t_x[buyers] = T[buyers] * rng.beta(x[buyers], in_window[buyers] - x[buyers] + 1)
    return x.astype(float), np.minimum(np.round(t_x * 7.0) / 7.0, T), T


# --- the data --------------------------------------------------------------------------------------------------


def test_cdnow_file_is_the_2357_customer_calibration_sample(cdnow):
    assert len(cdnow["x"]) == 2357
    assert cdnow["x"].sum() == 2457  # repeat purchases in the 39-week calibration period
    assert (cdnow["x"] > 0).sum() == 946  # repeat buyers (the Gamma-Gamma sample)
    assert cdnow["T"].min() == 27.0 and cdnow["T"].max() == 38.86
    assert np.all(cdnow["t_x"] <= cdnow["T"]) and np.all((cdnow["x"] == 0) == (cdnow["zbar"] == 0))


# --- fits against published numbers ---------------------------------------------------------------------------


def test_bgnbd_fit_on_cdnow_matches_fader_hardie_lee_2005(bg_fit):
    assert bg_fit.converged, bg_fit.message
    assert bg_fit.model == BGNBD and bg_fit.n_customers == 2357
    for name, expected in PAPER_BGNBD.items():
        assert close(bg_fit.params[name], expected, 0.005), (name, bg_fit.params[name])
    assert bg_fit.log_likelihood == pytest.approx(-9582.4, abs=0.1)  # full LL, all constant terms included


def test_mbgnbd_fit_on_cdnow_converges_matches_btydplus_and_fits_as_well_as_bgnbd(mbg_fit, bg_fit):
    assert mbg_fit.converged, mbg_fit.message
    assert mbg_fit.model == MBGNBD
    for name, expected in BTYDPLUS_MBGNBD.items():
        assert close(mbg_fit.params[name], expected, 0.005), (name, mbg_fit.params[name])
    # same number of parameters; MBG/NBD is marginally better on CDNOW (-9582.13 vs -9582.43)
    assert bg_fit.log_likelihood - 0.5 < mbg_fit.log_likelihood < bg_fit.log_likelihood + 1.0


def test_gamma_gamma_fit_on_cdnow_repeat_buyers_matches_fader_hardie_2013(gg_fit):
    assert gg_fit.converged, gg_fit.message
    assert gg_fit.n_customers == 946
    for name, expected in PAPER_GAMMA_GAMMA.items():
        assert close(gg_fit.params[name], expected, 0.01), (name, gg_fit.params[name])
    assert close(gg_fit.params["gamma"], 15.45, 0.01)  # lifetimes docs' "v"; the fit gives 15.448
    assert gg_fit.log_likelihood == pytest.approx(-4055.9177, abs=0.01)  # avg values here are rounded to cents


def test_gamma_gamma_ignores_one_time_buyers(cdnow, gg_fit):
    everyone = fit_gamma_gamma(cdnow["x"], cdnow["zbar"])
    assert everyone.n_customers == 946
    assert everyone.params == pytest.approx(gg_fit.params, rel=1e-9)


def test_fitted_log_likelihood_is_the_sum_of_hand_computed_customer_terms(cdnow, bg_fit, mbg_fit):
    for fit in (bg_fit, mbg_fit):
        rows = zip(cdnow["x"], cdnow["t_x"], cdnow["T"], strict=True)
        total = math.fsum(hand_log_likelihood(fit.model, fit.params, *row) for row in rows)
        assert fit.log_likelihood == pytest.approx(total, abs=1e-6)


# --- predictions ------------------------------------------------------------------------------------------------

TRIPLES = [(0, 0.0, 38.86), (1, 1.71, 38.86), (2, 30.43, 38.86), (7, 29.43, 35.0), (20, 38.0, 39.0), (3, 2.0, 38.0)]


@pytest.mark.parametrize("model", [BGNBD, MBGNBD])
@pytest.mark.parametrize("prm", [PAPER_BGNBD, BTYDPLUS_MBGNBD, {"r": 1.5, "alpha": 3.0, "a": 2.5, "b": 0.8}])
def test_p_alive_and_expected_purchases_match_hand_formulas(model, prm):
    x, t_x, T = (np.array(column, dtype=float) for column in zip(*TRIPLES, strict=True))
    alive = p_alive(model, prm, x, t_x, T)
    for t in (39.0, 52.0):
        expected = expected_purchases(model, prm, t, x, t_x, T)
        for i, triple in enumerate(TRIPLES):
            assert alive[i] == pytest.approx(hand_p_alive(model, prm, *triple), abs=1e-6)
            assert expected[i] == pytest.approx(hand_expected_purchases(model, prm, t, *triple), abs=1e-6)


def test_expected_purchases_reproduce_the_papers_worked_example():
    # FHL (2005a): x=2, t_x=30.43, T=38.86 expects 1.226 purchases in the next 39 weeks
    value = expected_purchases(BGNBD, PAPER_BGNBD_ROUNDED, 39.0, 2, 30.43, 38.86)
    assert round(float(value), 3) == 1.226
    assert float(expected_purchases(BGNBD, PAPER_BGNBD, 39.0, 2, 30.43, 38.86)) == pytest.approx(1.226, abs=5e-4)


@pytest.mark.parametrize("model", [BGNBD, MBGNBD])
@pytest.mark.parametrize("prm", [PAPER_BGNBD, {"r": 0.3, "alpha": 5.0, "a": 1.0, "b": 3.0},
                                 {"r": 0.3, "alpha": 5.0, "a": 1.0 + 1e-8, "b": 3.0},
                                 {"r": 2.0, "alpha": 1.0, "a": 0.4, "b": 9.0}])
def test_expected_purchases_match_numerical_integration_including_a_equal_1_and_large_x(model, prm):
    cases = [(2, 30.43, 38.86, 52.0), (0, 0.0, 0.0, 52.0), (500, 300.0, 310.0, 100.0), (40, 20.0, 39.0, 260.0)]
    for x, t_x, T, t in cases:
        value = float(expected_purchases(model, prm, t, x, t_x, T))
        assert np.isfinite(value)
        assert value == pytest.approx(quadrature_expected_purchases(model, prm, t, x, t_x, T), rel=1e-7, abs=1e-12)


def test_one_time_buyers_under_mbgnbd_are_never_certainly_alive_and_fade_with_age():
    ages = np.linspace(0.0, 300.0, 601)
    zeros = np.zeros_like(ages)
    for prm in (PAPER_BGNBD, BTYDPLUS_MBGNBD, {"r": 1.5, "alpha": 3.0, "a": 2.5, "b": 0.8}):
        mbg = p_alive(MBGNBD, prm, zeros, zeros, ages)
        assert np.all(mbg < 1.0) and np.all(mbg > 0.0)
        assert np.all(np.diff(mbg) < 0.0)  # strictly falling with T
        assert mbg[0] == pytest.approx(prm["b"] / (prm["a"] + prm["b"]))  # survived the first coin: E[1-p]
        # BG/NBD cannot drop out before a repeat purchase: every one-time buyer is certainly alive,
        # however old -- the reason MBG/NBD is the default model
        assert np.all(p_alive(BGNBD, prm, zeros, zeros, ages) == 1.0)


def test_p_alive_accepts_a_fit_result_and_falls_with_time_since_last_purchase(mbg_fit):
    t_x = np.linspace(0.0, 38.0, 39)
    alive = p_alive(mbg_fit.model, mbg_fit, np.full_like(t_x, 3.0), t_x, np.full_like(t_x, 39.0))
    assert np.all(np.diff(alive) > 0.0) and np.all((alive > 0.0) & (alive < 1.0))


def test_expected_avg_value_matches_lifetimes_docs(cdnow, gg_fit):
    values = expected_avg_value(gg_fit.params, cdnow["x"][:10], cdnow["zbar"][:10])
    published = [24.658619, 18.911489, 35.170981, 35.170981, 35.170981, 71.462843, 18.911489, 35.170981,
                 27.282408, 35.170981]
    assert values == pytest.approx(published, rel=1e-5)
    p, q, g = (gg_fit.params[k] for k in ("p", "q", "gamma"))
    assert values[2] == pytest.approx(p * g / (q - 1))  # x == 0: the population mean
    assert values[0] == pytest.approx(p * (g + 2 * 22.35) / (2 * p + q - 1))  # FHL (2005b) by hand


def test_expected_avg_value_is_nan_where_the_mean_is_infinite():
    values = expected_avg_value({"p": 2.0, "q": 0.8, "gamma": 10.0}, np.array([0.0, 1.0]), np.array([0.0, 30.0]))
    assert np.isnan(values[0]) and values[1] == pytest.approx(2.0 * (10.0 + 30.0) / (2.0 + 0.8 - 1.0))


def test_expected_value_without_discount_is_expected_purchases_times_value_times_margin(cdnow, mbg_fit):
    x, t_x, T = cdnow["x"], cdnow["t_x"], cdnow["T"]
    aov = np.linspace(10.0, 60.0, x.size)
    value = expected_value(MBGNBD, mbg_fit.params, x, t_x, T, aov, horizon=52.0, steps=12, margin=0.3)
    purchases = expected_purchases(MBGNBD, mbg_fit.params, 52.0, x, t_x, T)
    assert value == pytest.approx(purchases * aov * 0.3, rel=1e-10)
    discounted = expected_value(MBGNBD, mbg_fit.params, x, t_x, T, aov, margin=0.3, annual_discount_rate=0.1)
    assert np.all(discounted < value) and np.all(discounted > value / 1.1)


def test_expected_value_reproduces_lifetimes_docs_clv(cdnow, bg_fit, gg_fit):
    # lifetimes' docs: BG/NBD + Gamma-Gamma, time=12 "months", discount_rate=0.01 a month and the default
    # freq="D", i.e. 30 time units a month -- on this weekly data, 12 slices of 30 weeks
    x, t_x, T = cdnow["x"][:10], cdnow["t_x"][:10], cdnow["T"][:10]
    aov = expected_avg_value(gg_fit.params, x, cdnow["zbar"][:10])
    value = expected_value(BGNBD, bg_fit.params, x, t_x, T, aov, horizon=360.0, steps=12,
                           annual_discount_rate=1.01**12 - 1, periods_per_year=360.0)
    published = [140.096211, 18.943467, 38.180574, 38.180574, 38.180574, 1003.868107, 28.109683, 38.180574,
                 167.418216, 38.180574]
    assert value == pytest.approx(published, rel=1e-5)


# --- failures, grouping, scale -------------------------------------------------------------------------------


def test_too_few_repeat_buyers_gives_converged_false_with_a_reason():
    x = np.array([1.0] * 9 + [0.0] * 500)
    t_x = np.where(x > 0, 5.0, 0.0)
    T = np.full(x.size, 30.0)
    for model in (BGNBD, MBGNBD):
        fit = fit_bgnbd(x, t_x, T, model=model)
        assert not fit.converged and "too few repeat buyers" in fit.message
        assert all(math.isnan(v) for v in fit.params.values()) and math.isnan(fit.log_likelihood)
        assert fit.n_customers == 509
    assert "need at least 20" in fit_bgnbd(x, t_x, T, min_repeat_buyers=20).message
    gg = fit_gamma_gamma(x, np.where(x > 0, 25.0, 0.0))
    assert not gg.converged and "too few repeat buyers" in gg.message and math.isnan(gg.params["p"])


def test_data_that_do_not_identify_the_model_give_converged_false_instead_of_raising():
    # every customer bought last at the very end of the window: no sign of drop-out, no heterogeneity
    rng = np.random.default_rng(3)
    T = rng.uniform(20.0, 40.0, 300)
    x = rng.integers(1, 5, 300).astype(float)
    for model in (BGNBD, MBGNBD):
        fit = fit_bgnbd(x, T, T, model=model)
        assert not fit.converged and fit.message
        assert all(math.isnan(v) for v in fit.params.values())


def test_grouped_rows_with_counts_give_the_same_fit_as_one_row_per_customer(cdnow):
    x, t_x, T = cdnow["x"], cdnow["t_x"], cdnow["T"]
    gx, gt, gT, counts = group_rfm(x, t_x, T)
    assert len(gx) == 1016 and counts.sum() == 2357
    for model in (BGNBD, MBGNBD):
        rows = fit_bgnbd(x, t_x, T, model=model, group=False)
        grouped = fit_bgnbd(gx, gt, gT, counts, model=model, group=False)
        assert rows.converged and grouped.converged
        assert (rows.n_rows, grouped.n_rows, grouped.n_customers) == (2357, 1016, 2357)
        assert grouped.params == pytest.approx(rows.params, rel=1e-6)
        assert grouped.log_likelihood == pytest.approx(rows.log_likelihood, abs=1e-6)
    doubled = fit_bgnbd(x, t_x, T, np.full(x.size, 2.0))
    twice = fit_bgnbd(np.tile(x, 2), np.tile(t_x, 2), np.tile(T, 2))
    assert doubled.params == pytest.approx(twice.params, rel=1e-6) and doubled.n_customers == 4714


def test_a_million_simulated_customers_recover_the_generating_parameters():
    x, t_x, T = simulate(1_000_000, PAPER_BGNBD, BGNBD, seed=7)
    fit = fit_bgnbd(x, t_x, T, model=BGNBD)  # grouped by unique (x, t_x, T) internally
    assert fit.converged, fit.message
    assert fit.n_customers == 1_000_000 and fit.n_rows < 200_000
    for name, expected in PAPER_BGNBD.items():
        assert close(fit.params[name], expected, 0.05), (name, fit.params[name])
    alive = p_alive(BGNBD, fit.params, x, t_x, T)
    assert alive.shape == x.shape and np.all((alive > 0.0) & (alive <= 1.0))


def test_mbgnbd_fit_recovers_simulated_mbgnbd_parameters():
    x, t_x, T = simulate(400_000, BTYDPLUS_MBGNBD, MBGNBD, seed=11)
    fit = fit_bgnbd(x, t_x, T)
    assert fit.converged, fit.message
    for name, expected in BTYDPLUS_MBGNBD.items():
        assert close(fit.params[name], expected, 0.08), (name, fit.params[name])


@pytest.mark.parametrize(
    ("x", "t_x", "T"),
    [([1.0], [5.0], [4.0]), ([-1.0], [0.0], [4.0]), ([1.5], [1.0], [4.0]), ([1.0], [np.nan], [4.0]),
     ([1.0, 2.0], [1.0], [4.0])],
)
def test_malformed_input_raises_value_error(x, t_x, T):
    with pytest.raises(ValueError):
        fit_bgnbd(x, t_x, T)


def test_unknown_model_and_missing_params_raise_value_error():
    with pytest.raises(ValueError):
        p_alive("pareto", PAPER_BGNBD, 1, 1, 2)
    with pytest.raises(ValueError):
        expected_purchases(BGNBD, {"r": 1.0}, 10, 1, 1, 2)


def test_module_imports_only_numpy_scipy_and_the_standard_library():
    tree = ast.parse(Path(clv_models.__file__).read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            roots.add((node.module or "").split(".")[0])
    assert roots - {"__future__", "numpy", "scipy"} <= {"time", "collections", "dataclasses"}, roots


def test_large_inputs_evaluated_per_distinct_x_and_T_give_the_same_predictions(mbg_fit):
    x, t_x, T = simulate(60_000, BTYDPLUS_MBGNBD, MBGNBD, seed=5)  # above the 20,000-row grouping threshold
    aov = np.linspace(5.0, 80.0, x.size)
    whole = expected_value(MBGNBD, mbg_fit.params, x, t_x, T, aov, annual_discount_rate=0.1, margin=0.25)
    purchases = expected_purchases(MBGNBD, mbg_fit.params, 52.0, x, t_x, T)
    chunks = np.array_split(np.arange(x.size), 6)  # 10,000 rows each: evaluated row by row
    assert whole == pytest.approx(np.concatenate([
        expected_value(MBGNBD, mbg_fit.params, x[i], t_x[i], T[i], aov[i], annual_discount_rate=0.1, margin=0.25)
        for i in chunks]), rel=1e-12)
    assert purchases == pytest.approx(np.concatenate([
        expected_purchases(MBGNBD, mbg_fit.params, 52.0, x[i], t_x[i], T[i]) for i in chunks]), rel=1e-12)


# --- unconditional expectation E[X(t)] -----------------------------------------------------------------------


def hand_expected_unconditional(model: str, prm: dict, t: float) -> float:
    """FHL (2005a) eq. (9) for BG/NBD; Batislam et al. (2007) for MBG/NBD -- as lifetimes'
    ``expected_number_of_purchases_up_to_time`` of BetaGeoFitter / ModifiedBetaGeoFitter writes them."""
    r, alpha, a, b = prm["r"], prm["alpha"], prm["a"], prm["b"]
    z = t / (alpha + t)
    if model == BGNBD:
        return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1_series(r, b, a + b - 1, z))
    return b / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1_series(r, b + 1, a + b, z))


@pytest.mark.parametrize("model", [BGNBD, MBGNBD])
@pytest.mark.parametrize("prm", [PAPER_BGNBD, BTYDPLUS_MBGNBD, {"r": 1.5, "alpha": 3.0, "a": 2.5, "b": 0.8}])
def test_unconditional_expected_purchases_match_the_published_formulas(model, prm):
    t = np.array([0.5, 1.0, 13.0, 39.0, 78.0])
    got = expected_purchases_unconditional(model, prm, t)
    assert got.shape == t.shape
    assert got == pytest.approx([hand_expected_unconditional(model, prm, v) for v in t], rel=1e-9)
    # a brand-new customer (x = t_x = T = 0) of the conditional expectation, and scalar t
    assert float(expected_purchases_unconditional(model, prm, 39.0)) == pytest.approx(
        float(expected_purchases(model, prm, 39.0, 0, 0, 0)), rel=1e-12)


@pytest.mark.parametrize("model", [BGNBD, MBGNBD])
@pytest.mark.parametrize("prm", [PAPER_BGNBD, {"r": 1.5, "alpha": 3.0, "a": 2.5, "b": 0.8}])
def test_unconditional_expected_purchases_agree_with_a_simulation_of_the_model(model, prm):
    # repeat purchases of new customers in (0, t]: Poisson(lambda t) purchase opportunities, stopped by the
    # drop-out coin after each repeat purchase (BG/NBD: the number made is Geometric(p) >= 1) and, under
    # MBG/NBD, also right after the first purchase (Geometric(p) - 1 >= 0)
    rng = np.random.default_rng(2024)
    n, horizons = 1_000_000, (4.0, 26.0, 52.0)
    lam = rng.gamma(prm["r"], 1.0 / prm["alpha"], n)
    lifetime = rng.geometric(rng.beta(prm["a"], prm["b"], n)) - (1 if model == MBGNBD else 0)
    expected = expected_purchases_unconditional(model, prm, np.array(horizons))
    for t, value in zip(horizons, expected, strict=True):
        made = np.minimum(rng.poisson(lam * t), lifetime)
        standard_error = made.std() / np.sqrt(n)
        assert abs(made.mean() - value) < 4 * standard_error, (t, made.mean(), value, standard_error)


def test_unconditional_expected_purchases_start_at_zero_rise_to_the_mean_lifetime_and_survive_a_equal_1():
    prm = {"r": 1.5, "alpha": 3.0, "a": 2.5, "b": 0.8}
    t = np.linspace(0.0, 2000.0, 401)
    for model, limit in ((BGNBD, (2.5 + 0.8 - 1) / 1.5), (MBGNBD, 0.8 / 1.5)):  # E[1/p], E[1/p - 1]
        curve = expected_purchases_unconditional(model, prm, t)
        assert curve[0] == 0.0 and np.all(np.diff(curve) > 0)
        assert limit * 0.97 < curve[-1] < limit
    # the removable 0/0 at a == 1: finite, and between its neighbours
    near = {"r": 0.3, "alpha": 5.0, "b": 3.0}
    for model in (BGNBD, MBGNBD):
        at_one = float(expected_purchases_unconditional(model, {**near, "a": 1.0}, 52.0))
        below, above = (float(expected_purchases_unconditional(model, {**near, "a": a}, 52.0))
                        for a in (1.0 - 1e-4, 1.0 + 1e-4))
        assert np.isfinite(at_one) and min(below, above) <= at_one <= max(below, above)
    with pytest.raises(ValueError):
        expected_purchases_unconditional(MBGNBD, prm, [-1.0, 2.0])
    with pytest.raises(ValueError):
        expected_purchases_unconditional("pareto", prm, 1.0)
