"""The project's modules import each other without a cycle, and the layers keep their direction.

Every ``.py`` under theory/, empirical/ and bridge/ is parsed with ``ast``; every import statement
(module level or inside a function, absolute or relative) becomes an edge to the project module it
names (``from pkg import name`` points at ``pkg.name`` when that is a module, else at ``pkg``).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"theory": "benign.theory", "empirical": "benign.empirical", "bridge": "benign.bridge"}


def _modules() -> dict[str, Path]:
    mods = {}
    for folder, dotted in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join([dotted, *parts])] = path
    return mods


def _targets(node, module: str, is_pkg: bool, mods) -> list[str]:
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = module.split(".") if is_pkg else module.split(".")[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join(package + ([base] if base else []))
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
    out = []
    for name in names:
        while name and name not in mods:  # import a.b.c of a module: the deepest project module
            name = name.rpartition(".")[0]
        if name:
            out.append(name)
    return out


def import_graph(mods: dict[str, Path] | None = None) -> dict[str, set[str]]:
    mods = mods or _modules()
    graph = {m: set() for m in mods}
    for module, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                graph[module] |= {t for t in _targets(node, module, path.name == "__init__.py", mods)
                                  if t != module}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first = last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_sees_a_cycle():
    graph = import_graph()
    graph["benign.bridge.runs.atomic"].add("benign.bridge.cli")  # cli reaches atomic: now a circle
    cycle = find_cycle(graph)
    assert cycle and cycle[0] == cycle[-1] and "benign.bridge.cli" in cycle


def test_relative_and_function_level_imports_are_edges(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from . import a\n")
    (pkg / "a.py").write_text("def f():\n    from .b import g\n")
    (pkg / "b.py").write_text("from pkg.a import f\n")
    mods = {"pkg": pkg / "__init__.py", "pkg.a": pkg / "a.py", "pkg.b": pkg / "b.py"}
    graph = import_graph(mods)
    assert graph == {"pkg": {"pkg.a"}, "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.a"}}
    assert find_cycle(graph) == ["pkg.a", "pkg.b", "pkg.a"]


def test_layers_point_one_way():
    graph = import_graph()
    for module, targets in graph.items():
        layer = module.split(".")[1]
        if layer == "bridge":
            continue
        wrong = sorted(t for t in targets if t.split(".")[1] != layer)
        assert not wrong, f"{module} ({layer}) imports {wrong}: a layer imports only itself"
