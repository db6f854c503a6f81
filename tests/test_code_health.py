"""Code health: no import cycles between project modules, no function over 80 lines.

Both checks read the source with ``ast`` (nothing is imported), so they see imports at
any depth, including the function-level imports that hide a cycle from import time.
Each checker has a self-test on a synthetic project, so it is proven able to fail.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# source folder -> the package it installs as (setup.py maps assets/, resources/, sql/ into the namespace)
PROJECT_FOLDERS = {
    "lifecycle_pipeline": "lifecycle_pipeline",
    "assets": "lifecycle_pipeline.assets",
    "resources": "lifecycle_pipeline.resources",
    "sql": "lifecycle_pipeline.sql",
}
LENGTH_CHECKED_FOLDERS = ("lifecycle_pipeline", "assets", "resources")
MAX_FUNCTION_LINES = 80


# --- the import graph ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Module:
    name: str
    path: Path

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"


def project_modules(root: Path, folders: dict[str, str]) -> dict[str, Module]:
    """Every ``.py`` file under ``folders`` by the dotted name it is imported as."""
    modules = {}
    for folder, package in folders.items():
        base = root / folder
        for path in sorted(base.rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            name = ".".join([package, *parts])
            modules[name] = Module(name, path)
    return modules


def _imported_names(module: Module, node: ast.AST) -> list[str]:
    """Dotted names an import statement may refer to, most specific first per imported name."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    assert isinstance(node, ast.ImportFrom)
    base = node.module or ""
    if node.level:
        package = module.name if module.is_package else module.name.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{base}" if base else package
    # ``from pkg import x``: x is either a submodule ``pkg.x`` or a name defined in ``pkg``
    return [f"{base}.{alias.name}" for alias in node.names] + [base]


def _resolve(name: str, modules: dict[str, Module]) -> str | None:
    """The project module ``name`` refers to: itself, else its longest project-module prefix."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph(modules: dict[str, Module]) -> dict[str, dict[str, int]]:
    """module -> {imported project module: line of the first such import}, imports at any depth.

    ``import a.b.c`` and ``from a.b import c`` (c a module) are edges to ``a.b.c``; a name that
    is not a module (``from a.b import name``) is an edge to ``a.b``. Parent packages that
    Python initialises on the way are not counted as edges.
    """
    graph: dict[str, dict[str, int]] = {}
    for name, module in modules.items():
        edges: dict[str, int] = {}
        tree = ast.parse(module.path.read_text(encoding="utf-8"), filename=str(module.path))
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            candidates = _imported_names(module, node)
            if isinstance(node, ast.ImportFrom):
                # each imported name that is a submodule is an edge to it; any other name is from the base module
                targets = {_resolve(c, modules) for c in candidates[:-1] if c in modules}
                if len(targets) < len(candidates) - 1:
                    targets.add(_resolve(candidates[-1], modules))
            else:
                targets = {_resolve(c, modules) for c in candidates}
            for target in targets - {None, name}:
                edges[target] = min(edges.get(target, node.lineno), node.lineno)
        graph[name] = edges
    return graph


def import_cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One cycle (``[a, b, ..., a]``) per strongly connected group of modules that import each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def connect(v: str) -> None:  # Tarjan, recursive: the graph is a few dozen modules deep at most
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, {})):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return [_cycle_in(group, graph) for group in groups]


def _cycle_in(group: set[str], graph: dict[str, dict[str, int]]) -> list[str]:
    """A shortest cycle through the group's first module (breadth-first inside the group)."""
    start = min(group)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for v in frontier:
            for w in sorted(graph[v]):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if w in group and w not in came_from:
                    came_from[w] = v
                    following.append(w)
        frontier = following
    raise AssertionError(f"no cycle through {start} in {sorted(group)}")


def describe_cycle(cycle: list[str], graph: dict[str, dict[str, int]], modules: dict[str, Module], root: Path) -> str:
    steps = [
        f"{modules[a].path.relative_to(root)}:{graph[a][b]} imports {b}" for a, b in zip(cycle, cycle[1:], strict=False)
    ]
    return " -> ".join(cycle) + "\n    " + "\n    ".join(steps)


# --- function lengths ---------------------------------------------------------------------------------------


def long_functions(paths: list[Path], limit: int, root: Path) -> list[str]:
    """``file:line qualified.name: N lines`` for every function longer than ``limit`` lines (def line to last)."""
    found = []
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))

        def visit(node: ast.AST, scope: tuple[str, ...]) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    name = (*scope, child.name)
                    if not isinstance(child, ast.ClassDef):
                        length = child.end_lineno - child.lineno + 1
                        if length > limit:
                            found.append(f"{path.relative_to(root)}:{child.lineno} {'.'.join(name)}: {length} lines")
                    visit(child, name)
                else:
                    visit(child, scope)

        visit(tree, ())
    return found


def _python_files(root: Path, folders) -> list[Path]:
    return [p for folder in folders for p in sorted((root / folder).rglob("*.py")) if "__pycache__" not in p.parts]


# --- the project ------------------------------------------------------------------------------------------


def test_project_modules_import_each_other_without_cycles():
    modules = project_modules(ROOT, PROJECT_FOLDERS)
    graph = import_graph(modules)
    # the graph really sees the project, its mapped folders and function-level imports
    assert len(modules) > 40
    assert "lifecycle_pipeline.validation" in graph["lifecycle_pipeline.assets.ingestion"]
    assert "lifecycle_pipeline.sql" in graph["lifecycle_pipeline.validation"]
    assert "lifecycle_pipeline.sample_data" in graph["lifecycle_pipeline.cli"]  # imported inside cmd_generate
    cycles = [describe_cycle(c, graph, modules, ROOT) for c in import_cycles(graph)]
    assert not cycles, "import cycles between project modules:\n  " + "\n  ".join(cycles)


def test_no_function_is_longer_than_80_lines():
    found = long_functions(_python_files(ROOT, LENGTH_CHECKED_FOLDERS), MAX_FUNCTION_LINES, ROOT)
    assert not found, f"functions over {MAX_FUNCTION_LINES} lines (split them along their seams):\n  " + "\n  ".join(found)


# --- the checkers can fail ------------------------------------------------------------------------------------


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


def test_import_cycle_checker_finds_a_cycle_hidden_in_a_function_and_through_a_mapped_folder(tmp_path):
    _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "def later():\n    from pkg import b\n",  # a function-level import of a module
        "pkg/b.py": "from pkg.parts.c import thing\n",
        "parts/__init__.py": "",
        "parts/c.py": "import pkg.a\nthing = 1\n",
        "pkg/fine.py": "from pkg import a\nfrom pkg.b import thing\nimport os\n",  # imports in, not a cycle
        "pkg/rel.py": "from . import fine\n",
    })
    modules = project_modules(tmp_path, {"pkg": "pkg", "parts": "pkg.parts"})
    graph = import_graph(modules)
    assert graph["pkg.rel"] == {"pkg.fine": 1}
    assert graph["pkg.fine"] == {"pkg.a": 1, "pkg.b": 2}
    cycles = import_cycles(graph)
    assert cycles == [["pkg.a", "pkg.b", "pkg.parts.c", "pkg.a"]]
    text = describe_cycle(cycles[0], graph, modules, tmp_path)
    assert "pkg/a.py:2 imports pkg.b" in text and "parts/c.py:1 imports pkg.a" in text

    _write(tmp_path, {"parts/c.py": "thing = 1\n"})  # break the cycle
    assert import_cycles(import_graph(modules)) == []


def test_function_length_checker_flags_only_functions_over_the_limit(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(78))
    _write(tmp_path, {
        "m.py": (
            f"def exactly_80():\n{body}\n    return 0\n\n\n"  # def + 78 + return = 80 lines
            f"class Holder:\n    @staticmethod\n    def eighty_one():\n{textwrap.indent(body, '    ')}\n"
            "        y = 1\n        return y\n"
        ),
    })
    found = long_functions([tmp_path / "m.py"], 80, tmp_path)
    assert found == ["m.py:85 Holder.eighty_one: 81 lines"]  # the def line, not the decorator
