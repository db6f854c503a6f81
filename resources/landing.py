"""The landing zone: ``<root>/<source>/<YYYY-MM-DD>/`` folders of CSV or Parquet files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from dagster import ConfigurableResource

from lifecycle_pipeline.loading import LandingFileError, file_kind


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
            if path.name.startswith((".", "_")) or path.is_dir():
                continue
            file_kind(path)  # raises LandingFileError for unsupported types
            files.append(path)
        return files


__all__ = ["LandingZone", "LandingFileError"]
