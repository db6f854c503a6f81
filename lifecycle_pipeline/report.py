"""The day report (issue 14): the assets' charts plus a one-page HTML summary a manager can open without Dagster.

``lifecycle-pipeline report --day D [--out DIR] [--source auto|bi|warehouse]`` writes

    <out>/charts/<D>/<name>.png     the charts of the assets (``assets/day_charts.py``), full size
    <out>/reports/<D>.html          one self-contained page: stage counts, the day's flows, KPIs, early
                                    warnings, health and RFM, outreach, data quality; the charts are
                                    embedded as small PNG data URIs, so the single file can be mailed

``<out>`` defaults to the data dir, the folder the assets write their charts to. A chart of the same day
drawn from the same rows is the same file (rendering is reproducible), so the report rewrites those files
with identical content.

Where it reads (``open_source``):

- **The BI file** (``publish.bi_file(settings.bi_dir)``, opened read-only) whenever it exists. It has the
  same ``schema.table`` names as the warehouse, never takes the warehouse lock (a report can run while the
  pipeline does) and keeps every published day, where the warehouse keeps only the newest
  ``LIFECYCLE_CUSTOMER_DAYS_KEPT`` days of its customer x day tables. A day is reportable once it is
  published (complete in ``bi.published_days``). The BI layer does not publish ``quality.quarantine``:
  the quality section shows ``quality.daily_summary`` (rows quarantined per source at load and by
  validation, and the rules that fired), and its chart is named ``quarantine_by_step`` so it never
  replaces the per-rule ``quarantine_summary`` chart of the assets.
- **The warehouse**, opened read-only, only when there is no BI file (or with ``--source warehouse``).
  A read-only open fails while a run writes the warehouse, and holding it makes a run that starts then
  fail, so it is the fallback. A day is reportable once it is computed (it has a ``lifecycle.kpis_daily``
  row). The quality section adds the quarantined rows per rule, and the chart is the assets'
  ``quarantine_summary``.

``write_report(conn, day, out_dir) -> Path`` works on either connection (it tells them apart by the
``bi.publish_status`` view); ``render_report`` returns the chart paths too. A day that is not published
(not computed) raises ``ReportError`` with one line naming the latest day that is.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb
import jinja2
import pandas as pd
from jinja2.sandbox import SandboxedEnvironment

from lifecycle_pipeline import charts, publish, retention
from lifecycle_pipeline.contracts import SOURCES
from lifecycle_pipeline.daily_tables import table_exists
from lifecycle_pipeline.db import bind
from lifecycle_pipeline.dictionary import TABLES
from lifecycle_pipeline.vocabulary import HEALTH_BANDS, STAGES, WARNING_SIGNALS

BI = "bi"
WAREHOUSE = "warehouse"
SOURCES_CHOICES = ("auto", BI, WAREHOUSE)
TOP_FLOWS = 10
DASH = "\u2013"  # a value that does not exist (no previous day, no holdout, ...)

# tables the report reads (the BI file has every one of them; the quality ones differ, see the docstring)
READ_TABLES = (
    "lifecycle.stage_counts_daily", "lifecycle.stage_transitions_daily", "lifecycle.kpis_daily",
    "scoring.rfm_scores", "scoring.health_scores", "scoring.early_warnings",
    "outreach.outreach_list", "outreach.campaign_uplift",
)
WAREHOUSE_QUALITY_TABLES = ("quality.quarantine", "quality.landing_loads", *(f"clean.{s}" for s in SOURCES))

# KPI columns of lifecycle.kpis_daily: label and format (a column not listed shows under its own name)
KPI_FORMATS = {
    "known_customers": ("Known customers", "count"),
    "registrations": ("Registrations", "count"),
    "referred_registrations": ("Referred registrations", "count"),
    "conversion_cohort": ("Conversion cohort", "count"),
    "first_purchase_conversion": ("First-purchase conversion", "share"),
    "daily_active_customers": ("Daily active customers", "count"),
    "retention_base": ("Retention base", "count"),
    "retention_30d": ("Retention (30 days)", "share"),
    "buyers": ("Buyers", "count"),
    "repurchase_rate": ("Repurchase rate", "share"),
    "orders": ("Orders", "count"),
    "revenue": ("Revenue", "money"),
    "avg_order_value": ("Average order value", "money"),
    "avg_ltv": ("Average LTV", "money"),
    "nps": ("NPS", "score"),
    "referral_rate": ("Referral rate", "share"),
}


class ReportError(RuntimeError):
    """The day cannot be reported (not published / not computed, nothing to read); one line for the CLI."""


# --- the page model (what the template shows) ---------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]]  # every cell already formatted as text
    numeric: tuple[bool, ...] = ()  # right-aligned columns
    total: tuple[str, ...] | None = None
    caption: str = ""

    def is_numeric(self, i: int) -> bool:
        return i < len(self.numeric) and self.numeric[i]


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    png: bytes

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass
class Section:
    id: str
    title: str
    notes: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    wide: bool = False  # the tables take the full width, the charts follow side by side


@dataclass
class Page:
    day: dt.date
    title: str
    source: str  # one line: what was read
    generated_at: str
    notes: list[str]
    sections: list[Section]


@dataclass(frozen=True)
class Report:
    day: dt.date
    html: Path
    charts: dict[str, Path]  # chart name -> full-size PNG
    source: str  # BI or WAREHOUSE


PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ page.title }}</title>
<style>
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #333; margin: 0 auto;
       max-width: 1120px; padding: 16px 24px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.meta, .note { color: #666; font-size: 12px; margin: 2px 0; }
.banner { background: #fff4e5; border-left: 4px solid #f28e2b; padding: 6px 10px; margin: 8px 0; }
.row { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
.row > div { flex: 1 1 460px; min-width: 0; }
.wide > .tables { flex-basis: 100%; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
.charts figure { flex: 1 1 460px; max-width: 640px; }
table { border-collapse: collapse; font-size: 13px; margin: 4px 0 12px; }
caption { text-align: left; font-weight: 600; padding: 2px 0 4px; }
th, td { padding: 3px 8px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
th { background: #f6f6f6; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tfoot td { font-weight: 600; border-top: 1px solid #ccc; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
figure { margin: 0 0 12px; }
@media print { body { max-width: none; } h2 { break-after: avoid; } figure, table { break-inside: avoid; } }
</style>
</head>
<body>
<h1>{{ page.title }}</h1>
<p class="meta">{{ page.source }}</p>
<p class="meta">Generated {{ page.generated_at }} by <code>lifecycle-pipeline report</code>.</p>
{% for note in page.notes %}
<p class="banner">{{ note }}</p>
{% endfor %}
{% for section in page.sections %}
<section id="{{ section.id }}">
<h2>{{ section.title }}</h2>
{% for note in section.notes %}
<p class="note">{{ note }}</p>
{% endfor %}
<div class="row{% if section.wide %} wide{% endif %}">
<div class="tables">
{% for table in section.tables %}
<table>
{% if table.caption %}<caption>{{ table.caption }}</caption>{% endif %}
<thead><tr>{% for column in table.columns %}<th{% if table.is_numeric(loop.index0) %} class="num"{% endif %}>{{ column }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in table.rows %}
<tr>{% for cell in row %}<td{% if table.is_numeric(loop.index0) %} class="num"{% endif %}>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}
</tbody>
{% if table.total %}
<tfoot><tr>{% for cell in table.total %}<td{% if table.is_numeric(loop.index0) %} class="num"{% endif %}>{{ cell }}</td>{% endfor %}</tr></tfoot>
{% endif %}
</table>
{% endfor %}
</div>
{% if section.charts %}
<div class="charts">
{% for chart in section.charts %}
<figure><img src="{{ chart.data_uri }}" alt="{{ chart.title }}" title="{{ chart.title }}"></figure>
{% endfor %}
</div>
{% endif %}
</div>
</section>
{% endfor %}
</body>
</html>
"""


def _environment() -> SandboxedEnvironment:
    """As the outreach templates (``outreach/rendering.py``): sandboxed, strict, every value HTML-escaped."""
    return SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=True, trim_blocks=True,
                                lstrip_blocks=True, auto_reload=False)


def render_html(page: Page) -> str:
    """The page as one HTML document; every text from the data is escaped by the template."""
    return _environment().from_string(PAGE).render(page=page)


# --- where to read ------------------------------------------------------------------------------------------


@contextmanager
def open_source(settings, source: str = "auto") -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the BI file (``auto``: when it exists) or else to the warehouse."""
    if source not in SOURCES_CHOICES:
        raise ReportError(f"unknown source {source!r}: use one of {', '.join(SOURCES_CHOICES)}")
    bi_path = publish.bi_file(settings.bi_dir)
    warehouse = Path(settings.duckdb_path)
    if source == BI or (source == "auto" and bi_path.exists()):
        if not bi_path.exists():
            raise ReportError(f"nothing is published yet: {bi_path} does not exist (the bi/published_days asset "
                              "publishes each day, e.g. in a backfill)")
        path, what = bi_path, "the BI file"
    elif warehouse.exists():
        path, what = warehouse, "the warehouse"
    else:
        raise ReportError(f"nothing to report: neither {bi_path} nor {warehouse} exists (run a backfill first)")
    try:
        conn = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        hint = (" (a pipeline run is probably writing it: report from the BI file, which runs never lock)"
                if path == warehouse else "")
        raise ReportError(f"cannot open {what} {path} read-only: {str(exc).splitlines()[0]}{hint}") from None
    try:
        yield conn
    finally:
        conn.close()


def source_of(conn: duckdb.DuckDBPyConnection) -> str:
    """``BI`` for a connection to the BI file (it has ``bi.publish_status``), else ``WAREHOUSE``."""
    return BI if table_exists(conn, "bi.publish_status") else WAREHOUSE


def _database_path(conn: duckdb.DuckDBPyConnection) -> str:
    rows = conn.execute("select path from duckdb_databases() where database_name = current_database()").fetchall()
    return str(rows[0][0]) if rows and rows[0][0] else "(in memory)"


def reportable_days(conn: duckdb.DuckDBPyConnection) -> list[dt.date]:
    """The days a report can be written for: published days (BI file) or computed days (warehouse)."""
    if source_of(conn) == BI:
        sql = "select as_of_date from bi.published_days where complete order by 1"
    elif table_exists(conn, "lifecycle.kpis_daily"):
        sql = "select distinct as_of_date from lifecycle.kpis_daily order by 1"
    else:
        return []
    return [row[0] for row in conn.execute(sql).fetchall()]


def resolve_day(conn: duckdb.DuckDBPyConnection, day: charts.DayLike | None = None) -> dt.date:
    """``day`` (a date or ``YYYY-MM-DD``) if it can be reported, the latest such day if ``day`` is None;
    else ReportError."""
    day = None if day is None else dt.date.fromisoformat(charts.iso_day(day))
    bi = source_of(conn) == BI
    days = reportable_days(conn)
    verb = "published" if bi else "computed"
    if not days:
        where = "in the BI file" if bi else "in the warehouse"
        raise ReportError(f"nothing is {verb} yet {where} ({_database_path(conn)}): run a backfill first")
    if day is None:
        return days[-1]
    if day not in set(days):
        where = "" if bi else " in the warehouse"
        first = f" (first {verb} day {days[0]})" if day < days[0] else ""
        raise ReportError(f"{day} is not {verb}{where}; {verb} through {days[-1]}{first}")
    return day


# --- formatting ---------------------------------------------------------------------------------------------


def _missing(value) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def fmt(value, kind: str = "count") -> str:
    """A cell: ``count`` 1,234; ``share`` 12.3%; ``money`` 1,234.50; ``score`` 12.3; ``delta`` +5 / -5 / 0;
    ``pp`` +1.2 pp; ``text``. A missing value is a dash."""
    if _missing(value):
        return DASH
    if kind == "text":
        return str(value)
    number = float(value) if isinstance(value, Decimal) else value
    if kind == "count":
        return f"{int(number):,}"
    if kind == "share":
        return f"{float(number):.1%}"
    if kind == "money":
        return f"{float(number):,.2f}"
    if kind == "score":
        return f"{float(number):.1f}"
    if kind == "delta":
        return f"{int(number):+,}" if number else "0"
    if kind == "pp":
        return f"{100 * float(number):+.1f} pp"
    raise ValueError(f"unknown format {kind!r}")


def _frame(conn, sql: str, params: Sequence = ()) -> pd.DataFrame:
    return conn.execute(sql, list(params)).df()


# --- reading the day ----------------------------------------------------------------------------------------


def _check_tables(conn, source: str) -> None:
    needed = READ_TABLES + (("quality.daily_summary",) if source == BI else WAREHOUSE_QUALITY_TABLES)
    missing = [name for name in needed if not table_exists(conn, name)]
    if missing:
        raise ReportError(f"{_database_path(conn)} has no {', '.join(missing)}: materialize the pipeline "
                          "(every asset) first")


def _read(conn, day: dt.date, source: str) -> dict[str, pd.DataFrame]:
    """Every frame the page and the charts need (the chart queries are those of ``assets/day_charts.py``)."""
    d = [day, day]
    f = {
        "counts": _frame(conn, "select as_of_date, stage, customers from lifecycle.stage_counts_daily "
                               "where as_of_date between ?::date - 89 and ? order by all", d),
        "stage_day": _frame(conn, "select stage, stage_order, customers, share from lifecycle.stage_counts_daily "
                                  "where as_of_date = ? order by stage_order, stage", [day]),
        "stage_prev": _frame(conn, "select stage, customers from lifecycle.stage_counts_daily "
                                   "where as_of_date = ?::date - 1", [day]),
        "flows": _frame(conn, "select as_of_date, from_stage, to_stage, customers "
                              "from lifecycle.stage_transitions_daily "
                              "where as_of_date between ?::date - 29 and ? order by all", d),
        "kpis": _frame(conn, "select * from lifecycle.kpis_daily where as_of_date between ?::date - 1 and ? "
                             "order by as_of_date", d),
        "rfm": _frame(conn, "select r_score, f_score, count(*) as customers, sum(revenue_365d)::double as revenue "
                            "from scoring.rfm_scores where as_of_date = ? group by all", [day]),
        "health": _frame(conn, "select as_of_date, health_band, count(*) as customers from scoring.health_scores "
                               "where as_of_date between ?::date - 89 and ? group by all order by all", d),
        "tiers": _frame(conn, "select as_of_date, warning_tier, count(*) as customers from scoring.early_warnings "
                              "where as_of_date between ?::date - 89 and ? and warning_tier > 0 "
                              "group by all order by all", d),
        "tiers_day": _frame(conn, "select warning_tier, count(*) as customers from scoring.early_warnings "
                                  "where as_of_date = ? group by all order by all", [day]),
        "outreach": _frame(conn, "select campaign, status, reasons_excluded[1] as reason, count(*) as customers "
                                 "from outreach.outreach_list where as_of_date = ? group by all order by all", [day]),
        "campaigns": _frame(conn, "select campaign, min(channel) as channel, min(priority) as priority "
                                  "from outreach.outreach_list where as_of_date = ? group by all", [day]),
        "uplift": _frame(conn, "select * from outreach.campaign_uplift where as_of_date = ? order by campaign",
                         [day]),
    }
    if source == BI:
        f["quality_day"] = _frame(conn, "select * from quality.daily_summary where as_of_date = ? order by source",
                                  [day])
        f["quarantine"] = _frame(
            conn, "select as_of_date, source, rule, rows from ("
                  "  select as_of_date, source, 'at load' as rule, rows_quarantined_ingestion as rows "
                  "  from quality.daily_summary union all "
                  "  select as_of_date, source, 'by validation', rows_quarantined_validation "
                  "  from quality.daily_summary) "
                  "where as_of_date between ?::date - 29 and ? and rows > 0 order by all", d)
    else:
        # the BI layer's quality.daily_summary, computed from the warehouse as the publish does
        statement = publish._source_select(publish.QUALITY_SUMMARY)
        f["quality_day"] = conn.execute(statement, bind(statement, {"day": day, "sources": list(SOURCES)})).df()
        f["quarantine"] = _frame(conn, "select partition_date, source, rule, count(*) as rows from quality.quarantine "
                                       "where partition_date between ?::date - 29 and ? group by all order by all", d)
        f["rules"] = _frame(conn, "select source, stage, rule, count(*) as rows from quality.quarantine "
                                  "where partition_date = ? group by all order by source, stage, rows desc, rule",
                            [day])
    return f


def _on(df: pd.DataFrame, day: dt.date, col: str = "as_of_date") -> pd.DataFrame:
    return df[pd.to_datetime(df[col]).dt.date == day] if len(df) else df


# --- the sections -------------------------------------------------------------------------------------------


def _stage_section(f, day, ch) -> Section:
    previous = dict(zip(f["stage_prev"]["stage"], f["stage_prev"]["customers"]))
    rows = [(str(r.stage), fmt(r.customers), fmt(r.share, "share"),
             fmt(r.customers - previous[r.stage], "delta") if r.stage in previous else DASH)
            for r in f["stage_day"].itertuples(index=False)]
    known = int(f["stage_day"]["customers"].sum())
    change = fmt(known - sum(previous.values()), "delta") if previous else DASH
    table = Table(("stage", "customers", "share", "vs previous day"), rows, (False, True, True, True),
                  total=("all customers", fmt(known), fmt(1.0 if known else None, "share"), change))
    notes = [] if previous else ["No previous day to compare with."]
    return Section("stages", "Stage counts", notes, [table], [ch["stage_distribution"]])


def _flow_section(f, day, ch) -> Section:
    today = _on(f["flows"], day)
    moves = int(today["customers"].sum()) if len(today) else 0
    new = int(today.loc[today["from_stage"] == charts.NEW_CUSTOMER, "customers"].sum()) if len(today) else 0
    order = {s: i for i, s in enumerate((charts.NEW_CUSTOMER, *STAGES))}
    top = sorted(today.itertuples(index=False),
                 key=lambda r: (-r.customers, order.get(r.from_stage, 99), order.get(r.to_stage, 99)))
    rows = [(str(r.from_stage), str(r.to_stage), fmt(r.customers)) for r in top[:TOP_FLOWS]]
    caption = f"Top {min(TOP_FLOWS, len(top))} of {len(top)} moves" if len(top) > TOP_FLOWS else ""
    table = Table(("from stage", "to stage", "customers"), rows, (False, False, True), caption=caption,
                  total=("all moves", "", fmt(moves)))
    notes = [(f"{moves:,} customers changed stage on {day}, {new:,} of them seen for the first time "
              f"(from {charts.NEW_CUSTOMER}).")]
    return Section("flows", "Flows of the day", notes, [table], [ch["stage_flows"], ch["stage_flows_30d"]],
                   wide=True)


def _kpi_section(f, day) -> Section:
    kpis = f["kpis"]
    by_day = {d.date(): row for d, (_, row) in zip(pd.to_datetime(kpis["as_of_date"]), kpis.iterrows())}
    today, previous = by_day.get(day), by_day.get(day - dt.timedelta(days=1))
    meanings = {name: meaning for name, _type, meaning in TABLES["lifecycle.kpis_daily"].columns}
    rows = []
    for column in kpis.columns:
        if column == "as_of_date":
            continue
        label, kind = KPI_FORMATS.get(column, (column, "score"))
        rows.append((label, fmt(today[column], kind) if today is not None else DASH,
                     fmt(previous[column], kind) if previous is not None else DASH, meanings.get(column, "")))
    table = Table(("KPI", str(day), "previous day", "meaning"), rows, (False, True, True, False))
    return Section("kpis", "KPIs", [], [table])


def _warning_section(f, day, ch) -> Section:
    counts = dict(zip(f["tiers_day"]["warning_tier"].astype(int), f["tiers_day"]["customers"]))
    total = sum(counts.values())
    tiers = sorted({0, *WARNING_SIGNALS, *counts})
    labels = {0: "no warning", **{t: s.replace("_", " ") for t, s in WARNING_SIGNALS.items()}}
    rows = [(str(t), labels.get(t, "other"), fmt(counts.get(t, 0)), fmt(counts.get(t, 0) / total if total else None,
                                                                         "share")) for t in tiers]
    warned = sum(n for t, n in counts.items() if t > 0)
    table = Table(("tier", "signal", "customers", "share"), rows, (False, False, True, True),
                  total=("", "warned (tiers 1-3)", fmt(warned), fmt(warned / total if total else None, "share")))
    return Section("warnings", "Early warnings", [], [table], [ch["warning_tiers"]])


def _score_section(f, day, ch) -> Section:
    today = _on(f["health"], day)
    counts = {}
    for band, n in zip(today["health_band"], today["customers"]):
        key = charts.NO_HEALTH_SCORE if _missing(band) else str(band)
        counts[key] = counts.get(key, 0) + int(n)
    total = sum(counts.values())
    bands = [b for b in (*HEALTH_BANDS, charts.NO_HEALTH_SCORE) if b in counts] + sorted(
        b for b in counts if b not in (*HEALTH_BANDS, charts.NO_HEALTH_SCORE))
    rows = [(b, fmt(counts[b]), fmt(counts[b] / total, "share")) for b in bands]
    table = Table(("health band", "customers", "share"), rows, (False, True, True),
                  total=("all customers", fmt(total), fmt(1.0 if total else None, "share")))
    return Section("scores", "Health and RFM", [], [table], [ch["health_bands"], ch["rfm_heatmap"]])


def _outreach_section(f, day, ch) -> Section:
    counts = f["outreach"]
    campaigns = f["campaigns"].set_index("campaign") if len(f["campaigns"]) else None
    uplift = charts.uplift_interval(f["uplift"]) if len(f["uplift"]) else None
    uplift = uplift.set_index("campaign") if uplift is not None else None
    names = set(counts["campaign"].astype(str)) | (set(uplift.index) if uplift is not None else set())
    priority = {c: (campaigns.loc[c, "priority"] if campaigns is not None and c in campaigns.index else 999)
                for c in names}
    rows, totals = [], [0, 0, 0]
    for name in sorted(names, key=lambda c: (priority[c], c)):
        mine = counts[counts["campaign"].astype(str) == name]
        by_status = mine.groupby("status")["customers"].sum()
        numbers = [int(by_status.get(s, 0)) for s in ("contacted", "holdout", "excluded")]
        totals = [a + b for a, b in zip(totals, numbers)]
        reasons = mine[mine["status"] == "excluded"].groupby("reason", dropna=False)["customers"].sum()
        reasons = ", ".join(f"{'other' if _missing(r) else r} {int(n):,}"
                            for r, n in sorted(reasons.items(), key=lambda item: (-item[1], str(item[0]))))
        channel = campaigns.loc[name, "channel"] if campaigns is not None and name in campaigns.index else DASH
        lift = DASH
        if uplift is not None and name in uplift.index:
            u = uplift.loc[name]
            lift = fmt(u["uplift"], "pp")
            if not _missing(u["ci_low"]):
                lift += f" ({fmt(u['ci_low'], 'pp')} to {fmt(u['ci_high'], 'pp')})"
        rows.append((name, str(channel), *(fmt(n) for n in numbers), reasons, lift))
    table = Table(("campaign", "channel", "contacted", "held out", "excluded", "excluded because",
                   "conversion uplift (95 % CI)"), rows, (False, False, True, True, True, False, True),
                  total=("all campaigns", "", *(fmt(n) for n in totals), "", ""))
    notes = [("Excluded rows count under their strongest guard. The uplift compares contacted and held-out "
              "customers of the cohort whose window has ended (outreach.campaign_uplift).")]
    if not rows:
        notes.insert(0, f"No outreach decisions on {day}.")
    return Section("outreach", "Outreach", notes, [table], [ch["outreach_summary"]], wide=True)


def _quality_section(f, day, ch, source: str) -> Section:
    q = f["quality_day"]
    rows, totals = [], [0, 0, 0, 0, 0]
    for r in q.itertuples(index=False):
        loaded = not _missing(r.files)
        numbers = [r.rows_read, r.rows_loaded, r.rows_quarantined_ingestion, r.rows_quarantined_validation,
                   r.rows_clean]
        totals = [t + (0 if _missing(n) else int(n)) for t, n in zip(totals, numbers)]
        rules = ", ".join(str(rule) for rule in (r.quarantine_rules if r.quarantine_rules is not None else []))
        rows.append((str(r.source), fmt(r.files) if loaded else "not loaded", *(fmt(n) for n in numbers), rules))
    table = Table(("source", "files", "rows read", "loaded", "quarantined at load", "quarantined by validation",
                   "clean rows", "rules that fired"), rows, (False, True, True, True, True, True, True, False),
                  total=("all sources", "", *(fmt(n) for n in totals), ""))
    tables, notes = [table], []
    quarantined = totals[2] + totals[3]
    notes.append(f"{quarantined:,} rows of {day}'s landing files were quarantined." if quarantined
                 else f"No rows of {day}'s landing files were quarantined.")
    if source == WAREHOUSE:
        by_rule = [(str(r.source), "at load" if r.stage == "ingestion" else f"by {r.stage}", str(r.rule), fmt(r.rows))
                   for r in f["rules"].itertuples(index=False)]
        if by_rule:
            tables.append(Table(("source", "step", "rule", "rows"), by_rule, (False, False, False, True),
                                caption="Quarantined rows by rule"))
        chart = ch["quarantine_summary"]
    else:
        notes.append("The BI layer publishes the quarantine per source and step (at load, by validation) with the "
                     "rules that fired; the rows per rule are in the warehouse's quality.quarantine "
                     "(lifecycle-pipeline report --source warehouse, when no run is going on).")
        chart = ch["quarantine_by_step"]
    return Section("quality", "Data quality", notes, tables, [chart], wide=True)


# --- charts -------------------------------------------------------------------------------------------------


def _render_charts(f, day: dt.date, out_dir: Path, source: str) -> tuple[dict[str, Chart], dict[str, Path]]:
    health_today = _on(f["health"], day)[["health_band", "customers"]] if len(f["health"]) else f["health"]
    quality_name = "quarantine_by_step" if source == BI else "quarantine_summary"
    plan = {  # name -> (title, function, frames, options); the assets' charts (assets/day_charts.py)
        "stage_distribution": ("Customers per lifecycle stage, 90 days", charts.stage_distribution,
                               (f["counts"],), {}),
        "stage_flows": ("Stage transitions of the day", charts.stage_flows, (f["flows"],), {}),
        "stage_flows_30d": ("Stage transitions, 30 days", charts.stage_flows, (f["flows"],), {"days": 30}),
        "rfm_heatmap": ("RFM grid", charts.rfm_heatmap, (f["rfm"],), {}),
        "health_bands": ("Health bands", charts.health_bands, (health_today, f["health"]), {}),
        "warning_tiers": ("Early-warning tiers, 90 days", charts.warning_tiers, (f["tiers"],), {}),
        "outreach_summary": ("Outreach by campaign", charts.outreach_summary, (f["outreach"], f["uplift"]), {}),
        quality_name: ("Quarantined rows, 30 days", charts.quarantine_summary, (f["quarantine"],), {}),
    }
    embedded, files = {}, {}
    for name, (title, draw, frames, options) in plan.items():
        path = charts.chart_path(out_dir, day, name)
        embedded[name] = Chart(name, title, draw(*frames, day=day, file_path=path, **options))
        files[name] = path
    return embedded, files


# --- the report ---------------------------------------------------------------------------------------------


def build_page(conn: duckdb.DuckDBPyConnection, day: dt.date, out_dir: Path | str,
               now: dt.datetime | None = None) -> tuple[Page, dict[str, Path]]:
    """Read ``day`` (which must be reportable), draw and write the charts; the page and the chart files."""
    source = source_of(conn)
    _check_tables(conn, source)
    f = _read(conn, day, source)
    ch, files = _render_charts(f, day, Path(out_dir), source)
    notes = []
    path = _database_path(conn)
    if source == BI:
        through = conn.execute("select published_through from bi.publish_status").fetchall()[0][0]
        origin = f"Read from the BI file {path} (published through {through})."
    else:
        computed = reportable_days(conn)
        origin = f"Read from the warehouse {path} (computed through {computed[-1]}); there was no BI file."
        kept_from = retention.pruned_before(conn)
        if kept_from is not None and day < kept_from:
            notes.append(f"The warehouse keeps its customer x day tables from {kept_from} on: the early warnings, "
                         f"health, RFM and outreach lists of {day} are gone from it (the BI file keeps every "
                         "published day).")
    sections = [
        _stage_section(f, day, ch),
        _flow_section(f, day, ch),
        _kpi_section(f, day),
        _warning_section(f, day, ch),
        _score_section(f, day, ch),
        _outreach_section(f, day, ch),
        _quality_section(f, day, ch, source),
    ]
    now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    page = Page(day=day, title=f"Customer lifecycle report, {day}", source=origin,
                generated_at=now.strftime("%Y-%m-%d %H:%M UTC"), notes=notes, sections=sections)
    return page, files


def report_path(out_dir: Path | str, day: dt.date) -> Path:
    """``<out_dir>/reports/<YYYY-MM-DD>.html``."""
    return Path(out_dir) / "reports" / f"{charts.iso_day(day)}.html"


def render_report(conn: duckdb.DuckDBPyConnection, day: charts.DayLike | None, out_dir: Path | str) -> Report:
    """Write the charts and the HTML page of ``day`` (None: the latest reportable day) under ``out_dir``.

    ``conn``: the BI file or the warehouse, read-only. Raises ReportError when the day is not published
    (BI file) or not computed (warehouse).
    """
    day = resolve_day(conn, day)
    page, files = build_page(conn, day, out_dir)
    path = report_path(out_dir, day)
    charts.write_atomic(path, render_html(page).encode("utf-8"))
    return Report(day=day, html=path, charts=files, source=source_of(conn))


def write_report(conn: duckdb.DuckDBPyConnection, day: charts.DayLike | None, out_dir: Path | str) -> Path:
    """``render_report``, returning the HTML page's path."""
    return render_report(conn, day, out_dir).html
