"""SQL the pipeline runs, one statement family per file, loaded by name.

Placeholders in braces (``{table}``, ``{typed_columns}``) are filled only with
identifiers and expressions generated from the code-defined source contracts; every
value (dates, paths, names from data) is bound as a ``?`` parameter.
"""

from functools import cache
from importlib.resources import files


@cache
def load(name: str) -> str:
    """Text of ``sql/<name>.sql``, e.g. ``load("ingestion/delete_raw_partition")``."""
    return files(__name__).joinpath(f"{name}.sql").read_text(encoding="utf-8")


def statements(name: str) -> list[str]:
    """The statements of a multi-statement file (split at ';' line ends; comments stay with theirs)."""
    return [part.strip() for part in load(name).split(";\n") if part.strip() and not _only_comments(part)]


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in text.splitlines())
