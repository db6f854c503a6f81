"""Configuration of the data-quality rules."""

from dagster import ConfigurableResource
from pydantic import Field

from lifecycle_pipeline.day_status import Release, release_from_config
from lifecycle_pipeline.quality_rules import QualitySettings
from lifecycle_pipeline.resources.config import settings_from

_DEFAULTS = QualitySettings()


class QualityConfig(ConfigurableResource):
    """Thresholds of the Great Expectations rules and where their Data Docs are written.

    A blocking failure holds back only its own source's day (``quality.day_status``); a
    reviewer's release (run tags, ``lifecycle-pipeline release``) overrides it for a day.
    """

    late_tolerance_days: int = Field(
        _DEFAULTS.late_tolerance_days,
        description="timestamp_in_day: a row's day column may lie this many days before its landing day (late "
        "arrivals). Default 3.",
    )
    future_skew_minutes: int = Field(
        _DEFAULTS.future_skew_minutes,
        description="timestamp_not_in_future: clock skew allowed past the validation time. Default 10.",
    )
    earliest_timestamp: str = Field(
        _DEFAULTS.earliest_timestamp,
        description="timestamp_not_too_old: no timestamp before this date (YYYY-MM-DD), catching placeholders "
        "such as 0001-01-01, 1900-01-01 or 1970-01-01 while allowing imported histories from the 1980s on. "
        "Default 1980-01-01.",
    )
    volume_history_days: int = Field(
        _DEFAULTS.volume_history_days,
        description="row_count_in_band: trailing window (days) of the volume baseline; the baseline is the median "
        "of the same weekday when the window holds >= 3 of them, else of all days. Default 28.",
    )
    volume_min_history_days: int = Field(
        _DEFAULTS.volume_min_history_days,
        description="row_count_in_band: warn only (never block) until the source has this many delivered days in "
        "the window. Default 7.",
    )
    volume_min_ratio: float = Field(
        _DEFAULTS.volume_min_ratio,
        description="row_count_in_band: lowest allowed rows today as a share of the baseline. Default 0.2.",
    )
    volume_max_ratio: float = Field(
        _DEFAULTS.volume_max_ratio,
        description="row_count_in_band: highest allowed rows today as a multiple of the baseline. Default 5.",
    )
    volume_min_median_rows: int = Field(
        _DEFAULTS.volume_min_median_rows,
        description="row_count_in_band: when both the baseline and today are under this many rows, volume is not "
        "judged (a ratio of tiny counts means nothing). Default 30.",
    )
    volume_blocking_sources: list[str] = Field(
        list(_DEFAULTS.volume_blocking_sources),
        description="row_count_in_band: sources whose volume failure blocks their day (steady feeds); for every "
        "other source it only warns (a closed signup cohort, sparse NPS answers). Default [orders, events].",
    )
    freshness_blocking_sources: list[str] = Field(
        list(_DEFAULTS.freshness_blocking_sources),
        description="file_arrived: sources whose missing file blocks their day; for the others a missing file "
        "only warns and the day is empty. Default [customers, orders, events, marketing_spend].",
    )
    max_quarantine_share: float = Field(
        _DEFAULTS.max_quarantine_share,
        description="quarantine_share: a day with a larger share of its rows quarantined is blocked. Default 0.05.",
    )
    quarantine_min_rows: int = Field(
        _DEFAULTS.quarantine_min_rows,
        description="quarantine_share: on days with fewer rows read, a share over the limit only warns. "
        "Default 30.",
    )
    data_docs_dir: str | None = Field(None, description="Where GX Data Docs pages are written; None: not built.")
    # a reviewer's release of a blocked day (set by `lifecycle-pipeline release`, or in the launchpad; the run
    # tags lifecycle/release_day, lifecycle/released_by, lifecycle/release_reason do the same)
    release_day: str | None = Field(None, description="Release: the blocked day (YYYY-MM-DD) whose blocking batch "
                                    "rules are overridden in this run, after review.")
    released_by: str | None = Field(None, description="Release: who reviewed the day (required with release_day).")
    release_reason: str | None = Field(None, description="Release: why the day may go through (required).")
    release_sources: list[str] | None = Field(None, description="Release: only these sources (default: every one).")

    def settings(self) -> QualitySettings:
        return settings_from(self, QualitySettings)

    def release(self) -> Release | None:
        """The release given in this resource's config, if any (incomplete: ``ReleaseTagError``)."""
        return release_from_config(self.release_day, self.released_by, self.release_reason, self.release_sources)
