"""Measuring a run: wall time and peak RSS of a subprocess, step times and row counts from Dagster's event log.

Peak RSS: the timed command runs in a fresh child process and is reaped with ``os.wait4``,
whose ``ru_maxrss`` is the peak resident set of that child and every descendant it waited
for (what ``getrusage(RUSAGE_CHILDREN)`` reports around a single fresh child, without the
earlier children of this process mixed in). The project's job uses Dagster's in-process
executor, so every step runs inside the timed ``dagster asset materialize`` process;
``RunSteps.step_pids`` records the pid Dagster reports for the steps so the report can
say whether that held.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

SCORING_PREFIXES = ("scoring/", "lifecycle/")


@dataclass
class ProcessRun:
    """One timed subprocess."""

    command: list[str]
    seconds: float
    peak_rss_bytes: int
    returncode: int
    pid: int
    log: Path

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def run_process(
    command: list[str], env: dict, log: Path, show: Callable[[str], bool] = lambda _line: False
) -> ProcessRun:
    """Run ``command`` with its output in ``log`` (lines for which ``show`` is true are printed as they come)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with open(log, "w", encoding="utf-8") as handle:
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in process.stdout:
            handle.write(line)
            if show(line):
                print(f"    {line.rstrip().split(' - ')[-1]}", flush=True)
        process.stdout.close()
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here; tell Popen so it does not wait again
    return ProcessRun(command, seconds, usage.ru_maxrss * 1024, process.returncode, process.pid, log)


@dataclass
class RunSteps:
    """What Dagster recorded about one run: step durations, the assets each step materialized, row counts."""

    run_id: str
    status: str
    run_seconds: float | None
    steps: dict[str, float] = field(default_factory=dict)
    asset_steps: dict[str, str] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    step_pids: set[int] = field(default_factory=set)

    @property
    def assets(self) -> dict[str, float]:
        """Asset key -> seconds of the step that materialized it (a multi-asset's assets share one step)."""
        return {asset: round(self.steps[step], 3) for asset, step in sorted(self.asset_steps.items())
                if step in self.steps}

    def scoring_steps(self) -> dict[str, float]:
        """The steps that materialize ``scoring/*`` or ``lifecycle/*`` assets, each counted once."""
        steps = {step for asset, step in self.asset_steps.items() if asset.startswith(SCORING_PREFIXES)}
        return {step: round(self.steps[step], 3) for step in sorted(steps) if step in self.steps}

    def scoring_assets(self) -> list[str]:
        return sorted(asset for asset in self.asset_steps if asset.startswith(SCORING_PREFIXES))

    def rows_per_second(self) -> dict[str, float]:
        return {asset: round(rows / self.steps[self.asset_steps[asset]], 1) for asset, rows in sorted(self.rows.items())
                if self.steps.get(self.asset_steps.get(asset, ""), 0) > 0}


_PID = re.compile(r"\(pid: (\d+)\)")


def _apply_event(result: RunSteps, entry, starts: dict[str, float], run_bounds: list[float]) -> None:
    from dagster import DagsterEventType

    kind = entry.dagster_event.event_type
    if kind == DagsterEventType.STEP_START:
        starts[entry.step_key] = entry.timestamp
    elif kind == DagsterEventType.ENGINE_EVENT:  # "Executing steps in process (pid: N)"
        result.step_pids.update(int(p) for p in _PID.findall(entry.user_message or ""))
    elif kind in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE) and entry.step_key in starts:
        result.steps[entry.step_key] = entry.timestamp - starts[entry.step_key]
    elif kind == DagsterEventType.ASSET_MATERIALIZATION:
        materialization = entry.asset_materialization
        asset = materialization.asset_key.to_user_string()
        result.asset_steps[asset] = entry.step_key
        count = materialization.metadata.get("dagster/row_count")
        if count is not None and count.value is not None:
            result.rows[asset] = int(count.value)
    elif kind in (DagsterEventType.RUN_START, DagsterEventType.RUN_SUCCESS, DagsterEventType.RUN_FAILURE):
        run_bounds.append(entry.timestamp)


def run_steps(dagster_home: Path, run_id: str | None = None) -> RunSteps:
    """The step times of ``run_id`` (default: the newest run of the instance) from its event log."""
    from dagster import DagsterEventType, DagsterInstance

    wanted = {DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE,
              DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.RUN_START, DagsterEventType.RUN_SUCCESS,
              DagsterEventType.RUN_FAILURE, DagsterEventType.ENGINE_EVENT}
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        run = instance.get_run_by_id(run_id) if run_id else instance.get_runs(limit=1)[0]
        result = RunSteps(run.run_id, run.status.value, None)
        starts: dict[str, float] = {}
        bounds: list[float] = []
        for entry in instance.all_logs(run.run_id, of_type=wanted):
            _apply_event(result, entry, starts, bounds)
    if len(bounds) >= 2:
        result.run_seconds = round(max(bounds) - min(bounds), 3)
    return result


_PROGRESS = re.compile(r"([\w/ ]+): (\d+) of (\d+) days \(\d+ %\), (?:(\d+) min )?(\d+) s elapsed")


def progress_linearity(log_text: str) -> dict[str, dict]:
    """Per multi-day step, seconds per day over the first and the second half of its days, from the
    ``<asset>: N of M days (P %), E elapsed`` lines a backfill logs (a ratio near 1 = linear in days)."""
    points: dict[str, list[tuple[int, int, int]]] = {}
    for label, done, total, minutes, seconds in _PROGRESS.findall(log_text):
        points.setdefault(label.strip(), []).append((int(done), int(total), int(minutes or 0) * 60 + int(seconds)))
    result = {}
    for label, marks in points.items():
        done_end, total, elapsed_end = max(marks)
        middle = min(marks, key=lambda m: abs(m[0] - total / 2))
        if done_end < total or middle[0] in (0, total) or elapsed_end == 0:
            continue
        first = middle[2] / middle[0]
        second = (elapsed_end - middle[2]) / (total - middle[0])
        result[label] = {"days": total, "split_at_day": middle[0], "first_part_s_per_day": round(first, 3),
                         "second_part_s_per_day": round(second, 3),
                         "ratio": round(second / first, 2) if first else None}
    return result


def machine() -> str:
    """``2 cores, 23.4 GiB, AMD EPYC …``."""
    cpu = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {memory:.1f} GiB, {cpu}"


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def git_state(root: Path) -> dict:
    """The commit the benchmark ran on and whether the work tree had changes."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit.stdout.strip(), "dirty": bool(dirty.stdout.strip())}
