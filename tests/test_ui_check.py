"""The real-browser UI check: ``scripts/ui_check.py`` against a small sample run, as ``make ui-check`` runs it.

It starts ``dagster dev`` on 127.0.0.1, drives Debian's chromium headless through Playwright and
saves four screenshots. Skipped only when no chromium executable is installed
(``apt-get install chromium``; ``.ci/run`` installs it) or the playwright package is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "ui_check.py"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
try:
    import playwright.sync_api  # noqa: F401

    PLAYWRIGHT = True
except ImportError:
    PLAYWRIGHT = False

SCREENSHOTS = ("asset_graph.png", "partitions.png", "raw_orders_checks.png", "stage_distribution_metadata.png")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium executable: apt-get install chromium")
@pytest.mark.skipif(not PLAYWRIGHT, reason="playwright is not installed: pip install -e '.[test]'")
def test_ui_check_opens_every_view_in_chromium_and_saves_screenshots(tmp_path):
    data_dir = tmp_path / "ui_check"
    command = [sys.executable, str(SCRIPT), "--data-dir", str(data_dir), "--customers", "200", "--days", "5"]
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        try:
            stdout, stderr = process.communicate(timeout=900)
        except subprocess.TimeoutExpired:
            process.terminate()  # SIGTERM: the script stops dagster dev before it exits
            stdout, stderr = process.communicate(timeout=60)
            pytest.fail(f"the UI check took over 15 minutes:\n{stdout[-4000:]}\n{stderr[-4000:]}")
    output = f"{stdout}\n{stderr}"
    assert process.returncode == 0, output[-8000:]

    shots = data_dir / "screenshots"
    for name in SCREENSHOTS:
        data = (shots / name).read_bytes()
        assert data[:8] == PNG_SIGNATURE, name
        width, height = struct.unpack(">II", data[16:24])  # IHDR: the browser's viewport
        assert (width, height) == (1600, 1000), name
        assert len(data) > 20_000, f"{name}: {len(data)} bytes, an empty page?"
    assert not list(shots.glob("failure_*.png"))
    for asserted in (r"shows the groups ingestion, clean, scoring, lifecycle, outreach, bi",
                     r"raw/orders partitions: 5 materialized", r"raw/orders lists its \d+ checks .* none skipped",
                     r"'stage_distribution' renders a \d+x\d+ PNG chart"):
        assert re.search(asserted, stdout), f"{asserted!r} not in the output:\n{output[-8000:]}"

    # nothing is left running: dagster dev's whole process group has ended
    pgid = int(re.search(r"dagster dev stopped: process group (\d+) ended", stdout).group(1))
    with pytest.raises(ProcessLookupError):
        os.killpg(pgid, 0)
