"""The lifetimes side of the CLV fitting benchmark, run in its own process (it may be another virtualenv's Python).

    python benchmarks/clv_fit_peer.py --summaries summaries.parquet [--weights]

Reads per-customer BG/NBD summaries from Parquet (``x``, ``t_x``, ``T``, ``avg_value``; with
``--weights`` also ``weight``: identical customers grouped into one row) and times
``GammaGammaFitter().fit(frequency, monetary_value)`` on the repeat buyers (``x > 0``; skipped
with ``--weights``: average values do not group), ``BetaGeoFitter().fit(frequency, recency, T)``
and ``ModifiedBetaGeoFitter().fit(frequency, recency, T)``, each once, with lifetimes' defaults.
A ``fit`` call includes lifetimes' autograd Hessian for standard errors; its time is also given
apart (``hessian_seconds``).

Prints one JSON line per fit as it ends (so a caller that kills a slow run keeps the finished
fits), then one final JSON line with every fit and the versions. Imports nothing of the project,
so it runs wherever lifetimes, pandas and pyarrow are installed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings


def _timed_hessian(original, spent: list[float]):
    """Wrap autograd's ``hessian`` so that the time spent evaluating Hessians is added to ``spent``."""

    def make(function, *args, **kwargs):
        evaluate = original(function, *args, **kwargs)

        def timed(*call_args, **call_kwargs):
            started = time.perf_counter()
            try:
                return evaluate(*call_args, **call_kwargs)
            finally:
                spent.append(time.perf_counter() - started)

        return timed

    return make


def _log_likelihood(fitter, frequency, weights) -> float:
    """The fit's full log-likelihood summed over customers, in the input's time unit.

    lifetimes keeps the mean negative log-likelihood, and BG/NBD-type fitters evaluate it on times
    divided by the largest T (``_scale``): each customer's likelihood then carries a factor
    ``scale^-x``, taken out here so the figure compares with the papers' (and the project's).
    """
    import numpy as np

    w = np.ones_like(frequency) if weights is None else weights
    total = -float(fitter._negative_log_likelihood_) * float(np.sum(w))
    scale = getattr(fitter, "_scale", None)
    return total + float(np.dot(w, frequency)) * float(np.log(scale)) if scale else total


def _version(package: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--summaries", required=True, help="Parquet file: x, t_x, T, avg_value[, weight]")
    parser.add_argument("--weights", action="store_true", help="rows are groups: pass the weight column to lifetimes")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # lifetimes 0.11 predates pandas 2 and warns about its own idioms
    import lifetimes
    import lifetimes.fitters as base
    import numpy as np
    import pandas as pd
    import scipy

    hessian_spent: list[float] = []
    base.hessian = _timed_hessian(base.hessian, hessian_spent)

    summaries = pd.read_parquet(args.summaries)
    x = summaries["x"].to_numpy(dtype=float)
    t_x, T = summaries["t_x"].to_numpy(dtype=float), summaries["T"].to_numpy(dtype=float)
    weights = summaries["weight"].to_numpy(dtype=np.int64) if args.weights else None
    repeat = x > 0
    fits = []
    jobs = [("BetaGeoFitter", lifetimes.BetaGeoFitter, (x, t_x, T)),
            ("ModifiedBetaGeoFitter", lifetimes.ModifiedBetaGeoFitter, (x, t_x, T))]
    if not args.weights:
        jobs.insert(0, ("GammaGammaFitter", lifetimes.GammaGammaFitter,
                        (x[repeat], summaries["avg_value"].to_numpy(dtype=float)[repeat])))
    for name, fitter_class, columns in jobs:
        hessian_spent.clear()
        fitter = fitter_class()
        started = time.perf_counter()
        try:
            if weights is None:
                fitter.fit(*columns)
            else:
                fitter.fit(*columns, weights=weights)
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as error:  # ConvergenceError is a ValueError
            fit = {"fitter": name, "seconds": round(time.perf_counter() - started, 3), "params": None,
                   "error": f"{type(error).__name__}: {error}".strip()}
        else:
            fit = {"fitter": name, "seconds": round(time.perf_counter() - started, 3),
                   "hessian_seconds": round(sum(hessian_spent), 3), "rows": int(columns[0].size),
                   "params": {k: float(v) for k, v in fitter.params_.items()},
                   "log_likelihood": _log_likelihood(fitter, columns[0], weights)}
        fits.append(fit)
        print(json.dumps({"fit": fit}), flush=True)
    print(json.dumps({"fits": fits, "rows": len(summaries), "weighted": args.weights,
                      "versions": {"lifetimes": lifetimes.__version__, "pandas": pd.__version__,
                                   "numpy": np.__version__, "scipy": scipy.__version__,
                                   "autograd": _version("autograd"),
                                   "python": sys.version.split()[0]}}), flush=True)


if __name__ == "__main__":
    main()
