"""The sequences of runs of a benchmark: history (backfilled or bulk), the day before, the timed new day.

``backfilled_day`` (S, M): ``lifecycle-pipeline generate`` writes landing files for the
history and the new day, the history is backfilled through Dagster as one run (timed), then
the new day runs as its own run (timed).

``bulk_day`` (L, and both sides of the 1-year / 3-year comparison): the history is generated
in bulk into the warehouse (``history.py``), the day before runs through Dagster from its
landing files (the priming run, timed apart), then the new day (timed).

The new day is yesterday (UTC), the newest complete partition, so its outreach exports are
written as on a real morning.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from benchmarks.history import Universe, create_universe, load_history, write_day_files
from benchmarks.measure import ProcessRun, RunSteps, progress_linearity, run_steps
from benchmarks.scenarios import Scenario
from benchmarks.workspace import BenchError, Workspace

YEAR = 365


def yesterday() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=1)


@dataclass
class DayRun:
    """One workspace's timed new day and what it took to get there."""

    workspace: Workspace
    new_day: dt.date
    history_days: int
    day: ProcessRun
    steps: RunSteps
    before: dict[str, float] = field(default_factory=dict)
    """Seconds of what ran before the new day: generate, backfill, bulk_history, prime."""
    details: dict = field(default_factory=dict)

    @property
    def scoring_seconds(self) -> float:
        return round(sum(self.steps.scoring_steps().values()), 3)


def _day_through_dagster(ws: Workspace, day: dt.date, label: str) -> tuple[ProcessRun, RunSteps]:
    """Materialize every asset of ``day`` in one run; fail when a blocking check held the day back."""
    run = ws.materialize_day(day, label)
    steps = run_steps(ws.dagster_home)
    blocked = ws.blocked(day)
    if blocked:
        raise BenchError(f"{label} run: {day} was held back by a failed blocking check, so its downstream did not "
                         f"run: {'; '.join(blocked)} (log: {run.log})")
    return run, steps


def backfilled_day(ws: Workspace, customers: int, history_days: int, new_day: dt.date) -> DayRun:
    """Generated landing files, the history backfilled as one run, then the new day (module docstring)."""
    ws.prepare()
    ws.cli("init")
    start = new_day - dt.timedelta(days=history_days)
    print(f"  generate {customers:,} customers, {start}..{new_day}", flush=True)
    generate = ws.cli("generate", "--customers", str(customers), "--start", start.isoformat(),
                      "--end", new_day.isoformat())
    backfill = ws.backfill(start, new_day - dt.timedelta(days=1))
    backfill_steps = run_steps(ws.dagster_home)
    day, steps = _day_through_dagster(ws, new_day, "day")
    details = {
        "backfill_assets": backfill_steps.assets,
        "backfill_run_seconds": backfill_steps.run_seconds,
        "backfill_peak_rss_bytes": backfill.peak_rss_bytes,
        "backfill_linearity": progress_linearity(backfill.log.read_text(encoding="utf-8")),
    }
    return DayRun(ws, new_day, history_days, day, steps,
                  {"generate": round(generate.seconds, 3), "backfill": round(backfill.seconds, 3)}, details)


def bulk_day(ws: Workspace, customers: int, history_days: int, new_day: dt.date) -> DayRun:
    """Bulk history, the day before through Dagster (priming run), then the new day (module docstring)."""
    ws.prepare()
    ws.cli("init")
    universe = Universe(customers, new_day)
    before = new_day - dt.timedelta(days=1)
    print(f"  bulk history: {customers:,} customers, {history_days} days before {new_day}", flush=True)
    with duckdb.connect(str(ws.warehouse)) as conn:
        create_universe(conn, universe)
        load = load_history(conn, universe, history_days)
        files = {str(d): write_day_files(conn, universe, d, ws.landing_root, history_days) for d in (before, new_day)}
    print(f"  bulk history loaded in {load.seconds:.0f} s: " + ", ".join(f"{s} {n:,}" for s, n in load.rows.items()),
          flush=True)
    prime, _ = _day_through_dagster(ws, before, "prime")
    day, steps = _day_through_dagster(ws, new_day, "day")
    details = {"bulk_history_rows": load.rows, "bulk_history_days": f"{load.first_day}..{load.last_day}",
               "landing_file_rows": files, "prime_peak_rss_bytes": prime.peak_rss_bytes}
    return DayRun(ws, new_day, history_days, day, steps,
                  {"bulk_history": round(load.seconds, 3), "prime": round(prime.seconds, 3)}, details)


def main_day(sc: Scenario, data_dir: Path, new_day: dt.date) -> DayRun:
    run = bulk_day if sc.bulk else backfilled_day
    return run(Workspace(data_dir), sc.customers, sc.history_days, new_day)


def compare_history(sc: Scenario, main: DayRun, data_dir: Path) -> dict:
    """The same new day on 1 and on 3 years of bulk history (same customers, same rates per year).

    The main run is the 1-year side when it is a bulk year already (L); otherwise both sides are built
    in ``<data dir>/history-1y`` and ``history-3y``.
    """
    runs = {}
    for years in (1, 3):
        if sc.bulk and main.history_days == years * YEAR:
            runs[years] = main
            continue
        print(f"history comparison: {years} year(s) of bulk history, {sc.customers:,} customers", flush=True)
        runs[years] = bulk_day(Workspace(data_dir / f"history-{years}y"), sc.customers, years * YEAR, main.new_day)
    one, three = runs[1], runs[3]
    return {
        "day_seconds_1y": round(one.day.seconds, 3),
        "day_seconds_3y": round(three.day.seconds, 3),
        "ratio_3y_1y": round(three.day.seconds / one.day.seconds, 3),
        "scoring_seconds_1y": one.scoring_seconds,
        "scoring_seconds_3y": three.scoring_seconds,
        "scoring_ratio_3y_1y": round(three.scoring_seconds / one.scoring_seconds, 3) if one.scoring_seconds else None,
        "peak_rss_bytes_1y": one.day.peak_rss_bytes,
        "peak_rss_bytes_3y": three.day.peak_rss_bytes,
        "warehouse_bytes_1y": one.workspace.warehouse_bytes(),
        "warehouse_bytes_3y": three.workspace.warehouse_bytes(),
        "bulk_history_rows_1y": one.details.get("bulk_history_rows"),
        "bulk_history_rows_3y": three.details.get("bulk_history_rows"),
        "assets_1y": one.steps.assets,
        "assets_3y": three.steps.assets,
    }
