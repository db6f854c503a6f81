"""The lifetimes side of the benchmark, run in its own process (it may be another virtualenv's Python).

    python benchmarks/lifetimes_peer.py --orders orders.parquet --day 2026-11-25

Reads the completed orders (customer_id, date, amount) from Parquet, then times only
``lifetimes.utils.summary_data_from_transaction_data`` (daily frequency, observation period
ending on the day, monetary value = amount) and prints one JSON line. Imports nothing of
the project, so it runs wherever lifetimes and pandas are installed.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", required=True, help="Parquet file: customer_id, date, amount")
    parser.add_argument("--day", required=True, help="observation_period_end, YYYY-MM-DD")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # lifetimes 0.11 predates pandas 2 and warns about its own idioms
    import lifetimes
    import pandas as pd
    from lifetimes.utils import summary_data_from_transaction_data

    orders = pd.read_parquet(args.orders)
    orders["date"] = pd.to_datetime(orders["date"])
    started = time.perf_counter()
    summary = summary_data_from_transaction_data(
        orders, "customer_id", "date", monetary_value_col="amount", observation_period_end=args.day, freq="D"
    )
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "customers": len(summary), "orders": len(orders),
                      "frequency_total": float(summary["frequency"].sum()), "lifetimes": lifetimes.__version__,
                      "pandas": pd.__version__}))


if __name__ == "__main__":
    main()
