"""Predictive customer value (issue 15): BG/NBD, MBG/NBD and Gamma-Gamma maths, numpy/scipy only.

Pure functions on per-customer RFM summary arrays, vectorised over customers (no per-customer
Python loops), with likelihoods evaluated in log space. No Dagster, no DuckDB: the pipeline
feeds arrays in and stores what comes out.

Inputs (one entry per customer, or per group of identical customers with ``weights``):

* ``x``   -- number of *repeat* purchases (purchases after the first one), a whole number >= 0;
* ``t_x`` -- time of the last purchase, measured from the first purchase (0 when ``x == 0``);
* ``T``   -- age: time from the first purchase to the end of the observation window.

Time is in any unit (weeks in the papers); the fitted ``alpha`` and every horizon ``t`` are in
that same unit.

Models
------
* **BG/NBD** -- Fader, Hardie & Lee (2005a), "Counting Your Customers the Easy Way: An
  Alternative to the Pareto/NBD Model", *Marketing Science* 24(2), 275-284. While alive a
  customer buys at Poisson rate ``lambda ~ Gamma(r, alpha)``; after each *repeat* purchase they
  drop out with probability ``p ~ Beta(a, b)``.
* **MBG/NBD** -- Batislam, Denizel & Filiztekin (2007), "Empirical validation and comparison of
  models for customer base analysis", *IJRM* 24(3), 201-209, with the corrected conditional
  expectation of Wagner & Hoppe (2008), "Erratum on the MBG/NBD model", *IJRM* 25(3), 225-226.
  Same four parameters, but the drop-out coin is also tossed right after the *first* purchase.
* **Gamma-Gamma** -- Fader, Hardie & Lee (2005b), "RFM and CLV: Using Iso-Value Curves for
  Customer Base Analysis", *JMR* 42(4), 415-430, and Fader & Hardie (2013), "The Gamma-Gamma
  Model of Monetary Value" (http://brucehardie.com/notes/025/). Order values of a customer are
  ``Gamma(p, nu)`` with ``nu ~ Gamma(q, gamma)``; the parameter ``gamma`` is reported as ``"gamma"``
  (lifetimes calls it ``v``).

Why MBG/NBD is the default: under BG/NBD a one-time buyer (``x == 0``) can never have dropped
out, so their P(alive) is exactly 1 however long ago they bought (:func:`p_alive`). In a
business where most customers buy once, that ranks every lapsed one-time buyer as certainly
alive. MBG/NBD lets them drop out after the first purchase, so their P(alive) is below 1 and
falls with ``T``. On the CDNOW sample the two fit about equally well.

Typical use::

    fit = fit_bgnbd(x, t_x, T)                        # MBG/NBD, grouped internally
    gg = fit_gamma_gamma(x, avg_repeat_value)         # repeat buyers only
    alive = p_alive(fit.model, fit.params, x, t_x, T)
    aov = expected_avg_value(gg.params, x, avg_repeat_value)
    value = expected_value(fit.model, fit.params, x, t_x, T, aov, horizon=52, steps=12,
                           margin=0.3, annual_discount_rate=0.1)

Fitters never raise on a bad fit: they return a :class:`FitResult` with ``converged=False``, a
reason in ``message`` and NaN parameters. Malformed input (shapes, negative counts, ``t_x > T``)
raises ``ValueError``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special

BGNBD = "bgnbd"
MBGNBD = "mbgnbd"
GAMMA_GAMMA = "gamma_gamma"
PURCHASE_MODELS = (MBGNBD, BGNBD)
PURCHASE_PARAMS = ("r", "alpha", "a", "b")
GAMMA_GAMMA_PARAMS = ("p", "q", "gamma")
DEFAULT_MIN_REPEAT_BUYERS = 10

_LOG_BOUND = float(np.log(1e5))  # optimiser works on log-parameters in [-11.5, 11.5] (after rescaling)
_GRAD_TOL = 1e-5  # max |d mean-log-likelihood / d log-parameter| accepted as a stationary point
_A_NEAR_ONE = 1e-6  # the expectation formulas have a removable 0/0 at a == 1


@dataclass(frozen=True)
class FitResult:
    """Outcome of a maximum-likelihood fit.

    ``params`` maps parameter names to values (NaN when the fit failed); ``log_likelihood`` is the
    full log-likelihood (all constant terms included, as in the papers) summed over customers;
    ``n_customers`` is the weighted number of customers used, ``n_rows`` the number of rows the
    likelihood was evaluated on (after grouping identical customers); ``iterations`` counts
    optimiser iterations over all stages.
    """

    model: str
    params: dict[str, float] = field(hash=False)
    log_likelihood: float
    n_customers: int
    converged: bool
    message: str
    seconds: float
    iterations: int
    n_rows: int = 0


# --- input handling ------------------------------------------------------------------------------------------


def _as_1d(name: str, values) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        array = array.reshape(-1)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} has NaN or infinite values")
    return array


def _rfm_arrays(x, t_x, T, weights) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validated float arrays (x, t_x, T, weights); rows with weight 0 are dropped."""
    x, t_x, T = _as_1d("x", x), _as_1d("t_x", t_x), _as_1d("T", T)
    w = np.ones_like(x) if weights is None else _as_1d("weights", weights)
    if not x.shape == t_x.shape == T.shape == w.shape:
        raise ValueError(f"x, t_x, T and weights differ in length: {x.shape}, {t_x.shape}, {T.shape}, {w.shape}")
    if np.any(x < 0) or np.any(x != np.floor(x)):
        raise ValueError("x (repeat purchases) must be whole numbers >= 0")
    if np.any(t_x < 0) or np.any(t_x > T):
        raise ValueError("need 0 <= t_x <= T for every customer")
    if np.any(w < 0):
        raise ValueError("weights must be >= 0")
    keep = w > 0
    if not np.all(keep):
        x, t_x, T, w = x[keep], t_x[keep], T[keep], w[keep]
    return x, t_x, T, w


def group_rfm(x, t_x, T, weights=None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Collapse identical (x, t_x, T) rows into unique rows plus summed weights (customer counts).

    The likelihood of a group is its row's likelihood times its count, so fitting the grouped rows
    with these weights gives the same estimates as fitting every customer. With times recorded in
    whole days and ages up to a year, a million customers collapse to under 200,000 rows.
    """
    x, t_x, T, w = _rfm_arrays(x, t_x, T, weights)
    if x.size == 0:
        return x, t_x, T, w
    order = np.lexsort((T, t_x, x))
    xs, ts, Ts = x[order], t_x[order], T[order]
    new = np.empty(xs.size, dtype=bool)
    new[0] = True
    new[1:] = (xs[1:] != xs[:-1]) | (ts[1:] != ts[:-1]) | (Ts[1:] != Ts[:-1])
    starts = np.flatnonzero(new)
    return xs[starts], ts[starts], Ts[starts], np.add.reduceat(w[order], starts)


def _values(params, names: tuple[str, ...]) -> list[float]:
    """Parameter values from a mapping or a FitResult, in ``names`` order."""
    mapping = params.params if isinstance(params, FitResult) else params
    if not isinstance(mapping, Mapping):
        raise TypeError("params must be a mapping of parameter names to values, or a FitResult")
    missing = [n for n in names if n not in mapping]
    if missing:
        raise ValueError(f"params lack {missing}; need {list(names)}")
    return [float(mapping[n]) for n in names]


def _check_model(model: str) -> str:
    if model not in PURCHASE_MODELS:
        raise ValueError(f"model must be one of {PURCHASE_MODELS}, got {model!r}")
    return model


# --- BG/NBD and MBG/NBD likelihood ------------------------------------------------------------------------


def _dot(u: np.ndarray, v: np.ndarray) -> float:
    """Sum of u * v (einsum: single pass, no BLAS thread start-up on large vectors)."""
    return float(np.einsum("i,i->", u, v))


def _index_of_x(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct x values and each row's index into them; O(n) for the usual small whole-number x."""
    if x.size and x.max() <= 4 * x.size + 1000:
        counts = np.bincount(x.astype(np.int64))
        present = counts > 0
        position = np.cumsum(present) - 1
        return np.flatnonzero(present).astype(float), position[x.astype(np.int64)]
    return np.unique(x, return_inverse=True)


class _PurchaseData:
    """Fit-time arrays: rows, plus the distinct x values (x-only terms are computed once per x)."""

    def __init__(self, x, t_x, T, w, mbg: bool):
        self.x, self.t_x, self.T, self.w, self.mbg = x, t_x, T, w, mbg
        self.x_unique, self.x_index = _index_of_x(x)
        self.w_per_x = np.bincount(self.x_index, weights=w, minlength=self.x_unique.size)
        self.total = float(w.sum())
        self.shift = 1.0 if mbg else 0.0


def _purchase_loglik(log_params: np.ndarray, d: _PurchaseData, with_grad: bool = True):
    r"""Summed log-likelihood of BG/NBD (``s = 0``) or MBG/NBD (``s = 1``) and its log-parameter gradient.

    BG/NBD, Fader, Hardie & Lee (2005a) eq. (6) (section 7 for the log form)::

        L = B(a, b+x)/B(a, b) * G(r+x)/G(r) * alpha^r / (alpha+T)^(r+x)
            + [x > 0] * B(a+1, b+x-1)/B(a, b) * G(r+x)/G(r) * alpha^r / (alpha+t_x)^(r+x)

    MBG/NBD, Batislam, Denizel & Filiztekin (2007), appendix A::

        L = B(a, b+x+1)/B(a, b) * G(r+x)/G(r) * alpha^r / (alpha+T)^(r+x)
            + B(a+1, b+x)/B(a, b) * G(r+x)/G(r) * alpha^r / (alpha+t_x)^(r+x)

    Both are ``C(x) (alpha+T)^-(r+x) [1 + e^D]`` with ``C(x) = G(r+x)/G(r) alpha^r B(a, b+x+s)/B(a, b)``
    and ``D = log(a/(b+x+s-1)) + (r+x) log((alpha+T)/(alpha+t_x))`` (``D = -inf`` for BG/NBD
    one-time buyers), so ``log L = log C - (r+x) log(alpha+T) - log expit(-D)``: no overflow, no
    cancellation. ``expit(-D)`` is P(alive) and its complement weights the gradient terms.
    """
    r, alpha, a, b = np.exp(log_params)
    s, xu, w = d.shift, d.x_unique, d.w
    ab = a + b
    log_c = (special.gammaln(r + xu) - special.gammaln(r) + r * np.log(alpha)
             + special.gammaln(ab) + special.gammaln(b + xu + s) - special.gammaln(b) - special.gammaln(ab + xu + s))
    b_last = b + np.maximum(xu + s - 1.0, 0.0)  # b+x+s-1; the max only guards BG/NBD x == 0 (no such term)
    log_odds = np.log(a) - np.log(b_last)
    if not d.mbg:
        log_odds = np.where(xu > 0, log_odds, -np.inf)
    log_T, log_t = np.log(alpha + d.T), np.log(alpha + d.t_x)
    gap = log_T - log_t
    rx = r + d.x
    alive = special.expit(-(log_odds[d.x_index] + rx * gap))
    ll = float(np.dot(d.w_per_x, log_c) - _dot(w, rx * log_T + np.log(alive)))
    if not with_grad:
        return ll, None
    w_dead = w * (1.0 - alive)
    w_dead_per_x = np.bincount(d.x_index, weights=w_dead, minlength=xu.size)
    psi_ab, psi_abx = special.digamma(ab), special.digamma(ab + xu + s)
    inv_T = 1.0 / (alpha + d.T)
    grad = np.array([
        np.dot(d.w_per_x, special.digamma(r + xu) - special.digamma(r) + np.log(alpha))
        - _dot(w, log_T) + _dot(w_dead, gap),
        d.total * r / alpha - _dot(rx, w * inv_T + w_dead * (1.0 / (alpha + d.t_x) - inv_T)),
        np.dot(d.w_per_x, psi_ab - psi_abx) + w_dead_per_x.sum() / a,
        np.dot(d.w_per_x, psi_ab + special.digamma(b + xu + s) - special.digamma(b) - psi_abx)
        - np.dot(w_dead_per_x, 1.0 / b_last),
    ])
    return ll, grad * np.array([r, alpha, a, b])


# --- optimiser ------------------------------------------------------------------------------------------------


@dataclass
class _Optimum:
    log_params: np.ndarray
    converged: bool
    message: str
    iterations: int


def _maximise(loglik: Callable, start: np.ndarray, total: float) -> _Optimum:
    """Maximise ``loglik(log_params) -> (ll, grad)`` by L-BFGS-B on the mean log-likelihood.

    If L-BFGS-B stops inside the bounds but away from a stationary point, Nelder-Mead restarts from
    its end point and L-BFGS-B polishes the result. Converged means: finite, gradient below
    ``_GRAD_TOL`` and no parameter at the bounds ``[1e-5, 1e5]`` (after rescaling): a parameter
    running off to 0 or infinity is not identified by the data (e.g. no heterogeneity at all).
    """
    def objective(z):
        with np.errstate(all="ignore"):
            ll, grad = loglik(z)
        if not np.isfinite(ll) or not np.all(np.isfinite(grad)):
            return 1e300, np.zeros_like(z)
        return -ll / total, -grad / total

    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * start.size
    options = {"maxiter": 1000, "ftol": 1e-13, "gtol": 1e-9}
    res = optimize.minimize(objective, start, jac=True, method="L-BFGS-B", bounds=bounds, options=options)
    iterations = int(res.nit)
    if not _stationary(objective, res.x) and not _at_bound(res.x):
        simplex = optimize.minimize(lambda z: objective(z)[0], res.x, method="Nelder-Mead", bounds=bounds,
                                    options={"maxiter": 1000, "xatol": 1e-8, "fatol": 1e-13})
        res = optimize.minimize(objective, simplex.x, jac=True, method="L-BFGS-B", bounds=bounds, options=options)
        iterations += int(simplex.nit) + int(res.nit)
    value, grad = objective(res.x)
    if value >= 1e300:
        return _Optimum(res.x, False, "likelihood is not finite at the optimiser's end point", iterations)
    if _at_bound(res.x):
        return _Optimum(res.x, False, "a parameter ran to 0 or infinity: the data do not identify it", iterations)
    if not _stationary(objective, res.x):
        gmax = float(np.max(np.abs(grad)))
        return _Optimum(res.x, False, f"optimiser stopped before a stationary point ({res.message}; |grad| "
                                      f"{gmax:.2e})", iterations)
    return _Optimum(res.x, True, f"converged ({res.message})", iterations)


def _at_bound(z: np.ndarray) -> bool:
    return bool(np.any(np.abs(z) >= _LOG_BOUND - 1e-3))


def _stationary(objective: Callable, z: np.ndarray) -> bool:
    value, grad = objective(z)
    return bool(value < 1e300 and np.max(np.abs(grad)) < _GRAD_TOL)


def _failed(model: str, names: tuple[str, ...], n: float, rows: int, message: str, started: float,
            iterations: int = 0) -> FitResult:
    return FitResult(model=model, params=dict.fromkeys(names, float("nan")), log_likelihood=float("nan"),
                     n_customers=round(n), converged=False, message=message,
                     seconds=time.perf_counter() - started, iterations=iterations, n_rows=rows)


def _succeeded(model: str, names: tuple[str, ...], log_params: np.ndarray, ll: float, n: float, rows: int,
               optimum: _Optimum, started: float, note: str = "") -> FitResult:
    return FitResult(model=model, params=dict(zip(names, map(float, np.exp(log_params)), strict=True)),
                     log_likelihood=float(ll), n_customers=round(n), converged=True, message=optimum.message + note,
                     seconds=time.perf_counter() - started, iterations=optimum.iterations, n_rows=int(rows))


# --- fitters ---------------------------------------------------------------------------------------------------


def fit_bgnbd(x, t_x, T, weights=None, *, model: str = MBGNBD, group: bool = True,
              min_repeat_buyers: int = DEFAULT_MIN_REPEAT_BUYERS) -> FitResult:
    """Maximum-likelihood fit of MBG/NBD (default) or BG/NBD (``model="bgnbd"``).

    ``weights`` are optional customer counts per row. ``group=True`` first collapses identical
    (x, t_x, T) rows (:func:`group_rfm`); the estimates are the same either way, grouping is only
    faster. Fewer than ``min_repeat_buyers`` customers with ``x > 0`` gives ``converged=False``:
    without repeat purchases the purchase rate and the drop-out are not identified.

    The optimiser works on log-parameters with time rescaled so that the largest ``T`` is 10;
    ``alpha`` is scaled back and ``log_likelihood`` re-evaluated on the original time scale.
    """
    started = time.perf_counter()
    _check_model(model)
    x, t_x, T, w = group_rfm(x, t_x, T, weights) if group else _rfm_arrays(x, t_x, T, weights)
    n, repeat_buyers = float(w.sum()), float(w[x > 0].sum())
    if repeat_buyers < max(min_repeat_buyers, 1):
        return _failed(model, PURCHASE_PARAMS, n, x.size, f"too few repeat buyers: {repeat_buyers:g} customers with "
                       f"x > 0, need at least {max(min_repeat_buyers, 1)}", started)
    if float(T.max()) <= 0:
        return _failed(model, PURCHASE_PARAMS, n, x.size, "every customer has age T == 0", started)
    scale = 10.0 / float(T.max())
    scaled = _PurchaseData(x, t_x * scale, T * scale, w, mbg=model == MBGNBD)
    optimum = _maximise(lambda z: _purchase_loglik(z, scaled), np.zeros(4), n)
    if not optimum.converged:
        return _failed(model, PURCHASE_PARAMS, n, x.size, optimum.message, started, optimum.iterations)
    log_params = optimum.log_params - np.array([0.0, np.log(scale), 0.0, 0.0])
    ll, _ = _purchase_loglik(log_params, _PurchaseData(x, t_x, T, w, mbg=model == MBGNBD), with_grad=False)
    return _succeeded(model, PURCHASE_PARAMS, log_params, ll, n, x.size, optimum, started)


def _gamma_gamma_loglik(log_params: np.ndarray, x: np.ndarray, z: np.ndarray, w: np.ndarray, with_grad: bool = True):
    """Summed Gamma-Gamma log-likelihood of average repeat-order values and its log-parameter gradient.

    Fader & Hardie (2013), note 025 (the marginal density of the average z given x; FHL 2005b)::

        f(z | x) = G(px+q) / (G(px) G(q)) * gamma^q * z^(px-1) * x^(px) / (gamma + x z)^(px+q)
    """
    p, q, g = np.exp(log_params)
    px = p * x
    log_z, log_x, log_gxz = np.log(z), np.log(x), np.log(g + x * z)
    gl_pxq = special.gammaln(px + q)
    ll_rows = gl_pxq - special.gammaln(px) - special.gammaln(q) + q * np.log(g) + (px - 1) * log_z + px * log_x \
        - (px + q) * log_gxz
    ll = float(np.dot(w, ll_rows))
    if not with_grad:
        return ll, None
    psi_pxq = special.digamma(px + q)
    grad = np.array([
        np.dot(w, x * (psi_pxq - special.digamma(px) + log_z + log_x - log_gxz)),
        np.dot(w, psi_pxq - special.digamma(q) + np.log(g) - log_gxz),
        np.dot(w, q / g - (px + q) / (g + x * z)),
    ])
    return ll, grad * np.array([p, q, g])


def fit_gamma_gamma(x, avg_value, weights=None, *, min_repeat_buyers: int = DEFAULT_MIN_REPEAT_BUYERS) -> FitResult:
    """Maximum-likelihood fit of the Gamma-Gamma spend model on repeat buyers.

    ``x`` is the number of repeat purchases and ``avg_value`` the average value of those repeat
    purchases (the first purchase is left out, as in the papers). Rows with ``x == 0`` are ignored
    (nothing to average), as are rows with ``avg_value <= 0`` (the model is for positive spend;
    their count is given in ``message``). ``n_customers`` counts the rows used.
    """
    started = time.perf_counter()
    x, z = _as_1d("x", x), _as_1d("avg_value", avg_value)
    w = np.ones_like(x) if weights is None else _as_1d("weights", weights)
    if not x.shape == z.shape == w.shape:
        raise ValueError(f"x, avg_value and weights differ in length: {x.shape}, {z.shape}, {w.shape}")
    if np.any(x < 0) or np.any(x != np.floor(x)) or np.any(w < 0):
        raise ValueError("x must be whole numbers >= 0 and weights >= 0")
    repeat = (x > 0) & (w > 0)
    usable = repeat & (z > 0)
    dropped = float(w[repeat & ~usable].sum())
    note = f"; ignored {dropped:g} repeat buyers with avg_value <= 0" if dropped else ""
    x, z, w = x[usable], z[usable], w[usable]
    n = float(w.sum())
    if n < max(min_repeat_buyers, 1):
        return _failed(GAMMA_GAMMA, GAMMA_GAMMA_PARAMS, n, x.size, f"too few repeat buyers: {n:g} with x > 0 and "
                       f"avg_value > 0, need at least {max(min_repeat_buyers, 1)}{note}", started)
    scale = 1.0 / float(np.average(z, weights=w))
    optimum = _maximise(lambda lp: _gamma_gamma_loglik(lp, x, z * scale, w), np.zeros(3), n)
    if not optimum.converged:
        return _failed(GAMMA_GAMMA, GAMMA_GAMMA_PARAMS, n, x.size, optimum.message + note, started,
                       optimum.iterations)
    log_params = optimum.log_params - np.array([0.0, 0.0, np.log(scale)])
    ll, _ = _gamma_gamma_loglik(log_params, x, z, w, with_grad=False)
    return _succeeded(GAMMA_GAMMA, GAMMA_GAMMA_PARAMS, log_params, ll, n, x.size, optimum, started, note)


# --- predictions ---------------------------------------------------------------------------------------------


def p_alive(model: str, params, x, t_x, T) -> np.ndarray:
    """P(customer still alive at T | x, t_x, T), vectorised.

    BG/NBD, Fader, Hardie & Lee (2005a) model; formula from Hardie's note 021, "Computing P(alive)
    using the BG/NBD model"::

        P = 1 / (1 + [x > 0] * a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x))

    so ``x == 0`` gives exactly 1. MBG/NBD, Batislam et al. (2007) appendix A, eq. (5)::

        P = 1 / (1 + a/(b+x) * ((alpha+T)/(alpha+t_x))^(r+x))

    which is below 1 for everyone and, for ``x == 0``, falls as T grows. Computed as
    ``expit(-log odds)`` with ``log1p`` for the ratio.
    """
    mbg = _check_model(model) == MBGNBD
    r, alpha, a, b = _values(params, PURCHASE_PARAMS)
    x, t_x, T = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, t_x, T)))
    b_last = b + (x if mbg else np.maximum(x - 1.0, 0.0))
    log_odds_dead = np.log(a) - np.log(b_last) + (r + x) * np.log1p((T - t_x) / (alpha + t_x))
    alive = special.expit(-log_odds_dead)
    return alive if mbg else np.where(x > 0, alive, 1.0)


def _expected_if_alive(mbg: bool, params: list[float], t, x, T) -> np.ndarray:
    """E[purchases in (T, T+t] | alive at T, x, T].

    With ``b' = b+x`` (BG/NBD) or ``b+x+1`` (MBG/NBD) -- the posterior Beta of p given alive --
    FHL (2005a) eq. (10) and Wagner & Hoppe (2008) give::

        (a+b'-1)/(a-1) * [1 - ((alpha+T)/(alpha+T+t))^(r+x) * 2F1(r+x, b'; a+b'-1; z)],
        z = t/(alpha+T+t)

    Euler's transformation 2F1(A,B;C;z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z) turns the bracket into
    ``1 - (1-z)^(a-1) * 2F1(a+b'-1-r-x, a-1; a+b'-1; z)``, whose series converges fast however
    large x is (its first parameter does not grow with x, its third does). The bracket is then
    ``-expm1(u) - e^u (F - 1)`` with ``u = (a-1) log(1-z)``. ``a == 1`` is a removable 0/0: near it
    the value is the mean of the values at ``a = 1 -+ 2e-6``.
    """
    r, alpha, a, b = params
    if abs(a - 1.0) < _A_NEAR_ONE:
        lower = _expected_if_alive(mbg, [r, alpha, 1.0 - 2 * _A_NEAR_ONE, b], t, x, T)
        upper = _expected_if_alive(mbg, [r, alpha, 1.0 + 2 * _A_NEAR_ONE, b], t, x, T)
        return (lower + upper) / 2.0
    b_post = b + x + (1.0 if mbg else 0.0)
    c = a + b_post - 1.0
    u = (a - 1.0) * -np.log1p(t / (alpha + T))
    hyp = special.hyp2f1(c - r - x, a - 1.0, c, t / (alpha + T + t))
    bracket = -np.expm1(u) - np.exp(u) * (hyp - 1.0)
    return c / (a - 1.0) * bracket


def expected_purchases(model: str, params, t, x, t_x, T) -> np.ndarray:
    """Expected number of purchases in the next ``t`` time units, given (x, t_x, T), vectorised.

    ``P(alive) * E[purchases in (T, T+t] | alive]``: FHL (2005a) eq. (10) for BG/NBD; for MBG/NBD
    the Wagner & Hoppe (2008) correction of the Batislam et al. (2007) expression (see
    :func:`_expected_if_alive`). For a brand-new customer (x = t_x = T = 0) this is the
    unconditional expectation (FHL 2005a eq. (9)). ``t`` broadcasts against the customer arrays.
    """
    mbg = _check_model(model) == MBGNBD
    values = _values(params, PURCHASE_PARAMS)
    t, x, t_x, T = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (t, x, t_x, T)))
    alive = p_alive(model, params, x, t_x, T)
    pairs = _distinct_x_and_T(x, T) if t.size and np.all(t == t.flat[0]) else None
    if pairs is None:
        return alive * _expected_if_alive(mbg, values, t, x, T)
    x_u, T_u, index = pairs
    return alive * _expected_if_alive(mbg, values, float(t.flat[0]), x_u, T_u)[index].reshape(x.shape)


def expected_purchases_unconditional(model: str, params, t) -> np.ndarray:
    """E[X(t)]: expected repeat purchases in ``(0, t]`` of a customer whose first purchase was at 0, knowing
    nothing else (the population mean curve; for the expected cumulative purchases of a cohort). Vectorised
    over ``t`` (time units since the first purchase, >= 0; ``t = 0`` gives 0).

    BG/NBD, FHL (2005a) eq. (9)::

        E[X(t)] = (a+b-1)/(a-1) * [1 - (alpha/(alpha+t))^r * 2F1(r, b; a+b-1; t/(alpha+t))]

    MBG/NBD, Batislam et al. (2007)::

        E[X(t)] = b/(a-1) * [1 - (alpha/(alpha+t))^r * 2F1(r, b+1; a+b; t/(alpha+t))]

    (lifetimes' ``expected_number_of_purchases_up_to_time`` of ``BetaGeoFitter`` / ``ModifiedBetaGeoFitter``).
    Both are :func:`expected_purchases` at x = t_x = T = 0: P(alive) there is 1 (BG/NBD) or b/(a+b) (MBG/NBD,
    the first coin), times the bracket with the posterior b' = b (+1), so the same Euler-transformed series and
    ``a == 1`` handling apply. As t grows it tends to E[1/p] = (a+b-1)/(a-1) (BG/NBD) or b/(a-1) (MBG/NBD),
    and is infinite in the limit for a <= 1.
    """
    _check_model(model)
    t = np.asarray(t, dtype=float)
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError("t must be finite and >= 0")
    return expected_purchases(model, params, t, 0.0, 0.0, 0.0)


def _distinct_x_and_T(x: np.ndarray, T: np.ndarray, min_size: int = 20_000):
    """(distinct x, matching T, index of each customer) for large arrays of whole-number x, else None.

    The hypergeometric function dominates prediction time and depends on (x, T) only; with ages in
    whole days a million customers have a few ten thousand distinct pairs.
    """
    if x.size < min_size or not (np.all(np.isfinite(x)) and np.all(np.isfinite(T))):
        return None
    flat_x, flat_T = x.reshape(-1), T.reshape(-1)
    if np.any(flat_x < 0) or np.any(flat_x != np.floor(flat_x)) or flat_x.max() > 1e9:
        return None
    T_values, T_index = np.unique(flat_T, return_inverse=True)
    keys, index = np.unique(flat_x.astype(np.int64) * T_values.size + T_index, return_inverse=True)
    return (keys // T_values.size).astype(float), T_values[keys % T_values.size], index


def expected_avg_value(params, x, avg_value) -> np.ndarray:
    """Gamma-Gamma expected average order value given x repeat purchases averaging ``avg_value``.

    FHL (2005b) / Fader & Hardie (2013), note 025::

        E[M | x, z] = p (gamma + x z) / (p x + q - 1)
                    = (q-1)/(px+q-1) * p gamma/(q-1) + px/(px+q-1) * z

    a weighted mean of the population mean ``p gamma/(q-1)`` and the customer's own average.
    ``x == 0`` gives the population mean (``avg_value`` is ignored there). NaN where
    ``p x + q <= 1`` (the mean is infinite: with ``q <= 1`` for customers without repeat purchases).
    """
    p, q, g = _values(params, GAMMA_GAMMA_PARAMS)
    x, z = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(avg_value, dtype=float))
    z = np.where(x > 0, z, 0.0)
    denominator = p * x + q - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, p * (g + x * z) / denominator, np.nan)


def expected_value(model: str, params, x, t_x, T, order_value, *, horizon: float = 52.0, steps: int = 12,
                   margin: float = 1.0, annual_discount_rate: float = 0.0,
                   periods_per_year: float = 52.0) -> np.ndarray:
    """Expected discounted value of each customer's purchases over the next ``horizon`` time units.

    The horizon is cut into ``steps`` equal slices (default: 52 weeks in 12 "months"); each slice
    contributes its expected purchases (difference of :func:`expected_purchases` at its ends) times
    ``order_value`` times ``margin``, discounted from the slice end at ``annual_discount_rate``
    with ``periods_per_year`` time units per year::

        value = sum_k [E(tau_k) - E(tau_{k-1})] * order_value * margin / (1 + d)^(tau_k / periods_per_year)

    the discrete-time CLV sum of FHL (2005b) section 4 / lifetimes' ``customer_lifetime_value``
    (which uses a monthly rate: monthly ``m`` is annual ``(1+m)^12 - 1``). ``order_value`` is
    usually :func:`expected_avg_value`. Loops over the ``steps`` slices only, never over customers;
    large inputs are evaluated once per distinct (x, T) pair.
    """
    if steps < 1 or horizon <= 0 or periods_per_year <= 0 or annual_discount_rate <= -1:
        raise ValueError("need steps >= 1, horizon > 0, periods_per_year > 0 and annual_discount_rate > -1")
    mbg = _check_model(model) == MBGNBD
    values = _values(params, PURCHASE_PARAMS)
    x, t_x, T, order_value = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, t_x, T, order_value)))
    pairs = _distinct_x_and_T(x, T)
    x_u, T_u = (pairs[0], pairs[1]) if pairs is not None else (x, T)
    total = np.zeros(x_u.shape)
    previous = np.zeros(x_u.shape)
    for k in range(1, steps + 1):
        tau = horizon * k / steps
        cumulative = _expected_if_alive(mbg, values, tau, x_u, T_u)
        total += (cumulative - previous) * (1.0 + annual_discount_rate) ** (-tau / periods_per_year)
        previous = cumulative
    if pairs is not None:
        total = total[pairs[2]].reshape(x.shape)
    return p_alive(model, params, x, t_x, T) * total * order_value * margin
