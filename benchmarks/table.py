"""``python -m benchmarks.table``: the README's performance table, made from ``benchmarks/results/{S,M,L}.json``."""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
SCENARIOS = ("S", "M", "L")
GIB = 2**30


def _seconds(value) -> str:
    if value is None:
        return "–"
    return f"{value:,.2f} s" if value < 10 else f"{value:,.1f} s"


def _ratio(value) -> str:
    return "–" if value is None else f"{value:.2f}"


ROWS = [
    ("measured on", lambda r: f"{r['date'][:10]}, {r['machine']}"),
    ("commit", lambda r: r["git"].get("commit", "")[:7] + (" + changes" if r["git"].get("dirty") else "")),
    ("history", lambda r: f"{r['customers']:,} customers, {r['history_days']} days ({r['history']})"),
    ("**one new day, end to end** (`day_seconds`)", lambda r: f"**{_seconds(r['day_seconds'])}**"),
    ("of which Dagster's fixed cost (process start, imports, run records)", lambda r: _seconds(r["day_fixed_seconds"])),
    ("peak RSS of the day's run", lambda r: f"{r['peak_rss_bytes'] / GIB:.2f} GiB"),
    ("backfill of the history through Dagster", lambda r: (
        f"{_seconds(r.get('backfill_seconds'))} ({r['backfill_seconds_per_day']:.2f} s/day)"
        if r.get("backfill_seconds") else "bulk load, not a backfill")),
    ("scoring + stage work / bare DuckDB floor (`floor_ratio`)", lambda r: (
        f"{_seconds(r['scoring_seconds'])} / {_seconds(r['floor_seconds'])} = {_ratio(r['floor_ratio'])}")),
    ("`lifetimes` summary / our customer_features (`lifetimes_speedup`)", lambda r: (
        f"{_seconds(r['lifetimes_seconds'])} / {_seconds(r['customer_features_seconds'])} = "
        f"{_ratio(r['lifetimes_speedup'])}")),
    ("same day, 3 years vs 1 year of history (`history_ratio_3y_1y`)", lambda r: (
        f"{_ratio(r['history_ratio_3y_1y'])} (scoring only {_ratio(r.get('history_scoring_ratio_3y_1y'))})"
        if r.get("history_ratio_3y_1y") else "not measured")),
    ("warehouse bytes per customer-day", lambda r: f"{r['warehouse_bytes_per_customer_day']:,.1f} "
                                                    f"({r['warehouse_bytes'] / 1e9:.2f} GB)"),
]


def markdown(results: dict[str, dict]) -> str:
    names = [s for s in SCENARIOS if s in results]
    lines = ["| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for label, cell in ROWS:
        lines.append(f"| {label} | " + " | ".join(cell(results[s]) for s in names) + " |")
    return "\n".join(lines)


def main() -> None:
    results = {s: json.loads((RESULTS / f"{s}.json").read_text()) for s in SCENARIOS if (RESULTS / f"{s}.json").exists()}
    print(markdown(results))


if __name__ == "__main__":
    main()
