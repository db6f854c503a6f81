"""``python -m benchmarks.clv_fit``: fitting the CLV models on a million customers' summaries, beside lifetimes.

Simulates N customers' BG/NBD summaries in weeks (seed-fixed, vectorised numpy; see
:func:`simulate`), times the project's fitters on them (``lifecycle_pipeline.clv_models``:
MBG/NBD, BG/NBD and Gamma-Gamma, one run each), then times lifetimes' ``ModifiedBetaGeoFitter``,
``BetaGeoFitter`` and ``GammaGammaFitter`` on the same rows in a subprocess
(``clv_fit_peer.py``; lifetimes is the optional ``bench`` extra, never a runtime dependency),
and once more on the grouped rows with lifetimes' ``weights``. Prints a table and writes
``benchmarks/results/clv_fit.json`` (a run with another ``--customers`` writes
``clv_fit-<N>c.json``). Target: the fits a daily run makes (MBG/NBD + Gamma-Gamma) on 1M
customers in under 10 s on 2 cores. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import scipy

from benchmarks.floor import lifetimes_python
from benchmarks.measure import git_state, load_average, machine, now_iso
from lifecycle_pipeline import clv_models

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PEER = Path(__file__).resolve().parent / "clv_fit_peer.py"
DEFAULT_CUSTOMERS = 1_000_000
TARGET_SECONDS = 10.0

# The simulated world: weeks; first purchases spread over the first 52 weeks of a 78-week window.
PERIOD_WEEKS, ENTRY_WEEKS, DAYS_PER_WEEK = 78, 52, 7
TRUTH = {"bgnbd": {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.4}, "gamma_gamma": {"p": 6.0, "q": 4.0, "gamma": 15.0}}

# model key -> (our model argument, lifetimes fitter, label); lifetimes calls Gamma-Gamma's gamma "v"
MODELS = {
    "mbgnbd": ("mbgnbd", "ModifiedBetaGeoFitter", "MBG/NBD"),
    "bgnbd": ("bgnbd", "BetaGeoFitter", "BG/NBD"),
    "gamma_gamma": (None, "GammaGammaFitter", "Gamma-Gamma"),
}
LIFETIMES_NAMES = {"v": "gamma"}
PIPELINE_FITS = ("mbgnbd", "gamma_gamma")  # what a daily run fits with the default settings


@dataclass
class Summaries:
    """Per-customer summaries in weeks, as ``sql/scoring/clv_summary.sql`` gives them."""

    x: np.ndarray  # repeat purchases: distinct purchase days after the first
    t_x: np.ndarray  # first to last purchase day, in weeks (a multiple of 1/7)
    T: np.ndarray  # first purchase day to the last day of the window, in weeks
    avg_value: np.ndarray  # revenue of the repeat days / x; NaN when x == 0
    seconds: float
    rounds: int  # purchase rounds simulated (the longest customer's purchase count)

    @property
    def repeat_buyers(self) -> int:
        return int(np.count_nonzero(self.x))


def simulate(customers: int, seed: int) -> Summaries:
    """N customers' summaries from the BG/NBD and Gamma-Gamma stories with the ``TRUTH`` parameters.

    Each customer makes a first purchase at a uniform instant of the first ``ENTRY_WEEKS`` weeks;
    while alive they buy at Poisson rate ``lambda ~ Gamma(r, rate alpha)``, and after each purchase
    following the first they drop out with probability ``p ~ Beta(a, b)`` (BG/NBD). Each purchase is
    worth ``Gamma(p, rate nu)`` with ``nu ~ Gamma(q, rate gamma)`` per customer. Instants become
    days as in the warehouse; as in the pipeline's summary a day with several purchases is one
    purchase worth their sum, and the window ends with day ``PERIOD_WEEKS * 7 - 1``. Vectorised
    over customers: each round draws the next purchase of every customer still alive and in the
    window.
    """
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    bg, gg = TRUTH["bgnbd"], TRUTH["gamma_gamma"]
    now = rng.uniform(0.0, ENTRY_WEEKS, customers)
    first_day = np.floor(now * DAYS_PER_WEEK).astype(np.int64)
    rate = rng.gamma(bg["r"], 1.0 / bg["alpha"], customers)
    dropout = rng.beta(bg["a"], bg["b"], customers)
    nu = rng.gamma(gg["q"], 1.0 / gg["gamma"], customers)
    last_day = first_day.copy()
    x = np.zeros(customers, dtype=np.int64)
    repeat_revenue = np.zeros(customers)
    alive = np.flatnonzero(rate > 0)
    rounds = 0
    while alive.size:
        rounds += 1
        now[alive] += rng.exponential(1.0, alive.size) / rate[alive]
        alive = alive[now[alive] < PERIOD_WEEKS]
        day = np.floor(now[alive] * DAYS_PER_WEEK).astype(np.int64)
        value = rng.gamma(gg["p"], 1.0, alive.size) / nu[alive]
        x[alive] += day > last_day[alive]
        last_day[alive] = day
        repeat = day > first_day[alive]
        repeat_revenue[alive[repeat]] += value[repeat]
        alive = alive[rng.random(alive.size) >= dropout[alive]]
    with np.errstate(invalid="ignore", divide="ignore"):
        avg_value = np.where(x > 0, repeat_revenue / x, np.nan)
    return Summaries(x=x.astype(float), t_x=(last_day - first_day) / DAYS_PER_WEEK,
                     T=(PERIOD_WEEKS * DAYS_PER_WEEK - 1 - first_day) / DAYS_PER_WEEK, avg_value=avg_value,
                     seconds=round(time.perf_counter() - started, 3), rounds=rounds)


# --- our side --------------------------------------------------------------------------------------------------


def _fit_figures(fit: clv_models.FitResult, seconds: float) -> dict:
    return {"seconds": round(seconds, 3), "fit_result_seconds": round(fit.seconds, 3), "params": fit.params,
            "log_likelihood": fit.log_likelihood, "converged": fit.converged, "message": fit.message,
            "iterations": fit.iterations, "rows": fit.n_rows, "customers": fit.n_customers}


def fit_ours(s: Summaries) -> dict:
    """Each of our fits once on the arrays; ``seconds`` is the call's wall clock (validation and grouping included)."""
    started = time.perf_counter()
    grouped = clv_models.group_rfm(s.x, s.t_x, s.T)
    group_seconds = time.perf_counter() - started
    result: dict = {}
    for key, (model, _, _) in MODELS.items():
        started = time.perf_counter()
        if model is None:
            fit = clv_models.fit_gamma_gamma(s.x, np.nan_to_num(s.avg_value))
        else:
            fit = clv_models.fit_bgnbd(s.x, s.t_x, s.T, model=model)
        result[key] = _fit_figures(fit, time.perf_counter() - started)
    return {
        **{f"{key}_seconds": result[key]["seconds"] for key in MODELS},
        "total_seconds": round(sum(result[key]["seconds"] for key in MODELS), 3),
        "pipeline_seconds": round(sum(result[key]["seconds"] for key in PIPELINE_FITS), 3),
        "group_seconds": round(group_seconds, 3),
        "rows_after_grouping": int(grouped[0].size),
        **result,
    }


# --- lifetimes' side -------------------------------------------------------------------------------------------


def write_summaries(s: Summaries, path: Path, grouped: bool = False) -> int:
    """The summaries (or, ``grouped``, the distinct (x, t_x, T) rows with a ``weight``) as Parquet; returns rows."""
    if grouped:
        x, t_x, T, weight = clv_models.group_rfm(s.x, s.t_x, s.T)
        columns = {"x": x, "t_x": t_x, "T": T, "avg_value": np.full(x.size, np.nan), "weight": weight}
    else:
        columns = {"x": s.x, "t_x": s.t_x, "T": s.T, "avg_value": s.avg_value}
    pq.write_table(pa.table(columns), path)
    return len(columns["x"])


def _json_lines(text: str | bytes | None) -> list[dict]:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    lines = []
    for line in (text or "").splitlines():
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return lines


def run_peer(path: Path, timeout: float, weighted: bool) -> dict:
    """lifetimes' fits on the Parquet summaries in a subprocess, killed after ``timeout`` seconds.

    Returns ``{"python", "versions", "<model>": {...}, "<model>_seconds", ...}`` or ``{"reason": ...}``
    when lifetimes is not available; a fit that did not finish in time is ``{"status": "timeout"}``.
    """
    python, origin = lifetimes_python()
    if python is None:
        return {"reason": origin}
    command = [python, str(PEER), "--summaries", str(path)] + (["--weights"] if weighted else [])
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        stdout, failure = done.stdout, None
        if done.returncode != 0:
            failure = (done.stderr.strip().splitlines() or ["no output"])[-1]
    except subprocess.TimeoutExpired as expired:
        stdout, failure = expired.stdout, f"timeout: killed after {timeout:g} s"
    lines = _json_lines(stdout)
    final = next((line for line in lines if "fits" in line), None)
    fits = final["fits"] if final else [line["fit"] for line in lines if "fit" in line]
    by_fitter = {fit["fitter"]: fit for fit in fits}
    result: dict = {"python": origin, "versions": final["versions"] if final else None,
                    "wall_seconds": round(time.perf_counter() - started, 3), "timeout_seconds": timeout}
    if failure:
        result["failure"] = failure
    for key, (_, fitter, _) in MODELS.items():
        if weighted and key == "gamma_gamma":
            continue
        fit = by_fitter.get(fitter)
        if fit is None:
            fit = {"fitter": fitter, "status": "timeout" if failure and failure.startswith("timeout") else "not run",
                   "params": None}
        elif fit.get("params"):
            fit["params"] = {LIFETIMES_NAMES.get(k, k): v for k, v in fit["params"].items()}
        result[key] = fit
        result[f"{key}_seconds"] = fit["seconds"] if fit.get("params") else None
    return result


# --- comparison and report -------------------------------------------------------------------------------------


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return round(numerator / denominator, 1) if numerator is not None and denominator else None


def agreement(ours: dict, peer: dict | None) -> dict:
    """Per model: |ours - lifetimes| / |lifetimes| per parameter, the largest, and our LL minus lifetimes' LL."""
    result = {}
    for key in MODELS:
        theirs = (peer or {}).get(key) or {}
        if not theirs.get("params") or not ours[key]["converged"]:
            result[key] = None
            continue
        rel = {name: abs(value - theirs["params"][name]) / abs(theirs["params"][name])
               for name, value in ours[key]["params"].items()}
        ll = theirs.get("log_likelihood")
        result[key] = {"relative_difference": rel, "max_relative_difference": max(rel.values()),
                       "log_likelihood_ours_minus_lifetimes":
                           None if ll is None else ours[key]["log_likelihood"] - ll}
    return result


def _peer_seconds(peer: dict, key: str, without_hessian: bool) -> float | None:
    seconds = peer.get(f"{key}_seconds")
    if seconds is None or not without_hessian:
        return seconds
    return round(seconds - (peer[key].get("hessian_seconds") or 0.0), 3)


def speedups(ours: dict, peer: dict | None, without_hessian: bool = False) -> dict:
    """lifetimes seconds / ours per model and in total; ``without_hessian``: lifetimes' standard-error Hessian left out."""
    peer = peer or {}
    theirs = {key: _peer_seconds(peer, key, without_hessian) for key in MODELS}
    result = {key: _ratio(theirs[key], ours[f"{key}_seconds"]) for key in MODELS}
    complete = all(t is not None for t in theirs.values())
    result["total"] = _ratio(sum(theirs.values()), ours["total_seconds"]) if complete else None
    return result


def _versions() -> dict:
    return {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
            "pyarrow": pa.__version__}


def build_result(args, s: Summaries, ours: dict, peer: dict, peer_weighted: dict | None, load: list | None) -> dict:
    lifetimes = None if "reason" in peer else peer
    return {
        "scenario": "clv_fit",
        "date": now_iso(),
        "machine": machine(),
        "load_average_at_start": load,
        "versions": _versions(),
        "git": git_state(PROJECT_ROOT),
        "customers": args.customers,
        "seed": args.seed,
        "repeat_buyers": s.repeat_buyers,
        "simulation": {"truth": TRUTH, "period_weeks": PERIOD_WEEKS, "entry_weeks": ENTRY_WEEKS,
                       "time_unit": "week (times are whole days / 7)", "seconds": s.seconds, "rounds": s.rounds,
                       "mean_x": round(float(s.x.mean()), 4), "max_x": int(s.x.max())},
        "ours": ours,
        "lifetimes": lifetimes,
        "lifetimes_reason": peer.get("reason") or peer.get("failure"),
        "lifetimes_weighted": peer_weighted,
        "speedup": speedups(ours, lifetimes),
        "speedup_weighted": speedups(ours, peer_weighted) if peer_weighted and "reason" not in peer_weighted
        else None,
        "speedup_without_lifetimes_hessian": speedups(ours, lifetimes, without_hessian=True),
        "speedup_note": "lifetimes seconds / our seconds for the same fit (> 1: ours is faster); speedup: lifetimes "
                        "on the same rows as ours; speedup_weighted: lifetimes on the grouped rows with weights "
                        "(BG/NBD-type fits only); speedup_without_lifetimes_hessian: lifetimes on the same rows "
                        "minus the autograd Hessian its fit() computes for standard errors (ours computes none)",
        "agreement": agreement(ours, lifetimes),
        "target_seconds": TARGET_SECONDS,
        "target_measure": "ours.pipeline_seconds: MBG/NBD + Gamma-Gamma, the fits of a daily run (default model)",
        "met": ours["pipeline_seconds"] < TARGET_SECONDS,
        "met_all_three": ours["total_seconds"] < TARGET_SECONDS,
    }


def _num(value, fmt: str = ".2f") -> str:
    return "n/a" if value is None else format(value, fmt)


def _peer_cell(peer: dict | None, key: str) -> str:
    fit = (peer or {}).get(key)
    if not peer or "reason" in peer:
        return "n/a"
    if fit is None:
        return "-"
    return _num(fit["seconds"]) if fit.get("params") else fit.get("status") or "failed"


def _hessian_cell(peer: dict | None, key: str) -> str:
    seconds = ((peer or {}).get(key) or {}).get("hessian_seconds")
    return "" if seconds is None else f"({seconds:.2f})"


def table_lines(r: dict) -> list[str]:
    ours, peer, weighted = r["ours"], r["lifetimes"], r["lifetimes_weighted"]
    header = (f"  {'model':<12} {'ours s':>8} {'lifetimes s':>12} {'speedup':>8} {'(Hessian s)':>11} "
              f"{'lt weighted s':>14} {'speedup':>8}  {'max rel diff':>12} {'LL ours - lt':>13}")
    lines = [header]
    for key, (_, _, label) in MODELS.items():
        agree = r["agreement"].get(key) or {}
        ll_gap = agree.get("log_likelihood_ours_minus_lifetimes")
        lines.append(f"  {label:<12} {ours[f'{key}_seconds']:>8.2f} {_peer_cell(peer, key):>12} "
                     f"{_num(r['speedup'][key], '.1f'):>8} {_hessian_cell(peer, key):>11} "
                     f"{_peer_cell(weighted, key):>14} "
                     f"{_num((r['speedup_weighted'] or {}).get(key), '.1f'):>8}  "
                     f"{_num(agree.get('max_relative_difference'), '.1e'):>12} {_num(ll_gap, '+.3f'):>13}")
    peer_total = sum(peer[f"{k}_seconds"] for k in MODELS) if peer and r["speedup"]["total"] else None
    lines.append(f"  {'total':<12} {ours['total_seconds']:>8.2f} {_num(peer_total):>12} "
                 f"{_num(r['speedup']['total'], '.1f'):>8}")
    if peer and r["speedup"]["total"]:
        bare = r["speedup_without_lifetimes_hessian"]
        lines.append("  speedup without lifetimes' standard-error Hessian: "
                     + ", ".join(f"{MODELS[k][2]} {_num(bare[k], '.1f')}" for k in MODELS)
                     + f", total {_num(bare['total'], '.1f')}")
    return lines


def param_lines(r: dict) -> list[str]:
    lines = [f"  {'model':<12} {'param':<6} {'truth':>8} {'ours':>12} {'lifetimes':>12} {'rel diff':>9}"]
    for key, (_, _, label) in MODELS.items():
        truth = TRUTH["gamma_gamma" if key == "gamma_gamma" else "bgnbd"]
        theirs = ((r["lifetimes"] or {}).get(key) or {}).get("params") or {}
        rel = (r["agreement"].get(key) or {}).get("relative_difference") or {}
        for name, value in r["ours"][key]["params"].items():
            lines.append(f"  {label:<12} {name:<6} {truth[name]:>8.3f} {value:>12.5f} "
                         f"{_num(theirs.get(name), '.5f'):>12} {_num(rel.get(name), '.1e'):>9}")
    return lines


def print_report(r: dict, output: Path) -> None:
    ours = r["ours"]
    print()
    print(f"clv_fit: {r['customers']:,} customers, {r['repeat_buyers']:,} repeat buyers, seed {r['seed']} "
          f"(simulated in {r['simulation']['seconds']:.2f} s); {ours['rows_after_grouping']:,} distinct "
          f"(x, t_x, T) rows (grouping {ours['group_seconds']:.2f} s, inside each purchase fit)")
    print(f"machine: {r['machine']}; load average at start {r['load_average_at_start']}")
    if r["lifetimes"]:
        versions = r["lifetimes"].get("versions") or {}
        print(f"lifetimes {versions.get('lifetimes')} ({r['lifetimes']['python']}); same rows as ours"
              + (f"; {r['lifetimes']['failure']}" if r["lifetimes"].get("failure") else ""))
    else:
        print(f"lifetimes: n/a ({r['lifetimes_reason']})")
    print("\n".join(table_lines(r)))
    print("\n".join(param_lines(r)))
    for key in MODELS:
        if not ours[key]["converged"]:
            print(f"  ours {key} did not converge: {ours[key]['message']}")
    verdict = "met" if r["met"] else "NOT met"
    print(f"target: MBG/NBD + Gamma-Gamma (a daily run's fits) {ours['pipeline_seconds']:.2f} s "
          f"< {r['target_seconds']:g} s: {verdict} (all three {ours['total_seconds']:.2f} s)")
    print(f"written: {output}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.clv_fit", description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=DEFAULT_CUSTOMERS, help="customers to simulate")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the simulation")
    parser.add_argument("--out", type=Path, help="JSON output (default benchmarks/results/clv_fit.json, or "
                                                 "clv_fit-<N>c.json when --customers is not 1,000,000)")
    parser.add_argument("--lifetimes-timeout", type=float, default=900.0,
                        help="seconds before each lifetimes subprocess is killed (default 900)")
    parser.add_argument("--no-lifetimes", action="store_true", help="skip lifetimes altogether")
    parser.add_argument("--no-lifetimes-weighted", action="store_true",
                        help="skip lifetimes on the grouped rows with weights")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.customers < 1:
        raise SystemExit("--customers must be >= 1")
    suffix = "" if args.customers == DEFAULT_CUSTOMERS else f"-{args.customers}c"
    output = args.out or PROJECT_ROOT / "benchmarks" / "results" / f"clv_fit{suffix}.json"
    load = load_average()
    summaries = simulate(args.customers, args.seed)
    ours = fit_ours(summaries)
    peer: dict = {"reason": "skipped (--no-lifetimes)"}
    peer_weighted = None
    if not args.no_lifetimes:
        with tempfile.TemporaryDirectory(prefix="clv_fit_") as tmp:
            path = Path(tmp) / "summaries.parquet"
            write_summaries(summaries, path)
            peer = run_peer(path, args.lifetimes_timeout, weighted=False)
            if not args.no_lifetimes_weighted and "reason" not in peer:
                write_summaries(summaries, path, grouped=True)
                peer_weighted = run_peer(path, args.lifetimes_timeout, weighted=True)
    result = build_result(args, summaries, ours, peer, peer_weighted, load)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    print_report(result, output)


if __name__ == "__main__":
    main()
