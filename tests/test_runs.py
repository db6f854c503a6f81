"""Dead runs and the duckdb_writer pool: a killed run must not keep the pool's only slot.

Unit tests build runs and pool claims by hand in a temporary instance. The others run
real subprocesses — the CLI (`dagster asset materialize`), `dagster-daemon run` with its
code server, the run queue, the backfill daemon and the real schedule — with
DAGSTER_HOME and the data under `tmp_path` (the daemon and its code server talk over a
unix socket; nothing listens on a TCP port). Each waits with a bound and fails with what
it was waiting for; every process is killed in a `finally`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.events import DagsterEvent
from dagster._core.events.log import EventLogEntry
from dagster._core.launcher import WorkerStatus
from dagster._core.scheduler.instigation import (
    InstigatorStatus,
    InstigatorType,
    ScheduleInstigatorData,
)
from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter

from lifecycle_pipeline import runs

BIN = Path(sys.executable).parent
POOL = "duckdb_writer"
SHIPPED_YAML = Path(runs.__file__).with_name("dagster.yaml")
LOCK_ERROR_MARKERS = ("Could not set lock", "Conflicting lock", "database is locked")


# --------------------------------------------------------------------------- helpers


def _env(tmp_path: Path, start_date: dt.date) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LIFECYCLE_", "DAGSTER_"))}
    data = tmp_path / "data"
    return {**clean, "LIFECYCLE_DATA_DIR": str(data), "LIFECYCLE_START_DATE": start_date.isoformat(),
            "LIFECYCLE_SCHEDULE_HOUR": "2", "DAGSTER_HOME": str(data / "dagster_home"), "PYTHONUNBUFFERED": "1"}


def _cli(args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "lifecycle-pipeline"), *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def _wait_for(predicate: Callable[[], object], timeout: float, what: str, log: Path | None = None,
              interval: float = 0.5) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    tail = ""
    if log is not None and log.exists():
        tail = "\n--- last lines of " + str(log) + "\n" + "\n".join(log.read_text(errors="replace").splitlines()[-40:])
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{tail}")


@contextlib.contextmanager
def _instance(env: dict[str, str]) -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        yield instance


def _kill_group(proc: subprocess.Popen) -> None:
    """Stop a process started with start_new_session=True and everything it started."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # code server and run workers left behind
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


@contextlib.contextmanager
def _daemon(tmp_path: Path, env: dict[str, str]) -> Iterator[Path]:
    """`dagster-daemon run` over the project's code location; yields its log file."""
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text("load_from:\n  - python_module:\n      module_name: lifecycle_pipeline.definitions\n"
                         "      location_name: lifecycle_pipeline\n")
    log = tmp_path / "daemon.log"
    with open(log, "w") as handle:
        proc = subprocess.Popen([str(BIN / "dagster-daemon"), "run", "-w", str(workspace)], env=env, cwd=tmp_path,
                                stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for(lambda: "daemons" in log.read_text(errors="replace") or proc.poll() is not None, 120,
                  "dagster-daemon to start", log)
        assert proc.poll() is None, log.read_text()[-3000:]
        yield log
    finally:
        _kill_group(proc)


def _slot_holders(instance: dg.DagsterInstance) -> list[str]:
    return [s.run_id for s in instance.event_log_storage.get_concurrency_info(POOL).claimed_slots]


def _worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    records = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_START)
    return records[0].dagster_event.pid if records else None


def _add_asset_backfill(instance: dg.DagsterInstance, env: dict[str, str], first: dt.date, last: dt.date) -> str:
    """Submit an asset backfill of every asset over first..last, as the UI's Materialize does."""
    from dagster._core.execution.backfill import PartitionBackfill
    from dagster._core.utils import make_new_backfill_id

    from lifecycle_pipeline.definitions import build_definitions
    from lifecycle_pipeline.settings import load_settings

    graph = build_definitions(load_settings(env)).resolve_asset_graph()
    days = [(first + dt.timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    backfill = PartitionBackfill.from_asset_partitions(
        backfill_id=make_new_backfill_id(), asset_graph=graph, partition_names=days,
        asset_selection=sorted(graph.materializable_asset_keys), backfill_timestamp=time.time(), tags={},
        dynamic_partitions_store=instance, all_partitions=False, title=None, description=None, run_config=None)
    instance.add_backfill(backfill)
    return backfill.backfill_id


def _backfill_runs(instance: dg.DagsterInstance, backfill_id: str) -> list[dg.DagsterRun]:
    return list(instance.get_runs(RunsFilter(tags={"dagster/backfill": backfill_id})))


def _finished(instance: dg.DagsterInstance, run_id: str) -> dg.DagsterRun | None:
    run = instance.get_run_by_id(run_id)
    return run if run is not None and run.is_finished else None


def _step_succeeded(instance: dg.DagsterInstance, run_id: str, step_key: str) -> bool:
    return any(r.dagster_event.step_key == step_key
               for r in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_SUCCESS))


def _lock_errors(instance: dg.DagsterInstance, run_ids: list[str], home: Path) -> list[str]:
    """Lock errors in the runs' events and in every captured compute log of the instance."""
    found = []
    for run_id in run_ids:
        for record in instance.all_logs(run_id):
            text = record.user_message or ""
            event = record.dagster_event
            if event is not None and event.event_type == dg.DagsterEventType.STEP_FAILURE:
                text += event.step_failure_data.error.to_string() if event.step_failure_data.error else ""
            if any(m in text for m in LOCK_ERROR_MARKERS):
                found.append(f"{run_id}: {text[:300]}")
    for path in (home / "storage").rglob("*"):
        if path.is_file() and path.suffix in (".err", ".out", ".complete", ".log"):
            text = path.read_text(errors="replace")
            found += [f"{path}: {m}" for m in LOCK_ERROR_MARKERS if m in text]
    return found


def _failure_text(instance: dg.DagsterInstance, run_id: str) -> str:
    lines = []
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is not None and event.event_type in (dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.RUN_FAILURE):
            error = event.step_failure_data.error if event.event_type == dg.DagsterEventType.STEP_FAILURE else None
            detail = error.to_string()[-1500:] if error else ""
            lines.append(f"{event.event_type_value} {event.step_key}: {record.user_message[:500]}\n{detail}")
    return "\n".join(lines)


def _last_schedule_tick(hour: int, now: dt.datetime | None = None) -> dt.datetime:
    """The latest 0 <hour> * * * tick (UTC) at or before now."""
    now = now or dt.datetime.now(dt.timezone.utc)
    tick = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    return tick if tick <= now else tick - dt.timedelta(days=1)


# --------------------------------------------------------------------------- unit: processes and runs


def test_parse_proc_stat_reads_state_and_start_time_after_an_odd_command_name():
    fields = ["S", "1", "2", "3"] + ["0"] * 15 + ["123456"] + ["0"] * 10
    assert runs.parse_proc_stat("42 (a) b) c) " + " ".join(fields)) == ("S", 123456)


def test_process_state_tells_live_dead_zombie_and_reused_pids():
    assert runs.process_state(os.getpid()) == runs.ALIVE
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert runs.process_state(child.pid, started_before=time.time()) == runs.ALIVE
        # an event written before this process existed cannot have come from it: pid reuse
        assert runs.process_state(child.pid, started_before=time.time() - 3600) == runs.DEAD
        child.kill()
        time.sleep(0.5)  # not reaped yet: a zombie, dead all the same
        assert runs.process_state(child.pid) == runs.DEAD
    finally:
        child.kill()
        child.wait()
    assert runs.process_state(child.pid) == runs.DEAD


def _fake_started_run(instance: dg.DagsterInstance, pid: int, status=DagsterRunStatus.STARTED,
                      claim: bool = True, pending: bool = False) -> dg.DagsterRun:
    """A run that wrote RUN_START from ``pid`` and holds (or waits for) a duckdb_writer slot."""
    run = instance.add_run(dg.DagsterRun(job_name="lifecycle_daily_job", status=DagsterRunStatus.NOT_STARTED))
    event = DagsterEvent(event_type_value=dg.DagsterEventType.RUN_START.value, job_name=run.job_name, pid=pid)
    instance.handle_new_event(EventLogEntry(error_info=None, level=20, user_message="", run_id=run.run_id,
                                            timestamp=time.time(), dagster_event=event))
    if status == DagsterRunStatus.CANCELING:
        instance.report_run_canceling(instance.get_run_by_id(run.run_id))
    storage = instance.event_log_storage
    if claim:
        assert storage.claim_concurrency_slot(POOL, run.run_id, "raw__orders").is_claimed
    if pending:
        assert not storage.claim_concurrency_slot(POOL, run.run_id, "raw__events").is_claimed
    return instance.get_run_by_id(run.run_id)


@pytest.fixture
def instance(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(SHIPPED_YAML.read_text())
    with dg.DagsterInstance.from_config(str(home)) as inst:
        inst.event_log_storage.set_concurrency_slots(POOL, 1)
        yield inst


def test_reap_fails_a_dead_run_frees_its_slot_and_leaves_a_live_run_alone(instance):
    dead_proc = subprocess.Popen([sys.executable, "-c", "pass"])
    dead_proc.wait()
    dead = _fake_started_run(instance, dead_proc.pid)
    live = _fake_started_run(instance, os.getpid(), claim=False, pending=True)  # waits behind the dead run

    result = runs.reap_dead_runs(instance)

    assert [c.run_id for c in result.reaped] == [dead.run_id]
    assert [c.run_id for c in result.alive] == [live.run_id]
    assert instance.get_run_by_id(dead.run_id).status == DagsterRunStatus.FAILURE
    assert instance.get_run_by_id(live.run_id).status == DagsterRunStatus.STARTED
    lines = result.lines()
    assert f"run {dead.run_id} (pid {dead_proc.pid}) is dead: marked failed, freed its duckdb_writer slot" in lines
    assert f"run {live.run_id} (pid {os.getpid()}) is running and waiting for duckdb_writer" in lines[1]
    # the slot went to the step that was waiting for it
    assert _slot_holders(instance) == []
    assert instance.event_log_storage.claim_concurrency_slot(POOL, live.run_id, "raw__events").is_claimed
    # a second pass finds nothing dead
    assert runs.reap_dead_runs(instance).reaped == []


def test_reap_cancels_a_dead_canceling_run_and_frees_slots_of_ended_runs(instance):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    canceling = _fake_started_run(instance, gone.pid, status=DagsterRunStatus.CANCELING)
    assert canceling.status == DagsterRunStatus.CANCELING
    result = runs.reap_dead_runs(instance)
    assert instance.get_run_by_id(canceling.run_id).status == DagsterRunStatus.CANCELED
    assert "is dead: marked canceled, freed its duckdb_writer slot" in result.lines()[0]

    ended = _fake_started_run(instance, gone.pid)
    instance.report_run_failed(ended, "worker crashed")  # what the code server does when its worker dies
    assert _slot_holders(instance) == [ended.run_id]
    result = runs.reap_dead_runs(instance)
    assert [c.run_id for c in result.freed] == [ended.run_id] and _slot_holders(instance) == []
    assert "ended as FAILURE but still held duckdb_writer: freed" in result.lines()[0]


def test_reap_leaves_runs_without_a_recorded_process_alone(instance):
    run = instance.add_run(dg.DagsterRun(job_name="lifecycle_daily_job", status=DagsterRunStatus.STARTED))
    instance.event_log_storage.claim_concurrency_slot(POOL, run.run_id, "raw__orders")
    result = runs.reap_dead_runs(instance)
    assert result.reaped == [] and [c.run_id for c in result.unknown] == [run.run_id]
    assert _slot_holders(instance) == [run.run_id]


def test_pid_checking_launcher_reports_dead_workers_to_run_monitoring(instance):
    assert isinstance(instance.run_launcher, runs.PidCheckingRunLauncher)
    assert instance.run_launcher.supports_check_run_worker_health
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead = _fake_started_run(instance, gone.pid)
    live = _fake_started_run(instance, os.getpid(), claim=False)
    unknown = instance.add_run(dg.DagsterRun(job_name="lifecycle_daily_job", status=DagsterRunStatus.STARTED))
    assert instance.run_launcher.check_run_worker_health(dead).status == WorkerStatus.FAILED
    assert instance.run_launcher.check_run_worker_health(live).status == WorkerStatus.RUNNING
    # monitoring fails a run on any answer but RUNNING/SUCCESS: no pid must mean RUNNING
    assert instance.run_launcher.check_run_worker_health(unknown).status == WorkerStatus.RUNNING


# --------------------------------------------------------------------------- unit: dagster.yaml


def test_shipped_dagster_yaml_configures_run_monitoring_that_frees_dead_runs_slots(instance):
    assert instance.run_monitoring_enabled
    settings = instance.run_monitoring_settings
    assert settings["free_slots_after_run_end_seconds"] > 0
    assert settings["max_resume_run_attempts"] == 0  # the default launcher cannot resume runs
    # a 365-day CLI backfill stays NOT_STARTED for minutes while Dagster writes its planned events
    assert instance.run_monitoring_start_timeout_seconds >= 1800
    assert "MONITORING" in instance.get_required_daemon_types()
    assert "QUEUED_RUN_COORDINATOR" in instance.get_required_daemon_types()
    assert instance.global_op_concurrency_default_limit == 1


def test_shipped_dagster_yaml_has_a_new_version_line_and_no_known_old_hash():
    text = SHIPPED_YAML.read_text(encoding="utf-8")
    assert runs.shipped_version(text) == 3
    assert runs.sha256_text(text) not in runs.PREVIOUS_SHIPPED_SHA256, "bumped the version but listed the new hash"
    assert runs.missing_settings(text) == []
    assert runs.dagster_yaml_action(None, text) == "write"
    assert runs.dagster_yaml_action(text, text) == "current"
    assert runs.dagster_yaml_action(text.replace("default_limit: 1", "default_limit: 2"), text) == "keep"


def test_init_replaces_an_unedited_old_copy_and_keeps_an_edited_one(tmp_path, monkeypatch, capsys):
    from lifecycle_pipeline import cli

    old = ("concurrency:\n  pools:\n    default_limit: 1\n  runs:\n    max_concurrent_runs: 4\n\n"
           "run_monitoring:\n  enabled: true\n  poll_interval_seconds: 30\n\ntelemetry:\n  enabled: false")
    header = ("# Dagster instance settings for this project. `lifecycle-pipeline init` (run by `make run`\n"
              "# and `make dev`) copies this file to\n# $DAGSTER_HOME (default: data/dagster_home), where run "
              "history, schedules and\n# backfills are stored (SQLite; use dagster-postgres in production).\n\n"
              "# DuckDB allows one writing process per database file. Every asset that writes the\n"
              "# warehouse declares pool=\"duckdb_writer\"; one slot means runs launched in parallel\n"
              "# (e.g. a backfill launched from the UI) queue for the writer instead of fighting over\n"
              "# the file lock. Partitioned assets use BackfillPolicy.single_run(), so a backfill of\n"
              "# N days is one run that walks the days in order.\n")
    version_1 = header + old
    assert runs.sha256_text(version_1) in runs.PREVIOUS_SHIPPED_SHA256  # the file as first shipped
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("LIFECYCLE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(home))

    (home / "dagster.yaml").write_text(version_1)
    assert cli.main(["init"]) == 0
    assert (home / "dagster.yaml").read_text() == SHIPPED_YAML.read_text()
    assert "updated" in capsys.readouterr().out

    edited = version_1.replace("max_concurrent_runs: 4", "max_concurrent_runs: 2")
    (home / "dagster.yaml").write_text(edited)
    assert cli.main(["init"]) == 0
    assert (home / "dagster.yaml").read_text() == edited
    err = capsys.readouterr().err
    assert "was edited, so it is kept" in err and "run_monitoring.free_slots_after_run_end_seconds" in err


# --------------------------------------------------------------------------- CLI without a daemon


def _start_cli_backfill(env, first: dt.date, last: dt.date, out: Path) -> subprocess.Popen:
    with open(out, "w") as handle:
        return subprocess.Popen([str(BIN / "lifecycle-pipeline"), "backfill", "--start", first.isoformat(),
                                 "--end", last.isoformat()], env=env, stdout=handle, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _kill_worker_holding_the_slot(env, proc: subprocess.Popen, log: Path) -> tuple[str, int]:
    """Wait until the run started by ``proc`` holds the duckdb_writer slot, then kill -9 its worker."""
    with _instance(env) as instance:
        run_id = _wait_for(lambda: (_slot_holders(instance) or [None])[0] or (proc.poll() is not None and "exited"),
                           240, "a run to claim the duckdb_writer slot", log)
        assert run_id != "exited", log.read_text()[-3000:]
        pid = _worker_pid(instance, run_id)
        os.kill(pid, signal.SIGKILL)
        _wait_for(lambda: runs.process_state(pid) == runs.DEAD, 30, f"pid {pid} to die")
        run = instance.get_run_by_id(run_id)
        assert run.status == DagsterRunStatus.STARTED and _slot_holders(instance) == [run_id], (
            "precondition: the killed run still holds the slot")
    return run_id, pid


def test_cli_backfill_reaps_a_killed_run_and_finishes(tmp_path):
    """kill -9 of `dagster asset materialize` mid-step; the next `backfill` says so and finishes."""
    day = dt.date(2026, 3, 1)
    env = _env(tmp_path, dt.date(2026, 1, 1))
    gen = _cli(["generate", "--customers", "300", "--start", day.isoformat(), "--end", (day + dt.timedelta(2)).isoformat()], env)
    assert gen.returncode == 0, gen.stderr
    assert _cli(["init"], env).returncode == 0
    out = tmp_path / "first.out"
    first = _start_cli_backfill(env, day, day + dt.timedelta(2), out)
    try:
        run_id, pid = _kill_worker_holding_the_slot(env, first, out)
        first.wait(timeout=60)
    finally:
        _kill_group(first)

    started = time.monotonic()
    second = _cli(["backfill", "--start", day.isoformat(), "--end", day.isoformat()], env, timeout=400)
    elapsed = time.monotonic() - started
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert f"run {run_id} (pid {pid}) is dead: marked failed, freed its duckdb_writer slot" in second.stdout
    assert "backfill succeeded" in second.stdout
    with _instance(env) as instance:
        assert instance.get_run_by_id(run_id).status == DagsterRunStatus.FAILURE
        assert _slot_holders(instance) == []
    print(f"second backfill (reap + 1 day) finished in {elapsed:.0f} s")


# --------------------------------------------------------------------------- through the daemon


def _prepare_daemon_instance(tmp_path: Path, days: int, customers: int, tick: dt.datetime
                             ) -> tuple[dict[str, str], dt.date, dt.date]:
    """Sample data for ``days`` days before the day ``tick`` runs, and that day; schedule stopped (for now)."""
    scheduled_day = tick.date() - dt.timedelta(days=1)  # the partition the tick runs
    first = scheduled_day - dt.timedelta(days=days)
    env = _env(tmp_path, first - dt.timedelta(days=30))
    gen = _cli(["generate", "--customers", str(customers), "--start", first.isoformat(),
                "--end", scheduled_day.isoformat()], env)
    assert gen.returncode == 0, gen.stderr
    assert _cli(["init"], env).returncode == 0
    # stop the (default-on) schedule before the daemon starts, so that it launches its tick
    # only when the test turns it on again (see _fire_schedule)
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text("load_from:\n  - python_module:\n      module_name: lifecycle_pipeline.definitions\n"
                         "      location_name: lifecycle_pipeline\n")
    stop = subprocess.run([str(BIN / "dagster"), "schedule", "stop", "lifecycle_daily_schedule", "-w", str(workspace)],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert stop.returncode == 0, stop.stdout[-2000:] + stop.stderr[-2000:]
    return env, first, scheduled_day


def _fire_schedule(instance: dg.DagsterInstance, tick: dt.datetime) -> None:
    """Turn the schedule on as if it had been on since just before its last tick: the
    scheduler daemon then launches that tick's run (the day that just ended) now."""
    [state] = [s for s in instance.all_instigator_state(instigator_type=InstigatorType.SCHEDULE)
               if s.instigator_name == "lifecycle_daily_schedule"]
    start = tick.timestamp() - 60
    instance.update_instigator_state(state.with_status(InstigatorStatus.RUNNING).with_data(
        ScheduleInstigatorData(state.instigator_data.cron_schedule, start_timestamp=start)))


# Both variants start dagster-daemon with its code server and wait for its backfill and
# scheduler loops (~30 s each): ~4 min for 3 days on 2 busy cores, so both are `slow`.
@pytest.mark.slow
@pytest.mark.parametrize("days", [pytest.param(3, id="3-days"), pytest.param(35, id="35-days")])
def test_backfill_and_scheduled_run_share_the_pool_through_the_daemon(tmp_path, days):
    """An asset backfill (one run over N days) and the schedule's run for the next day, both
    through the run queue: no failed run, no lock error."""
    timeline = []
    t0 = time.monotonic()
    tick = _last_schedule_tick(2)
    env, first, scheduled_day = _prepare_daemon_instance(tmp_path, days, customers=500, tick=tick)
    last = scheduled_day - dt.timedelta(days=1)
    with _daemon(tmp_path, env) as log, _instance(env) as instance:
        timeline.append(f"{time.monotonic() - t0:5.0f} s daemon up")
        backfill_id = _add_asset_backfill(instance, env, first, last)
        [backfill_run] = _wait_for(lambda: _backfill_runs(instance, backfill_id), 300,
                                   "the backfill daemon to submit the backfill's run", log, interval=2)
        timeline.append(f"{time.monotonic() - t0:5.0f} s backfill run {backfill_run.run_id} submitted")
        # the scheduled day's checks need the customers and orders of the days before it
        _wait_for(lambda: _finished(instance, backfill_run.run_id) or (
            _step_succeeded(instance, backfill_run.run_id, "raw__customers")
            and _step_succeeded(instance, backfill_run.run_id, "raw__orders")),
            900, "the backfill run to load raw customers and orders", log, interval=2)
        _fire_schedule(instance, tick)
        timeline.append(f"{time.monotonic() - t0:5.0f} s schedule turned on")
        scheduled = _wait_for(lambda: list(instance.get_runs(RunsFilter(
            tags={"dagster/schedule_name": "lifecycle_daily_schedule"}))), 180,
            "the scheduler daemon to launch the schedule's run", log, interval=2)[0]
        assert scheduled.tags["dagster/partition"] == scheduled_day.isoformat()
        timeline.append(f"{time.monotonic() - t0:5.0f} s scheduled run {scheduled.run_id} submitted")
        both = [backfill_run.run_id, scheduled.run_id]
        _wait_for(lambda: all(_finished(instance, r) for r in both), 1500, "both runs to finish", log, interval=2)
        timeline.append(f"{time.monotonic() - t0:5.0f} s both finished")

        all_runs = instance.get_runs()
        failed = {r.run_id: _failure_text(instance, r.run_id) for r in all_runs if r.status != DagsterRunStatus.SUCCESS}
        assert failed == {}, failed
        assert _lock_errors(instance, [r.run_id for r in all_runs], Path(env["DAGSTER_HOME"])) == []
        assert _slot_holders(instance) == []
        partitions = instance.get_materialized_partitions(dg.AssetKey(["raw", "orders"]))
        assert {first.isoformat(), last.isoformat(), scheduled_day.isoformat()} <= partitions
    print("\n".join(timeline))


@pytest.mark.slow
def test_killed_run_under_the_daemon_frees_its_slot_and_the_next_run_finishes(tmp_path):
    """kill -9 of a run worker the daemon launched, and of a CLI run while the daemon runs:
    each time the next run (through the queue) finishes with nobody touching anything."""
    env, first, _ = _prepare_daemon_instance(tmp_path, 3, customers=300, tick=_last_schedule_tick(2))
    report = []
    with _daemon(tmp_path, env) as log, _instance(env) as instance:
        # 1. a run launched through the instance (backfill daemon -> queue -> code server worker)
        a_id = _add_asset_backfill(instance, env, first, first + dt.timedelta(days=2))
        [run_a] = _wait_for(lambda: _backfill_runs(instance, a_id), 300, "run A to be submitted", log, interval=2)
        _wait_for(lambda: run_a.run_id in _slot_holders(instance), 300, "run A to claim the slot", log)
        pid = _worker_pid(instance, run_a.run_id)
        b_id = _add_asset_backfill(instance, env, first, first)  # queued behind A
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        _wait_for(lambda: _finished(instance, run_a.run_id), 120, "run A to be marked failed", log)
        report.append(f"daemon-launched run: failed {time.monotonic() - killed:.1f} s after kill -9")
        _wait_for(lambda: run_a.run_id not in _slot_holders(instance), 120, "run A's slot to be freed", log)
        report.append(f"daemon-launched run: slot freed {time.monotonic() - killed:.1f} s after kill -9")
        [run_b] = _wait_for(lambda: _backfill_runs(instance, b_id), 120, "run B to be submitted", log, interval=2)
        run_b = _wait_for(lambda: _finished(instance, run_b.run_id), 600, "run B to finish", log, interval=2)
        assert run_b.status == DagsterRunStatus.SUCCESS, _failure_text(instance, run_b.run_id)
        assert instance.get_run_by_id(run_a.run_id).status == DagsterRunStatus.FAILURE

        # 2. a CLI run (no launcher involved) killed while the daemon runs: monitoring finds it by pid
        out = tmp_path / "cli.out"
        cli = _start_cli_backfill(env, first, first + dt.timedelta(days=2), out)
        try:
            c_id, _pid = _kill_worker_holding_the_slot(env, cli, out)
            killed = time.monotonic()
            d_id = _add_asset_backfill(instance, env, first, first)
            _wait_for(lambda: _finished(instance, c_id), 120, "the killed CLI run to be marked failed", log)
            report.append(f"CLI run: failed {time.monotonic() - killed:.1f} s after kill -9")
            _wait_for(lambda: c_id not in _slot_holders(instance), 120, "the CLI run's slot to be freed", log)
            report.append(f"CLI run: slot freed {time.monotonic() - killed:.1f} s after kill -9")
        finally:
            _kill_group(cli)
        [run_d] = _wait_for(lambda: _backfill_runs(instance, d_id), 120, "run D to be submitted", log, interval=2)
        run_d = _wait_for(lambda: _finished(instance, run_d.run_id), 600, "run D to finish", log, interval=2)
        assert run_d.status == DagsterRunStatus.SUCCESS, _failure_text(instance, run_d.run_id)
        assert "is gone" in _failure_text(instance, c_id) or instance.get_run_by_id(c_id).is_finished
        assert _slot_holders(instance) == []
    print("\n".join(report))
