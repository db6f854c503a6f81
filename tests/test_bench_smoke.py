"""The benchmark command still works (issue 13: CI runs S as a smoke test). No timing assertions.

* ``python -m benchmarks`` at a tiny S (300 customers, 5 days; no 1y/3y comparison, which
  costs four more Dagster runs) writes a JSON with every required key and sensible values;
* the bulk history generator (scenario L and the 1y/3y comparison) gives the same rows for
  the days two histories share, the same landing files for the new day, and files that load
  and validate without a quarantined row or a blocking failure;
* (slow) a tiny L with the history comparison, end to end.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from benchmarks.history import Universe, create_universe, load_history, write_day_files
from lifecycle_pipeline.contracts import SOURCES
from lifecycle_pipeline.gx_runner import SuiteRunner
from lifecycle_pipeline.loading import load_partition
from lifecycle_pipeline.quality_rules import QualitySettings
from lifecycle_pipeline.validation import validate_days

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REQUIRED = ("scenario", "date", "machine", "customers", "history_days", "day_seconds", "peak_rss_bytes",
            "floor_seconds", "floor_ratio", "floor_ratio_assets", "lifetimes_seconds", "lifetimes_speedup",
            "history_ratio_3y_1y", "warehouse_bytes", "warehouse_bytes_per_customer_day", "assets")


def _run_benchmark(tmp_path: Path, *args: str) -> dict:
    output = tmp_path / "result.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", *args, "--data-dir", str(tmp_path / "bench"), "--output", str(output)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900, check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "day_seconds" in done.stdout  # the printed table
    return json.loads(output.read_text())


def _assert_result(result: dict, scenario: str, customers: int, days: int) -> None:
    assert not [key for key in REQUIRED if key not in result]
    assert (result["scenario"], result["customers"], result["history_days"]) == (scenario, customers, days)
    dt.datetime.fromisoformat(result["date"])
    assert "cores" in result["machine"]
    assert result["day_seconds"] > 0 and result["peak_rss_bytes"] > 0
    assert result["floor_seconds"] > 0 and result["floor_ratio"] > 0
    assert result["warehouse_bytes"] > 0 and result["warehouse_bytes_per_customer_day"] > 0
    for asset in ("raw/orders", "scoring/customer_features", "lifecycle/customer_stage_daily", "bi/published_days"):
        assert result["assets"][asset] > 0
    assert "scoring/customer_features" in result["floor_ratio_assets"]
    # lifetimes is an optional extra: a figure, or null with the reason
    assert result["lifetimes_seconds"] is not None or result["lifetimes"]["reason"]


def test_benchmark_s_smoke(tmp_path):
    result = _run_benchmark(tmp_path, "--scenario", "S", "--customers", "300", "--days", "5", "--no-history-compare")
    _assert_result(result, "S", 300, 5)
    assert result["backfill_seconds"] > 0
    assert result["history_ratio_3y_1y"] is None
    assert result["day_rows_landed"]["orders"] > 0
    assert result["asset_rows"]["scoring/customer_features"] == 300  # every generated customer is known by the day


def _bulk_warehouse(path: Path, universe: Universe, history_days: int, landing: Path) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(str(path))
    create_universe(conn, universe)
    load_history(conn, universe, history_days, log=lambda _line: None)
    for day in (universe.new_day - dt.timedelta(days=1), universe.new_day):
        write_day_files(conn, universe, day, landing, history_days)
    return conn


def _rows(conn, table: str, first: dt.date) -> list[tuple]:
    return conn.execute(f"select * exclude (_source_row) from {table} where _partition_date >= ? order by all",
                        [first]).fetchall()


def test_bulk_history_shares_days_and_files_and_validates(tmp_path):
    universe = Universe(2000, dt.date(2026, 3, 10))
    short = _bulk_warehouse(tmp_path / "short.duckdb", universe, 40, tmp_path / "short")
    long = _bulk_warehouse(tmp_path / "long.duckdb", universe, 120, tmp_path / "long")
    first_shared = universe.new_day - dt.timedelta(days=39)  # the short history's first day holds older signups
    for table in ("clean.orders", "clean.events", "clean.support_tickets", "clean.marketing_spend"):
        assert _rows(short, table, first_shared) == _rows(long, table, first_shared), table
    assert short.execute("select count(*) from clean.orders").fetchall() < long.execute(
        "select count(*) from clean.orders").fetchall()
    (days,) = short.execute("select count(distinct partition_date) from quality.landing_loads "
                            "where source = 'orders'").fetchall()[0]
    assert days == 39  # 40 days of history, the last one comes as landing files
    files = sorted(p.relative_to(tmp_path / "short") for p in (tmp_path / "short").rglob("*.csv"))
    assert len(files) == 2 * len(SOURCES)
    for file in files:
        assert (tmp_path / "short" / file).read_bytes() == (tmp_path / "long" / file).read_bytes(), file
    # the day before the new day loads and validates like a delivered day: nothing quarantined, nothing blocked
    day = universe.new_day - dt.timedelta(days=1)
    runner = SuiteRunner(None)
    for name in ("customers", "orders", "events", "support_tickets"):
        contract = SOURCES[name]
        load = load_partition(short, contract, day, [tmp_path / "short" / name / day.isoformat() / f"{name}.csv"])
        assert load.rows_quarantined == 0 and (load.rows_loaded > 0 or name == "support_tickets"), name
        result = validate_days(short, contract, [day], QualitySettings(), runner).days[0]
        assert result.rows_quarantined_validation == 0 and not result.blocked, (name, result.reasons)
    short.close()
    long.close()


@pytest.mark.slow
def test_benchmark_l_tiny_with_history_compare(tmp_path):
    result = _run_benchmark(tmp_path, "--scenario", "L", "--customers", "500", "--days", "365")
    _assert_result(result, "L", 500, 365)
    assert result["prime_seconds"] > 0 and result["bulk_history_seconds"] > 0
    assert result["history_ratio_3y_1y"] > 0
    history = result["history_compare"]
    assert history["bulk_history_rows_3y"]["orders"] > history["bulk_history_rows_1y"]["orders"]


def test_the_clv_fit_benchmark_writes_converged_fits_and_the_target(tmp_path):
    """``python -m benchmarks.clv_fit`` at 20k customers, without lifetimes (its own subprocess): the
    simulated summaries are fitted by every model and the JSON carries the figures the README quotes."""
    output = tmp_path / "clv_fit.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.clv_fit", "--customers", "20000", "--no-lifetimes", "--out", str(output)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(output.read_text())
    assert (result["scenario"], result["customers"], result["target_seconds"]) == ("clv_fit", 20000, 10.0)
    assert 0 < result["repeat_buyers"] < 20000
    for model in ("mbgnbd", "bgnbd", "gamma_gamma"):
        assert result["ours"][model]["converged"] is True and result["ours"][f"{model}_seconds"] > 0
    # BG/NBD recovers the parameters it was simulated with (r 0.25, a 0.8, b 2.4) at this size roughly
    assert result["ours"]["bgnbd"]["params"]["r"] == pytest.approx(0.25, rel=0.3)
    assert result["lifetimes"] is None and result["lifetimes_reason"]
