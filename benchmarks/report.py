"""The benchmark's figures: one dict (written as JSON to ``benchmarks/results/<scenario>.json``) and a printed table."""

from __future__ import annotations

import json
import platform
from pathlib import Path

from benchmarks.floor import Floor
from benchmarks.measure import git_state, machine, now_iso
from benchmarks.runs import DayRun
from benchmarks.scenarios import Scenario

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FEATURES_ASSET = "scoring/customer_features"
PEAK_RSS_METHOD = (
    "ru_maxrss (x1024) of the rusage os.wait4 returns for the fresh `dagster asset materialize` process of the "
    "new day: the peak resident set of that process and of every descendant it waited for. The job runs with "
    "Dagster's in-process executor, so every step runs in that process (see day_step_pids / day_process_pid)."
)


def _versions() -> dict:
    import dagster
    import duckdb

    return {"python": platform.python_version(), "dagster": dagster.__version__, "duckdb": duckdb.__version__}


def _ratio(numerator: float | None, denominator: float | None, digits: int = 2) -> float | None:
    return round(numerator / denominator, digits) if numerator is not None and denominator else None


def _day_figures(main: DayRun) -> dict:
    steps = main.steps
    step_total = round(sum(steps.steps.values()), 3)
    return {
        "day_seconds": round(main.day.seconds, 3),
        "day_run_seconds": steps.run_seconds,
        "day_step_seconds": step_total,
        "day_fixed_seconds": round(main.day.seconds - step_total, 3),
        "peak_rss_bytes": main.day.peak_rss_bytes,
        "peak_rss_method": PEAK_RSS_METHOD,
        "day_process_pid": main.day.pid,
        "day_step_pids": sorted(steps.step_pids),
        "day_run_id": steps.run_id,
        "day_log": str(main.day.log),
        "assets": steps.assets,
        "asset_steps": dict(sorted(steps.asset_steps.items())),
        "asset_rows": dict(sorted(steps.rows.items())),
        "asset_rows_per_second": steps.rows_per_second(),
        "day_rows_landed": main.workspace.day_rows(main.new_day),
    }


def _reference_figures(main: DayRun, floor: Floor, lifetimes: dict) -> dict:
    scoring = main.scoring_seconds
    features = main.steps.assets.get(FEATURES_ASSET)
    return {
        "floor_seconds": floor.seconds,
        "floor_runs": floor.runs,
        "floor_customers": floor.customers,
        "scoring_seconds": scoring,
        "floor_ratio": _ratio(scoring, floor.seconds),
        "floor_ratio_assets": main.steps.scoring_assets(),
        "floor_ratio_steps": main.steps.scoring_steps(),
        "floor_ratio_note": "scoring_seconds = sum of the day run's step times of the steps that materialize "
                            "scoring/* and lifecycle/* assets (floor_ratio_steps; a multi-asset step counted once)",
        "lifetimes_seconds": lifetimes.get("seconds"),
        "lifetimes": lifetimes,
        "customer_features_seconds": features,
        "lifetimes_speedup": _ratio(lifetimes.get("seconds"), features),
        "lifetimes_speedup_note": "lifetimes summary_data_from_transaction_data seconds / our "
                                  f"{FEATURES_ASSET} step seconds (> 1: ours is faster)",
    }


def build_result(sc: Scenario, main: DayRun, floor: Floor, lifetimes: dict, history: dict | None,
                 load_average: list[float] | None) -> dict:
    """Every figure of one benchmark run (keys described in benchmarks/README.md)."""
    warehouse_bytes = main.workspace.warehouse_bytes()
    result = {
        "scenario": sc.name,
        "label": sc.label,
        "scaled": sc.scaled,
        "description": sc.description,
        "date": now_iso(),
        "machine": machine(),
        "load_average_at_start": load_average,
        "versions": _versions(),
        "git": git_state(PROJECT_ROOT),
        "customers": sc.customers,
        "history_days": sc.history_days,
        "history": "bulk" if sc.bulk else "backfill",
        "new_day": main.new_day.isoformat(),
        **_day_figures(main),
        **{f"{name}_seconds": seconds for name, seconds in main.before.items()},
        **_reference_figures(main, floor, lifetimes),
        "history_ratio_3y_1y": history["ratio_3y_1y"] if history else None,
        "history_scoring_ratio_3y_1y": history["scoring_ratio_3y_1y"] if history else None,
        "history_compare": history or "skipped (--no-history-compare)",
        "warehouse_bytes": warehouse_bytes,
        "warehouse_bytes_per_customer_day": _ratio(warehouse_bytes, sc.customers * sc.history_days),
        "tables": main.workspace.table_rows(("clean.customers", "clean.orders", "clean.events",
                                             "scoring.customer_features", "lifecycle.customer_stage_daily")),
        "data_dir": str(main.workspace.data_dir),
        **main.details,
    }
    if "backfill_seconds" in result:
        result["backfill_seconds_per_day"] = round(result["backfill_seconds"] / sc.history_days, 3)
    return result


def write_json(result: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB"):
        if n < 1000:
            return f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:,.2f} GB"


def _num(value, fmt: str = ".2f", suffix: str = "") -> str:
    return "n/a" if value is None else f"{value:{fmt}}{suffix}"


def asset_table(result: dict) -> list[str]:
    lines = [f"  {'asset (step of the new day)':<38} {'seconds':>9} {'rows':>12} {'rows/s':>12}"]
    for asset, seconds in result["assets"].items():
        rows, rate = result["asset_rows"].get(asset), result["asset_rows_per_second"].get(asset)
        lines.append(f"  {asset:<38} {seconds:>9.2f} {'' if rows is None else format(rows, ','):>12} "
                     f"{'' if rate is None else format(rate, ',.0f'):>12}")
    return lines


def summary_lines(r: dict) -> list[str]:
    run = (f"Dagster run {_num(r['day_run_seconds'])} s; steps {r['day_step_seconds']:.2f} s; "
           f"fixed cost {r['day_fixed_seconds']:.2f} s")
    lines = [
        f"day_seconds        {r['day_seconds']:8.2f} s  one new daily partition end to end ({run})",
        f"peak_rss           {r['peak_rss_bytes'] / 2**30:8.2f} GiB of the day run's process",
    ]
    if "backfill_seconds" in r:
        lines.append(f"backfill_seconds   {r['backfill_seconds']:8.2f} s  {r['history_days']} days as one run "
                     f"({r['backfill_seconds_per_day']:.2f} s per day)")
    if "prime_seconds" in r:
        lines.append(f"prime_seconds      {r['prime_seconds']:8.2f} s  the day before (bulk history loaded in "
                     f"{r['bulk_history_seconds']:.0f} s)")
    floor = f"scoring work {r['scoring_seconds']:.2f} s -> floor_ratio {_num(r['floor_ratio'])}"
    lines.append(f"floor_seconds      {r['floor_seconds']:8.2f} s  bare DuckDB pass; {floor}")
    peer = (f"{FEATURES_ASSET} {_num(r['customer_features_seconds'])} s -> "
            f"lifetimes_speedup {_num(r['lifetimes_speedup'])}")
    if r["lifetimes_seconds"] is None:
        peer += f"  ({r['lifetimes'].get('reason')})"
    lines.append(f"lifetimes_seconds  {_num(r['lifetimes_seconds'], '8.2f', ' s'):>10}  {peer}")
    history = r["history_compare"]
    if isinstance(history, dict):
        lines.append(f"history 1y -> 3y   day {history['day_seconds_1y']:.2f} s -> {history['day_seconds_3y']:.2f} s: "
                     f"history_ratio_3y_1y {_num(r['history_ratio_3y_1y'])} (scoring only "
                     f"{_num(r['history_scoring_ratio_3y_1y'])})")
    else:
        lines.append(f"history 1y -> 3y   {history}")
    lines.append(f"warehouse          {_size(r['warehouse_bytes'])}: {_num(r['warehouse_bytes_per_customer_day'])} "
                 f"bytes per customer-day ({r['customers']:,} customers x {r['history_days']} days)")
    return lines


def print_report(result: dict, output: Path) -> None:
    print()
    print(f"benchmark {result['label']}: {result['customers']:,} customers, {result['history_days']} days of "
          f"history ({result['history']}), new day {result['new_day']}")
    print(f"machine: {result['machine']}; load average at start {result['load_average_at_start']}")
    print("\n".join(asset_table(result)))
    print("\n".join(summary_lines(result)))
    print(f"written: {output}")
