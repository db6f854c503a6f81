"""Where the outreach playbook, its templates and the exports live."""

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from dagster import ConfigurableResource
from pydantic import Field

from lifecycle_pipeline.outreach.loader import (
    load_playbook,
    read_playbook,
    templates_dir_for,
)
from lifecycle_pipeline.outreach.playbook import Playbook
from lifecycle_pipeline.outreach.rendering import Renderer


class OutreachConfig(ConfigurableResource):
    """The outreach playbook (campaigns, guards, uplift window) and where the daily exports go.

    The playbook is validated, and its templates checked, when an outreach asset runs: a
    broken playbook fails that asset with every problem listed, not the whole code location."""

    playbook_path: str | None = Field(None, description="Playbook YAML file; empty = the built-in playbook.")
    templates_dir: str | None = Field(None, description="Templates folder; empty = templates/ beside the playbook.")
    export_dir: str = Field(description="Exports root: <export_dir>/<YYYY-MM-DD>/<campaign>.csv.")
    export_window_days: int | None = Field(
        14, ge=0, description="Export files are written only for days at most this many days before today "
        "(business time zone); older days (a history backfill) compute lists, contact history and uplift only. "
        "Empty: every day is exported.",
    )

    def writes_exports(self, day: dt.date, timezone: str, now: dt.datetime | None = None) -> bool:
        """Whether ``day`` is inside the export window (nobody sends messages to the past)."""
        if self.export_window_days is None:
            return True
        today = (now or dt.datetime.now(ZoneInfo(timezone))).astimezone(ZoneInfo(timezone)).date()
        return day >= today - dt.timedelta(days=self.export_window_days)

    def playbook(self, check_templates: bool = True) -> Playbook:
        """The validated playbook; ``check_templates=False`` for steps that render nothing (uplift)."""
        if not check_templates:
            return read_playbook(self.playbook_path)
        return load_playbook(self.playbook_path, self.templates_dir)

    def renderer(self) -> Renderer:
        return Renderer(templates_dir_for(self.playbook_path, self.templates_dir))

    @property
    def export_root(self) -> Path:
        return Path(self.export_dir)
