"""Loading the outreach playbook: read the YAML file, validate it (``playbook.py``) and check
every template it names (``rendering.py``).

This module is the only one that knows both the playbook models and the template renderer,
so neither of those imports the other.
"""

from __future__ import annotations

from pathlib import Path

from lifecycle_pipeline.outreach.playbook import Playbook, PlaybookError, parse_playbook
from lifecycle_pipeline.outreach.rendering import Renderer

DEFAULT_PLAYBOOK = Path(__file__).with_name("playbook.yaml")
DEFAULT_TEMPLATES = Path(__file__).with_name("templates")


def templates_dir_for(playbook_path: Path | str | None, templates_dir: Path | str | None = None) -> Path:
    """The templates folder: the one given, else ``templates/`` beside the playbook file."""
    if templates_dir:
        return Path(templates_dir)
    return Path(playbook_path).parent / "templates" if playbook_path else DEFAULT_TEMPLATES


def read_playbook(path: Path | str | None = None) -> Playbook:
    """Read and validate the playbook at ``path`` (default: the built-in one) without checking templates."""
    path = Path(path) if path else DEFAULT_PLAYBOOK
    if not path.is_file():
        raise PlaybookError(f"playbook file {path} does not exist")
    return parse_playbook(path.read_text(encoding="utf-8"), str(path))


def load_playbook(path: Path | str | None = None, templates_dir: Path | str | None = None) -> Playbook:
    """Read, validate and check the templates of the playbook at ``path`` (default: the built-in one)."""
    playbook = read_playbook(path)
    Renderer(templates_dir_for(path, templates_dir)).check(playbook)
    return playbook
