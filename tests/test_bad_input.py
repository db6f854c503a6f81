"""Bad input gets a clear answer and loses nothing.

Every kind of bad landing input ends one of two ways:

* **quarantine**: each bad row gets a ``quality.quarantine`` row with its rule and reason
  and the day proceeds;
* **failure of the day**: an error naming the file, line and column and the expected
  schema; the previous state of the day stays.

Either way rows landed (counted from the file itself) = rows loaded + rows quarantined.
Most cases call the loading and validation functions directly on an in-process DuckDB;
a few go through ``dagster.materialize``.
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from lifecycle_pipeline.cli import main
from lifecycle_pipeline.contracts import SOURCES
from lifecycle_pipeline.definitions import build_definitions
from lifecycle_pipeline.gx_runner import SuiteRunner
from lifecycle_pipeline.loading import LandingFileError, LandingSchemaError, ensure_warehouse, load_partition
from lifecycle_pipeline.quality_rules import QualitySettings
from lifecycle_pipeline.resources import LandingZone
from lifecycle_pipeline.settings import ProjectSettings, SettingsError, load_settings
from lifecycle_pipeline.validation import validate_days
from tests.helpers import materialize, query

DAY = dt.date(2026, 3, 1)
NOW = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)  # validated at noon of the landing day
HEADER = "order_id,customer_id,ordered_at,amount,status,updated_at"
COLUMNS = "(order_id, customer_id, ordered_at, amount, status, updated_at)"
O1 = "O1,C1,2026-03-01T09:00:00Z,10.00,completed,"
O2 = "O2,C2,2026-03-01T10:00:00Z,5.50,completed,"
SCHEMA = SOURCES["orders"].describe_schema()


def csv_bytes(*lines: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode("utf-8")


@dataclass
class Case:
    files: dict[str, bytes]
    quarantined: list[tuple[str, int, str, str]] = field(default_factory=list)
    """(file, source row, rule, reason); ``{folder}`` in a reason is the day's landing folder."""
    source: str = "orders"


def _big_file_with_a_bad_quote() -> bytes:
    lines = [f"O{i},C{i % 3 + 1},2026-03-01T09:00:00Z,1.00,completed," for i in range(30_005)]
    lines[30_001] = 'O30001,"C1,2026-03-01T09:00:00Z,1.00,completed,'
    return csv_bytes(*lines)


QUARANTINED = {
    "unbalanced quote": Case({"orders.csv": csv_bytes(O1, 'O3,"C3,2026-03-01T09:30:00Z,1.00,completed,', O2)}, [
        ("orders.csv", 2, "csv_format", "line 3: field 2 (customer_id) opens a quote that is not closed (unbalanced quote)")]),
    "bad quote after 30k rows": Case({"orders.csv": _big_file_with_a_bad_quote()}, [
        ("orders.csv", 30_002, "csv_format",
         "line 30003: field 2 (customer_id) opens a quote that is not closed (unbalanced quote)")]),
    "text after a closing quote": Case({"orders.csv": csv_bytes(O1, 'O3,"C3"x,2026-03-01T09:30:00Z,1.00,completed,')}, [
        ("orders.csv", 2, "csv_format", "line 3: field 2 (customer_id) has text after its closing quote")]),
    "short row": Case({"orders.csv": csv_bytes(O1, "O3,C3,2026-03-01T09:30:00Z,1.00", O2)}, [
        ("orders.csv", 2, "csv_format", f"line 3 has 4 fields where the header has 6 {COLUMNS}")]),
    "row with an extra field": Case({"orders.csv": csv_bytes(O1, "O3,C3,2026-03-01T09:30:00Z,1.00,completed,,oops")}, [
        ("orders.csv", 2, "csv_format", f"line 3 has 7 fields where the header has 6 {COLUMNS} (an unquoted comma inside "
         "a value, or a value for a column the header does not have)")]),
    "UTF-8 BOM": Case({"orders.csv": b"\xef\xbb\xbf" + csv_bytes(O1, O2)}),
    "latin-1 text": Case({"customers.csv": "customer_id,signup_at,first_name\nC7,2026-03-01T08:00:00Z,Céline\n"
                          "C8,2026-03-01T08:00:00Z,Bob\n".encode("latin-1")}, [
        ("customers.csv", 1, "encoding", "line 2 is not valid UTF-8 (byte 0xE9 in field 3 (first_name)); landing files "
         "must be UTF-8 - the line is kept here decoded as latin-1")], source="customers"),
    "value that does not cast": Case({"orders.csv": csv_bytes(O1, "O3,C3,2026-03-01T09:30:00Z,12.50 EUR,completed,")}, [
        ("orders.csv", 2, "type_cast", "amount: 12.50 EUR is not a valid DECIMAL(18,2)")]),
    "exact duplicate across two files": Case({"a.csv": csv_bytes(O1, O2), "b.csv": csv_bytes(O1)}, [
        ("b.csv", 1, "key_unique", "key_unique: exact duplicate of {folder}/a.csv row 1, which is kept")]),
    "conflicting duplicate key across two files": Case(
        {"a.csv": csv_bytes(O1, O2), "b.csv": csv_bytes("O1,C1,2026-03-01T09:00:00Z,99.00,completed,")}, [
            ("a.csv", 1, "key_unique", "key_unique: the key has different versions in this day; every copy is quarantined"),
            ("b.csv", 1, "key_unique", "key_unique: the key has different versions in this day; every copy is quarantined")]),
    "orphan customer": Case({"orders.csv": csv_bytes(O1, "O3,C404,2026-03-01T09:30:00Z,1.00,completed,")}, [
        ("orders.csv", 2, "customer_exists", "customer_exists: customer_id is a customer known by the end of this day.")]),
    "future timestamp": Case({"orders.csv": csv_bytes(O1, "O3,C3,2026-03-01T23:30:00Z,1.00,completed,")}, [
        ("orders.csv", 2, "timestamp_not_in_future", "timestamp_not_in_future: No timestamp after the validation time.")]),
    "far-past timestamp": Case({"orders.csv": csv_bytes(O1, "O3,C3,1970-01-01T00:00:00Z,1.00,completed,"
                                                            "2026-03-01T09:30:00Z")}, [
        ("orders.csv", 2, "timestamp_not_too_old", "timestamp_not_too_old: No timestamp before earliest_timestamp "
         "(placeholders such as 1900-01-01 or 1970-01-01).")]),
    "far-past day column": Case({"orders.csv": csv_bytes(O1, "O3,C3,1900-01-01T00:00:00Z,1.00,completed,")}, [
        ("orders.csv", 2, "timestamp_in_day,timestamp_not_too_old", "timestamp_in_day: The row's day column falls in the "
         "partition day (minus the late tolerance).; timestamp_not_too_old: No timestamp before earliest_timestamp "
         "(placeholders such as 1900-01-01 or 1970-01-01).")]),
    "negative amount": Case({"orders.csv": csv_bytes(O1, "O3,C3,2026-03-01T09:30:00Z,-5.00,completed,")}, [
        ("orders.csv", 2, "amount_non_negative", "amount_non_negative: Completed orders have amount >= 0.")]),
    **{
        f"{label} amount": Case({"orders.csv": csv_bytes(O1, f"O3,C3,2026-03-01T09:30:00Z,{value},completed,")}, [
            ("orders.csv", 2, "type_cast", f"amount: {value} is not a valid DECIMAL(18,2)")])
        for label, value in [("NaN", "NaN"), ("infinite", "inf"), ("minus infinite", "-Infinity"), ("1e30", "1e30")]
    },
    "header-only file": Case({"orders.csv": csv_bytes()}),
    "zero-byte file": Case({"orders.csv": b""}),
    "zero-byte file next to a good one": Case({"a.csv": csv_bytes(O1, O2), "b.csv": b""}),
}


@pytest.fixture(scope="module")
def runner() -> SuiteRunner:
    return SuiteRunner(None)


@pytest.fixture
def landing(tmp_path) -> LandingZone:
    return LandingZone(root=str(tmp_path / "landing"))


@pytest.fixture
def warehouse(tmp_path, landing):
    """An in-process warehouse that knows customers C1-C3 on DAY."""
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    conn.execute("set TimeZone = 'UTC'")
    ensure_warehouse(conn, list(SOURCES.values()))
    folder = _land(landing, "customers", {"c.csv": b"customer_id,signup_at\nC1,2026-02-01T00:00:00Z\n"
                                           b"C2,2026-02-01T00:00:00Z\nC3,2026-02-01T00:00:00Z\n"})
    load_partition(conn, SOURCES["customers"], DAY, landing.files_for("customers", DAY))
    for path in folder.iterdir():
        path.unlink()
    yield conn
    conn.close()


def _land(landing: LandingZone, source: str, files: dict[str, bytes]) -> Path:
    folder = landing.day_dir(source, DAY)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return folder


def _ingest(conn, runner, landing: LandingZone, source: str):
    contract = SOURCES[source]
    load = load_partition(conn, contract, DAY, landing.files_for(source, DAY))
    return load, validate_days(conn, contract, [DAY], QualitySettings(), runner, NOW)


def landed_rows(folder: Path) -> int:
    """Data rows of the day's files, counted from the files themselves (non-blank lines after the header)."""
    total = 0
    for path in folder.iterdir():
        data = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
        total += max(0, len([line for line in data.split(b"\n") if line.strip()]) - 1)
    return total


def _counts(conn, source: str) -> tuple[int, int]:
    """(rows in raw, rows quarantined at load) of DAY."""
    (loaded,) = conn.execute(f"select count(*) from raw.{source} where _partition_date = ?", [DAY]).fetchone()
    (quarantined,) = conn.execute(
        "select count(*) from quality.quarantine where source = ? and partition_date = ? and stage = 'ingestion'",
        [source, DAY],
    ).fetchone()
    return loaded, quarantined


def _clean_and_quarantined(conn, source: str) -> tuple[int, int]:
    """(rows clean would keep, every quarantined row) of DAY: raw minus the validation quarantine, and both stages."""
    (clean,) = conn.execute(
        f"select count(*) from raw.{source} r where _partition_date = ? and not exists (select 1 from quality.quarantine q "
        "where q.stage = 'validation' and q.source_file = r._source_file and q.source_row = r._source_row)", [DAY]
    ).fetchone()
    (quarantined,) = conn.execute(
        "select count(*) from quality.quarantine where source = ? and partition_date = ?", [source, DAY]
    ).fetchone()
    return clean, quarantined


@pytest.mark.parametrize("kind", list(QUARANTINED))
def test_bad_rows_are_quarantined_with_their_reason_and_the_day_proceeds(warehouse, runner, landing, kind):
    case = QUARANTINED[kind]
    folder = _land(landing, case.source, case.files)
    load, validation = _ingest(warehouse, runner, landing, case.source)

    found = warehouse.execute(
        "select source_file, source_row, rule, reason from quality.quarantine where source = ? and partition_date = ? "
        "order by all", [case.source, DAY]).fetchall()
    expected = [(str(folder / f), row, rule, reason.format(folder=folder)) for f, row, rule, reason in case.quarantined]
    assert found == expected
    landed = landed_rows(folder)
    loaded, quarantined_at_load = _counts(warehouse, case.source)
    assert landed == loaded + quarantined_at_load == load.rows_read
    clean, quarantined = _clean_and_quarantined(warehouse, case.source)
    assert landed == clean + quarantined
    assert not validation.days[0].blocked  # a handful of bad rows in a small day only warns


def test_a_quarantined_line_keeps_its_original_text(warehouse, runner, landing):
    _land(landing, "customers", QUARANTINED["latin-1 text"].files)
    _ingest(warehouse, runner, landing, "customers")
    assert warehouse.execute("select original_row from quality.quarantine").fetchone()[0] == (
        '{"line":2,"text":"C7,2026-03-01T08:00:00Z,Céline"}')


def test_a_quoted_value_may_span_lines_next_to_a_malformed_line(warehouse, runner, landing):
    header = "response_id,customer_id,responded_at,score,comment"
    folder = _land(landing, "nps_responses", {"nps.csv": csv_bytes(
        'R1,C1,2026-03-01T09:00:00Z,9,"great,\nreally"', "R2,C2,2026-03-01T09:30:00Z,7,", "R3,C3", header=header)})
    load, _ = _ingest(warehouse, runner, landing, "nps_responses")
    assert (load.rows_read, load.rows_loaded) == (3, 2)
    assert warehouse.execute("select source_row, reason from quality.quarantine").fetchall() == [
        (3, "line 5 has 2 fields where the header has 5 (response_id, customer_id, responded_at, score, comment)")]
    assert warehouse.execute("select comment from raw.nps_responses where response_id = 'R1'").fetchone() == (
        "great,\nreally",)
    assert landed_rows(folder) == 4  # counted by line: the answer over two lines is one row


def _truncated_gz() -> bytes:
    data = gzip.compress(csv_bytes(*[f"O{i},C1,2026-03-01T09:00:00Z,{i}.25,completed," for i in range(20_000)]))
    return data[: len(data) // 2]


FAILED = {
    "wrong delimiter": ({"orders.csv": csv_bytes(O1.replace(",", ";"), header=HEADER.replace(",", ";"))},
                        LandingSchemaError,
                        r"orders landing file {path} line 1 \(header\) does not match the orders contract: the header is "
                        r"one column that looks ;-separated; landing CSV files must be comma-separated; missing required "
                        r"columns: order_id, customer_id, ordered_at, amount, status; unexpected columns: "
                        r"order_id;customer_id;ordered_at;amount;status;updated_at \(column 1\)\. Expected schema: {schema}"),
    "extra column": ({"orders.csv": csv_bytes(O1 + ",gift", header=HEADER + ",note")}, LandingSchemaError,
                     r"orders landing file {path} line 1 \(header\) does not match the orders contract: unexpected "
                     r"columns: note \(column 7\)\. Expected schema: {schema}"),
    "missing required column": ({"orders.csv": csv_bytes("O1,C1,2026-03-01T09:00:00Z,completed",
                                                         header="order_id,customer_id,ordered_at,status")},
                                LandingSchemaError,
                                r"orders landing file {path} line 1 \(header\) does not match the orders contract: "
                                r"missing required columns: amount\. Expected schema: {schema}"),
    "stray .txt": ({"orders.csv": csv_bytes(O1), "notes.txt": b"call Bob"}, LandingFileError,
                   r"landing file {path} has an unsupported type; expected one of \.csv, \.csv\.gz, \.parquet "
                   r"\(names starting with '\.' or '_' are ignored\)"),
    "corrupt Parquet": ({"orders.parquet": b"PAR1 this is not parquet"}, LandingFileError,
                        r"landing file {path} is not a readable Parquet file: .+\. Expected: a orders file "
                        r"\(\.csv, \.csv\.gz, \.parquet\) with the schema {schema}"),
    "truncated .csv.gz": ({"orders.csv.gz": _truncated_gz()}, LandingFileError,
                          r"landing file {path} is truncated or not a valid gzip file: the compressed stream ends after "
                          r"line \d+ \(.+\)\. Deliver the complete file again; the day keeps its previous state\. "
                          r"Expected: a orders file .+"),
    "header on line 2": ({"orders.csv": b"\n" + csv_bytes(O1)}, LandingFileError,
                         r"landing file {path} line 1 is empty: the header must be on line 1\. Expected: a orders file .+"),
}


@pytest.mark.parametrize("kind", list(FAILED))
def test_an_unreadable_file_fails_its_day_with_file_line_and_schema_and_keeps_the_previous_state(
    warehouse, runner, landing, kind
):
    files, error, message = FAILED[kind]
    _land(landing, "orders", {"orders.csv": csv_bytes(O1, O2)})
    _ingest(warehouse, runner, landing, "orders")
    folder = _land(landing, "orders", files)
    bad = next(folder / name for name in files if name != "orders.csv" or len(files) == 1)

    with pytest.raises(error) as info:
        _ingest(warehouse, runner, landing, "orders")

    pattern = message.format(path=re.escape(str(bad)), schema=re.escape(SCHEMA))
    assert re.fullmatch(pattern, str(info.value), re.DOTALL), str(info.value)
    assert "\n" not in info.value.summary and bad.name in info.value.summary
    assert _counts(warehouse, "orders") == (2, 0)  # the previous state of the day
    assert warehouse.execute("select rows_read from quality.landing_loads where source = 'orders'").fetchall() == [(2,)]


# --- through Dagster ---------------------------------------------------------------------------------------------


def test_a_range_run_blocks_the_day_of_an_unreadable_file_and_loads_the_others(settings, defs):
    landing = LandingZone(root=str(settings.landing_root))
    days = [DAY, DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=2)]
    for day, content in zip(days, [csv_bytes(O1, O2), None, csv_bytes(O1, 'O3,"C3,x', O2)], strict=True):
        folder = landing.day_dir("orders", day)
        folder.mkdir(parents=True)
        (folder / ("orders.parquet" if content is None else "orders.csv")).write_bytes(content or b"PAR1 garbage")

    result = materialize(defs, ["raw/orders", "clean/orders"], tags={
        "dagster/asset_partition_range_start": days[0].isoformat(), "dagster/asset_partition_range_end": days[-1].isoformat()})

    assert result.success
    assert query(settings, "select _partition_date, count(*) from raw.orders group by 1 order by 1") == [
        (days[0], 2), (days[2], 2)]
    assert query(settings, "select partition_date, rule from quality.quarantine where stage = 'ingestion'") == [
        (days[2], "csv_format")]
    assert query(settings, "select as_of_date, reasons from quality.day_status where blocked") == [
        (days[1], ["files_loaded: orders.parquet: not a readable Parquet file; the day keeps its previous state"])]
    # one evaluation per day: only the unreadable day's failed
    checks = {e.partition: e for e in result.get_asset_check_evaluations() if e.check_name == "files_loaded"}
    assert sorted(checks) == [d.isoformat() for d in days]
    assert [p for p, e in checks.items() if not e.passed] == [days[1].isoformat()]
    assert checks[days[1].isoformat()].severity == dg.AssetCheckSeverity.ERROR


def test_a_single_day_run_fails_with_the_files_message_and_blocks_the_day(settings, defs):
    folder = settings.landing_root / "orders" / DAY.isoformat()
    folder.mkdir(parents=True)
    (folder / "orders.csv").write_bytes(csv_bytes(O1.replace(",", ";"), header=HEADER.replace(",", ";")))
    with pytest.raises(LandingSchemaError, match=r"line 1 \(header\) does not match the orders contract: the header is "
                                                 r"one column that looks ;-separated"):
        materialize(defs, ["raw/orders"], DAY.isoformat())
    [(reason,)] = query(settings, "select unnest(reasons) from quality.day_status where blocked")
    assert reason.startswith("files_loaded: orders.csv: line 1 (header) does not match the contract: the header is one")


def test_landing_folders_outside_the_range_or_not_dates_are_reported(settings, defs):
    root = settings.landing_root / "orders"
    for name in (DAY.isoformat(), "2025-12-31", "2026-13-01", "latest", "20260301", ".tmp", "_staging"):
        (root / name).mkdir(parents=True)
    (root / "orders.csv").write_bytes(csv_bytes(O1))
    (root / DAY.isoformat() / "orders.csv").write_bytes(csv_bytes(O1))
    result = materialize(defs, ["raw/orders"], DAY.isoformat())
    check = next(e for e in result.get_asset_check_evaluations() if e.check_name == "landing_folders_recognised")
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    last = dg.DailyPartitionsDefinition(start_date="2026-01-01").get_last_partition_key()
    assert check.metadata["unrecognised"].value == [
        "2025-12-31/: outside the partition range 2026-01-01.." + last,
        "2026-13-01/: not a YYYY-MM-DD day folder",
        "20260301/: not a YYYY-MM-DD day folder",
        "latest/: not a YYYY-MM-DD day folder",
        "orders.csv: a file outside any day folder",
    ]


# --- an invalid time zone --------------------------------------------------------------------------------------

TZ_MESSAGE = "LIFECYCLE_TIMEZONE='Mars/Olympus' is not an IANA time zone (e.g. UTC, Europe/Berlin, America/New_York)"


def test_an_invalid_time_zone_is_one_clear_line(tmp_path, monkeypatch, capsys):
    with pytest.raises(SettingsError) as info:
        load_settings({"LIFECYCLE_TIMEZONE": "Mars/Olympus", "LIFECYCLE_DATA_DIR": str(tmp_path)})
    assert str(info.value) == TZ_MESSAGE and info.value.__cause__ is None and info.value.__suppress_context__
    with pytest.raises(SettingsError, match="is not an IANA time zone"):
        ProjectSettings.for_data_dir(tmp_path, timezone="../../etc/passwd")

    monkeypatch.setenv("LIFECYCLE_TIMEZONE", "Mars/Olympus")
    monkeypatch.setenv("LIFECYCLE_DATA_DIR", str(tmp_path))
    assert main(["bi-path"]) == 2
    assert capsys.readouterr().err == f"error: {TZ_MESSAGE}\n"


def test_loading_the_definitions_with_an_invalid_time_zone_names_it_without_a_chain_of_tracebacks(tmp_path):
    env = {**os.environ, "LIFECYCLE_TIMEZONE": "Mars/Olympus", "LIFECYCLE_DATA_DIR": str(tmp_path),
           "DAGSTER_HOME": str(tmp_path)}
    out = subprocess.run([str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-m",
                          "lifecycle_pipeline.definitions"], env=env, capture_output=True, text=True, timeout=300)
    text = out.stdout + out.stderr
    assert f"lifecycle_pipeline.settings.SettingsError: {TZ_MESSAGE}" in text
    assert "ZoneInfoNotFoundError" not in text and "The above exception" not in text


# --- the warehouse connection's memory limit -----------------------------------------------------------------------

@pytest.mark.parametrize(("value", "limit"), [(None, None), ("3GiB", "3GiB"), ("512MB", "512MB"), ("auto", None)])
def test_the_memory_limit_setting_reaches_the_warehouse_connection(tmp_path, value, limit):
    env = {"LIFECYCLE_DATA_DIR": str(tmp_path)} | ({"LIFECYCLE_DUCKDB_MEMORY_LIMIT": value} if value else {})
    settings = load_settings(env)
    assert settings.duckdb_memory_limit == limit
    resource = build_definitions(settings).resources["duckdb"]
    with resource.get_connection() as conn:
        shown = conn.execute("select current_setting('memory_limit')").fetchall()[0][0]
    assert shown == {"3GiB": "3.0 GiB", "512MB": "488.2 MiB", None: shown}[limit]
    if limit is None:  # DuckDB's own default: 80 % of the machine's memory, far above the project's cap
        assert shown != "3.0 GiB"


def test_an_invalid_memory_limit_is_one_clear_line(tmp_path):
    with pytest.raises(SettingsError, match=r"LIFECYCLE_DUCKDB_MEMORY_LIMIT='3 gigs' must be a size such as 3GiB"):
        load_settings({"LIFECYCLE_DATA_DIR": str(tmp_path), "LIFECYCLE_DUCKDB_MEMORY_LIMIT": "3 gigs"})
