"""``docs/rules_to_code.md`` names real files, settings and tests, and lists every scoring and stage setting."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from lifecycle_pipeline.resources import ClvConfig, ScoringConfig, StageConfig

ROOT = Path(__file__).resolve().parent.parent
MAP = ROOT / "docs" / "rules_to_code.md"
RESOURCES = {"scoring": ScoringConfig, "stages": StageConfig, "clv": ClvConfig}


def _table_cells() -> list[list[str]]:
    rows = [line for line in MAP.read_text(encoding="utf-8").splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[1:]]  # skip the header


def _names(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def _test_functions(path: Path) -> set[str]:
    return {n.name for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(n, ast.FunctionDef)}


def test_every_file_setting_and_test_in_the_map_exists():
    cells = _table_cells()
    assert len(cells) >= 20
    for rule, code, settings, tests in cells:
        assert _names(code), f"{rule}: no file named"
        for name in _names(code):
            assert (ROOT / name).is_file(), f"{rule}: {name} does not exist"
        for name in _names(settings):
            resource, _, field = name.partition(".")
            if resource in RESOURCES:
                assert field in RESOURCES[resource].model_fields, f"{rule}: {name} is not a setting"
        assert _names(tests), f"{rule}: no test named"
        for name in _names(tests):
            path, _, function = name.partition("::")
            assert function in _test_functions(ROOT / path), f"{rule}: {name} does not exist"


def test_every_scoring_stage_and_clv_setting_is_mapped_to_a_rule():
    named = {name for cells in _table_cells() for name in _names(cells[2])}
    for resource, config in RESOURCES.items():
        missing = [f for f in config.model_fields if f"{resource}.{f}" not in named]
        assert not missing, f"settings without a rule in docs/rules_to_code.md: {missing}"
