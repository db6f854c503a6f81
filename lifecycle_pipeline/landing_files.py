"""Landing files: writing them atomically, and reading CSV files line by line when they are malformed.

``<root>/<source>/<YYYY-MM-DD>/<name>.<csv|csv.gz|parquet>``. The sample generator and the
real-data importer write each day's file to a hidden temporary name and rename it into
place, so ingestion never sees half a file.

Reading (used by ``loading.py``): landing CSV files are UTF-8 (a BOM is allowed), comma
separated, ``"``-quoted with ``""`` as the escape, one header line. ``read_csv_header`` reads
line 1; ``parse_csv_lines`` is the slow, exact path for a file DuckDB's strict reader
rejects: every physical line is parsed on its own, so an unbalanced quote, a short or long
row or bytes that are not UTF-8 cost that line only (reported with its line number, field
and column) and never swallow the lines after it.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gzip
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

SUPPORTED_SUFFIXES = (".csv", ".csv.gz", ".parquet")
OTHER_DELIMITERS = (";", "\t", "|")
HEADER_MAX_BYTES = 1 << 20
MAX_CONTINUATION_LINES = 100
"""A quoted value may span lines (a comment with a line break); a quote still open after this many lines is unbalanced."""


class LandingFileError(ValueError):
    """A landing file cannot be read (unsupported type, malformed content).

    ``summary`` is one short line (file name and what is wrong) for day-status reasons.
    """

    def __init__(self, message: str, summary: str | None = None):
        super().__init__(message)
        self.summary = summary or message


def file_kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith(".csv") or name.endswith(".csv.gz"):
        return "csv"
    raise LandingFileError(
        f"landing file {path} has an unsupported type; expected one of {', '.join(SUPPORTED_SUFFIXES)} "
        "(names starting with '.' or '_' are ignored)",
        f"{path.name}: unsupported file type",
    )


FORMATS = ("csv", "parquet")


def write_table_file(table: pa.Table, path: Path, fmt: str) -> None:
    """Write ``table`` to ``path`` atomically (temp file in the same folder + rename)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown landing format {fmt!r}; use one of {', '.join(FORMATS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    if fmt == "csv":
        pacsv.write_csv(table, tmp, pacsv.WriteOptions(include_header=True, quoting_style="needed"))
    else:
        pq.write_table(table, tmp)
    os.replace(tmp, path)


def write_landing_days(
    table: pa.Table,
    day_index: np.ndarray,
    days: list[dt.date],
    source: str,
    root: Path,
    fmt: str = "csv",
    file_stem: str | None = None,
    write_empty_days: bool = True,
) -> int:
    """Split ``table`` by ``day_index`` (position in ``days``) into one file per day.

    Existing landing files of a written day are replaced (the writer owns the day
    folders it writes). Days with no rows get a header-only file when
    ``write_empty_days`` (the file arrived, it just has no rows). Returns files written.
    """
    order = np.argsort(day_index, kind="stable")
    table = table.take(pa.array(order))
    sorted_days = day_index[order]
    bounds = np.searchsorted(sorted_days, np.arange(len(days) + 1), side="left")
    name = f"{file_stem or source}.{fmt}"
    written = 0
    for i, day in enumerate(days):
        lo, hi = int(bounds[i]), int(bounds[i + 1])
        if hi == lo and not write_empty_days:
            continue
        folder = root / source / day.isoformat()
        if folder.is_dir():
            for old in folder.iterdir():
                if old.is_file() and not old.name.startswith((".", "_")) and old.name != name:
                    old.unlink()
        write_table_file(table.slice(lo, hi - lo), folder / name, fmt)
        written += 1
    return written


def iso_utc(epoch_seconds: np.ndarray) -> np.ndarray:
    """ISO-8601 UTC strings (``2026-03-01T04:30:00Z``) for epoch seconds; NaN/-1 -> None."""
    secs = np.asarray(epoch_seconds)
    valid = secs >= 0
    out = np.full(secs.shape, None, dtype=object)
    out[valid] = np.datetime_as_string(secs[valid].astype("datetime64[s]"), unit="s", timezone="UTC")
    return out


# --- reading CSV landing files ---------------------------------------------------------------------------------


def _open_binary(path: Path):
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")


def unreadable_file_error(path: Path, exc: BaseException | str, lines_read: int | None = None) -> LandingFileError:
    """The error for a file that cannot be read at all; a gzip stream that breaks off names the last complete line."""
    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    gzip_broken = isinstance(exc, (EOFError, gzip.BadGzipFile, zlib.error)) or "GZIP" in detail.upper()
    if gzip_broken and path.name.lower().endswith(".gz"):
        where = f" after line {lines_read}" if lines_read is not None else ""
        return LandingFileError(
            f"landing file {path} is truncated or not a valid gzip file: the compressed stream ends{where} ({detail}). "
            "Deliver the complete file again; the day keeps its previous state.",
            f"{path.name}: truncated or corrupt gzip file{where}",
        )
    return LandingFileError(f"landing file {path} cannot be read: {detail}", f"{path.name}: cannot be read ({detail})")


def complete_lines(path: Path) -> int:
    """Lines that can be read from ``path`` before its (gzip) stream breaks off."""
    lines = 0
    try:
        with _open_binary(path) as handle:
            for _ in handle:
                lines += 1
    except (OSError, EOFError, zlib.error):
        pass
    return lines


def quote_problem(text: str) -> tuple[int, str]:
    """(1-based field, what is wrong) for a line whose quoting is not valid CSV."""
    position, field_no, at_start = 0, 1, True
    while position < len(text):
        char = text[position]
        if at_start and char == '"':
            end = position + 1
            while True:
                end = text.find('"', end)
                if end == -1:
                    return field_no, "opens a quote that is not closed (unbalanced quote)"
                if text[end + 1 : end + 2] == '"':
                    end += 2
                    continue
                break
            position = end + 1
            if position < len(text) and text[position] != ",":
                if text[end - 1] == ",":  # the "closing" quote opens a later quoted field: this one is never closed
                    return field_no, "opens a quote that is not closed (unbalanced quote)"
                return field_no, "has text after its closing quote"
            at_start = False
            continue
        at_start = char == ","
        field_no += char == ","
        position += 1
    return field_no, "is not valid CSV"


def parse_csv_line(text: str) -> tuple[list[str], str | None]:
    """The fields of one CSV line, or ([], the csv module's complaint)."""
    if '"' not in text:
        return text.split(","), None  # what the csv module does with a line without quotes, 10x faster
    try:
        return next(csv.reader([text], strict=True), []), None
    except csv.Error as exc:
        return [], str(exc)


def _column_label(header: list[str], field_no: int) -> str:
    return f"field {field_no} ({header[field_no - 1].strip()})" if 0 < field_no <= len(header) else f"field {field_no}"


def read_csv_header(path: Path) -> list[str]:
    """Column names on line 1 of a CSV landing file; [] when the file has no content at all."""
    try:
        with _open_binary(path) as handle:
            first = handle.readline(HEADER_MAX_BYTES)
            rest = handle.read(1 << 16) if not first.strip() else b""
    except (OSError, EOFError, zlib.error) as exc:
        raise unreadable_file_error(path, exc, 0) from None
    first = first[len(codecs.BOM_UTF8):] if first.startswith(codecs.BOM_UTF8) else first
    if not first.strip():
        if rest.strip():
            raise LandingFileError(f"landing file {path} line 1 is empty: the header must be on line 1",
                                   f"{path.name}: line 1 (header) is empty")
        return []
    try:
        text = first.rstrip(b"\r\n").decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LandingFileError(
            f"landing file {path} line 1 (header) is not valid UTF-8 (byte 0x{first[exc.start]:02X} at byte "
            f"{exc.start + 1}); landing files must be UTF-8",
            f"{path.name}: line 1 (header) is not valid UTF-8",
        ) from None
    fields, problem = parse_csv_line(text)
    if problem:
        field_no, what = quote_problem(text)
        raise LandingFileError(f"landing file {path} line 1 (header): field {field_no} {what}",
                               f"{path.name}: line 1 (header) is not valid CSV")
    return fields


def delimiter_hint(header: list[str]) -> str | None:
    """'the header looks ';'-separated …' when a one-column header holds another delimiter."""
    if len(header) != 1:
        return None
    for delimiter in OTHER_DELIMITERS:
        if delimiter in header[0]:
            shown = "\\t (tab)" if delimiter == "\t" else delimiter
            return f"the header is one column that looks {shown!s}-separated; landing CSV files must be comma-separated"
    return None


@dataclass
class BadLine:
    """A landing line that could not be read as a row of the file."""

    line: int  # physical line in the file (the header is line 1)
    record: int  # 1-based data row (blank lines are not rows), the row's _source_row
    rule: str  # csv_format | encoding
    reason: str
    text: str  # the line as it arrived (bytes that are not UTF-8 decoded as latin-1)


@dataclass
class ParsedLines:
    """The rows of a CSV file parsed line by line: good rows as text, and the lines that are not rows."""

    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    records: list[int] = field(default_factory=list)
    bad: list[BadLine] = field(default_factory=list)

    def table(self) -> pa.Table:
        columns = {name: pa.array([r[i] for r in self.rows], pa.string()) for i, name in enumerate(self.header)}
        return pa.table({**columns, "_source_row": pa.array(self.records, pa.int64())})


def _decode(raw: bytes, number: int, header: list[str]) -> tuple[str, str | None]:
    """(text, reason it is not UTF-8 or None)."""
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        field_no = raw[: exc.start].count(b",") + 1
        return raw.decode("latin-1"), (
            f"line {number} is not valid UTF-8 (byte 0x{raw[exc.start]:02X} in {_column_label(header, field_no)}); "
            "landing files must be UTF-8 - the line is kept here decoded as latin-1"
        )


def _continued(lines: list[bytes], index: int, text: str, width: int) -> tuple[list[str], int] | None:
    """A quoted value that goes on over the next lines into a row of ``width`` fields: (fields, index of its
    last line), else None (the quote is unbalanced)."""
    for end in range(index + 1, min(index + 1 + MAX_CONTINUATION_LINES, len(lines))):
        try:
            text += "\n" + lines[end].rstrip(b"\r").decode("utf-8")
        except UnicodeDecodeError:
            return None
        fields, problem = parse_csv_line(text)
        if problem is None:
            return (fields, end) if len(fields) == width else None
        if problem != "unexpected end of data":
            return None
    return None


def _bad_fields(fields: list[str], number: int, header: list[str]) -> str | None:
    if len(fields) == len(header):
        return None
    hint = " (an unquoted comma inside a value, or a value for a column the header does not have)" if len(
        fields) > len(header) else ""
    return f"line {number} has {len(fields)} fields where the header has {len(header)} ({', '.join(header)}){hint}"


def parse_csv_lines(path: Path, header: list[str]) -> ParsedLines:
    """Every data line of a CSV landing file, parsed on its own: rows that fit the header, and bad lines."""
    try:
        with _open_binary(path) as handle:
            lines = handle.read().split(b"\n")
    except (OSError, EOFError, zlib.error) as exc:
        raise unreadable_file_error(path, exc, complete_lines(path)) from None
    if lines and lines[-1] == b"":
        lines.pop()
    parsed, index, record = ParsedLines(header), 1, 0
    while index < len(lines):
        raw, number = lines[index].rstrip(b"\r"), index + 1
        index += 1
        if not raw.strip():
            continue
        record += 1
        text, reason = _decode(raw, number, header)
        rule = "encoding" if reason else "csv_format"
        if reason is None:
            fields, problem = parse_csv_line(text)
            if problem == "unexpected end of data" and (joined := _continued(lines, index - 1, text, len(header))):
                (fields, last), problem = joined, None
                index = last + 1
            if problem:
                field_no, what = quote_problem(text)
                reason = f"line {number}: {_column_label(header, field_no)} {what}"
            else:
                reason = _bad_fields(fields, number, header)
        if reason:
            parsed.bad.append(BadLine(number, record, rule, reason, text))
        else:
            parsed.rows.append(fields)
            parsed.records.append(record)
    return parsed
