"""The two reference points of the scoring work: a bare DuckDB pass (the floor) and lifetimes.

(a) The floor: one DuckDB query, one ``group by customer`` over the union of the completed
    orders (every version with status ``completed`` landed by the day; the latest version
    per order is deliberately not resolved) and the last 365 days of events: per customer
    the completed-order count, revenue, first and last order date, event count, active days
    in the last 30 days and the last event time. Best of 3, on the warehouse after the day's
    run, opened read-only.
(b) lifetimes: ``summary_data_from_transaction_data`` on the same completed orders, exported
    to Parquet and run in a subprocess (``lifetimes_peer.py``), timing only that call. The
    Python is this one when it has lifetimes (the ``bench`` extra), else ``.venv-bench`` when
    present; otherwise the figure is null with the reason.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

PEER = Path(__file__).resolve().parent / "lifetimes_peer.py"
PROJECT_ROOT = Path(__file__).resolve().parent.parent

FLOOR_SQL = """
create or replace temp table bench_floor as
select
    customer_id,
    count(*) filter (where kind = 'order') as completed_orders,
    sum(amount) filter (where kind = 'order') as revenue,
    cast(min(ts) filter (where kind = 'order') as date) as first_order_date,
    cast(max(ts) filter (where kind = 'order') as date) as last_order_date,
    count(*) filter (where kind = 'event') as events_365d,
    count(distinct cast(ts as date)) filter (where kind = 'event' and ts >= $recent_start) as active_days_30d,
    max(ts) filter (where kind = 'event') as last_event_at
from (
    select customer_id, 'order' as kind, ordered_at as ts, amount
    from clean.orders
    where status = 'completed'
        and _partition_date <= $day
    union all
    select customer_id, 'event', occurred_at, null
    from clean.events
    where _partition_date <= $day
        and occurred_at >= $window_start
        and occurred_at < $day_end
)
group by customer_id
"""

ORDERS_SQL = """
select customer_id, cast(ordered_at as date) as date, amount::double as amount
from clean.orders
where status = 'completed'
    and _partition_date <= $day
"""


def _day_bounds(day: dt.date) -> dict:
    def start(d: dt.date) -> dt.datetime:
        return dt.datetime.combine(d, dt.time(), tzinfo=dt.timezone.utc)

    return {"day": day, "day_end": start(day + dt.timedelta(days=1)),
            "window_start": start(day - dt.timedelta(days=364)), "recent_start": start(day - dt.timedelta(days=29))}


@dataclass
class Floor:
    seconds: float
    runs: list[float]
    customers: int


def measure_floor(warehouse: Path, day: dt.date, repeats: int = 3) -> Floor:
    """Best of ``repeats`` runs of the floor query (see the module docstring)."""
    runs = []
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        conn.execute("set TimeZone = 'UTC'")
        for _ in range(repeats):
            started = time.perf_counter()
            conn.execute(FLOOR_SQL, _day_bounds(day))
            runs.append(round(time.perf_counter() - started, 3))
        (customers,) = conn.execute("select count(*) from bench_floor").fetchall()[0]
    return Floor(min(runs), runs, customers)


def lifetimes_python() -> tuple[str | None, str]:
    """(interpreter that has lifetimes, where it comes from), or (None, why not)."""
    if importlib.util.find_spec("lifetimes") is not None:
        return sys.executable, "this virtualenv (the bench extra)"
    bench = PROJECT_ROOT / ".venv-bench" / "bin" / "python"
    if bench.exists():
        return str(bench), ".venv-bench"
    return None, "lifetimes is not installed: `make bench` installs the bench extra (pip install -e '.[bench]')"


def measure_lifetimes(warehouse: Path, day: dt.date, workdir: Path) -> dict:
    """lifetimes' summary on the day's completed orders: ``{"seconds": …}`` or ``{"seconds": None, "reason": …}``."""
    python, origin = lifetimes_python()
    if python is None:
        return {"seconds": None, "reason": origin}
    orders = workdir / "lifetimes_orders.parquet"
    orders.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        conn.execute("set TimeZone = 'UTC'")
        conn.sql(ORDERS_SQL, params={"day": day}).write_parquet(str(orders))
    done = subprocess.run([python, str(PEER), "--orders", str(orders), "--day", day.isoformat()],
                          capture_output=True, text=True, check=False)
    orders.unlink(missing_ok=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"seconds": None, "reason": f"lifetimes failed ({origin}): {last}"}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {**result, "seconds": round(result["seconds"], 3), "python": origin}
