#!/usr/bin/env python3
"""Real-browser check of the Dagster UI against a small sample run (``make ui-check``).

1. Prepares a sample run in its own data dir with the project's CLI (``lifecycle-pipeline init``,
   ``generate``, ``backfill``), or reuses the one a previous check left there. The partitions
   start on the sample's first day (``LIFECYCLE_START_DATE``), so every partition is materialized.
2. Starts ``dagster dev -w workspace.yaml`` on 127.0.0.1 (a free port) in its own process group
   and waits until the webserver has loaded the code location.
3. Drives Debian's chromium headless through Playwright (``executable_path``; Playwright never
   downloads a browser here) and checks four views, saving a screenshot of each:

   - ``asset_graph.png``: the global asset lineage shows every group; the upstream lineage of
     ``lifecycle/stage_counts_daily`` shows the asset names from raw sources to stages
   - ``partitions.png``: ``raw/orders`` partitions, every sample day materialized, the last one selected
   - ``raw_orders_checks.png``: ``raw/orders`` checks, every check listed, none skipped or unevaluated
   - ``stage_distribution_metadata.png``: the latest ``lifecycle/stage_counts_daily`` materialization,
     its ``stage_distribution`` metadata opened and the PNG chart rendered

4. Always stops the whole ``dagster dev`` process group (SIGTERM, then SIGKILL), even on failure.

A failed view saves ``failure_<view>.png`` beside the screenshots; the exit status is 1 for a
failed assertion, 2 when the check could not run (no chromium, no playwright, sample or UI
did not start). Run ``.venv/bin/python scripts/ui_check.py --help``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
STATE_FILE = "ui_check_sample.json"  # written by this script into a data dir it prepared
CHART_ASSET = "lifecycle/stage_counts_daily"
CHART_KEY = "stage_distribution"
CHECKED_ASSET = "raw/orders"
GROUPS = ("ingestion", "clean", "scoring", "lifecycle", "outreach", "bi")
# names the upstream lineage of the chart asset must show: raw and clean sources, scores, stages
LINEAGE_NAMES = ("orders", "events", "customer_features", "rfm_scores", "health_scores", "stage_counts_daily")
# the latest status of a check in the UI's list that is not a result of the check (Succeeded or Failed)
NOT_EVALUATED = ("skipped", "not evaluated", "execution failed", "")
SCREENSHOTS = {
    "asset_graph": "asset_graph.png",
    "partitions": "partitions.png",
    "checks": "raw_orders_checks.png",
    "chart": "stage_distribution_metadata.png",
}


class CheckFailed(Exception):
    """An assertion about the UI did not hold."""


class SetupError(Exception):
    """The check could not run: no browser, no sample, no UI."""


def log(message: str) -> None:
    print(f"[ui-check] {message}", flush=True)


# --- the sample run ----------------------------------------------------------------------------------------------


@dataclass
class Sample:
    data_dir: Path
    days: list[dt.date]  # the partitions the sample materialized, oldest first
    start_date: str | None  # LIFECYCLE_START_DATE for every command, None: the environment's default
    reused: bool = False

    @property
    def last_day(self) -> dt.date:
        return self.days[-1]


def sample_env(data_dir: Path, start_date: str | None) -> dict[str, str]:
    """The environment of every command: this data dir only; no LIFECYCLE_* setting of the caller leaks in
    (a LIFECYCLE_DUCKDB_PATH of the caller would make the sample backfill write into the real warehouse)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFECYCLE_")}
    env["LIFECYCLE_DATA_DIR"] = str(data_dir)
    env["DAGSTER_HOME"] = str(data_dir / "dagster_home")
    if start_date:
        env["LIFECYCLE_START_DATE"] = start_date
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def run_cli(env: dict[str, str], *args: str) -> None:
    program = VENV_BIN / "lifecycle-pipeline"
    command = [str(program)] if program.exists() else [sys.executable, "-m", "lifecycle_pipeline.cli"]
    log("$ lifecycle-pipeline " + " ".join(args))
    result = subprocess.run([*command, *args], check=False, env=env, cwd=REPO, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    for line in result.stdout.splitlines()[-8:]:
        print(f"    {line}", flush=True)
    if result.returncode != 0:
        raise SetupError(f"`lifecycle-pipeline {' '.join(args)}` failed (exit {result.returncode}); output above")


def _state(data_dir: Path) -> dict | None:
    path = data_dir / STATE_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _landing_days(data_dir: Path) -> list[dt.date]:
    folder = data_dir / "landing" / "orders"
    names = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    return [dt.date.fromisoformat(n) for n in names if re.fullmatch(r"\d{4}-\d{2}-\d{2}", n)]


def existing_sample(data_dir: Path, fresh: bool) -> Sample | None:
    """A sample to reuse: one this script completed, or a data dir with a warehouse it did not prepare."""
    state = _state(data_dir)
    if state is not None and (fresh or not state.get("complete")):
        log(f"removing the {'earlier' if state.get('complete') else 'unfinished'} sample in {data_dir}")
        shutil.rmtree(data_dir)
        return None
    if state is not None:
        start, end = dt.date.fromisoformat(state["start"]), dt.date.fromisoformat(state["end"])
        days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
        return Sample(data_dir, days, state["start"], reused=True)
    if (data_dir / "warehouse.duckdb").exists():
        if fresh:
            raise SetupError(f"--fresh: {data_dir} holds a warehouse this script did not prepare; not deleting it")
        days = _landing_days(data_dir)
        if not days:
            raise SetupError(f"{data_dir} has a warehouse but no landing/orders/<day> folders")
        return Sample(data_dir, days, None, reused=True)
    return None


def plan_sample(data_dir: Path, days: int) -> Sample:
    end = dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=1)  # yesterday in UTC, the default zone
    first = end - dt.timedelta(days=days - 1)
    return Sample(data_dir, [first + dt.timedelta(days=i) for i in range(days)], first.isoformat())


def prepare_sample(sample: Sample, customers: int) -> None:
    """generate + backfill (init has run); the state file marks the sample complete only at the end."""
    env = sample_env(sample.data_dir, sample.start_date)
    first, last = sample.days[0].isoformat(), sample.last_day.isoformat()
    state = {"start": first, "end": last, "customers": customers, "complete": False}
    (sample.data_dir / STATE_FILE).write_text(json.dumps(state), encoding="utf-8")
    started = time.monotonic()
    run_cli(env, "generate", "--customers", str(customers), "--start", first, "--end", last)
    run_cli(env, "backfill", "--start", first, "--end", last)
    state["complete"] = True
    (sample.data_dir / STATE_FILE).write_text(json.dumps(state), encoding="utf-8")
    log(f"sample run ready in {time.monotonic() - started:.0f} s: {customers} customers, {first}..{last}")


# --- dagster dev ---------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_dagster_dev(env: dict[str, str], port: int, log_path: Path) -> subprocess.Popen:
    dagster = VENV_BIN / "dagster"
    command = [str(dagster) if dagster.exists() else "dagster", "dev", "--host", "127.0.0.1", "--port", str(port),
               "-w", str(REPO / "workspace.yaml")]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 - owned by the process, closed in stop
    # its own session and process group: stop_dagster_dev ends the webserver, daemon and code servers with it
    process = subprocess.Popen(command, env=env, cwd=REPO, stdout=handle, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    process.log_handle = handle  # type: ignore[attr-defined]
    log(f"dagster dev started: pid {process.pid} (process group {process.pid}), port {port}, log {log_path}")
    return process


_LOCATIONS = """{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on PythonError { message } } } } } }"""


def _graphql(base: str, query: str) -> dict:
    request = urllib.request.Request(f"{base}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def wait_until_ready(process: subprocess.Popen, base: str, timeout: float, log_path: Path) -> None:
    """Until /server_info answers and the code location is loaded (not merely the webserver up)."""
    deadline, started, status = time.monotonic() + timeout, time.monotonic(), "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SetupError(f"dagster dev exited with {process.returncode}:\n{_tail(log_path)}")
        try:
            with urllib.request.urlopen(f"{base}/server_info", timeout=5) as response:
                version = json.load(response).get("dagster_version")
            entries = _graphql(base, _LOCATIONS)["data"]["workspaceOrError"].get("locationEntries") or []
            status = ", ".join(f"{e['name']}: {e['loadStatus']}" for e in entries) or "no code location"
            for entry in entries:
                loaded = entry.get("locationOrLoadError") or {}
                if loaded.get("__typename") == "PythonError":
                    raise SetupError(f"code location {entry['name']} failed to load: {loaded.get('message')}")
            if entries and all((e.get("locationOrLoadError") or {}).get("__typename") == "RepositoryLocation"
                               for e in entries):
                log(f"UI ready at {base} after {time.monotonic() - started:.0f} s (dagster {version}; {status})")
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError, KeyError, ValueError):
            pass
        time.sleep(1)
    raise SetupError(f"the UI did not get ready within {timeout:.0f} s ({status}):\n{_tail(log_path)}")


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_dagster_dev(process: subprocess.Popen, grace: float = 20) -> None:
    """SIGTERM to the whole process group (as Ctrl-C would), SIGKILL to whatever is left of it after ``grace`` s."""
    pgid = process.pid
    if _group_alive(pgid):
        os.killpg(pgid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        log(f"dagster dev did not stop within {grace:.0f} s of SIGTERM: SIGKILL")
    if _group_alive(pgid):  # a code server can outlive the dagster dev process
        os.killpg(pgid, signal.SIGKILL)
    process.wait()
    process.log_handle.close()  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    while _group_alive(pgid) and time.monotonic() < deadline:  # killed members are reaped by init
        time.sleep(0.2)
    state = "still has members" if _group_alive(pgid) else "ended"
    log(f"dagster dev stopped: process group {pgid} {state}")


# --- the browser ---------------------------------------------------------------------------------------------------


def find_chromium(explicit: str | None = None) -> str | None:
    if explicit:
        return explicit if Path(explicit).exists() else shutil.which(explicit)
    return shutil.which("chromium") or shutil.which("chromium-browser")


# the UI's first-visit "Join the Dagster community" dialog (localStorage key of dagster-webserver 1.13)
_INIT_SCRIPT = "window.localStorage.setItem('communityNux', JSON.stringify('1'));"


@dataclass
class Views:
    page: object  # playwright.sync_api.Page
    base: str
    sample: Sample
    screenshots: Path
    timeout_ms: int
    passed: list[str] = field(default_factory=list)

    def goto(self, path: str) -> None:
        self.page.goto(self.base + path, wait_until="networkidle", timeout=self.timeout_ms * 2)

    def visible(self, locator, what: str) -> None:
        """Wait until ``locator`` (its first match) is visible and inside the viewport."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            locator.first.wait_for(state="visible", timeout=self.timeout_ms)
        except PlaywrightTimeout:
            raise CheckFailed(f"{what}: not visible after {self.timeout_ms / 1000:.0f} s") from None
        box, size = locator.first.bounding_box(), self.page.viewport_size
        if box is None or box["x"] + box["width"] <= 0 or box["y"] + box["height"] <= 0 \
                or box["x"] >= size["width"] or box["y"] >= size["height"]:
            raise CheckFailed(f"{what}: outside the visible part of the page ({box})")

    def ok(self, message: str) -> None:
        self.passed.append(message)
        log(f"  ok: {message}")

    def shot(self, name: str) -> Path:
        path = self.screenshots / SCREENSHOTS[name]
        self.page.wait_for_timeout(500)  # let transitions (dialog fade-in, graph zoom) finish
        self.page.screenshot(path=str(path))
        log(f"  screenshot: {path}")
        return path

    # 1. the asset graph
    def asset_graph(self) -> None:
        self.goto("/asset-groups")
        graph = self.page.locator("svg foreignObject")
        for group in GROUPS:
            self.visible(graph.get_by_text(group, exact=True), f"group {group!r} in the global asset lineage")
        self.ok(f"global asset lineage (/asset-groups) shows the groups {', '.join(GROUPS)}")
        # lineageDepth above the graph's depth: the UI shows the whole upstream graph (the depth it shows is capped)
        self.goto(f"/assets/{CHART_ASSET}?view=lineage&lineageScope=upstream&lineageDepth=99")
        for name in LINEAGE_NAMES:
            self.visible(graph.get_by_text(name, exact=True), f"asset {name!r} in the upstream lineage of {CHART_ASSET}")
        for group in GROUPS[:4]:
            self.visible(graph.get_by_text(group, exact=True), f"group box {group!r} in the lineage of {CHART_ASSET}")
        self.ok(f"asset graph upstream of {CHART_ASSET} shows {', '.join(LINEAGE_NAMES)} in groups "
                f"{', '.join(GROUPS[:4])}")
        self.shot("asset_graph")

    # 2. one asset's partitions
    def partitions(self) -> None:
        last = self.sample.last_day.isoformat()
        self.goto(f"/assets/{CHECKED_ASSET}?view=partitions&partition={last}")
        count = self.page.get_by_text(re.compile(r"^Materialized \(\d+\)$"))
        self.visible(count, "the 'Materialized (N)' partition filter")
        materialized = int(re.search(r"\d+", count.first.inner_text()).group())
        if materialized < len(self.sample.days):
            raise CheckFailed(f"{CHECKED_ASSET}: {materialized} partitions materialized, the sample has "
                              f"{len(self.sample.days)}")
        for day in reversed(self.sample.days[-5:]):
            self.visible(self.page.get_by_text(day.isoformat(), exact=True), f"partition {day} in the list")
        self.visible(self.page.get_by_text("Materialized", exact=True), f"status of the selected partition {last}")
        self.visible(self.page.get_by_text("rows_read", exact=True), f"materialization metadata of {last}")
        self.ok(f"{CHECKED_ASSET} partitions: {materialized} materialized, days "
                f"{self.sample.days[0]}..{last} listed, {last} selected with its metadata (rows_read)")
        self.shot("partitions")

    # 3. the checks of raw/orders
    def checks(self) -> None:
        from lifecycle_pipeline.quality_rules import check_names

        names = check_names()[CHECKED_ASSET.split("/")[1]]
        self.goto(f"/assets/{CHECKED_ASSET}?view=checks")
        self.visible(self.page.get_by_text(f"Checks ({len(names)})", exact=True), f"'Checks ({len(names)})' header")
        statuses: dict[str, str] = {}
        for name in names:
            # the list entry (a row of dagster-webserver's AssetChecks list): the check's name, then its status
            row = self.page.locator("[class*='checkRow']", has=self.page.get_by_text(name, exact=True))
            self.visible(row, f"check {name!r} in the list")
            lines = [line.strip() for line in row.first.inner_text().splitlines() if line.strip()]
            statuses[name] = next((line for line in reversed(lines) if line != name), "")
        not_evaluated = [n for n, s in statuses.items() if s.lower() in NOT_EVALUATED]
        if not_evaluated:
            raise CheckFailed(f"checks of {CHECKED_ASSET} without an evaluation: {not_evaluated}; statuses: {statuses}")
        counts = {s: list(statuses.values()).count(s) for s in sorted(set(statuses.values()))}
        self.ok(f"{CHECKED_ASSET} lists its {len(names)} checks ({', '.join(names)}); statuses {counts}, none skipped")
        self.shot("checks")

    # 4. a materialization with a chart
    def chart(self) -> None:
        self.goto(f"/assets/{CHART_ASSET}?view=events")
        row = self.page.locator("tr", has=self.page.get_by_text(CHART_KEY, exact=True)).last
        self.visible(row, f"metadata entry {CHART_KEY!r} of the latest materialization")
        self.visible(self.page.get_by_text(f"{CHART_KEY}.png", exact=False), f"metadata entry {CHART_KEY}_file")
        row.get_by_text("[Show Markdown]").click()
        dialog = self.page.get_by_role("dialog")
        image = dialog.locator("img[src^='data:image/png']")
        self.visible(image, f"the {CHART_KEY} chart (an <img> with a data:image/png source) in the metadata dialog")
        width, height = image.first.evaluate("img => [img.naturalWidth, img.naturalHeight]")
        if not (width > 100 and height > 100):
            raise CheckFailed(f"the {CHART_KEY} image did not decode ({width}x{height} px)")
        self.visible(dialog.get_by_text(CHART_KEY, exact=True), f"the dialog title {CHART_KEY!r}")
        self.ok(f"latest {CHART_ASSET} materialization: metadata {CHART_KEY!r} renders a {width}x{height} PNG "
                "chart (data:image/png) and names its file")
        self.shot("chart")


def browse(chromium: str, base: str, sample: Sample, screenshots: Path, viewport: tuple[int, int],
           timeout_s: float) -> list[str]:
    """Every view in one browser; returns the failures (a failure_<view>.png is saved for each)."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    failures = []
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        except PlaywrightError as exc:
            raise SetupError(f"{chromium} did not start: {str(exc).splitlines()[0]}") from None
        try:
            context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
            context.add_init_script(_INIT_SCRIPT)
            page = context.new_page()
            page.set_default_timeout(timeout_s * 1000)
            views = Views(page, base, sample, screenshots, int(timeout_s * 1000))
            steps: list[tuple[str, Callable[[], None]]] = [
                ("asset_graph", views.asset_graph), ("partitions", views.partitions),
                ("checks", views.checks), ("chart", views.chart)]
            for name, step in steps:
                log(f"view {name}")
                try:
                    step()
                except (CheckFailed, PlaywrightError) as exc:
                    failure = screenshots / f"failure_{name}.png"
                    try:
                        page.screenshot(path=str(failure))
                    except PlaywrightError:
                        failure = None
                    message = str(exc).splitlines()[0] if isinstance(exc, PlaywrightError) else str(exc)
                    failures.append(f"{name}: {message} (page {page.url}; screenshot {failure})")
                    log(f"  FAILED: {failures[-1]}")
        finally:
            browser.close()
    return failures


# --- main ----------------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=REPO / "data" / "ui_check",
                        help="the sample run's data dir; reused when it already holds one (default: data/ui_check)")
    parser.add_argument("--screenshots", type=Path, help="where to save the screenshots (default: <data dir>/screenshots)")
    parser.add_argument("--port", type=int, help="the webserver's port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--customers", type=int, default=300, help="customers in a new sample (default 300)")
    parser.add_argument("--days", type=int, default=10, help="days in a new sample, ending yesterday (default 10)")
    parser.add_argument("--fresh", action="store_true", help="replace a sample this script prepared earlier")
    parser.add_argument("--chromium", help="the chromium executable (default: `chromium` on PATH)")
    parser.add_argument("--viewport", default="1600x1000", help="browser window WIDTHxHEIGHT (default 1600x1000)")
    parser.add_argument("--startup-timeout", type=float, default=180, help="seconds for the UI to load (default 180)")
    parser.add_argument("--timeout", type=float, default=30, help="seconds to wait for each element (default 30)")
    args = parser.parse_args(argv)
    if not re.fullmatch(r"\d+x\d+", args.viewport):
        parser.error("--viewport must be WIDTHxHEIGHT, e.g. 1600x1000")
    if args.days < 1 or args.customers < 1:
        parser.error("--days and --customers must be at least 1")
    return args


def preflight(args: argparse.Namespace) -> str:
    chromium = find_chromium(args.chromium)
    if chromium is None:
        raise SetupError("no chromium executable found: install Debian's chromium with "
                         "`sudo apt-get install -y chromium` (Playwright drives it; it never downloads a browser)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        raise SetupError("the Python package playwright is missing: .venv/bin/pip install -e '.[test]'") from None
    return chromium


def run(args: argparse.Namespace) -> int:
    chromium = preflight(args)
    data_dir = args.data_dir.resolve()
    screenshots = (args.screenshots or data_dir / "screenshots").resolve()
    started = time.monotonic()
    sample = existing_sample(data_dir, args.fresh) if data_dir.exists() else None
    if sample:
        log(f"reusing the sample run in {data_dir} ({sample.days[0]}..{sample.last_day})")
    else:
        sample = plan_sample(data_dir, args.days)
        data_dir.mkdir(parents=True, exist_ok=True)
    env = sample_env(data_dir, sample.start_date)
    if not sample.reused:
        run_cli(env, "init")
    screenshots.mkdir(parents=True, exist_ok=True)
    for old in [*screenshots.glob("failure_*.png"), *(screenshots / f for f in SCREENSHOTS.values())]:
        old.unlink(missing_ok=True)
    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    # dagster dev starts while the sample is prepared: it only reads the instance until the browser looks
    process = start_dagster_dev(env, port, data_dir / "logs" / "ui_check_dagster_dev.log")
    try:
        if not sample.reused:
            prepare_sample(sample, args.customers)
        wait_until_ready(process, base, args.startup_timeout, data_dir / "logs" / "ui_check_dagster_dev.log")
        width, height = (int(v) for v in args.viewport.split("x"))
        failures = browse(chromium, base, sample, screenshots, (width, height), args.timeout)
    finally:
        stop_dagster_dev(process)
    if failures:
        print(f"UI check FAILED ({len(failures)} of {len(SCREENSHOTS)} views):", file=sys.stderr)
        for failure in failures:
            print(f"  {failure}", file=sys.stderr)
        return 1
    log(f"UI check passed in {time.monotonic() - started:.0f} s; screenshots:")
    for name in SCREENSHOTS.values():
        print(f"  {screenshots / name}", flush=True)
    return 0


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)  # unwinds through run()'s finally: dagster dev is stopped


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        return run(args)
    except SetupError as exc:
        print(f"UI check could not run: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
