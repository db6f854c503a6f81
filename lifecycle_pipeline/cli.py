"""``lifecycle-pipeline``: sample data, real-data import, backfills, playbook checks and a summary.

Run ``lifecycle-pipeline --help``. Every command reads the same settings as the
Dagster code location (``lifecycle_pipeline/settings.py``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from importlib.resources import files
from pathlib import Path
from zoneinfo import ZoneInfo

from lifecycle_pipeline.settings import ProjectSettings, load_settings


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
    """Create $DAGSTER_HOME with the project's dagster.yaml (kept if already edited)."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.dagster_home)
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if not target.exists():
        target.write_text(files("lifecycle_pipeline").joinpath("dagster.yaml").read_text(encoding="utf-8"))
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
    from lifecycle_pipeline.importer import import_history, load_mapping

    mapping = load_mapping(Path(args.mapping))
    root = Path(args.landing_root or settings.landing_root)
    results = import_history(mapping, root, business_timezone=settings.timezone, fmt=args.format)
    for r in results:
        print(f"  {r.source:<16} {r.rows:>10,} rows -> {r.days} days ({r.first_day}..{r.last_day})")
    if results:
        first = min(r.first_day for r in results if r.first_day)
        last = max(r.last_day for r in results if r.last_day)
        print(f"landing root: {root}\nbackfill with: lifecycle-pipeline backfill --start {first} --end {last}")
    return 0


def cmd_backfill(settings: ProjectSettings, args: argparse.Namespace) -> int:
    """Materialize every asset over a day range as one Dagster run in the project instance."""
    start, end = resolve_range(settings, args)
    home = ensure_dagster_home(settings)
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    dagster = shutil.which("dagster", path=str(Path(sys.executable).parent)) or "dagster"
    command = [
        dagster, "asset", "materialize",
        "-m", "lifecycle_pipeline.definitions",
        "--select", args.select,
        "--partition-range", f"{start.isoformat()}...{end.isoformat()}",
    ]
    log = settings.data_dir / "logs" / f"backfill_{start}_{end}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    print(f"backfill {start}..{end} ({args.select}) as one run in the instance at {home}", flush=True)
    print(f"  run log: {log}", flush=True)
    started = time.monotonic()
    with open(log, "w", encoding="utf-8") as handle:
        code = subprocess.run(command, env=env, stdout=handle, stderr=subprocess.STDOUT, check=False).returncode
    lines = log.read_text(encoding="utf-8").splitlines()
    if code != 0:
        print("\n".join(lines[-40:]), file=sys.stderr)
        print(f"backfill failed (exit {code}); full log: {log}", file=sys.stderr)
        return code
    steps = [line.split(" - ")[-1] for line in lines if "STEP_SUCCESS" in line]
    for step in steps:
        print(f"  {step}")
    print(f"backfill succeeded in {time.monotonic() - started:.0f} s")
    return 0


def cmd_docs(settings: ProjectSettings, args: argparse.Namespace) -> int:
    from lifecycle_pipeline.dictionary import render_markdown

    path = Path(args.output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_markdown() + "\n", encoding="utf-8")
    print(f"data dictionary written to {path}")
    return 0


def cmd_check_playbook(settings: ProjectSettings, args: argparse.Namespace) -> int:
    """Validate a playbook and its templates (as the outreach assets will) and list its campaigns."""
    from lifecycle_pipeline.outreach.playbook import PlaybookError, load_playbook

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
                days = f"  days {lo}..{hi} ({n} with rows)"
            print(f"  {schema}.{table:<24} {rows:>12,} rows{days}")
    print(f"landing files:      {settings.landing_root}")
    exports = settings.outreach_export_dir
    days = sorted(p.name for p in exports.iterdir() if not p.name.startswith(".")) if exports.is_dir() else []
    print(f"outreach exports:   {exports}" + (f"  ({len(days)} days, {days[0]}..{days[-1]})" if days else ""))
    print(f"Dagster instance:   DAGSTER_HOME={home}")
    print("open the UI:        make dev   (then http://127.0.0.1:3000)")
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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(load_settings(), args)


if __name__ == "__main__":
    sys.exit(main())
