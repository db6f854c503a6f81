"""``lifecycle-pipeline``: sample data, real-data import, backfills, playbook checks and a summary.

Run ``lifecycle-pipeline --help``. Every command reads the same settings as the
Dagster code location (``lifecycle_pipeline/settings.py``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import os
import shutil
import subprocess
import sys
import time
from importlib.resources import files
from pathlib import Path
from zoneinfo import ZoneInfo

from lifecycle_pipeline.settings import ProjectSettings, SettingsError, load_settings


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a YYYY-MM-DD date") from None


def last_complete_day(settings: ProjectSettings, now: dt.datetime | None = None) -> dt.date:
    """Yesterday in the business time zone: the newest complete partition."""
    now = now or dt.datetime.now(ZoneInfo(settings.timezone))
    return now.astimezone(ZoneInfo(settings.timezone)).date() - dt.timedelta(days=1)


def resolve_range(settings: ProjectSettings, args: argparse.Namespace) -> tuple[dt.date, dt.date]:
    end = args.end or last_complete_day(settings)
    start = args.start or end - dt.timedelta(days=args.days - 1)
    if start > end:
        raise SystemExit(f"error: start {start} is after end {end}")
    first_partition = dt.date.fromisoformat(settings.start_date)
    if start < first_partition:
        raise SystemExit(
            f"error: {start} is before the first partition {first_partition}; set LIFECYCLE_START_DATE earlier"
        )
    return start, end


def ensure_dagster_home(settings: ProjectSettings) -> Path:
    """Create $DAGSTER_HOME with the project's dagster.yaml.

    An existing dagster.yaml that is an unedited copy of an earlier shipped version is
    replaced by the current one; an edited copy is kept (with a note when it lacks the
    settings that free the pool slots of dead runs).
    """
    from lifecycle_pipeline.runs import (
        dagster_yaml_action,
        missing_settings,
        shipped_version,
    )

    home = Path(os.environ.get("DAGSTER_HOME") or settings.dagster_home)
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    shipped = files("lifecycle_pipeline").joinpath("dagster.yaml").read_text(encoding="utf-8")
    existing = target.read_text(encoding="utf-8") if target.exists() else None
    action = dagster_yaml_action(existing, shipped)
    if action in ("write", "upgrade"):
        tmp = target.with_name(".dagster.yaml.tmp")
        tmp.write_text(shipped, encoding="utf-8")
        os.replace(tmp, target)
        if action == "upgrade":
            print(f"updated {target} to the shipped version {shipped_version(shipped)} "
                  "(it was an unedited copy of an earlier version)", flush=True)
    elif action == "keep":
        missing = missing_settings(existing or "")
        if missing:
            print(f"note: {target} was edited, so it is kept; it lacks {', '.join(missing)}: the daemon will "
                  "not free the pool slots of killed runs (see lifecycle_pipeline/dagster.yaml)", file=sys.stderr)
    return home


def cmd_init(settings: ProjectSettings, args: argparse.Namespace) -> int:
    home = ensure_dagster_home(settings)
    settings.landing_root.mkdir(parents=True, exist_ok=True)
    print(f"DAGSTER_HOME={home}")
    return 0


def cmd_generate(settings: ProjectSettings, args: argparse.Namespace) -> int:
    from lifecycle_pipeline.bad_rows import inject
    from lifecycle_pipeline.sample_data import generate, write_sample_data

    start, end = resolve_range(settings, args)
    root = Path(args.landing_root or settings.landing_root)
    data = generate(args.customers, start, end, seed=args.seed, timezone=settings.timezone)
    counts = write_sample_data(data, root, fmt=args.format)
    print(f"sample data: {args.customers} customers, {start}..{end} ({settings.timezone}), seed {args.seed}")
    for source, rows in counts.items():
        print(f"  {source:<16} {rows:>10,} rows")
    print(f"landing root: {root}")
    for spec in args.inject_bad or []:
        day_text, _, kinds = spec.partition(":")
        report = inject(root, _date(day_text), kinds.split(",") if kinds else None, seed=args.seed)
        print(f"injected bad rows on {day_text}: {report}")
    return 0


def cmd_inject_bad(settings: ProjectSettings, args: argparse.Namespace) -> int:
    from lifecycle_pipeline.bad_rows import inject

    root = Path(args.landing_root or settings.landing_root)
    report = inject(root, args.day, args.kinds.split(",") if args.kinds else None, seed=args.seed)
    print(report)
    return 0


def cmd_import(settings: ProjectSettings, args: argparse.Namespace) -> int:
    from lifecycle_pipeline.importer import import_history, load_mapping, mapping_notes

    mapping = load_mapping(Path(args.mapping))
    root = Path(args.landing_root or settings.landing_root)
    results = import_history(mapping, root, business_timezone=settings.timezone, fmt=args.format)
    for r in results:
        days = f"({r.first_day}..{r.last_day})" if r.rows else "(no rows)"
        print(f"  {r.source:<16} {r.rows:>10,} rows -> {r.days} days {days}")
    for note in mapping_notes(mapping, results):
        print(note)
    landed = [r for r in results if r.rows]
    if landed:
        first, last = min(r.first_day for r in landed), max(r.last_day for r in landed)
        print(f"landing root: {root}")
        print("\n".join(backfill_advice(settings, first, last)))
    return 0


def backfill_advice(settings: ProjectSettings, first: dt.date, last: dt.date) -> list[str]:
    """How to backfill an imported history: a command that works when pasted as printed, and the
    start date the partitions need when the history begins before LIFECYCLE_START_DATE."""
    program = Path(sys.argv[0]).resolve() if Path(sys.argv[0]).name == "lifecycle-pipeline" else None
    program = program or shutil.which("lifecycle-pipeline") or f"{sys.executable} -m lifecycle_pipeline.cli"
    lines, prefix = [], ""
    if dt.date.fromisoformat(settings.start_date) > first:
        prefix = f"LIFECYCLE_START_DATE={first} "
        lines.append(
            f"the history starts on {first}, before the first partition (LIFECYCLE_START_DATE={settings.start_date}): "
            f"set LIFECYCLE_START_DATE={first} or earlier for this project, in the environment of every command "
            "and of `make dev`")
    return [*lines, "backfill with:", f"  {prefix}{program} backfill --start {first} --end {last}"]


def _reap_dead_runs(home: Path) -> list[str]:
    """Fail runs of the instance whose process is gone and free their pool slots (no daemon needed).

    A run killed with kill -9 (or OOM, or a reboot) keeps its duckdb_writer slot; the new
    run would wait for it forever. Runs whose process is alive are left alone.
    """
    try:
        from dagster import DagsterInstance

        from lifecycle_pipeline.runs import reap_dead_runs

        with DagsterInstance.from_config(str(home)) as instance:
            return reap_dead_runs(instance).lines()
    except Exception as exc:  # the backfill itself may still work; say why the check did not
        return [f"could not check for dead runs: {exc!r}"]


def cmd_backfill(settings: ProjectSettings, args: argparse.Namespace) -> int:
    """Materialize every asset over a day range as one Dagster run in the project instance."""
    start, end = resolve_range(settings, args)
    return run_backfill(settings, start, end, args.select)


# lines of the run's log shown on the console while it runs: our per-asset progress, finished
# steps, skipped (blocked) days and failures; everything goes to the log file
_SHOWN = (" days (", "STEP_SUCCESS", "STEP_FAILURE", " skipped: blocked by ", "RUN_FAILURE")


def run_backfill(
    settings: ProjectSettings, start: dt.date, end: dt.date, select: str = "*", run_config: dict | None = None
) -> int:
    """One Dagster run over ``start..end`` (``dagster asset materialize``), its progress shown as it happens."""
    home = ensure_dagster_home(settings)
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    dagster = shutil.which("dagster", path=str(Path(sys.executable).parent)) or "dagster"
    command = [
        dagster, "asset", "materialize",
        "-m", "lifecycle_pipeline.definitions",
        "--select", select,
        "--partition-range", f"{start.isoformat()}...{end.isoformat()}",
    ]
    if run_config:
        command += ["--config-json", json.dumps(run_config)]
    log = settings.data_dir / "logs" / f"backfill_{start}_{end}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    print(f"backfill {start}..{end} ({select}) as one run in the instance at {home}", flush=True)
    for line in _reap_dead_runs(home):
        print(f"  {line}", flush=True)
    print(f"  run log: {log}", flush=True)
    print(f"  preparing the run: Dagster records a planned event per asset and day "
          f"({(end - start).days + 1} days) before the first step starts", flush=True)
    started = time.monotonic()
    tail: list[str] = []
    with open(log, "w", encoding="utf-8") as handle:
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in process.stdout:
            handle.write(line)
            tail = [*tail[-39:], line.rstrip("\n")]
            if any(marker in line for marker in _SHOWN):
                print(f"  [{_elapsed(time.monotonic() - started)}] {line.rstrip().split(' - ')[-1]}", flush=True)
        code = process.wait()
    if code != 0:
        print("\n".join(tail), file=sys.stderr)
        print(f"backfill failed (exit {code}); full log: {log}", file=sys.stderr)
        return code
    for line in _blocked_days_report(settings, start, end):
        print(line)
    print(f"backfill succeeded in {time.monotonic() - started:.0f} s")
    return 0


def _elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:d}:{secs:02d}"


def _blocked_days_report(settings: ProjectSettings, start: dt.date, end: dt.date) -> list[str]:
    """The days of the range a failed blocking check held back, and how to release them after review."""
    import duckdb

    from lifecycle_pipeline import day_status

    if not settings.duckdb_path.exists():
        return []
    with duckdb.connect(str(settings.duckdb_path)) as conn:
        days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
        blocked = day_status.blocked_days(conn, days)
    if not blocked:
        return []
    lines = [f"{len(blocked)} day(s) held back by a failed blocking check (their downstream did not run):"]
    lines += [f"  {day}: {'; '.join(reasons)}" for day, reasons in blocked.items()]
    first = min(blocked)
    lines.append(f"after review, release with: lifecycle-pipeline release --day {first} --reason '…' "
                 f"(re-runs {first} through {end} with the day's batch rules overridden)")
    return lines


def cmd_release(settings: ProjectSettings, args: argparse.Namespace) -> int:
    """Re-materialize a reviewed day with its blocking batch rules overridden, then every later day."""
    from lifecycle_pipeline.day_status import Release

    end = args.end or last_complete_day(settings)
    by = args.by or os.environ.get("USER") or getpass.getuser()
    release = Release(args.day, by, args.reason, tuple(args.source) if args.source else None)
    print(f"releasing {args.day} ({', '.join(release.sources) if release.sources else 'every source'}) "
          f"by {by}: {args.reason}")
    config = {"resources": {"quality": {"config": release.run_config()}}}
    return run_backfill(settings, args.day, end, "*", run_config=config)


def cmd_docs(settings: ProjectSettings, args: argparse.Namespace) -> int:
    from lifecycle_pipeline.dictionary import render_markdown

    path = Path(args.output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_markdown() + "\n", encoding="utf-8")
    print(f"data dictionary written to {path}")
    return 0


def cmd_check_playbook(settings: ProjectSettings, args: argparse.Namespace) -> int:
    """Validate a playbook and its templates (as the outreach assets will) and list its campaigns."""
    from lifecycle_pipeline.outreach.loader import load_playbook
    from lifecycle_pipeline.outreach.playbook import PlaybookError

    path = args.playbook or settings.playbook_path
    try:
        playbook = load_playbook(path, args.templates)
    except PlaybookError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"playbook {path or '(built-in)'} version {playbook.version}: valid, "
          f"{len(playbook.active_campaigns)} active campaigns; frequency cap {playbook.frequency_cap.max_contacts} "
          f"per {playbook.frequency_cap.days} days")
    for c in playbook.active_campaigns:
        target = ", ".join(f"{k}={v}" for k, v in c.target.model_dump().items() if v is not None)
        limit = f"  limit {c.daily_limit}/day" if c.daily_limit else ""
        print(f"  {c.priority:>3}  {c.id:<28} {c.channel:<9} holdout {c.holdout_share:.0%}  "
              f"cooldown {c.cooldown_days:>3} d  {target}{limit}")
    return 0


def cmd_summary(settings: ProjectSettings, args: argparse.Namespace) -> int:
    import duckdb

    home = Path(os.environ.get("DAGSTER_HOME") or settings.dagster_home)
    print(f"warehouse (DuckDB): {settings.duckdb_path}")
    if not settings.duckdb_path.exists():
        print("  (not created yet: run `make run` or a backfill)")
        return 1
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as conn:
        tables = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema not in ('information_schema', 'pg_catalog') order by 1, 2"
        ).fetchall()
        for schema, table in tables:
            ident = f'"{schema}"."{table}"'
            rows = conn.execute(f"select count(*) from {ident}").fetchall()[0][0]
            days = ""
            cols = {r[0] for r in conn.execute(f"describe {ident}").fetchall()}
            if "_partition_date" in cols:
                lo, hi, n = conn.execute(
                    f"select min(_partition_date), max(_partition_date), count(distinct _partition_date) from {ident}"
                ).fetchall()[0]
                days = f"  days {lo}..{hi} ({n} with rows)" if n else "  (no rows landed)"
            print(f"  {schema}.{table:<24} {rows:>12,} rows{days}")
    print(f"landing files:      {settings.landing_root}")
    exports = settings.outreach_export_dir
    days = sorted(p.name for p in exports.iterdir() if not p.name.startswith(".")) if exports.is_dir() else []
    print(f"outreach exports:   {exports}" + (f"  ({len(days)} days, {days[0]}..{days[-1]})" if days else ""))
    from lifecycle_pipeline.publish import bi_file

    bi = bi_file(settings.bi_dir)
    print(f"BI tools read:      {bi}" + ("" if bi.exists() else "  (not published yet)") + "  (read-only; see README)")
    print(f"Dagster instance:   DAGSTER_HOME={home}")
    print("open the UI:        make dev   (then http://127.0.0.1:3000)")
    return 0


def cmd_bi_path(settings: ProjectSettings, args: argparse.Namespace) -> int:
    """Print the BI file's path; with --check, open it read-only and print what is published."""
    from lifecycle_pipeline.publish import bi_file, check_bi_file

    path = bi_file(settings.bi_dir)
    print(path)
    if not args.check:
        return 0
    if not path.exists():
        print(f"not published yet: {path} does not exist (materialize bi/published_days, e.g. a backfill)",
              file=sys.stderr)
        return 1
    report = check_bi_file(path)
    print(f"published_through: {report['published_through']}  ({report['days_published']} days published, "
          f"manifest {report['manifest_id']})")
    print(f"  {'table':<36} {'rows':>12} {'on ' + str(report['published_through']):>16}")
    for table, (total, latest) in report["rows"].items():
        print(f"  {table:<36} {total:>12,} {'' if latest is None else format(latest, ','):>16}")
    return 0


def cmd_report(settings: ProjectSettings, args: argparse.Namespace) -> int:
    """Write a day's charts and its one-page HTML summary; print the page's path, then the charts'."""
    from lifecycle_pipeline.report import ReportError, open_source, render_report

    out = Path(args.out).resolve() if args.out else settings.data_dir
    try:
        with open_source(settings, args.source) as conn:
            report = render_report(conn, args.day, out)
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report.html)
    for path in report.charts.values():
        print(path)
    return 0


def cmd_fingerprint(settings: ProjectSettings, args: argparse.Namespace) -> int:
    """Rows and content hash of every table and of the export tree, to compare two runs exactly."""
    import duckdb

    from lifecycle_pipeline.fingerprint import table_fingerprints, tree_fingerprint

    with duckdb.connect(str(settings.duckdb_path), read_only=True) as conn:
        for table, (rows, digest) in table_fingerprints(conn, exclude=()).items():
            print(f"{table:<40} {rows:>12,} rows  {digest}")
    files, digest = tree_fingerprint(settings.outreach_export_dir)
    print(f"{'exports':<40} {files:>12,} files {digest}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lifecycle-pipeline", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def add_range(p: argparse.ArgumentParser, days: int) -> None:
        p.add_argument("--start", type=_date, help="first day (default: END - DAYS + 1)")
        p.add_argument("--end", type=_date, help="last day (default: yesterday in the business time zone)")
        p.add_argument("--days", type=int, default=days, help=f"number of days when --start is not given (default {days})")

    p = sub.add_parser("init", help="create DAGSTER_HOME with the project's dagster.yaml and the landing root")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("generate", help="write deterministic sample landing files")
    add_range(p, 365)
    p.add_argument("--customers", type=int, default=20_000)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--format", choices=("csv", "parquet"), default="csv")
    p.add_argument("--landing-root", help="default: LIFECYCLE_LANDING_ROOT or <data dir>/landing")
    p.add_argument(
        "--inject-bad", action="append", metavar="DAY[:KIND,...]",
        help="after writing, inject known-bad rows into DAY (all kinds unless listed); repeatable",
    )
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("inject-bad", help="inject known-bad rows into one landing day")
    p.add_argument("--day", type=_date, required=True)
    p.add_argument("--kinds", help="comma-separated kinds (default: all)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--landing-root")
    p.set_defaults(func=cmd_inject_bad)

    p = sub.add_parser("import", help="split your own history exports into the landing layout")
    p.add_argument("--mapping", required=True, help="YAML file: files and column mapping per source")
    p.add_argument("--format", choices=("csv", "parquet"), default="parquet")
    p.add_argument("--landing-root")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("backfill", help="materialize all assets for a day range as one run in the Dagster instance")
    add_range(p, 365)
    p.add_argument("--select", default="*", help="asset selection (default: every asset)")
    p.set_defaults(func=cmd_backfill)

    p = sub.add_parser("docs", help="write the data dictionary of the BI tables (docs/data_dictionary.md)")
    p.add_argument("--output", default="docs/data_dictionary.md")
    p.set_defaults(func=cmd_docs)

    p = sub.add_parser("check-playbook", help="validate an outreach playbook and its templates, list its campaigns")
    p.add_argument("--playbook", help="playbook YAML (default: LIFECYCLE_PLAYBOOK or the built-in one)")
    p.add_argument("--templates", help="templates folder (default: templates/ beside the playbook)")
    p.set_defaults(func=cmd_check_playbook)

    p = sub.add_parser("summary", help="print the warehouse tables, row counts and where everything is")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("release", help="after review, re-run a day held back by a failed blocking check")
    p.add_argument("--day", type=_date, required=True, help="the blocked day")
    p.add_argument("--reason", required=True, help="why the day may go through (recorded with the run)")
    p.add_argument("--by", help="who reviewed it (default: $USER)")
    p.add_argument("--source", action="append", help="only this source's checks (repeatable; default: every source)")
    p.add_argument("--end", type=_date, help="re-run through this day (default: yesterday): later days read the "
                                             "released one")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("fingerprint", help="rows and content hash of every table and of the exports (compare runs)")
    p.set_defaults(func=cmd_fingerprint)

    p = sub.add_parser("bi-path", help="print the path of the read-only BI file (lifecycle_bi.duckdb) for BI tools")
    p.add_argument("--check", action="store_true",
                   help="open it read-only and print published_through and the row counts")
    p.set_defaults(func=cmd_bi_path)

    p = sub.add_parser("report", help="write a day's charts and a one-page HTML summary (reports/<day>.html)")
    p.add_argument("--day", type=_date, help="the day (default: the latest published day)")
    p.add_argument("--out", help="folder for charts/<day>/ and reports/<day>.html (default: the data dir)")
    p.add_argument("--source", choices=("auto", "bi", "warehouse"), default="auto",
                   help="read the published BI file or the warehouse (default auto: the BI file when it exists; "
                        "the warehouse is opened read-only and cannot be read while a run writes it)")
    p.set_defaults(func=cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a command; a configuration or input error ends in one clear line on stderr (exit 2), no traceback."""
    from lifecycle_pipeline.importer import ImportMappingError
    from lifecycle_pipeline.outreach.playbook import PlaybookError

    args = build_parser().parse_args(argv)
    try:
        return args.func(load_settings(), args)
    except (SettingsError, ImportMappingError, PlaybookError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
