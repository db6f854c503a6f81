"""Dead runs: find runs whose process is gone, mark them failed and free their pool slots.

A run killed with SIGKILL (``kill -9``, the OOM killer, a reboot) never writes its end
event: the instance keeps it STARTED and keeps the ``duckdb_writer`` slot its step had
claimed, so every later run waits on the pool forever. Dagster records the pid of the
process that emitted each event (``DagsterEvent.pid``); a run's worker is the process
that wrote its RUN_START and STEP_START events. That is enough to tell a dead run from
a live one on this machine:

- :func:`inspect_runs` classifies every run that is active or holds/awaits a pool slot;
- :func:`reap_dead_runs` marks the dead ones failed (canceled if they were canceling)
  and frees their slots; ``lifecycle-pipeline backfill`` calls it before it starts;
- :class:`PidCheckingRunLauncher` (``run_launcher`` in the shipped ``dagster.yaml``)
  lets the daemon's run monitoring apply the same check, so a dead run (also one
  launched by the CLI) is failed within ``run_monitoring.poll_interval_seconds`` and its
  slots freed ``free_slots_after_run_end_seconds`` later, with nobody in the UI.

A run is only ever touched when every worker pid it recorded is gone (or belongs to a
process started after the run's event: the pid was reused). Runs without a recorded pid
are left alone. The checks assume the instance's runs execute on this machine (the
project's SQLite instance); runs in other containers/hosts must not share it.

Also here: :func:`dagster_yaml_action`, which decides whether ``lifecycle-pipeline init``
may replace an existing ``$DAGSTER_HOME/dagster.yaml`` with the shipped one.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    DefaultRunLauncher,
)
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus
from dagster._core.storage.dagster_run import (
    ACTIVE_RUN_STATUSES,
    DagsterRun,
    RunsFilter,
)

#: A STARTING run without any live process is only declared dead after this long
#: (the worker may not have logged its first event yet).
STARTING_GRACE_SECONDS = 60.0
#: Clock slack when comparing a process's start time with the time of a run event.
_START_TIME_SLACK_SECONDS = 5.0

ALIVE, DEAD, UNKNOWN = "alive", "dead", "unknown"


# --------------------------------------------------------------------------- processes


def _boot_time() -> float | None:
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except OSError:
        return None
    return None


def parse_proc_stat(text: str) -> tuple[str, int]:
    """State letter and start time (clock ticks after boot) from ``/proc/<pid>/stat``."""
    # the command name (field 2) is in parentheses and may contain spaces or ')'
    rest = text[text.rindex(")") + 2:].split()
    return rest[0], int(rest[19])


def process_state(pid: int, started_before: float | None = None) -> str:
    """``alive``, ``dead`` or ``unknown`` for a pid on this machine.

    ``started_before``: epoch seconds of an event the process wrote; a process with this
    pid that started later is a different process (pid reuse) and counts as dead. Zombies
    (killed, not yet reaped by their parent) count as dead.
    """
    if pid <= 0:
        return UNKNOWN
    if pid == os.getpid():
        return ALIVE
    stat_path = f"/proc/{pid}/stat"
    if os.path.isdir("/proc/self"):  # Linux: exact state and start time
        try:
            with open(stat_path, encoding="utf-8", errors="replace") as handle:
                state, start_ticks = parse_proc_stat(handle.read())
        except FileNotFoundError:
            return DEAD
        except (OSError, ValueError, IndexError):
            return UNKNOWN
        if state in ("Z", "X", "x"):
            return DEAD
        boot = _boot_time()
        if started_before is not None and boot is not None:
            started_at = boot + start_ticks / os.sysconf("SC_CLK_TCK")
            if started_at > started_before + _START_TIME_SLACK_SECONDS:
                return DEAD  # the pid now belongs to a newer process
        return ALIVE
    try:  # elsewhere (macOS): existence only
        os.kill(pid, 0)
    except ProcessLookupError:
        return DEAD
    except PermissionError:
        return ALIVE
    except OSError:
        return UNKNOWN
    return ALIVE


# --------------------------------------------------------------------------- runs


@dataclass(frozen=True)
class RunCheck:
    """What is known about one run that is active or holds/awaits a pool slot."""

    run_id: str
    status: DagsterRunStatus
    state: str  # alive | dead | unknown
    pids: tuple[int, ...] = ()
    claimed_pools: tuple[str, ...] = ()
    pending_pools: tuple[str, ...] = ()
    reason: str = ""

    @property
    def finished(self) -> bool:
        return self.status in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)

    @property
    def pid_text(self) -> str:
        if not self.pids:
            return "no pid recorded"
        return "pid " + ", ".join(str(p) for p in self.pids)


@dataclass
class ReapResult:
    """What :func:`reap_dead_runs` found and did."""

    reaped: list[RunCheck] = field(default_factory=list)  # dead: marked failed/canceled, slots freed
    freed: list[RunCheck] = field(default_factory=list)  # already ended, still held slots: freed
    alive: list[RunCheck] = field(default_factory=list)  # running: left alone
    unknown: list[RunCheck] = field(default_factory=list)  # cannot tell: left alone

    def lines(self) -> list[str]:
        return [describe(c, "reaped") for c in self.reaped] + [describe(c, "freed") for c in self.freed] + [
            describe(c, "alive") for c in self.alive] + [describe(c, "unknown") for c in self.unknown]


def _pools_text(pools: Sequence[str]) -> str:
    return ", ".join(pools)


def describe(check: RunCheck, outcome: str) -> str:
    """One line per run, as the CLI prints it."""
    head = f"run {check.run_id} ({check.pid_text})"
    if outcome == "reaped":
        verb = "canceled" if check.status == DagsterRunStatus.CANCELING else "failed"
        parts = []
        if check.claimed_pools:
            parts.append(f"freed its {_pools_text(check.claimed_pools)} slot")
        waiting = [p for p in check.pending_pools if p not in check.claimed_pools]
        if waiting:
            parts.append(f"dropped its steps waiting for {_pools_text(waiting)}")
        held = ", " + ", ".join(parts) if parts else " (it held no pool slot)"
        return f"{head} is dead: marked {verb}{held}"
    if outcome == "freed":
        return f"{head} ended as {check.status.value} but still held {_pools_text(check.claimed_pools or check.pending_pools)}: freed"
    if outcome == "alive":
        if check.claimed_pools:
            return (f"{head} is running and holds the {_pools_text(check.claimed_pools)} slot: "
                    "the new run waits for it in the pool")
        if check.pending_pools:
            return f"{head} is running and waiting for {_pools_text(check.pending_pools)}: the new run queues behind it"
        return f"{head} is running ({check.status.value}): left alone"
    return f"{head} {check.status.value}: {check.reason or 'cannot tell whether it is alive'}; left alone"


def pool_holders(instance: DagsterInstance) -> dict[str, tuple[set[str], set[str]]]:
    """run id -> (pools it holds a slot in, pools it has a pending step in)."""
    storage = instance.event_log_storage
    holders: dict[str, tuple[set[str], set[str]]] = {}
    if not storage.supports_global_concurrency_limits:
        return holders
    keys = sorted(storage.get_concurrency_keys())
    for key, info in storage.get_concurrency_infos(keys).items():
        for slot in info.claimed_slots:
            holders.setdefault(slot.run_id, (set(), set()))[0].add(key)
        for step in info.pending_steps:
            holders.setdefault(step.run_id, (set(), set()))[1].add(key)
    return holders


def worker_pids(instance: DagsterInstance, run_id: str, *, all_events: bool = False) -> list[tuple[int, float]]:
    """(pid, time of its latest event) of the processes that executed the run.

    By default the processes that wrote RUN_START and STEP_START (the run worker and,
    with a multiprocess executor, its step processes); ``all_events``: every process that
    wrote an event for the run (for STARTING runs, which have no RUN_START yet).
    """
    types = None if all_events else {DagsterEventType.RUN_START, DagsterEventType.STEP_START}
    if types is None:
        records = instance.all_logs(run_id)
    else:
        records = instance.all_logs(run_id, of_type=types)
    latest: dict[int, float] = {}
    for record in records:
        event = record.dagster_event
        if event is not None and event.pid:
            latest[event.pid] = max(latest.get(event.pid, 0.0), record.timestamp)
    return sorted(latest.items())


def check_run(instance: DagsterInstance, run: DagsterRun, claimed: Iterable[str] = (),
              pending: Iterable[str] = (), now: float | None = None) -> RunCheck:
    """Classify one run as alive, dead or unknown from the pids it recorded."""
    now = time.time() if now is None else now
    base = dict(run_id=run.run_id, status=run.status, claimed_pools=tuple(sorted(claimed)),
                pending_pools=tuple(sorted(pending)))
    starting = run.status in (DagsterRunStatus.STARTING, DagsterRunStatus.NOT_STARTED)
    pids = worker_pids(instance, run.run_id, all_events=starting)
    if not pids:
        if starting:
            launched = instance.get_run_stats(run.run_id).launch_time or 0.0
            return RunCheck(**base, state=UNKNOWN, reason="starting, no process recorded yet" if
                            now - launched < STARTING_GRACE_SECONDS else "no process recorded")
        if run.status in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED):
            return RunCheck(**base, state=DEAD, reason="ended, no process recorded")
        return RunCheck(**base, state=UNKNOWN, reason="no process recorded")
    states = {pid: process_state(pid, started_before=ts) for pid, ts in pids}
    pid_tuple = tuple(pid for pid, _ in pids)
    if any(s == ALIVE for s in states.values()):
        return RunCheck(**base, state=ALIVE, pids=tuple(p for p, s in states.items() if s == ALIVE))
    if any(s == UNKNOWN for s in states.values()):
        return RunCheck(**base, state=UNKNOWN, pids=pid_tuple, reason="process state unreadable")
    if starting:
        launched = instance.get_run_stats(run.run_id).launch_time or max(ts for _, ts in pids)
        if now - launched < STARTING_GRACE_SECONDS:
            return RunCheck(**base, state=UNKNOWN, pids=pid_tuple, reason="starting")
    return RunCheck(**base, state=DEAD, pids=pid_tuple)


def inspect_runs(instance: DagsterInstance, now: float | None = None) -> list[RunCheck]:
    """Every run that is active (starting, started, canceling) or holds/awaits a pool slot."""
    holders = pool_holders(instance)
    runs = {r.run_id: r for r in instance.get_runs(RunsFilter(statuses=list(ACTIVE_RUN_STATUSES)))}
    missing = [run_id for run_id in holders if run_id not in runs]
    if missing:
        runs.update({r.run_id: r for r in instance.get_runs(RunsFilter(run_ids=missing))})
    checks = []
    for run_id, run in runs.items():
        claimed, pending = holders.get(run_id, (set(), set()))
        checks.append(check_run(instance, run, claimed, pending, now=now))
    return checks


def reap_dead_runs(instance: DagsterInstance, now: float | None = None) -> ReapResult:
    """Mark dead runs failed (canceled if they were canceling) and free their pool slots.

    Never touches a run with a live process or without any recorded process. Slots held
    by a run that ended (a crashed worker's run the code server already marked failed)
    are freed too, as the daemon's ``free_slots_after_run_end_seconds`` would.
    """
    result = ReapResult()
    storage = instance.event_log_storage
    for check in inspect_runs(instance, now=now):
        if check.state == ALIVE:
            result.alive.append(check)
            continue
        if check.state == UNKNOWN:
            result.unknown.append(check)
            continue
        run = instance.get_run_by_id(check.run_id)  # re-read: it may have ended meanwhile
        if run is None:
            continue
        if not run.is_finished:
            message = (f"Run worker ({check.pid_text}) is no longer running (killed, out of memory or "
                       "machine restarted): marked by lifecycle-pipeline, its pool slots freed.")
            if run.status == DagsterRunStatus.CANCELING:
                instance.report_run_canceled(run, message)
            else:
                instance.report_run_failed(run, message)
            target = result.reaped
        elif check.claimed_pools or check.pending_pools:
            target = result.freed
        else:
            continue
        if storage.supports_global_concurrency_limits:
            storage.free_concurrency_slots_for_run(check.run_id)
        target.append(check)
    return result


class PidCheckingRunLauncher(DefaultRunLauncher):
    """Dagster's default run launcher plus a run-worker health check by pid.

    ``DefaultRunLauncher`` cannot tell run monitoring whether a run's worker is alive, so
    the monitoring daemon never fails a STARTED run whose process was killed (only the
    code server that spawned the worker notices, and only if it survived). This launcher
    answers from the pids the run recorded; a run without a readable pid is reported
    RUNNING (monitoring fails every other answer).
    """

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        try:
            check = check_run(self._instance, run)
        except Exception as exc:  # never fail a run because the check itself broke
            return CheckRunHealthResult(WorkerStatus.RUNNING, f"pid check failed: {exc!r}")
        if check.state == DEAD:
            return CheckRunHealthResult(
                WorkerStatus.FAILED,
                f"run worker process ({check.pid_text}) is gone (killed, out of memory or machine restarted)")
        return CheckRunHealthResult(WorkerStatus.RUNNING, f"{check.state} ({check.pid_text})")


# --------------------------------------------------------------------------- dagster.yaml

_VERSION_LINE = re.compile(r"^# lifecycle-pipeline dagster\.yaml version (\d+)\b", re.MULTILINE)

#: sha256_text() of every earlier shipped dagster.yaml. A copy in $DAGSTER_HOME
#: with one of these hashes was never edited and is replaced by `lifecycle-pipeline init`.
#: When changing lifecycle_pipeline/dagster.yaml: add the old file's hash here and bump
#: its version line (tests/test_runs.py checks both).
PREVIOUS_SHIPPED_SHA256 = {
    # version 1 (no version line): run_monitoring enabled with Dagster's defaults
    "15dc462e88db6d357107183623e2a663d9069179f667dd3b36dcd0e436db5585",
    # version 2: pid-checking run launcher, slots freed after a run ends (Dagster's default storage)
    "f7b85e4533c7ace16b8019daeaf418e2bc678fc9939b43e5e5f2adbbc1ace1fc",
}

#: Settings an edited copy should have; `init` and `backfill` warn when they are missing.
REQUIRED_SETTINGS = (
    ("run_monitoring", "enabled"),
    ("run_monitoring", "free_slots_after_run_end_seconds"),
    ("run_launcher", "class"),
)


def sha256_text(text: str) -> str:
    """Hash of a dagster.yaml, blind to line endings and trailing blanks an editor may change."""
    normal = "\n".join(line.rstrip() for line in text.splitlines()).strip()
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


def shipped_version(text: str) -> int | None:
    match = _VERSION_LINE.search(text)
    return int(match.group(1)) if match else None


def missing_settings(text: str) -> list[str]:
    """Dotted names of REQUIRED_SETTINGS absent (or falsy) in a dagster.yaml text."""
    import yaml

    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        return [".".join(path) for path in REQUIRED_SETTINGS]
    missing = []
    for path in REQUIRED_SETTINGS:
        node = data
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if not node:
            missing.append(".".join(path))
    return missing


def dagster_yaml_action(existing: str | None, shipped: str) -> str:
    """What `init` does with $DAGSTER_HOME/dagster.yaml.

    ``write`` (missing), ``current`` (identical to the shipped file), ``upgrade`` (an
    unedited copy of an earlier shipped version: replaced), ``keep`` (edited by someone:
    left as it is).
    """
    if existing is None:
        return "write"
    if sha256_text(existing) == sha256_text(shipped):
        return "current"
    if sha256_text(existing) in PREVIOUS_SHIPPED_SHA256:
        return "upgrade"
    return "keep"


def main(argv: Sequence[str] | None = None) -> int:  # pragma: no cover - manual use
    """``python -m lifecycle_pipeline.runs [--reap]``: list (or reap) runs of $DAGSTER_HOME."""
    argv = list(sys.argv[1:] if argv is None else argv)
    with DagsterInstance.get() as instance:
        if "--reap" in argv:
            lines = reap_dead_runs(instance).lines()
        else:
            lines = [f"{c.run_id} {c.status.value} {c.state} {c.pid_text} claimed={c.claimed_pools} "
                     f"pending={c.pending_pools} {c.reason}" for c in inspect_runs(instance)]
    print("\n".join(lines) or "no active runs, no pool slots held")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
