"""Charts for the Dagster UI and the BI tables (issue 14): pure functions from DataFrames to PNG bytes.

Dagster 1.13 has no image metadata type, so a chart travels as a small PNG embedded as a base64 data URI
inside ``MetadataValue.md`` (``to_markdown``), with the full-size file on disk linked by
``MetadataValue.path`` (``<data_dir>/charts/<YYYY-MM-DD>/<name>.png``; ``chart_path``, ``write_chart``,
``chart_metadata``).

Rendering is headless and thread-safe: every chart builds its own ``matplotlib.figure.Figure`` on a
``FigureCanvasAgg`` - no pyplot, no ``matplotlib.use``, no change to ``rcParams``. The embedded PNG is drawn
at ``EMBED_DPI`` and reduced to a palette image (tens of KiB, under ``MAX_EMBED_BYTES``); the file on disk
is drawn at ``FILE_DPI``.

Every chart function takes the frames its docstring names (extra columns are ignored), an optional ``day``
(the day the chart describes: it ends the time window and names the title; default: the latest date in the
frame) and an optional ``file_path`` (the full-size PNG is written there too, atomically), and returns the
embedded PNG bytes. An empty frame (or ``None``, or only zero counts) gives a "No data for <day>" image
instead of raising. Typical use in an asset::

    path = charts.chart_path(data_dir, day, "stage_distribution")
    png = charts.stage_distribution(counts, day=day, file_path=path)
    context.add_output_metadata(charts.chart_metadata("stage_distribution", png, path))

Colours are fixed per stage, health band, warning tier, outreach status, source and actual/expected, so a stage
has the same colour in every chart and on every day.
"""

from __future__ import annotations

import base64
import io
import os
import re
import tempfile
import textwrap
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import numpy as np
import pandas as pd
from matplotlib import dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator
from PIL import Image

from lifecycle_pipeline.contracts import SOURCES
from lifecycle_pipeline.vocabulary import EXCLUSION_REASONS, HEALTH_BANDS, STAGES, WARNING_SIGNALS

if TYPE_CHECKING:
    from matplotlib.axes import Axes

DayLike = date | datetime | str | pd.Timestamp
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
EMBED_DPI = 80  # the image embedded in the Dagster UI (a 8 x 4.5 in figure is 640 x 360 px)
FILE_DPI = 150  # the file written next to the data
EMBED_COLOURS = 96  # palette size of the embedded PNG
MAX_EMBED_BYTES = 100 * 1024
FIGSIZE = (8.0, 4.5)
FONT = 8  # tick, legend and annotation size (points)

NEW_CUSTOMER = "(new)"  # from_stage of a customer seen for the first time (stage_transitions_daily)
NO_HEALTH_SCORE = "no score"  # health_band NULL: the customer has no health score that day
GRID = "#d9d9d9"
TEXT = "#333333"

STAGE_COLOURS = {
    "prospect": "#bab0ac",
    "new": "#a0cbe8",
    "active": "#4e79a7",
    "loyal": "#59a14f",
    "advocate": "#2f6b2a",
    "reactivated": "#b07aa1",
    "at_risk": "#f28e2b",
    "dormant": "#e15759",
    "churned": "#79706e",
}
HEALTH_COLOURS = {
    "healthy": "#59a14f",
    "stable": "#4e79a7",
    "concerning": "#f28e2b",
    "critical": "#e15759",
    NO_HEALTH_SCORE: "#bab0ac",
}
WARNING_COLOURS = {1: "#edc948", 2: "#f28e2b", 3: "#e15759"}
STATUS_COLOURS = {"contacted": "#4e79a7", "holdout": "#a0cbe8"}
EXCLUSION_COLOURS = dict(
    zip(EXCLUSION_REASONS, ("#e15759", "#ff9d9a", "#f28e2b", "#ffbe7d", "#b6992d", "#d4a6c8", "#9d7660"))
)
SOURCE_COLOURS = dict(zip(SOURCES, ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1")))
CALIBRATION_COLOURS = {"actual": "#4e79a7", "expected": "#f28e2b"}  # clv_calibration: what happened, the model
EXTRA_COLOURS = ("#9c755f", "#ff9da7", "#86bcb6", "#8cd17d", "#f1ce63", "#d37295", "#499894", "#79706e")


# --- the core: figure -> PNG bytes --------------------------------------------------------------------------


def new_figure(figsize: tuple[float, float] = FIGSIZE) -> Figure:
    """A Figure on its own Agg canvas (no pyplot state, safe to use from several threads)."""
    fig = Figure(figsize=figsize, layout="constrained", facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def render(draw: Callable[..., None], *args, file_path: str | os.PathLike | None = None,
           figsize: tuple[float, float] = FIGSIZE, **kwargs) -> bytes:
    """Build a figure with ``draw(fig, *args, **kwargs)`` and return its embedded-size PNG bytes.

    With ``file_path`` the full-size PNG (``FILE_DPI``) is also written there, atomically.
    """
    fig = new_figure(figsize)
    draw(fig, *args, **kwargs)
    if file_path is not None:
        write_atomic(Path(file_path), figure_png(fig, FILE_DPI))
    return embedded_png(fig)


def figure_png(fig: Figure, dpi: float) -> bytes:
    """The figure as a plain RGBA PNG at ``dpi`` (no timestamp or version metadata, so it is reproducible)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white", metadata={"Software": None})
    return buf.getvalue()


def embedded_png(fig: Figure) -> bytes:
    """The figure as a small palette PNG for a data URI: ``EMBED_DPI``, ``EMBED_COLOURS`` colours, optimized.

    Falls back to fewer pixels and colours in the (unexpected) case the result is over ``MAX_EMBED_BYTES``.
    """
    png = b""
    for dpi, colours in ((EMBED_DPI, EMBED_COLOURS), (64, 48), (48, 32)):
        fig.set_dpi(dpi)
        fig.canvas.draw()
        image = Image.fromarray(np.asarray(fig.canvas.buffer_rgba())).convert("RGB")
        small = image.quantize(colors=colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        out = io.BytesIO()
        small.save(out, format="PNG", optimize=True)
        png = out.getvalue()
        if len(png) < MAX_EMBED_BYTES:
            break
    return png


def to_markdown(png_bytes: bytes, title: str) -> str:
    """Markdown showing the PNG inline: ``![title](data:image/png;base64,...)``."""
    alt = re.sub(r"([\[\]\\])", r"\\\1", title)
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png_bytes).decode('ascii')})"


def chart_path(data_dir: str | os.PathLike, day: DayLike, name: str) -> Path:
    """Where the full-size chart of a day lives: ``<data_dir>/charts/<YYYY-MM-DD>/<name>.png``."""
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name):
        raise ValueError(f"chart name {name!r}: use letters, digits, '_', '-' and '.' (no path separators)")
    return Path(data_dir) / "charts" / iso_day(day) / f"{name}.png"


def write_chart(png_bytes: bytes, data_dir: str | os.PathLike, day: DayLike, name: str) -> Path:
    """Write PNG bytes to ``chart_path(data_dir, day, name)`` atomically and return that path."""
    if not png_bytes.startswith(PNG_MAGIC):
        raise ValueError(f"chart {name!r}: not PNG bytes")
    path = chart_path(data_dir, day, name)
    write_atomic(path, png_bytes)
    return path


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def iso_day(day: DayLike) -> str:
    """``YYYY-MM-DD`` of a date, datetime, Timestamp or date string."""
    return pd.Timestamp(day).date().isoformat()


# --- frame helpers ------------------------------------------------------------------------------------------


def _is_empty(df: pd.DataFrame | None) -> bool:
    return df is None or len(df) == 0


def _end_day(day: DayLike | None, frames: Iterable[tuple[pd.DataFrame | None, str]]) -> pd.Timestamp | None:
    """The day a chart describes: ``day``, else the latest date of the frames' date columns (None if none)."""
    if day is not None:
        return pd.Timestamp(day).normalize()
    latest = [pd.to_datetime(df[col]).max() for df, col in frames if not _is_empty(df) and col in df.columns]
    latest = [d for d in latest if not pd.isna(d)]
    return max(latest).normalize() if latest else None


def _label(end: pd.Timestamp | None) -> str:
    return end.date().isoformat() if end is not None else "unknown day"


def _window(df: pd.DataFrame, col: str, end: pd.Timestamp | None, days: int) -> pd.DataFrame:
    """Rows of the ``days`` days up to and including ``end``, with ``col`` as datetime64."""
    dates = pd.to_datetime(df[col]).dt.normalize()
    if end is None:
        end = dates.max()
    keep = (dates <= end) & (dates > end - pd.Timedelta(days=days))
    return df.loc[keep].assign(**{col: dates[keep]})


def _ordered(present: Iterable, order: Sequence) -> list:
    """``present`` in the domain ``order``, values outside it last (sorted as text)."""
    present = list(dict.fromkeys(present))
    return [k for k in order if k in present] + sorted((k for k in present if k not in order), key=str)


def _colours(keys: Sequence, palette: dict) -> list[str]:
    extras = iter(EXTRA_COLOURS * (1 + len(keys) // len(EXTRA_COLOURS)))
    return [palette[k] if k in palette else next(extras) for k in keys]


def _over_time(df: pd.DataFrame, date_col: str, key_col: str, value_col: str, order: Sequence) -> pd.DataFrame:
    """date x key table of summed values, keys in domain order, keys that are zero throughout dropped."""
    table = df.pivot_table(index=date_col, columns=key_col, values=value_col, aggfunc="sum", fill_value=0)
    table = table.reindex(columns=_ordered(table.columns, order), fill_value=0).astype(float)
    return table.loc[:, (table != 0).any(axis=0)].sort_index()


def _matrix(df: pd.DataFrame, rows: str, cols: str, value: str, row_order: Sequence, col_order: Sequence):
    table = df.pivot_table(index=rows, columns=cols, values=value, aggfunc="sum", fill_value=0)
    return table.reindex(index=row_order, columns=col_order, fill_value=0).astype(float)


def _total(df: pd.DataFrame | None, col: str) -> float:
    return 0.0 if _is_empty(df) else float(pd.to_numeric(df[col], errors="coerce").abs().sum())


def compact(value: float) -> str:
    """A short number for annotations: 950, 1.2k, 3.4M."""
    if pd.isna(value):
        return ""
    size = abs(value)
    if size >= 1e6:
        return f"{value / 1e6:.1f}M"
    if size >= 1e4:
        return f"{value / 1e3:.0f}k"
    if size >= 1e3:
        return f"{value / 1e3:.1f}k"
    return f"{value:.0f}" if size >= 10 or float(value).is_integer() else f"{value:.1f}"


# --- drawing helpers ----------------------------------------------------------------------------------------


def _style(ax: Axes, *, grid_axis: str | None = "y") -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=FONT, colors=TEXT)
    if grid_axis:
        ax.grid(axis=grid_axis, color=GRID, linewidth=0.6)
        ax.set_axisbelow(True)


def _date_axis(ax: Axes) -> None:
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _legend(ax: Axes, *, reverse: bool = True, title: str | None = None) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if reverse:  # top of the legend = top of the stack
        handles, labels = handles[::-1], labels[::-1]
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=FONT, frameon=False,
              title=title, title_fontsize=FONT)


def _stacked_over_time(ax: Axes, table: pd.DataFrame, colours: list[str], labels: list[str], ylabel: str) -> None:
    """Stacked area of a date x key table (stacked bars when it has a single day)."""
    x = table.index.to_numpy()
    values = table.T.to_numpy(dtype=float)
    if len(table) == 1:
        bottom = 0.0
        for value, colour, label in zip(values[:, 0], colours, labels):
            ax.bar(x, [value], bottom=bottom, width=0.8, color=colour, label=label)
            bottom += value
    else:
        ax.stackplot(x, values, colors=colours, labels=labels, linewidth=0)
        ax.set_xlim(x[0], x[-1])
    _style(ax)
    _date_axis(ax)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(ylabel, fontsize=FONT, color=TEXT)
    _legend(ax)


def _heatmap(ax: Axes, matrix: pd.DataFrame, cmap: str, *, xlabel: str, ylabel: str,
             fmt: Callable[[float], str] = compact) -> None:
    """An annotated heat map of a small matrix (zero cells left blank)."""
    values = matrix.to_numpy(dtype=float)
    values = np.where(np.isnan(values), 0.0, values)
    low, high = min(0.0, values.min()), max(values.max(), 1e-9)
    ax.imshow(values, cmap=cmap, vmin=low, vmax=high, aspect="auto", interpolation="nearest")
    for (i, j), value in np.ndenumerate(values):
        if value:
            dark = (value - low) / (high - low) > 0.6
            ax.text(j, i, fmt(value), ha="center", va="center", fontsize=FONT,
                    color="white" if dark else "black")
    columns = [str(c) for c in matrix.columns]
    slanted = max((len(c) for c in columns), default=0) > 3
    ax.set_xticks(range(values.shape[1]), columns, rotation=30 if slanted else 0,
                  ha="right" if slanted else "center")
    ax.set_yticks(range(values.shape[0]), [str(r) for r in matrix.index])
    ax.set_xticks(np.arange(-0.5, values.shape[1]), minor=True)
    ax.set_yticks(np.arange(-0.5, values.shape[0]), minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="both", labelsize=FONT, colors=TEXT, length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_xlabel(xlabel, fontsize=FONT, color=TEXT)
    ax.set_ylabel(ylabel, fontsize=FONT, color=TEXT)


def _panel_no_data(ax: Axes, text: str) -> None:
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=12, color="#666666", transform=ax.transAxes)


def _draw_no_data(fig: Figure, title: str, end: pd.Timestamp | None) -> None:
    fig.suptitle(title, fontsize=11, color=TEXT)
    text = f"No data for {end.date().isoformat()}" if end is not None else "No data"
    _panel_no_data(fig.add_subplot(), text)


def _no_data(title: str, end: pd.Timestamp | None, file_path, figsize=FIGSIZE) -> bytes:
    return render(_draw_no_data, title, end, file_path=file_path, figsize=figsize)


# --- 1. customers per stage over time -----------------------------------------------------------------------


def stage_distribution(df: pd.DataFrame | None, *, day: DayLike | None = None, days: int = 90,
                       file_path: str | os.PathLike | None = None) -> bytes:
    """Stacked area of customers per lifecycle stage over the ``days`` days up to ``day``.

    ``df``: ``lifecycle.stage_counts_daily`` rows - ``as_of_date`` (date), ``stage`` (``vocabulary.STAGES``),
    ``customers`` (count). Stages are stacked in domain order with their ``STAGE_COLOURS``.
    """
    end = _end_day(day, [(df, "as_of_date")])
    title = f"Customers per lifecycle stage, {days} days to {_label(end)}"
    if not _is_empty(df):
        df = _window(df, "as_of_date", end, days)
    if _total(df, "customers") == 0:
        return _no_data(title, end, file_path)
    table = _over_time(df, "as_of_date", "stage", "customers", STAGES)
    return render(_draw_stage_distribution, table, title, file_path=file_path)


def _draw_stage_distribution(fig: Figure, table: pd.DataFrame, title: str) -> None:
    fig.suptitle(title, fontsize=11, color=TEXT)
    stages = list(table.columns)
    _stacked_over_time(fig.add_subplot(), table, _colours(stages, STAGE_COLOURS), stages, "customers")


# --- 2. stage transitions (from -> to) ----------------------------------------------------------------------


def stage_flows(df: pd.DataFrame | None, *, day: DayLike | None = None, days: int = 1, title: str | None = None,
                file_path: str | os.PathLike | None = None) -> bytes:
    """From -> to heat map of stage transitions, annotated with customer counts.

    ``df``: ``lifecycle.stage_transitions_daily`` rows - ``as_of_date`` (date), ``from_stage`` (a stage or
    ``'(new)'``), ``to_stage``, ``customers``. ``days=1`` charts the transitions of ``day``; ``days=30`` sums
    the 30 days up to ``day`` (the title says which; ``title`` overrides it). Only stages that occur are shown,
    in domain order, ``(new)`` first.
    """
    end = _end_day(day, [(df, "as_of_date")])
    if title is None:
        title = (f"Stage transitions on {_label(end)}" if days == 1
                 else f"Stage transitions, {days} days to {_label(end)}")
    if not _is_empty(df) and "as_of_date" in df.columns:
        df = _window(df, "as_of_date", end, days)
    if _total(df, "customers") == 0:
        return _no_data(title, end, file_path)
    order = (NEW_CUSTOMER, *STAGES)
    rows = _ordered(df["from_stage"].fillna(NEW_CUSTOMER), order)
    cols = _ordered(df["to_stage"], STAGES)
    matrix = _matrix(df.assign(from_stage=df["from_stage"].fillna(NEW_CUSTOMER)), "from_stage", "to_stage",
                     "customers", rows, cols)
    return render(_draw_matrix, matrix, title, "Blues", "to stage", "from stage", file_path=file_path,
                  figsize=(7.0, 5.0))


def _draw_matrix(fig: Figure, matrix: pd.DataFrame, title: str, cmap: str, xlabel: str, ylabel: str) -> None:
    fig.suptitle(title, fontsize=11, color=TEXT)
    _heatmap(fig.add_subplot(), matrix, cmap, xlabel=xlabel, ylabel=ylabel)


# --- 3. RFM grid --------------------------------------------------------------------------------------------


def rfm_heatmap(df: pd.DataFrame | None, *, day: DayLike | None = None,
                file_path: str | os.PathLike | None = None) -> bytes:
    """R x F grid of the day in two annotated panels: customers per cell and revenue per cell.

    ``df``: one row per cell (rows of the same cell are summed) - ``r_score`` (1-5, 5 = most recent),
    ``f_score`` (1-5), ``customers`` (count), ``revenue`` (net revenue of the trailing 365 days, the sum of
    ``scoring.rfm_scores.revenue_365d``). R runs 5 (top) to 1, F 1 to 5 (left to right).
    """
    end = _end_day(day, [(df, "as_of_date")])
    title = f"RFM grid (recency x frequency) on {_label(end)}"
    if _total(df, "customers") == 0:
        return _no_data(title, end, file_path)
    scores = df.assign(r_score=pd.to_numeric(df["r_score"], errors="coerce"),
                       f_score=pd.to_numeric(df["f_score"], errors="coerce")).dropna(subset=["r_score", "f_score"])
    scores = scores.astype({"r_score": int, "f_score": int})
    grids = {value: _matrix(scores, "r_score", "f_score", value, (5, 4, 3, 2, 1), (1, 2, 3, 4, 5))
             for value in ("customers", "revenue")}
    return render(_draw_rfm, grids, title, file_path=file_path, figsize=(8.0, 3.8))


def _draw_rfm(fig: Figure, grids: dict[str, pd.DataFrame], title: str) -> None:
    fig.suptitle(title, fontsize=11, color=TEXT)
    left, right = fig.subplots(1, 2)
    for ax, (value, cmap) in zip((left, right), (("customers", "Blues"), ("revenue", "Greens"))):
        _heatmap(ax, grids[value], cmap, xlabel="F score (orders, 365 days)", ylabel="R score (recency)")
        ax.set_title(value, fontsize=10, color=TEXT)


# --- 4. health bands ----------------------------------------------------------------------------------------


def health_bands(df_today: pd.DataFrame | None, df_trend: pd.DataFrame | None, *, day: DayLike | None = None,
                 days: int = 90, file_path: str | os.PathLike | None = None) -> bytes:
    """Health bands of the day (bars with counts and shares) next to their ``days``-day trend (stacked area).

    ``df_today``: ``health_band`` (``vocabulary.HEALTH_BANDS``; NULL = no score), ``customers``.
    ``df_trend``: ``as_of_date``, ``health_band``, ``customers``. Bands run healthy -> critical.
    """
    end = _end_day(day, [(df_trend, "as_of_date"), (df_today, "as_of_date")])
    title = f"Customer health bands on {_label(end)}"
    order = (*HEALTH_BANDS, NO_HEALTH_SCORE)
    today = trend = None
    if _total(df_today, "customers"):
        today = df_today.assign(health_band=df_today["health_band"].fillna(NO_HEALTH_SCORE))
        today = today.groupby("health_band")["customers"].sum()
        today = today.reindex(_ordered(today.index, order))
    if _total(df_trend, "customers"):
        trend = _window(df_trend, "as_of_date", end, days)
        trend = trend.assign(health_band=trend["health_band"].fillna(NO_HEALTH_SCORE))
        trend = _over_time(trend, "as_of_date", "health_band", "customers", order) if len(trend) else None
    if today is None and (trend is None or trend.empty):
        return _no_data(title, end, file_path)
    return render(_draw_health, today, trend, title, days, file_path=file_path, figsize=(9.0, 4.0))


def _draw_health(fig: Figure, today: pd.Series | None, trend: pd.DataFrame | None, title: str, days: int) -> None:
    fig.suptitle(title, fontsize=11, color=TEXT)
    left, right = fig.subplots(1, 2, width_ratios=(2, 3))
    if today is None:
        _panel_no_data(left, "No data for the day")
    else:
        bands = list(today.index)
        bars = left.bar(range(len(bands)), today.to_numpy(dtype=float), color=_colours(bands, HEALTH_COLOURS))
        total = float(today.sum())
        left.bar_label(bars, [f"{compact(v)}\n{v / total:.0%}" for v in today], fontsize=FONT, color=TEXT)
        left.set_xticks(range(len(bands)), bands, rotation=30, ha="right")
        left.margins(y=0.2)
        _style(left)
        left.yaxis.set_major_locator(MaxNLocator(integer=True))
        left.set_ylabel("customers", fontsize=FONT, color=TEXT)
        left.set_title("today", fontsize=10, color=TEXT)
    if trend is None or trend.empty:
        _panel_no_data(right, f"No trend for the last {days} days")
    else:
        bands = list(trend.columns)
        _stacked_over_time(right, trend, _colours(bands, HEALTH_COLOURS), bands, "customers")
        right.set_title(f"last {days} days", fontsize=10, color=TEXT)


# --- 5. early-warning tiers ---------------------------------------------------------------------------------


def warning_tiers(df: pd.DataFrame | None, *, day: DayLike | None = None, days: int = 90,
                  file_path: str | os.PathLike | None = None) -> bytes:
    """Stacked area of customers per early-warning tier over the ``days`` days up to ``day``.

    ``df``: ``as_of_date``, ``warning_tier`` (1-3, ``vocabulary.WARNING_TIERS``), ``customers``. Tier 0 (no
    warning) rows are left out, so the chart shows the warned customers; tier 3 is stacked on top.
    """
    end = _end_day(day, [(df, "as_of_date")])
    title = f"Customers per early-warning tier, {days} days to {_label(end)}"
    if not _is_empty(df):
        df = _window(df, "as_of_date", end, days)
        df = df.loc[pd.to_numeric(df["warning_tier"], errors="coerce").fillna(0) > 0]
    if _total(df, "customers") == 0:
        return _no_data(title, end, file_path)
    df = df.assign(warning_tier=pd.to_numeric(df["warning_tier"]).astype(int))
    table = _over_time(df, "as_of_date", "warning_tier", "customers", tuple(WARNING_SIGNALS))
    labels = [f"tier {t}: {WARNING_SIGNALS.get(t, 'other').replace('_', ' ')}" for t in table.columns]
    return render(_draw_tiers, table, labels, title, file_path=file_path)


def _draw_tiers(fig: Figure, table: pd.DataFrame, labels: list[str], title: str) -> None:
    fig.suptitle(title, fontsize=11, color=TEXT)
    _stacked_over_time(fig.add_subplot(), table, _colours(list(table.columns), WARNING_COLOURS), labels,
                       "customers")


# --- 6. outreach --------------------------------------------------------------------------------------------


def uplift_interval(df: pd.DataFrame, metric: str = "conversion", z: float = 1.96) -> pd.DataFrame:
    """``campaign``, ``uplift``, ``ci_low``, ``ci_high`` (absolute rate differences) per campaign.

    Uses ``ci_low`` / ``ci_high`` when ``df`` has them (``uplift`` or ``<metric>_uplift`` as the point);
    otherwise the Wald interval of the difference of two proportions from the ``outreach.campaign_uplift``
    columns ``contacted``, ``held_out``, ``contacted_<metric>_rate``, ``held_out_<metric>_rate`` (``metric``:
    ``conversion`` or ``improvement``). Campaigns without a holdout get NaN.
    """
    point = df["uplift"] if "uplift" in df.columns else df[f"{metric}_uplift"]
    out = pd.DataFrame({"campaign": df["campaign"].astype(str), "uplift": pd.to_numeric(point, errors="coerce")})
    if {"ci_low", "ci_high"} <= set(df.columns):
        out["ci_low"] = pd.to_numeric(df["ci_low"], errors="coerce")
        out["ci_high"] = pd.to_numeric(df["ci_high"], errors="coerce")
        return out.reset_index(drop=True)
    n1 = pd.to_numeric(df["contacted"], errors="coerce").where(lambda n: n > 0)
    n0 = pd.to_numeric(df["held_out"], errors="coerce").where(lambda n: n > 0)
    p1 = pd.to_numeric(df[f"contacted_{metric}_rate"], errors="coerce")
    p0 = pd.to_numeric(df[f"held_out_{metric}_rate"], errors="coerce")
    se = np.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    out["ci_low"] = out["uplift"] - z * se
    out["ci_high"] = out["uplift"] + z * se
    return out.reset_index(drop=True)


def outreach_summary(df_counts: pd.DataFrame | None, df_uplift: pd.DataFrame | None, *,
                     day: DayLike | None = None, metric: str = "conversion",
                     file_path: str | os.PathLike | None = None) -> bytes:
    """Per campaign: contacted / held out / excluded by reason (stacked bars) and the uplift with its 95 % CI.

    ``df_counts``: the day's ``outreach.outreach_list`` counted - ``campaign``, ``status``
    (``vocabulary.OUTREACH_STATUSES``), ``reason`` (for excluded rows the first of ``reasons_excluded``, the
    strongest guard; NULL otherwise), ``customers``. ``df_uplift``: ``outreach.campaign_uplift`` rows
    (``campaign``, ``conversion_uplift``, ``contacted``, ``held_out``, ``contacted_conversion_rate``,
    ``held_out_conversion_rate``; or ``uplift``, ``ci_low``, ``ci_high``), see ``uplift_interval``.
    """
    end = _end_day(day, [(df_counts, "as_of_date"), (df_uplift, "as_of_date")])
    title = f"Outreach on {_label(end)}"
    counts = uplift = None
    if _total(df_counts, "customers"):
        counts = _outreach_counts(df_counts)
    if not _is_empty(df_uplift):
        uplift = uplift_interval(df_uplift, metric)
    if counts is None and uplift is None:
        return _no_data(title, end, file_path)
    campaigns = sorted(set(counts.index if counts is not None else []) | set(uplift["campaign"] if uplift is
                                                                            not None else []), reverse=True)
    height = max(3.0, 1.6 + 0.35 * len(campaigns))
    return render(_draw_outreach, counts, uplift, campaigns, title, metric, file_path=file_path,
                  figsize=(9.0, height))


def _outreach_counts(df: pd.DataFrame) -> pd.DataFrame:
    """campaign x category (contacted, holdout, excluded: <reason>) customers, categories in that order."""
    status = df["status"].astype(str)
    reason = df["reason"] if "reason" in df.columns else pd.Series(None, index=df.index, dtype=object)
    category = status.where(status != "excluded", "excluded: " + reason.fillna("other").astype(str))
    frame = df.assign(category=category, campaign=df["campaign"].astype(str))
    order = ("contacted", "holdout", *(f"excluded: {r}" for r in EXCLUSION_REASONS))
    table = frame.pivot_table(index="campaign", columns="category", values="customers", aggfunc="sum",
                              fill_value=0)
    return table.reindex(columns=_ordered(table.columns, order), fill_value=0).astype(float)


def _draw_outreach(fig: Figure, counts: pd.DataFrame | None, uplift: pd.DataFrame | None,
                   campaigns: list[str], title: str, metric: str) -> None:
    fig.suptitle(title, fontsize=11, color=TEXT)
    left, right = fig.subplots(1, 2, width_ratios=(3, 2), sharey=True)
    y = {c: i for i, c in enumerate(campaigns)}
    left.set_ylim(-0.6, len(campaigns) - 0.4)
    left.set_yticks(range(len(campaigns)), campaigns)
    _style(left, grid_axis="x")
    left.set_title("decisions of the day", fontsize=10, color=TEXT)
    if counts is None:
        left.text(0.5, 0.5, "No outreach decisions", ha="center", va="center", fontsize=FONT, color="#666666",
                  transform=left.transAxes)
        left.set_xticks([])
    else:
        palette = {**STATUS_COLOURS, **{f"excluded: {r}": c for r, c in EXCLUSION_COLOURS.items()}}
        colours = _colours(list(counts.columns), palette)
        left_edge = np.zeros(len(counts))
        rows = [y[c] for c in counts.index]
        for category, colour in zip(counts.columns, colours):
            widths = counts[category].to_numpy()
            left.barh(rows, widths, left=left_edge, color=colour, label=category, height=0.7)
            left_edge += widths
        left.xaxis.set_major_locator(MaxNLocator(integer=True))
        left.set_xlabel("customers", fontsize=FONT, color=TEXT)
        fig.legend(*left.get_legend_handles_labels(), loc="outside lower center", ncols=5, fontsize=FONT,
                   frameon=False)
    _draw_uplift(right, uplift, y, metric)


def _draw_uplift(ax: Axes, uplift: pd.DataFrame | None, y: dict[str, int], metric: str) -> None:
    ax.set_title(f"{metric} uplift vs holdout (95 % CI)", fontsize=10, color=TEXT)
    _style(ax, grid_axis="x")
    ax.axvline(0, color="#888888", linewidth=0.8)
    ax.set_xlabel("percentage points (blue: the interval excludes 0)", fontsize=FONT, color=TEXT)
    if uplift is None:
        ax.text(0.5, 0.5, "No campaign with an ended window", ha="center", va="center", fontsize=FONT,
                color="#666666", transform=ax.transAxes)
        return
    if uplift["uplift"].isna().all():
        ax.set_xlim(-5, 5)
    for row in uplift.itertuples(index=False):
        pos = y[row.campaign]
        if pd.isna(row.uplift):
            ax.text(0, pos, "n/a (no holdout)", ha="center", va="center", fontsize=FONT, color="#666666",
                    backgroundcolor="white")
            continue
        point, low, high = 100 * row.uplift, 100 * row.ci_low, 100 * row.ci_high
        significant = not pd.isna(low) and (low > 0 or high < 0)
        colour = "#4e79a7" if significant else "#999999"
        err = None if pd.isna(low) else [[point - low], [high - point]]
        ax.errorbar([point], [pos], xerr=err, fmt="o", color=colour, ecolor=colour, capsize=3, markersize=5)
        ax.annotate(f"{point:+.1f}", (point, pos), xytext=(0, 6), textcoords="offset points", ha="center",
                    fontsize=FONT, color=TEXT)
    ax.margins(x=0.15)


# --- 7. quarantine ------------------------------------------------------------------------------------------


def quarantine_summary(df: pd.DataFrame | None, *, day: DayLike | None = None, days: int = 30,
                       file_path: str | os.PathLike | None = None) -> bytes:
    """Quarantined rows over the ``days`` days up to ``day``: per day by source (stacked bars) and the
    window's totals by rule x source (annotated heat map).

    ``df``: ``quality.quarantine`` counted - ``partition_date`` (``as_of_date`` is accepted too), ``source``
    (``contracts.SOURCES``), ``rule``, ``rows``.
    """
    date_col = "as_of_date" if not _is_empty(df) and "partition_date" not in df.columns else "partition_date"
    end = _end_day(day, [(df, date_col)])
    title = f"Quarantined rows, {days} days to {_label(end)}"
    if not _is_empty(df):
        df = _window(df, date_col, end, days)
    if _total(df, "rows") == 0:
        return _no_data(title, end, file_path)
    end = end if end is not None else df[date_col].max()
    sources = _ordered(df["source"], tuple(SOURCES))
    daily = df.pivot_table(index=date_col, columns="source", values="rows", aggfunc="sum", fill_value=0)
    all_days = pd.date_range(end - pd.Timedelta(days=days - 1), end, freq="D")
    daily = daily.reindex(index=all_days, columns=sources, fill_value=0).astype(float)
    rules = sorted(df["rule"].fillna("(no rule)").astype(str).unique())
    totals = _matrix(df.assign(rule=df["rule"].fillna("(no rule)").astype(str)), "rule", "source", "rows",
                     rules, sources)
    height = 4.0 + 0.3 * len(rules)
    return render(_draw_quarantine, daily, totals, title, days, file_path=file_path, figsize=(8.0, height))


def _draw_quarantine(fig: Figure, daily: pd.DataFrame, totals: pd.DataFrame, title: str, days: int) -> None:
    fig.suptitle(title, fontsize=11, color=TEXT)
    top, bottom = fig.subplots(2, 1, height_ratios=(3, max(2, len(totals))))
    x = daily.index.to_numpy()
    base = np.zeros(len(daily))
    for source, colour in zip(daily.columns, _colours(list(daily.columns), SOURCE_COLOURS)):
        top.bar(x, daily[source].to_numpy(), bottom=base, width=0.8, color=colour, label=source)
        base += daily[source].to_numpy()
    _style(top)
    _date_axis(top)
    top.set_xlim(x[0] - np.timedelta64(12, "h"), x[-1] + np.timedelta64(12, "h"))
    top.yaxis.set_major_locator(MaxNLocator(integer=True))
    top.set_ylabel("rows per day", fontsize=FONT, color=TEXT)
    _legend(top, reverse=False)
    _heatmap(bottom, totals, "Oranges", xlabel="source", ylabel="rule")
    bottom.set_title(f"rows by rule and source, {days} days", fontsize=10, color=TEXT)


# --- 8. purchase-model calibration -------------------------------------------------------------------------


def clv_calibration(df_frequency: pd.DataFrame | None, df_tracking: pd.DataFrame | None, *,
                    day: DayLike | None = None, file_path: str | os.PathLike | None = None) -> bytes:
    """How well the purchase model predicted the holdout that ends on ``day``, in two panels: actual vs expected
    purchase days per customer in the holdout for each frequency group (bars, customers under each group),
    and the calibration cohort's cumulative repeat purchase days, actual vs expected, over time with the
    calibration end marked and the holdout shaded (lines).

    ``df_frequency``: ``scoring.clv_calibration`` rows - ``frequency_group`` ('0' ... '7+'), ``frequency_min``
    (their order), ``customers``, ``actual_mean``, ``expected_mean``, ``calibration_end``, ``reason``.
    ``df_tracking``: ``scoring.clv_calibration_tracking`` rows - ``period_end``, ``actual_cumulative``,
    ``expected_cumulative``, ``calibration_end``, ``reason``. With an ``as_of_date`` column only ``day``'s rows
    are drawn. No customers and no tracking rows: the "No data" image. Every expected figure NULL (no usable
    fit): a "No model calibration" image that gives the ``reason``.
    """
    end = _end_day(day, [(df_frequency, "as_of_date"), (df_tracking, "as_of_date")])
    title = f"Purchase model calibration, holdout to {_label(end)}"
    frequency, tracking = (_of_day(df, end) for df in (df_frequency, df_tracking))
    if _total(frequency, "customers") == 0:
        frequency = None
    if _is_empty(tracking):
        tracking = None
    if frequency is None and tracking is None:
        return _no_data(title, end, file_path)
    expected = [pd.to_numeric(df[col], errors="coerce") for df, col in
                ((frequency, "expected_mean"), (tracking, "expected_cumulative")) if df is not None]
    if all(values.isna().all() for values in expected):
        reasons = [r for df in (frequency, tracking) if df is not None and "reason" in df.columns
                   for r in df["reason"] if isinstance(r, str) and r]
        return render(_draw_calibration_unavailable, title, end, reasons[0] if reasons else None,
                      file_path=file_path)
    if frequency is not None:
        frequency = frequency.sort_values("frequency_min" if "frequency_min" in frequency.columns
                                          else "frequency_group")
    if tracking is not None:
        tracking = tracking.assign(period_end=pd.to_datetime(tracking["period_end"])).sort_values("period_end")
    cut = _calibration_end(frequency, tracking)
    return render(_draw_calibration, frequency, tracking, cut, end, title, file_path=file_path,
                  figsize=(9.0, 4.2))


def _of_day(df: pd.DataFrame | None, end: pd.Timestamp | None) -> pd.DataFrame | None:
    """``df``'s rows of the day ``end`` when it has an ``as_of_date`` column, else ``df``."""
    if _is_empty(df) or end is None or "as_of_date" not in df.columns:
        return df
    return df.loc[pd.to_datetime(df["as_of_date"]).dt.normalize() == end]


def _calibration_end(*frames: pd.DataFrame | None) -> pd.Timestamp | None:
    days = [pd.to_datetime(df["calibration_end"]).max() for df in frames
            if df is not None and "calibration_end" in df.columns]
    days = [d for d in days if not pd.isna(d)]
    return days[0].normalize() if days else None


def _draw_calibration_unavailable(fig: Figure, title: str, end: pd.Timestamp | None, reason: str | None) -> None:
    fig.suptitle(title, fontsize=11, color=TEXT)
    ax = fig.add_subplot()
    _panel_no_data(ax, f"No model calibration for {_label(end)}")
    if reason:
        ax.text(0.5, 0.32, textwrap.fill(reason, 90), ha="center", va="top", fontsize=FONT, color="#666666",
                transform=ax.transAxes)


def _draw_calibration(fig: Figure, frequency: pd.DataFrame | None, tracking: pd.DataFrame | None,
                      cut: pd.Timestamp | None, end: pd.Timestamp | None, title: str) -> None:
    fig.suptitle(title, fontsize=11, color=TEXT)
    left, right = fig.subplots(1, 2, width_ratios=(1, 1))
    weeks = f"{(end - cut).days / 7:g} weeks" if cut is not None and end is not None else "the holdout"
    if frequency is None:
        _panel_no_data(left, "No customers")
    else:
        x = np.arange(len(frequency))
        for offset, (kind, col) in zip((-0.2, 0.2), (("actual", "actual_mean"), ("expected", "expected_mean"))):
            left.bar(x + offset, pd.to_numeric(frequency[col], errors="coerce").to_numpy(dtype=float), width=0.4,
                     color=CALIBRATION_COLOURS[kind], label=kind)
        labels = [f"{g}\n{compact(n)}" for g, n in zip(frequency["frequency_group"], frequency["customers"])]
        left.set_xticks(x, labels)
        _style(left)
        left.set_xlabel("repeat purchases by the calibration end\n(customers)", fontsize=FONT, color=TEXT)
        left.set_ylabel("purchase days per customer", fontsize=FONT, color=TEXT)
        left.set_title(f"in the holdout ({weeks})", fontsize=10, color=TEXT)
    if tracking is None:
        _panel_no_data(right, "No purchases over time")
    else:
        days = tracking["period_end"].to_numpy()
        if cut is not None:
            right.axvspan(cut, days[-1], color="#f2f2f2", linewidth=0)
            right.axvline(cut, color="#888888", linewidth=0.8, linestyle=":")
            right.annotate("calibration end", (cut, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -3),
                           textcoords="offset points", ha="left", va="top", fontsize=FONT, color=TEXT)
        for kind, col, style in (("actual", "actual_cumulative", "-"), ("expected", "expected_cumulative", "--")):
            right.plot(days, pd.to_numeric(tracking[col], errors="coerce").to_numpy(dtype=float), style,
                       color=CALIBRATION_COLOURS[kind], linewidth=1.5, label=kind)
        _style(right)
        _date_axis(right)
        right.set_ylabel("repeat purchase days, cumulative", fontsize=FONT, color=TEXT)
        right.set_title("calibration cohort over time", fontsize=10, color=TEXT)
    handles = [Patch(color=CALIBRATION_COLOURS[kind], label=kind) for kind in ("actual", "expected")]
    fig.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=FONT, frameon=False)


# --- Dagster metadata ---------------------------------------------------------------------------------------


def chart_metadata(name: str, png_small: bytes, path: str | os.PathLike, title: str | None = None) -> dict:
    """Dagster metadata of a chart: ``{name: MetadataValue.md(<inline PNG>), name_file: MetadataValue.path}``.

    A PNG over ``MAX_EMBED_BYTES`` is not inlined; the markdown then points to the file.
    """
    label = title or name.replace("_", " ")
    if len(png_small) < MAX_EMBED_BYTES:
        text = to_markdown(png_small, label)
    else:
        text = f"*{label}: too large to show inline ({len(png_small) // 1024} KiB), see `{name}_file`.*"
    return {name: dg.MetadataValue.md(text), f"{name}_file": dg.MetadataValue.path(str(path))}
