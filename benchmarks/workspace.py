"""A benchmark data folder: its own warehouse, landing files and Dagster instance, and the pipeline's commands run in it.

Every command is a subprocess with ``LIFECYCLE_DATA_DIR`` set to the folder, ``DAGSTER_HOME``
to ``<folder>/dagster_home`` (as the Makefile does for ``data/``) and the business time zone
UTC; other ``LIFECYCLE_*`` variables of the caller are dropped, so a benchmark never writes
outside its folder. The folder is emptied at the start of a benchmark, and only when it is
empty or was made by a benchmark (it holds ``.lifecycle-bench``).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

from benchmarks.measure import ProcessRun, run_process

MARKER = ".lifecycle-bench"
# lines of a run's output echoed while it runs: progress of multi-day steps, finished steps, failures
_SHOWN = (" days (", "STEP_SUCCESS", "STEP_FAILURE", " skipped: blocked by ", "RUN_FAILURE", "backfill succeeded")


class BenchError(RuntimeError):
    """A step of the benchmark failed; the message says which and where its log is."""


def _shown(line: str) -> bool:
    return any(marker in line for marker in _SHOWN)


@dataclass(frozen=True)
class Workspace:
    data_dir: Path

    @property
    def warehouse(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @property
    def landing_root(self) -> Path:
        return self.data_dir / "landing"

    @property
    def dagster_home(self) -> Path:
        return self.data_dir / "dagster_home"

    @property
    def logs(self) -> Path:
        return self.data_dir / "bench_logs"

    def prepare(self) -> None:
        """Empty the folder (refusing one that a benchmark did not make) and mark it as a benchmark's."""
        if self.data_dir.exists() and any(self.data_dir.iterdir()) and not (self.data_dir / MARKER).exists():
            raise BenchError(f"{self.data_dir} is not empty and was not made by a benchmark (no {MARKER}); "
                             "choose another --data-dir or empty it")
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.data_dir.mkdir(parents=True)
        (self.data_dir / MARKER).write_text("made by `python -m benchmarks`; emptied by the next benchmark run\n")

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIFECYCLE_")}
        env.update(LIFECYCLE_DATA_DIR=str(self.data_dir), DAGSTER_HOME=str(self.dagster_home),
                   LIFECYCLE_TIMEZONE="UTC")
        return env

    def _checked(self, command: list[str], log_name: str, what: str) -> ProcessRun:
        run = run_process(command, self.env(), self.logs / log_name, show=_shown)
        if run.returncode != 0:
            raise BenchError(f"{what} failed (exit {run.returncode}); log: {run.log}\n{run.tail()}")
        return run

    def cli(self, *args: str, what: str | None = None) -> ProcessRun:
        """``lifecycle-pipeline ARGS`` of this virtualenv."""
        program = str(Path(sys.executable).parent / "lifecycle-pipeline")
        return self._checked([program, *args], f"cli_{args[0]}.log", what or f"lifecycle-pipeline {args[0]}")

    def backfill(self, start: dt.date, end: dt.date) -> ProcessRun:
        """``lifecycle-pipeline backfill --start --end``: one Dagster run over the range."""
        print(f"  backfill {start}..{end} as one Dagster run", flush=True)
        return self.cli("backfill", "--start", start.isoformat(), "--end", end.isoformat(),
                        what=f"backfill {start}..{end}")

    def materialize_day(self, day: dt.date, label: str) -> ProcessRun:
        """Every asset for one daily partition: ``dagster asset materialize --select * --partition DAY``,
        in a fresh process (timed, peak RSS)."""
        dagster = str(Path(sys.executable).parent / "dagster")
        command = [dagster, "asset", "materialize", "-m", "lifecycle_pipeline.definitions", "--select", "*",
                   "--partition", day.isoformat()]
        print(f"  {label}: every asset for {day} as one Dagster run", flush=True)
        return self._checked(command, f"{label}_{day}.log", f"{label} run of {day}")

    def blocked(self, day: dt.date) -> list[str]:
        """Why a failed blocking check held ``day`` back (empty when it went through)."""
        with duckdb.connect(str(self.warehouse), read_only=True) as conn:
            if not conn.execute("select count(*) from information_schema.tables "
                                "where table_schema = 'quality' and table_name = 'day_status'").fetchall()[0][0]:
                return []
            rows = conn.execute("select source, reasons from quality.day_status where blocked and as_of_date = ? "
                                "order by source", [day]).fetchall()
        return [f"raw/{source}: {reason}" for source, reasons in rows for reason in reasons]

    def warehouse_bytes(self) -> int:
        wal = self.warehouse.with_name(self.warehouse.name + ".wal")
        return self.warehouse.stat().st_size + (wal.stat().st_size if wal.exists() else 0)

    def day_rows(self, day: dt.date) -> dict[str, int]:
        """Rows landed per source on ``day`` (``quality.landing_loads``)."""
        with duckdb.connect(str(self.warehouse), read_only=True) as conn:
            rows = conn.execute("select source, rows_read from quality.landing_loads where partition_date = ? "
                                "order by source", [day]).fetchall()
        return dict(rows)

    def table_rows(self, tables: tuple[str, ...]) -> dict[str, int]:
        with duckdb.connect(str(self.warehouse), read_only=True) as conn:
            return {t: conn.execute(f"select count(*) from {t}").fetchall()[0][0] for t in tables}
