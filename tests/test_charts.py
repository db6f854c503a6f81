"""Charts (lifecycle_pipeline/charts.py): valid small PNGs that follow the data, "no data" images, files, metadata.

Fixtures are small hand-built frames of the shapes each chart documents; nothing touches the warehouse.
"""

from __future__ import annotations

import base64
import functools
import io
from datetime import date, timedelta

import dagster as dg
import pandas as pd
import pytest
from PIL import Image

from lifecycle_pipeline import charts
from lifecycle_pipeline.vocabulary import STAGES

DAY = date(2026, 1, 5)


# --- fixture frames -----------------------------------------------------------------------------------------


def _days(n: int, end: date = DAY) -> list[date]:
    return [end - timedelta(days=i) for i in reversed(range(n))]


def stage_counts(scale: int = 1) -> pd.DataFrame:
    rows = [
        {"as_of_date": d, "stage": stage, "customers": scale * (10 + 3 * i + (k % 5) * (i % 3))}
        for k, d in enumerate(_days(20))
        for i, stage in enumerate(STAGES)
    ]
    return pd.DataFrame(rows)


def transitions(extra: int = 0) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"as_of_date": DAY, "from_stage": "(new)", "to_stage": "prospect", "customers": 12 + extra},
            {"as_of_date": DAY, "from_stage": "prospect", "to_stage": "new", "customers": 7},
            {"as_of_date": DAY, "from_stage": "new", "to_stage": "active", "customers": 4},
            {"as_of_date": DAY, "from_stage": "active", "to_stage": "at_risk", "customers": 3},
            {"as_of_date": DAY, "from_stage": "at_risk", "to_stage": "dormant", "customers": 2},
            {"as_of_date": DAY - timedelta(days=3), "from_stage": "dormant", "to_stage": "reactivated",
             "customers": 1},
        ]
    )


def rfm_cells(scale: int = 1) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"r_score": r, "f_score": f, "customers": scale * (r * f + 1), "revenue": 125.5 * scale * r * f * f}
            for r in range(1, 6)
            for f in range(1, 6)
        ]
    )


def health_today(healthy: int = 40) -> pd.DataFrame:
    return pd.DataFrame(
        {"health_band": ["healthy", "stable", "concerning", "critical", None], "customers": [healthy, 30, 12, 5, 3]}
    )


def health_trend() -> pd.DataFrame:
    bands = ("healthy", "stable", "concerning", "critical")
    return pd.DataFrame(
        [{"as_of_date": d, "health_band": b, "customers": 5 + 2 * j + k % 4} for k, d in enumerate(_days(30))
         for j, b in enumerate(bands)]
    )


def tiers(scale: int = 1) -> pd.DataFrame:
    return pd.DataFrame(
        [{"as_of_date": d, "warning_tier": t, "customers": scale * (2 + t + k % 3)} for k, d in enumerate(_days(25))
         for t in (0, 1, 2, 3)]
    )


def outreach_counts(contacted: int = 40) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"campaign": "welcome_back", "status": "contacted", "reason": None, "customers": contacted},
            {"campaign": "welcome_back", "status": "holdout", "reason": None, "customers": 5},
            {"campaign": "welcome_back", "status": "excluded", "reason": "no_consent", "customers": 8},
            {"campaign": "recall_coupon", "status": "contacted", "reason": None, "customers": 25},
            {"campaign": "recall_coupon", "status": "holdout", "reason": None, "customers": 3},
            {"campaign": "recall_coupon", "status": "excluded", "reason": "frequency_cap", "customers": 6},
            {"campaign": "recall_coupon", "status": "excluded", "reason": "suppressed", "customers": 2},
        ]
    )


def campaign_uplift() -> pd.DataFrame:
    """``outreach.campaign_uplift`` columns (no CI columns: the chart computes the interval)."""
    return pd.DataFrame(
        {
            "as_of_date": [DAY, DAY, DAY],
            "campaign": ["welcome_back", "recall_coupon", "vip_benefits"],
            "contacted": [400, 250, 30],
            "held_out": [50, 30, 0],
            "contacted_conversion_rate": [0.20, 0.08, 0.10],
            "held_out_conversion_rate": [0.10, 0.07, None],
            "conversion_uplift": [0.10, 0.01, None],
        }
    )


def quarantine(rows: int = 4) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"partition_date": DAY, "source": "orders", "rule": "amount_not_negative", "rows": rows},
            {"partition_date": DAY, "source": "customers", "rule": "email_format", "rows": 2},
            {"partition_date": DAY - timedelta(days=2), "source": "orders", "rule": "customer_known", "rows": 7},
            {"partition_date": DAY - timedelta(days=9), "source": "events", "rule": "event_type_accepted", "rows": 1},
            {"partition_date": DAY - timedelta(days=40), "source": "events", "rule": "too_old", "rows": 99},
        ]
    )


def calibration_frequency(scale: float = 1.0, reason: str | None = None) -> pd.DataFrame:
    """``scoring.clv_calibration`` rows of DAY (``reason``: no usable fit, expected NULL)."""
    groups = ["0", "1", "2", "3", "4", "5", "6", "7+"]
    customers = [900, 400, 210, 120, 70, 40, 25, 60]
    actual = [scale * (0.1 + 0.3 * i) for i in range(8)]
    expected = [None if reason else 0.12 + 0.28 * i for i in range(8)]
    return pd.DataFrame({"as_of_date": DAY, "frequency_group": groups, "frequency_min": range(8),
                         "calibration_end": DAY - timedelta(weeks=26), "customers": customers,
                         "actual_mean": actual, "expected_mean": expected, "reason": reason})


def calibration_tracking(scale: float = 1.0, reason: str | None = None) -> pd.DataFrame:
    """``scoring.clv_calibration_tracking`` rows of DAY: weekly cumulative purchases, 52 weeks."""
    ends = [DAY - timedelta(weeks=w) for w in reversed(range(52))]
    return pd.DataFrame({"as_of_date": DAY, "period_end": ends, "calibration_end": DAY - timedelta(weeks=26),
                         "actual_cumulative": [int(scale * 40 * i) for i in range(52)],
                         "expected_cumulative": [None if reason else 38.5 * i for i in range(52)],
                         "reason": reason})


# chart name -> (render from data(variant), render from empty frames); variant 0 and 1 differ in their data
CHARTS = {
    "stage_distribution": (
        lambda v: charts.stage_distribution(stage_counts(1 + v), day=DAY),
        lambda: charts.stage_distribution(pd.DataFrame(), day=DAY),
    ),
    "stage_flows": (
        lambda v: charts.stage_flows(transitions(extra=5 * v), day=DAY),
        lambda: charts.stage_flows(pd.DataFrame(columns=["as_of_date", "from_stage", "to_stage", "customers"]),
                                   day=DAY),
    ),
    "stage_flows_30d": (
        lambda v: charts.stage_flows(transitions(extra=5 * v), day=DAY, days=30),
        lambda: charts.stage_flows(None, day=DAY, days=30),
    ),
    "rfm_heatmap": (
        lambda v: charts.rfm_heatmap(rfm_cells(1 + v), day=DAY),
        lambda: charts.rfm_heatmap(pd.DataFrame(), day=DAY),
    ),
    "health_bands": (
        lambda v: charts.health_bands(health_today(40 + 20 * v), health_trend(), day=DAY),
        lambda: charts.health_bands(pd.DataFrame(), pd.DataFrame(), day=DAY),
    ),
    "warning_tiers": (
        lambda v: charts.warning_tiers(tiers(1 + v), day=DAY),
        lambda: charts.warning_tiers(pd.DataFrame(), day=DAY),
    ),
    "outreach_summary": (
        lambda v: charts.outreach_summary(outreach_counts(40 + 30 * v), campaign_uplift(), day=DAY),
        lambda: charts.outreach_summary(pd.DataFrame(), pd.DataFrame(), day=DAY),
    ),
    "quarantine_summary": (
        lambda v: charts.quarantine_summary(quarantine(4 + 10 * v), day=DAY),
        lambda: charts.quarantine_summary(pd.DataFrame(), day=DAY),
    ),
    "clv_calibration": (
        lambda v: charts.clv_calibration(calibration_frequency(1 + v / 2), calibration_tracking(1 + v / 2), day=DAY),
        lambda: charts.clv_calibration(pd.DataFrame(), pd.DataFrame(), day=DAY),
    ),
}


@functools.cache
def rendered(name: str, variant: int) -> bytes:
    """A chart rendered once per test session (the reproducibility test renders again)."""
    return CHARTS[name][0](variant)


def assert_small_png(png: bytes) -> tuple[int, int]:
    assert png.startswith(charts.PNG_MAGIC)
    assert len(png) < charts.MAX_EMBED_BYTES
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        width, height = image.size
    assert width > 0 and height > 0
    return width, height


# --- every chart ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CHARTS)
def test_chart_is_a_small_valid_png(name):
    width, height = assert_small_png(rendered(name, 0))
    assert width >= 400 and height >= 200  # readable in the Dagster UI


@pytest.mark.parametrize("name", CHARTS)
def test_chart_follows_the_data(name):
    render, _ = CHARTS[name]
    first = rendered(name, 0)
    assert render(0) == first  # reproducible
    assert rendered(name, 1) != first


@pytest.mark.parametrize("name", CHARTS)
def test_empty_frame_gives_a_no_data_image(name):
    _, render_empty = CHARTS[name]
    empty = render_empty()
    assert_small_png(empty)
    assert empty != rendered(name, 0)


def test_no_data_image_names_the_day():
    assert charts.warning_tiers(pd.DataFrame(), day=DAY) != charts.warning_tiers(pd.DataFrame(), day="2026-01-06")
    # all-zero counts are no data too (stage_counts_daily has a 0 row per stage before the first customer)
    zeros = stage_counts().assign(customers=0)
    assert charts.stage_distribution(zeros, day=DAY) == charts.stage_distribution(pd.DataFrame(), day=DAY)


def test_rows_outside_the_window_are_left_out():
    frame = quarantine()
    recent = frame[frame["partition_date"] > DAY - timedelta(days=30)]
    assert charts.quarantine_summary(quarantine(), day=DAY) == charts.quarantine_summary(recent, day=DAY)
    # the day defaults to the latest date of the frame
    assert charts.stage_flows(transitions()) == charts.stage_flows(transitions(), day=DAY)


def test_one_day_of_history_and_unknown_values_still_render():
    one_day = stage_counts().query("as_of_date == @DAY")
    assert_small_png(charts.stage_distribution(one_day, day=DAY))
    odd = pd.DataFrame({"as_of_date": [DAY, DAY], "stage": ["active", "vip"], "customers": [3, 4]})
    assert_small_png(charts.stage_distribution(odd))
    only_uplift = charts.outreach_summary(None, campaign_uplift(), day=DAY)
    only_counts = charts.outreach_summary(outreach_counts(), None, day=DAY)
    assert_small_png(only_uplift)
    assert_small_png(only_counts)
    assert only_uplift != only_counts
    assert_small_png(charts.health_bands(health_today(), None, day=DAY))


def test_calibration_without_expectations_names_the_reason_instead_of_drawing():
    few = "no usable mbgnbd fit at the calibration end 2025-07-07: too few repeat buyers: 3 customers with x > 0"
    none = "no buyers by the calibration end 2025-07-07"
    unusable = charts.clv_calibration(calibration_frequency(reason=few), calibration_tracking(reason=few), day=DAY)
    assert_small_png(unusable)
    assert unusable not in (rendered("clv_calibration", 0), charts.clv_calibration(None, None, day=DAY))
    assert unusable != charts.clv_calibration(calibration_frequency(reason=none), calibration_tracking(reason=none),
                                              day=DAY)  # the reason is in the image
    # empty groups only (no customers) and no tracking rows: no data
    empty_groups = calibration_frequency().assign(customers=0)
    assert charts.clv_calibration(empty_groups, None, day=DAY) == charts.clv_calibration(None, None, day=DAY)
    # one panel without data still draws the other; rows of another day are left out
    only_groups = charts.clv_calibration(calibration_frequency(), None, day=DAY)
    assert_small_png(only_groups)
    assert only_groups != rendered("clv_calibration", 0)
    other_day = calibration_tracking(3.0).assign(as_of_date=DAY - timedelta(days=1))
    both = pd.concat([calibration_tracking(), other_day])
    assert charts.clv_calibration(calibration_frequency(), both, day=DAY) == rendered("clv_calibration", 0)


def test_file_path_gets_the_full_size_png(tmp_path):
    path = charts.chart_path(tmp_path, DAY, "rfm_heatmap")
    small = charts.rfm_heatmap(rfm_cells(), day=DAY, file_path=path)
    full = path.read_bytes()
    assert full.startswith(charts.PNG_MAGIC)
    with Image.open(io.BytesIO(small)) as s, Image.open(io.BytesIO(full)) as f:
        assert f.size[0] > s.size[0] and f.size[1] > s.size[1]
    assert [p.name for p in path.parent.iterdir()] == ["rfm_heatmap.png"]


# --- uplift interval ----------------------------------------------------------------------------------------


def test_uplift_interval_is_the_wald_interval_of_two_proportions():
    out = charts.uplift_interval(campaign_uplift()).set_index("campaign")
    se = (0.2 * 0.8 / 400 + 0.1 * 0.9 / 50) ** 0.5
    assert out.loc["welcome_back", "uplift"] == pytest.approx(0.10)
    assert out.loc["welcome_back", "ci_low"] == pytest.approx(0.10 - 1.96 * se)
    assert out.loc["welcome_back", "ci_high"] == pytest.approx(0.10 + 1.96 * se)
    assert out.loc["vip_benefits"].isna().all()  # no holdout: no uplift, no interval
    given = pd.DataFrame({"campaign": ["a"], "uplift": [0.05], "ci_low": [0.01], "ci_high": [0.09]})
    assert charts.uplift_interval(given).iloc[0].tolist() == ["a", 0.05, 0.01, 0.09]


# --- markdown, files, metadata ------------------------------------------------------------------------------


def test_to_markdown_round_trips_the_png():
    png = charts.warning_tiers(tiers(), day=DAY)
    text = charts.to_markdown(png, "Warning tiers [2026-01-05]")
    assert text.startswith("![Warning tiers \\[2026-01-05\\]](data:image/png;base64,")
    assert text.endswith(")")
    encoded = text.split("data:image/png;base64,", 1)[1][:-1]
    assert base64.b64decode(encoded, validate=True) == png


def test_write_chart_writes_atomically_to_the_day_folder(tmp_path):
    png = charts.stage_flows(transitions(), day=DAY)
    path = charts.write_chart(png, tmp_path, DAY, "stage_flows")
    assert path == tmp_path / "charts" / "2026-01-05" / "stage_flows.png"
    assert path.read_bytes() == png
    newer = charts.stage_flows(transitions(extra=1), day=DAY)
    assert charts.write_chart(newer, tmp_path, "2026-01-05", "stage_flows") == path  # replaced in place
    assert path.read_bytes() == newer
    assert sorted(p.name for p in path.parent.iterdir()) == ["stage_flows.png"]  # no temp files left


def test_write_chart_refuses_other_bytes_and_path_like_names(tmp_path):
    with pytest.raises(ValueError):
        charts.write_chart(b"not a png", tmp_path, DAY, "x")
    png = charts.warning_tiers(None, day=DAY)
    for name in ("../escape", "a/b", ".hidden", ""):
        with pytest.raises(ValueError):
            charts.write_chart(png, tmp_path, DAY, name)
    assert not (tmp_path / "charts").exists()


def test_chart_metadata_is_inline_markdown_and_a_path(tmp_path):
    png = charts.health_bands(health_today(), health_trend(), day=DAY)
    path = charts.write_chart(png, tmp_path, DAY, "health_bands")
    meta = charts.chart_metadata("health_bands", png, path)
    assert set(meta) == {"health_bands", "health_bands_file"}
    assert isinstance(meta["health_bands"], dg.MarkdownMetadataValue)
    assert isinstance(meta["health_bands_file"], dg.PathMetadataValue)
    assert meta["health_bands"].value == charts.to_markdown(png, "health bands")
    assert meta["health_bands_file"].value == str(path)
    too_big = charts.PNG_MAGIC + bytes(charts.MAX_EMBED_BYTES)
    assert "base64" not in charts.chart_metadata("health_bands", too_big, path)["health_bands"].value
