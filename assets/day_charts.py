"""The charts on the assets' materializations: what each shows, read from the warehouse for a run's last day.

Each function reads the small aggregate it draws (one day, or a trailing window of daily
counts), renders it with ``lifecycle_pipeline/charts.py`` (matplotlib, headless), writes the
full-size PNG to ``<data dir>/charts/<YYYY-MM-DD>/<name>.png`` and returns the metadata: the
image embedded in markdown and the file's path. A range run (a backfill) draws its last day.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from lifecycle_pipeline import charts


def _frame(conn, query: str, params: list):
    return conn.execute(query, params).df()


def _chart(data_dir: Path, day: dt.date, name: str, draw, *frames, **options) -> dict:
    path = charts.chart_path(data_dir, day, name)
    png = draw(*frames, day=day, file_path=path, **options)
    return charts.chart_metadata(name, png, path)


def stage_charts(conn, data_dir: Path, day: dt.date) -> dict[str, dict]:
    """Per stage asset: the stage distribution of the last 90 days; the day's flows and the last 30 days'."""
    counts = _frame(conn, "select as_of_date, stage, customers from lifecycle.stage_counts_daily "
                          "where as_of_date between ?::date - 89 and ? order by all", [day, day])
    flows = _frame(conn, "select as_of_date, from_stage, to_stage, customers from lifecycle.stage_transitions_daily "
                         "where as_of_date between ?::date - 29 and ? order by all", [day, day])
    return {
        "lifecycle/stage_counts_daily": _chart(data_dir, day, "stage_distribution", charts.stage_distribution, counts),
        "lifecycle/stage_transitions_daily": {
            **_chart(data_dir, day, "stage_flows", charts.stage_flows, flows),
            **_chart(data_dir, day, "stage_flows_30d", charts.stage_flows, flows, days=30),
        },
    }


def rfm_chart(conn, data_dir: Path, day: dt.date) -> dict:
    """R x F heat map of the day: customers and 365-day revenue per cell."""
    cells = _frame(conn, "select r_score, f_score, count(*) as customers, sum(revenue_365d)::double as revenue "
                         "from scoring.rfm_scores where as_of_date = ? group by all", [day])
    return _chart(data_dir, day, "rfm_heatmap", charts.rfm_heatmap, cells)


def health_chart(conn, data_dir: Path, day: dt.date) -> dict:
    """Health bands of the day and their 90-day trend."""
    trend = _frame(conn, "select as_of_date, health_band, count(*) as customers from scoring.health_scores "
                         "where as_of_date between ?::date - 89 and ? group by all order by all", [day, day])
    today = trend[trend["as_of_date"].dt.date == day][["health_band", "customers"]] if len(trend) else trend
    return _chart(data_dir, day, "health_bands", charts.health_bands, today, trend)


def warning_chart(conn, data_dir: Path, day: dt.date) -> dict:
    """Early-warning tiers over the last 90 days."""
    tiers = _frame(conn, "select as_of_date, warning_tier, count(*) as customers from scoring.early_warnings "
                         "where as_of_date between ?::date - 89 and ? and warning_tier > 0 "
                         "group by all order by all", [day, day])
    return _chart(data_dir, day, "warning_tiers", charts.warning_tiers, tiers)


def outreach_chart(conn, data_dir: Path, day: dt.date) -> dict:
    """Per campaign: contacted / held out / excluded by its first reason, and the uplift with its interval."""
    counts = _frame(conn, "select campaign, status, reasons_excluded[1] as reason, count(*) as customers "
                          "from outreach.outreach_list where as_of_date = ? group by all order by all", [day])
    uplift = _frame(conn, "select * from outreach.campaign_uplift where as_of_date = ? order by campaign", [day])
    return _chart(data_dir, day, "outreach_summary", charts.outreach_summary, counts, uplift)


def quarantine_chart(conn, data_dir: Path, day: dt.date) -> dict:
    """Quarantined rows by source and rule over the last 30 landing days."""
    rows = _frame(conn, "select partition_date, source, rule, count(*) as rows from quality.quarantine "
                        "where partition_date between ?::date - 29 and ? group by all order by all", [day, day])
    return _chart(data_dir, day, "quarantine_summary", charts.quarantine_summary, rows)
