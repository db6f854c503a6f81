"""The day report (lifecycle_pipeline/report.py, `lifecycle-pipeline report`): the charts and a one-page HTML summary.

One small sample (200 customers, 3 days, bad rows injected into the last day) runs through every asset,
including the BI publish; the reports read it back from the BI file and from the warehouse.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
from PIL import Image

from lifecycle_pipeline import charts, publish, report
from lifecycle_pipeline.bad_rows import inject
from lifecycle_pipeline.definitions import build_definitions
from lifecycle_pipeline.sample_data import generate, write_sample_data
from lifecycle_pipeline.settings import ProjectSettings
from tests.helpers import materialize, query

BIN = Path(sys.executable).parent
FIRST, LAST = dt.date(2026, 3, 1), dt.date(2026, 3, 3)
SECTIONS = {"stages": "Stage counts", "flows": "Flows of the day", "kpis": "KPIs", "warnings": "Early warnings",
            "scores": "Health and RFM", "outreach": "Outreach", "quality": "Data quality"}
CHARTS = ("stage_distribution", "stage_flows", "stage_flows_30d", "rfm_heatmap", "health_bands", "warning_tiers",
          "outreach_summary")


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> ProjectSettings:
    """Every asset over FIRST..LAST as one run (as tests.helpers.materialize_sample_range), with bad rows in
    LAST's orders: two that do not load (type_cast) and three of unknown customers (customer_exists)."""
    root = tmp_path_factory.mktemp("report")
    settings = ProjectSettings.for_data_dir(root / "data", start_date="2026-01-01")
    write_sample_data(generate(200, FIRST, LAST, seed=5), settings.landing_root)
    inject(settings.landing_root, LAST, ["bad_types", "orphans"])
    defs = build_definitions(settings)
    keys = [k.to_user_string() for a in defs.assets for k in a.keys]
    result = materialize(defs, keys, tags={"dagster/asset_partition_range_start": FIRST.isoformat(),
                                           "dagster/asset_partition_range_end": LAST.isoformat()})
    assert result.success
    return settings


@pytest.fixture(scope="module")
def bi_report(sample, tmp_path_factory) -> report.Report:
    out = tmp_path_factory.mktemp("bi_out")
    with duckdb.connect(str(publish.bi_file(sample.bi_dir)), read_only=True) as conn:
        return report.render_report(conn, LAST, out)


class ParsedPage(HTMLParser):
    """The report's sections: headings, tables (rows of cell texts, header and total rows included), images."""

    def __init__(self, text: str):
        super().__init__()
        self.headings: dict[str, str] = {}
        self.tables: dict[str, list[list[list[str]]]] = {}
        self.images: dict[str, list[str]] = {}
        self._section = self._tag = None
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self._section = attrs["id"]
        elif tag == "table":
            self.tables.setdefault(self._section, []).append([])
        elif tag == "tr":
            self.tables[self._section][-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.images.setdefault(self._section, []).append(attrs["src"])
        self._tag = tag

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.tables[self._section][-1][-1].append("".join(self._cell))
            self._cell = None
        self._tag = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        elif self._tag == "h2":
            self.headings[self._section] = data


def rows_of(table: list[list[str]]) -> dict[str, list[str]]:
    """First cell -> the other cells, for every row."""
    return {row[0]: row[1:] for row in table}


def png_of(data_uri: str) -> bytes:
    prefix = "data:image/png;base64,"
    assert data_uri.startswith(prefix)
    return base64.b64decode(data_uri[len(prefix):], validate=True)


def cli(args: list[str], settings: ProjectSettings) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIFECYCLE_", "DAGSTER_"))}
    env.update({"LIFECYCLE_DATA_DIR": str(settings.data_dir), "LIFECYCLE_START_DATE": "2026-01-01"})
    return subprocess.run([str(BIN / "lifecycle-pipeline"), "report", *args], env=env, capture_output=True,
                          text=True, timeout=300, check=False)


# --- the page -----------------------------------------------------------------------------------------------


def test_report_has_every_section_with_the_numbers_of_the_warehouse(sample, bi_report):
    assert bi_report.html == bi_report.html.parent.parent / "reports" / f"{LAST}.html"
    page = ParsedPage(bi_report.html.read_text(encoding="utf-8"))
    assert page.headings == SECTIONS

    stages = rows_of(page.tables["stages"][0])
    assert stages["stage"] == ["customers", "share", "vs previous day"]
    counts = query(sample, "select stage, customers, share from lifecycle.stage_counts_daily where as_of_date = ?",
                   [LAST])
    previous = dict(query(sample, "select stage, customers from lifecycle.stage_counts_daily where as_of_date = ?",
                          [LAST - dt.timedelta(days=1)]))
    assert len(counts) == 9 and sum(n for _, n, _ in counts) == 200
    for stage, customers, share in counts:
        change = customers - previous[stage]
        assert stages[stage] == [f"{customers:,}", f"{share:.1%}", f"{change:+,}" if change else "0"], stage
    assert stages["all customers"][:2] == ["200", "100.0%"]

    flows = query(sample, "select sum(customers) from lifecycle.stage_transitions_daily where as_of_date = ?", [LAST])
    assert rows_of(page.tables["flows"][0])["all moves"] == ["", f"{flows[0][0]:,}"]

    kpis = rows_of(page.tables["kpis"][0])
    known, orders, revenue = query(sample, "select known_customers, orders, revenue from lifecycle.kpis_daily "
                                           "where as_of_date = ?", [LAST])[0]
    assert kpis["KPI"][:2] == [str(LAST), "previous day"]
    assert kpis["Known customers"][0] == f"{known:,}" and kpis["Orders"][0] == f"{orders:,}"
    assert kpis["Revenue"][0] == f"{revenue:,.2f}"

    tiers = dict(query(sample, "select warning_tier, count(*) from scoring.early_warnings where as_of_date = ? "
                               "group by all", [LAST]))
    warnings = rows_of(page.tables["warnings"][0])
    assert [warnings[str(t)][1] for t in range(4)] == [f"{tiers.get(t, 0):,}" for t in range(4)]

    decisions = query(sample, "select campaign, count(*) filter (where status = 'contacted'), "
                              "count(*) filter (where status = 'holdout'), count(*) filter (where status = 'excluded') "
                              "from outreach.outreach_list where as_of_date = ? group by all", [LAST])
    outreach = rows_of(page.tables["outreach"][0])
    assert decisions
    for campaign, contacted, held_out, excluded in decisions:
        assert outreach[campaign][1:4] == [f"{contacted:,}", f"{held_out:,}", f"{excluded:,}"], campaign


def test_quality_section_counts_the_quarantined_rows_per_source(sample, bi_report):
    page = ParsedPage(bi_report.html.read_text(encoding="utf-8"))
    quality = rows_of(page.tables["quality"][0])
    by_stage = dict(query(sample, "select stage, count(*) from quality.quarantine "
                                  "where partition_date = ? and source = 'orders' group by all", [LAST]))
    assert by_stage["ingestion"] and by_stage["validation"]  # the injected rows
    # files, rows read, loaded, at load, by validation, clean rows, rules
    assert quality["orders"][3:5] == [str(by_stage["ingestion"]), str(by_stage["validation"])]
    assert quality["orders"][-1] == "customer_exists, type_cast"
    assert quality["customers"][3:5] == ["0", "0"]
    assert "quarantine_by_step" in bi_report.charts and "quarantine_summary" not in bi_report.charts


def test_charts_are_embedded_as_png_data_uris_and_written_as_files(bi_report):
    page = ParsedPage(bi_report.html.read_text(encoding="utf-8"))
    images = [src for section in SECTIONS for src in page.images.get(section, [])]
    assert len(images) == len(CHARTS) + 1
    for src in images:
        png = png_of(src)
        assert png.startswith(charts.PNG_MAGIC) and len(png) < charts.MAX_EMBED_BYTES
        Image.open(io.BytesIO(png)).verify()
    assert set(bi_report.charts) == {*CHARTS, "quarantine_by_step"}
    out = bi_report.html.parent.parent
    for name, path in bi_report.charts.items():
        assert path == charts.chart_path(out, LAST, name) and path.read_bytes().startswith(charts.PNG_MAGIC), name
    assert bi_report.html.stat().st_size < 500_000  # mailable


def test_report_from_the_warehouse_shows_the_quarantine_per_rule(sample, bi_report, tmp_path):
    with report.open_source(sample, "warehouse") as conn:
        assert report.source_of(conn) == report.WAREHOUSE
        path = report.write_report(conn, None, tmp_path)  # None: the latest computed day
    assert path == tmp_path / "reports" / f"{LAST}.html"
    page = ParsedPage(path.read_text(encoding="utf-8"))
    assert page.headings == SECTIONS
    by_rule = page.tables["quality"][1]
    rules = query(sample, "select source, stage, rule, count(*) from quality.quarantine where partition_date = ? "
                          "group by all", [LAST])
    assert {("orders", "ingestion", "type_cast"), ("orders", "validation", "customer_exists")} <= \
        {r[:3] for r in rules}
    for source, stage, rule, rows in rules:
        assert [source, "at load" if stage == "ingestion" else "by validation", rule, str(rows)] in by_rule
    assert (tmp_path / "charts" / str(LAST) / "quarantine_summary.png").is_file()
    # the same day read from the BI file: the same tables, apart from the quality section's per-rule table
    bi_page = ParsedPage(bi_report.html.read_text(encoding="utf-8"))
    assert {k: v for k, v in bi_page.tables.items() if k != "quality"} == \
        {k: v for k, v in page.tables.items() if k != "quality"}
    assert bi_page.tables["quality"][0] == page.tables["quality"][0]


# --- days that cannot be reported ---------------------------------------------------------------------------


def test_a_day_that_is_not_published_or_computed_is_refused(sample, tmp_path):
    with report.open_source(sample) as conn:
        assert report.source_of(conn) == report.BI
        assert report.resolve_day(conn) == LAST
        with pytest.raises(report.ReportError, match=f"^2026-03-05 is not published; published through {LAST}$"):
            report.write_report(conn, dt.date(2026, 3, 5), tmp_path)
        with pytest.raises(report.ReportError, match=f"first published day {FIRST}"):
            report.write_report(conn, dt.date(2026, 2, 1), tmp_path)
    unknown = f"2026-03-05 is not computed in the warehouse; computed through {LAST}"
    with report.open_source(sample, "warehouse") as conn, pytest.raises(report.ReportError, match=unknown):
        report.write_report(conn, dt.date(2026, 3, 5), tmp_path)
    assert not (tmp_path / "reports").exists()
    empty = ProjectSettings.for_data_dir(tmp_path / "nothing")
    with pytest.raises(report.ReportError, match="nothing to report"), report.open_source(empty):
        pass


# --- the command --------------------------------------------------------------------------------------------


def test_cli_reports_the_latest_published_day_while_a_run_holds_the_warehouse(sample, tmp_path):
    out = tmp_path / "out"
    with duckdb.connect(str(sample.duckdb_path)):  # read-write, as a pipeline run: the BI path needs no lock
        run = cli(["--out", str(out)], sample)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == str(out / "reports" / f"{LAST}.html")
    assert lines[1:] == [str(charts.chart_path(out, LAST, name)) for name in (*CHARTS, "quarantine_by_step")]
    assert all(Path(line).is_file() for line in lines)


def test_cli_unpublished_day_exits_2_with_one_clear_line(sample, tmp_path):
    run = cli(["--day", "2026-03-05", "--out", str(tmp_path)], sample)
    assert run.returncode == 2
    assert run.stderr.strip() == f"error: 2026-03-05 is not published; published through {LAST}"
    assert run.stdout == "" and not (tmp_path / "reports").exists()


# --- escaping and formatting --------------------------------------------------------------------------------


def test_values_from_the_data_are_html_escaped():
    evil = '<script>alert("x")</script>'
    png = b"\x89PNG\r\n\x1a\nnot really"
    page = report.Page(
        day=LAST, title=f"report {evil}", source="from a<b & c", generated_at="now", notes=[f"note {evil}"],
        sections=[report.Section(
            id="outreach", title=f"Outreach {evil}", notes=["it's \"quoted\""],
            tables=[report.Table(("campaign", "<b>contacted</b>"), [(evil, "1")], (False, True),
                                 total=("all & more", "1"), caption="<i>c</i>")],
            charts=[report.Chart("outreach_summary", f'title "{evil}"', png)])])
    html = report.render_html(page)
    assert "<script>" not in html and "<b>" not in html and "<i>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "from a&lt;b &amp; c" in html and "all &amp; more" in html and "it&#39;s &#34;quoted&#34;" in html
    assert 'alt="title &#34;&lt;script&gt;' in html  # attributes too
    parsed = ParsedPage(html)
    assert parsed.tables["outreach"][0][1] == [evil, "1"]  # the text reads back unchanged
    assert png_of(parsed.images["outreach"][0]) == png


@pytest.mark.parametrize("value, kind, text", [
    (1234, "count", "1,234"), (0.1234, "share", "12.3%"), (1234.5, "money", "1,234.50"), (-3, "delta", "-3"),
    (5, "delta", "+5"), (0, "delta", "0"), (0.021, "pp", "+2.1 pp"), (None, "count", report.DASH),
    (float("nan"), "share", report.DASH), ("a<b", "text", "a<b"),
])
def test_cells_are_formatted_for_reading(value, kind, text):
    assert report.fmt(value, kind) == text
