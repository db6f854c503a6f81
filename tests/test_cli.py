"""The run command's machinery: generate, then backfill through the `dagster` CLI into the project instance.

Runs real subprocesses, as `make run` does, and reads the resulting Dagster instance.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

BIN = Path(sys.executable).parent


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "lifecycle-pipeline"), *args], env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LIFECYCLE_", "DAGSTER_"))}
    return {**clean, "LIFECYCLE_DATA_DIR": str(tmp_path / "data"), "LIFECYCLE_START_DATE": "2026-01-01",
            "LIFECYCLE_EXPORT_WINDOW_DAYS": "all"}


def test_backfill_records_every_partition_in_the_project_instance(tmp_path, env):
    gen = _run(["generate", "--customers", "300", "--start", "2026-03-01", "--end", "2026-03-03"], env)
    assert gen.returncode == 0, gen.stderr
    assert "customers" in gen.stdout and "landing root" in gen.stdout

    backfill = _run(["backfill", "--start", "2026-03-01", "--end", "2026-03-03"], env)
    assert backfill.returncode == 0, backfill.stdout[-3000:] + backfill.stderr[-3000:]
    assert "backfill succeeded" in backfill.stdout
    assert "Finished execution of step \"raw__orders\"" in backfill.stdout

    home = tmp_path / "data" / "dagster_home"
    assert (home / "dagster.yaml").is_file()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for source in ["customers", "orders", "events", "support_tickets", "nps_responses", "marketing_spend", "suppressions"]:
            assert instance.get_materialized_partitions(dg.AssetKey(["raw", source])) == {
                "2026-03-01", "2026-03-02", "2026-03-03"}, source

    summary = _run(["summary"], env)
    assert summary.returncode == 0
    assert "raw.orders" in summary.stdout and "days 2026-03-01..2026-03-03" in summary.stdout
    assert "outreach.outreach_list" in summary.stdout and "(3 days, 2026-03-01..2026-03-03)" in summary.stdout


def test_backfill_before_the_first_partition_is_refused(env):
    result = _run(["backfill", "--start", "2025-12-01", "--end", "2025-12-02"], env)
    assert result.returncode != 0
    assert "before the first partition 2026-01-01" in result.stderr


def test_check_playbook_lists_the_campaigns_or_every_problem(tmp_path, env):
    good = _run(["check-playbook"], env)
    assert good.returncode == 0, good.stderr
    assert "valid, 13 active campaigns; frequency cap 1 per 7 days" in good.stdout
    assert "dormant_recall_sms" in good.stdout

    bad = tmp_path / "playbook.yaml"
    bad.write_text("version: v2\ncampaigns:\n  - {id: aa, target: {stages: [lost]}, channel: email, "
                   "template: x, priority: 1, holdout_share: 2}\n")
    result = _run(["check-playbook", "--playbook", str(bad)], {**env, "LIFECYCLE_PLAYBOOK": str(bad)})
    assert result.returncode == 1
    assert "campaigns[aa].target.stages[0]" in result.stderr and "campaigns[aa].holdout_share" in result.stderr
