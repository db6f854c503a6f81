"""The landing zone: ``<root>/<source>/<YYYY-MM-DD>/`` folders of CSV or Parquet files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from dagster import ConfigurableResource

from lifecycle_pipeline.loading import LandingFileError, file_kind

IGNORED_PREFIXES = (".", "_")


class LandingZone(ConfigurableResource):
    """Folder tree of daily landing files, one folder per source per day."""

    root: str

    def day_dir(self, source: str, day: dt.date) -> Path:
        return Path(self.root) / source / day.isoformat()

    def files_for(self, source: str, day: dt.date) -> list[Path]:
        """The day's landing files in name order; [] when the folder does not exist.

        Names starting with ``.`` or ``_`` are ignored (temporary files of a writer that
        renames on completion, ``_SUCCESS`` markers); any other non CSV/Parquet file is
        an error rather than silently skipped data.
        """
        folder = self.day_dir(source, day)
        if not folder.is_dir():
            return []
        files = []
        for path in sorted(folder.iterdir()):
            if path.name.startswith(IGNORED_PREFIXES) or path.is_dir():
                continue
            file_kind(path)  # raises LandingFileError for unsupported types
            files.append(path)
        return files

    def unrecognised_entries(self, source: str, first: dt.date, last: dt.date | None) -> list[str]:
        """Entries of ``<root>/<source>/`` that no partition loads: names that are not a YYYY-MM-DD day folder,
        and day folders outside ``first..last`` (the partition range), each with why."""
        folder = Path(self.root) / source
        if not folder.is_dir():
            return []
        found = []
        for path in sorted(folder.iterdir()):
            if path.name.startswith(IGNORED_PREFIXES):
                continue
            if not path.is_dir():
                found.append(f"{path.name}: a file outside any day folder")
                continue
            try:
                day = dt.date.fromisoformat(path.name)
            except ValueError:
                day = None
            if day is None or path.name != day.isoformat():
                found.append(f"{path.name}/: not a YYYY-MM-DD day folder")
            elif day < first or (last is not None and day > last):
                found.append(f"{path.name}/: outside the partition range {first}..{last or '(none yet)'}")
        return found


__all__ = ["LandingZone", "LandingFileError"]
