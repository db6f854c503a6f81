"""Where the outreach playbook, its templates and the exports live."""

from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field

from lifecycle_pipeline.outreach.loader import load_playbook, read_playbook, templates_dir_for
from lifecycle_pipeline.outreach.playbook import Playbook
from lifecycle_pipeline.outreach.rendering import Renderer


class OutreachConfig(ConfigurableResource):
    """The outreach playbook (campaigns, guards, uplift window) and where the daily exports go.

    The playbook is validated, and its templates checked, when an outreach asset runs: a
    broken playbook fails that asset with every problem listed, not the whole code location."""

    playbook_path: str | None = Field(None, description="Playbook YAML file; empty = the built-in playbook.")
    templates_dir: str | None = Field(None, description="Templates folder; empty = templates/ beside the playbook.")
    export_dir: str = Field(description="Exports root: <export_dir>/<YYYY-MM-DD>/<campaign>.csv.")

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
