"""Data Docs a person can open: ``<data dir>/data_docs/index.html`` lists every suite and stored validation.

Real GX, no mocks: ``SuiteRunner`` instances stand in for the steps of separate runs (one
ephemeral GX context each), validating small landing days of two sources loaded into an
in-process DuckDB. Two processes building at once go through the real ``flock``.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import itertools
import json
import multiprocessing
import re
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import duckdb
import pytest

from lifecycle_pipeline.contracts import SOURCES
from lifecycle_pipeline.gx_runner import STORED_UNEXPECTED_ROWS, SuiteRunner, docs_index_url
from lifecycle_pipeline.loading import ensure_warehouse, load_partition
from lifecycle_pipeline.quality_rules import QualitySettings
from lifecycle_pipeline.validation import validate_days

DAY = dt.date(2026, 3, 1)
NOW = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
UNKNOWN_CUSTOMERS = STORED_UNEXPECTED_ROWS + 50  # orders of customers nobody knows: customer_exists fails for each
SUITES = {"customers_landing_day", "orders_landing_day"}


def _landing_files(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    customers, orders = folder / "customers.csv", folder / "orders.csv"
    customers.write_text("customer_id,signup_at\nC1,2026-03-01T01:00:00Z\nC2,2026-03-01T02:00:00Z\n")
    orders.write_text("order_id,customer_id,ordered_at,amount,status,updated_at\nO1,C1,2026-03-01T09:00:00Z,10.00,"
                      "completed,\n" + "".join(f"X{i},NOBODY{i},2026-03-01T10:00:00Z,1.00,completed,\n"
                                              for i in range(UNKNOWN_CUSTOMERS)))
    return {"customers": customers, "orders": orders}


def _warehouse(files: dict[str, Path]) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect()
    conn.execute("set TimeZone = 'UTC'")
    ensure_warehouse(conn, list(SOURCES.values()))
    for source, path in files.items():
        load_partition(conn, SOURCES[source], DAY, [path])
    return conn


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> dict[str, Path]:
    return _landing_files(tmp_path_factory.mktemp("landing"))


@pytest.fixture(scope="module")
def conn(landing):
    conn = _warehouse(landing)
    yield conn
    conn.close()


def _step(conn, docs: Path, sources=("customers", "orders"), **kwargs) -> tuple[SuiteRunner, list[str]]:
    """One step of a run: validate ``sources`` and build the Data Docs; the pages linked from the checks."""
    runner = SuiteRunner(docs, **kwargs)
    pages = [validate_days(conn, SOURCES[s], [DAY], QualitySettings(), runner, NOW).data_docs for s in sources]
    runner.build_docs()
    return runner, pages


def _index(docs: Path) -> tuple[set[str], list[str]]:
    """(suites, validation pages) linked from index.html, as paths relative to ``docs``."""
    html = (docs / "index.html").read_text()
    suites = set(re.findall(r'href="expectations/([^"/]+)\.html"', html))
    validations = re.findall(r"_table_row_link_path': '(validations/[^']+\.html)'", html)
    return suites, validations


def _relative(url: str, docs: Path) -> str:
    return Path(unquote(urlparse(url).path)).relative_to(docs.resolve()).as_posix()


def test_index_lists_every_suite_and_the_validations_of_every_run(tmp_path, conn):
    docs = tmp_path / "data" / "data_docs"
    first, first_pages = _step(conn, docs)
    second, second_pages = _step(conn, docs)

    assert first.docs_index() == second.docs_index() == docs_index_url(docs) == (docs / "index.html").as_uri()
    suites, validations = _index(docs)
    assert suites == SUITES
    assert len(validations) == 4
    assert set(validations) == {_relative(url, docs) for url in first_pages + second_pages}
    for page in [f"expectations/{s}.html" for s in suites] + validations:
        assert (docs / page).is_file(), page
    # the page a check links (docs_page) is a rendered validation of its source
    html = Path(unquote(urlparse(second_pages[1]).path)).read_text()
    assert "orders_landing_day" in html and "customer_id" in html and "unexpected values found" in html

    # the stores live beside the docs; the stored copy keeps a sample of the failing rows
    store = tmp_path / "data" / "gx_store"
    assert first.store_dir == store.resolve()
    assert sorted(p.stem for p in (store / "expectations").glob("*.json")) == sorted(SUITES)
    stored = sorted((store / "validations" / "orders_landing_day").rglob("*.json"))
    assert len(stored) == 2
    failing = [r["result"] for r in json.loads(stored[-1].read_text())["results"] if not r["success"]]
    assert [r["unexpected_count"] for r in failing] == [UNKNOWN_CUSTOMERS]
    assert len(failing[0]["unexpected_index_list"]) == STORED_UNEXPECTED_ROWS
    # ... while quarantine read every failing row from the in-memory result
    (quarantined,) = conn.execute(
        "select count(*) from quality.quarantine where source = 'orders' and stage = 'validation' "
        "and rule like '%customer_exists%'").fetchone()
    assert quarantined == UNKNOWN_CUSTOMERS


def test_old_results_beyond_the_retention_and_their_pages_are_pruned(tmp_path, conn):
    docs = tmp_path / "data_docs"
    pages = [_step(conn, docs, ["customers"], keep_results=2)[1][0] for _ in range(3)]
    oldest = Path(unquote(urlparse(pages[0]).path))

    _, validations = _index(docs)
    assert sorted(validations) == sorted(_relative(url, docs) for url in pages[1:])
    assert not oldest.exists() and not oldest.parent.exists()  # the page and its emptied folders
    stored = sorted((tmp_path / "gx_store" / "validations").rglob("*.json"))
    assert len(stored) == 2

    runner = SuiteRunner(docs)
    assert runner.prune(keep_results=1) == 1
    assert not Path(unquote(urlparse(pages[1]).path)).exists()
    assert Path(unquote(urlparse(pages[2]).path)).is_file()
    assert len(list((tmp_path / "gx_store" / "validations").rglob("*.json"))) == 1


def test_a_deleted_docs_dir_is_rebuilt_from_the_stored_results(tmp_path, conn):
    docs = tmp_path / "data_docs"
    _, before = _step(conn, docs)
    for path in sorted(docs.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    _, after = _step(conn, docs, ["customers"])
    suites, validations = _index(docs)
    assert suites == SUITES
    assert sorted(validations) == sorted(_relative(url, docs) for url in before + after)
    assert all((docs / page).is_file() for page in validations)


def test_a_held_lock_makes_a_build_wait_and_a_dead_writer_leaves_nothing_that_blocks(tmp_path, conn):
    docs, store = tmp_path / "data_docs", tmp_path / "gx_store"
    store.mkdir()
    runner = SuiteRunner(docs)
    validate_days(conn, SOURCES["customers"], [DAY], QualitySettings(), runner, NOW)
    runner.lock_timeout = 0.3
    with open(store / ".lock", "a+") as holder:  # another step building right now
        fcntl.flock(holder, fcntl.LOCK_EX)
        with pytest.raises(TimeoutError, match="gx_store/.lock is held by another step"):
            runner.build_docs()
    assert not (docs / "index.html").exists()

    # a writer killed mid-build: its lock file stays (the OS released the lock), its temporary files too
    (store / ".lock").write_text("999999\n")
    docs.mkdir()
    leftovers = [docs / ".index.html.999999.tmp", store / ".x.json.999999.tmp"]
    for path in leftovers:
        path.write_text("<html>half a page")
    runner.build_docs()
    assert _index(docs)[0] == {"customers_landing_day"}
    assert not any(path.exists() for path in leftovers)
    assert (store / ".lock").read_text().strip() != "999999"


def _concurrent_steps(landing: dict[str, Path], docs: Path, source: str, steps: int, start, log: Path) -> None:
    """A process running ``steps`` steps of ``source``; logs when each GX site build started and ended."""
    conn = _warehouse(landing)
    start.wait()
    for _ in range(steps):
        runner = SuiteRunner(docs)
        validate_days(conn, SOURCES[source], [DAY], QualitySettings(), runner, NOW)
        build = runner.context.build_data_docs

        def logged(*args, build=build, **kwargs):
            began = time.time()
            try:
                return build(*args, **kwargs)
            finally:
                with log.open("a") as out:
                    out.write(f"{began} {time.time()}\n")

        runner.context.build_data_docs = logged
        runner.build_docs()


def test_two_processes_building_at_once_take_turns_and_both_end_up_in_the_index(tmp_path, landing):
    docs = tmp_path / "data_docs"
    SuiteRunner(docs)  # GX imported before the fork: the children start at once
    fork = multiprocessing.get_context("fork")
    start = fork.Barrier(2)
    logs = [tmp_path / f"{source}.log" for source in ("customers", "orders")]
    children = [fork.Process(target=_concurrent_steps, args=(landing, docs, log.stem, 3, start, log)) for log in logs]
    for child in children:
        child.start()
    for child in children:
        child.join(120)
        assert child.exitcode == 0
    builds = sorted(tuple(map(float, line.split())) for log in logs for line in log.read_text().splitlines())
    assert len(builds) == 6
    assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(builds))  # one at a time
    suites, validations = _index(docs)
    assert suites == SUITES
    assert len(validations) == 6 and all((docs / page).is_file() for page in validations)
    assert not list(tmp_path.rglob(".*.tmp"))
    for path in (tmp_path / "gx_store").rglob("*.json"):
        json.loads(path.read_text())
