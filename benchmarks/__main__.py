"""``python -m benchmarks --scenario S|M|L``: one new daily partition of the whole chain, measured.

Prints per-asset wall time and rows/s of the new day's run, its peak RSS, the floor and
lifetimes comparisons, the 1-year vs 3-year history ratio and the warehouse bytes per
customer-day, and writes them to ``benchmarks/results/<scenario>.json``. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from benchmarks.floor import measure_floor, measure_lifetimes
from benchmarks.measure import load_average
from benchmarks.report import PROJECT_ROOT, build_result, print_report, write_json
from benchmarks.runs import compare_history, main_day, yesterday
from benchmarks.scenarios import SCENARIOS, scenario
from benchmarks.workspace import BenchError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="S",
                        help="; ".join(f"{s.name}: {s.description}" for s in SCENARIOS.values()))
    parser.add_argument("--customers", type=int, help="override the scenario's customer count (a scaled run)")
    parser.add_argument("--days", type=int, help="override the scenario's days of history before the new day")
    parser.add_argument("--data-dir", type=Path,
                        help="benchmark data folder, emptied first (default: data/bench/<scenario>)")
    parser.add_argument("--no-history-compare", action="store_true",
                        help="skip the same day on 1 and on 3 years of bulk history")
    parser.add_argument("--output", type=Path, help="JSON file (default: benchmarks/results/<scenario>.json; "
                                                   "a scaled run: <scenario>-<customers>c-<days>d.json)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    sc = scenario(args.scenario, args.customers, args.days)
    if sc.customers < 1 or sc.history_days < 2:
        print("error: --customers must be >= 1 and --days >= 2", file=sys.stderr)
        return 2
    data_dir = (args.data_dir or PROJECT_ROOT / "data" / "bench" / sc.name).resolve()
    output = args.output or PROJECT_ROOT / "benchmarks" / "results" / f"{sc.label}.json"
    started, load = time.monotonic(), load_average()
    new_day = yesterday()
    what = f"scenario {sc.name} scaled" if sc.scaled else sc.description
    print(f"benchmark {sc.label}: {what} ({sc.customers:,} customers, {sc.history_days} days of history, "
          f"new day {new_day}); data in {data_dir}", flush=True)
    try:
        main = main_day(sc, data_dir, new_day)
        print("  floor (bare DuckDB pass) and lifetimes on the same warehouse", flush=True)
        floor = measure_floor(main.workspace.warehouse, new_day)
        lifetimes = measure_lifetimes(main.workspace.warehouse, new_day, main.workspace.logs)
        history = None if args.no_history_compare else compare_history(sc, main, data_dir)
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    result = build_result(sc, main, floor, lifetimes, history, load)
    result["benchmark_seconds"] = round(time.monotonic() - started, 1)
    write_json(result, output)
    print_report(result, output)
    print(f"benchmark took {result['benchmark_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
