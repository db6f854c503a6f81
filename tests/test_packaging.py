"""Installing the project adds one top-level name, ``lifecycle_pipeline``, and everything it needs at run time.

The requested folders ``assets/``, ``resources/`` and ``sql/`` stay at the top of the
repository but install as ``lifecycle_pipeline.assets``, ``.resources`` and ``.sql``, so
they cannot clash with another distribution's ``assets`` or ``sql`` package.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_NOT_SOURCE = shutil.ignore_patterns(".venv", ".git", "data", "build", "*.egg-info", "__pycache__", ".pytest_cache")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """``pip install --no-deps .`` of a copy of the source tree into an empty target folder."""
    work = tmp_path_factory.mktemp("install")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCE)
    target = work / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile", "--target", str(target),
         str(source)],
        check=True, capture_output=True, text=True,
    )
    return target


def _python(site: Path, code: str) -> subprocess.CompletedProcess:
    # -S: no site-packages of this environment, only the installed folder (plus the stdlib)
    return subprocess.run([sys.executable, "-S", "-c", code], cwd=site.parent, capture_output=True, text=True,
                          env={"PYTHONPATH": str(site)})


def test_the_only_top_level_name_installed_is_lifecycle_pipeline(installed):
    top_level = sorted(p.name for p in installed.iterdir() if not p.name.endswith(".dist-info"))
    assert top_level == ["bin", "lifecycle_pipeline"]  # bin: the lifecycle-pipeline console script
    assert (installed / "bin" / "lifecycle-pipeline").is_file()
    for name in ("assets", "resources", "sql"):
        result = _python(installed, f"import {name}")
        assert result.returncode != 0 and f"No module named '{name}'" in result.stderr


def test_the_mapped_folders_install_inside_the_namespace_with_their_data(installed):
    package = installed / "lifecycle_pipeline"
    for name in ("assets", "resources", "sql"):
        assert (package / name / "__init__.py").is_file()
    repo_sql = sorted(p.relative_to(ROOT / "sql") for p in (ROOT / "sql").rglob("*") if p.suffix in (".sql", ".yml"))
    shipped_sql = sorted(p.relative_to(package / "sql") for p in (package / "sql").rglob("*")
                         if p.suffix in (".sql", ".yml"))
    assert shipped_sql == repo_sql and len(repo_sql) > 30
    templates = ROOT / "lifecycle_pipeline" / "outreach" / "templates"
    repo_templates = sorted(p.relative_to(templates) for p in templates.rglob("*.j2"))
    shipped = package / "outreach" / "templates"
    assert sorted(p.relative_to(shipped) for p in shipped.rglob("*.j2")) == repo_templates
    assert (package / "outreach" / "playbook.yaml").is_file()
    assert (package / "dagster.yaml").is_file()
