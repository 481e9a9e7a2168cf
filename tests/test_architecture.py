"""The architecture, checked: no import cycles, and the demo org and the client never meet.

The import graph is read from the source with :mod:`ast`, so it sees every import the
interpreter could ever run: module-level ones, function-local ones and those under
``TYPE_CHECKING`` (a cycle hidden in a function is still a cycle in the design). An edge goes
to the module named: ``import a.b`` and ``from a import b`` (``b`` a module) point at ``a.b``;
``from a import name`` points at ``a`` (its ``__init__``).
"""

from __future__ import annotations

import ast
import itertools
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("sfnotebook", "sfnotebook_demo", "tools")
CLIENT = "sfnotebook"
DEMO = "sfnotebook_demo"
# Never loaded by the demo org: it speaks HTTP with the standard library only.
CLIENT_STACK = ("requests", "simple_salesforce", "pandas")


# ---- the graph builder ---------------------------------------------------------------------


@dataclass
class ImportGraph:
    """Modules found under a root and what each imports (by absolute dotted name)."""

    root: Path
    modules: dict[str, Path] = field(default_factory=dict)
    # Module -> every name it imports (resolved to a module where it is one of ours) -> line.
    imports: dict[str, dict[str, int]] = field(default_factory=dict)

    def edges(self) -> dict[str, set[str]]:
        """Module -> the modules of ours it imports."""
        return {m: {t for t in self.imports[m] if t in self.modules} for m in self.modules}

    def crossings(self, source: str, target: str) -> list[str]:
        """``file:line imports name`` for every import of package ``target`` in ``source``."""
        return sorted(
            f"{self.modules[m].relative_to(self.root)}:{line} imports {name}"
            for m, names in self.imports.items()
            if _within(m, (source,))
            for name, line in names.items()
            if _within(name, (target,))
        )


def _within(name: str, packages: tuple[str, ...]) -> bool:
    """Is ``name`` one of ``packages`` or inside one (``sfnotebook_demo`` is not in ``sfnotebook``)?"""
    return any(name == p or name.startswith(p + ".") for p in packages)


def _module_name(path: Path, root: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(root).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    return ".".join(parts), is_package


def _resolve(name: str, known: dict[str, Path]) -> str:
    """``name`` itself, or its longest prefix that is a module of ours (``a.b.attr`` -> ``a.b``)."""
    candidate = name
    while candidate:
        if candidate in known:
            return candidate
        candidate = candidate.rpartition(".")[0]
    return name


def _imported_names(tree: ast.AST, name: str, is_package: bool) -> Iterator[tuple[str, int]]:
    """``(dotted name, line)`` of every import in ``tree``; ``from a import b`` gives ``a.b``."""
    package = name.split(".") if is_package else name.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from . import x, from ..pkg import y
                parts = package[: len(package) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            for alias in node.names:
                yield f"{base}.{alias.name}", node.lineno


def build_import_graph(root: Path, packages: tuple[str, ...]) -> ImportGraph:
    """Parse every ``.py`` file of ``packages`` (directories under ``root``)."""
    graph = ImportGraph(root=root)
    trees: dict[str, tuple[ast.AST, bool]] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            name, is_package = _module_name(path, root)
            graph.modules[name] = path
            trees[name] = (ast.parse(path.read_text(encoding="utf-8"), str(path)), is_package)
    for name, (tree, is_package) in trees.items():
        targets: dict[str, int] = {}
        for imported, line in _imported_names(tree, name, is_package):
            # ``from a import b``: the submodule a.b if there is one, else a (a name in it).
            targets.setdefault(_resolve(imported, graph.modules), line)
        targets.pop(name, None)  # ``from . import x`` (x a name) in an ``__init__``: no edge
        graph.imports[name] = targets
    return graph


def strongly_connected_components(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: the components of more than one module (each holds a cycle)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(edges.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found)


def _a_cycle(component: list[str], edges: dict[str, set[str]]) -> list[str]:
    """One concrete cycle through the component's first module (shortest, by BFS)."""
    start = component[0]
    members = set(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for succ in sorted(edges[node] & members):
            if succ == start:
                return [*paths[node], start]
            if succ not in paths:
                paths[succ] = [*paths[node], succ]
                queue.append(succ)
    raise AssertionError(f"not a cycle: {component}")  # pragma: no cover - Tarjan says it is


def describe_cycles(graph: ImportGraph, components: list[list[str]]) -> str:
    """Per component: one cycle, then every import inside it (each cycle is made of those)."""
    edges = graph.edges()

    def edge(here: str, there: str) -> str:
        where = graph.modules[here].relative_to(graph.root)
        return f"{here} -> {there}  ({where}:{graph.imports[here][there]})"

    lines = []
    for component in components:
        lines.append(f"cycle among {', '.join(component)}:")
        lines += [f"    {edge(a, b)}" for a, b in itertools.pairwise(_a_cycle(component, edges))]
        lines.append("  every import inside it:")
        lines += [f"    {edge(a, b)}" for a in component for b in sorted(edges[a] & set(component))]
    return "\n".join(lines)


# ---- the builder's own tests (so the architecture tests can fail) --------------------------


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_builder_finds_a_cycle_hidden_in_a_function_and_under_type_checking(
    tmp_path: Path,
) -> None:
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "def f():\n    from pkg import b\n",
            "pkg/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .c import C\n",
            "pkg/c.py": "import pkg.a\n",
            "pkg/d.py": "from . import a\n",
        },
    )
    graph = build_import_graph(tmp_path, ("pkg",))
    assert graph.edges()["pkg.d"] == {"pkg.a"}
    components = strongly_connected_components(graph.edges())
    assert components == [["pkg.a", "pkg.b", "pkg.c"]]
    report = describe_cycles(graph, components)
    assert "pkg.a -> pkg.b  (pkg/a.py:2)" in report
    assert "pkg.b -> pkg.c  (pkg/b.py:3)" in report
    assert "pkg.c -> pkg.a  (pkg/c.py:1)" in report


def test_builder_passes_an_acyclic_tree(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg.sub import thing\n",
            "pkg/sub/__init__.py": "from .leaf import thing\nfrom .. import other\n",
            "pkg/sub/leaf.py": "import json\nthing = json\n",
            "pkg/other.py": "from pkg.sub.leaf import thing\n",
        },
    )
    graph = build_import_graph(tmp_path, ("pkg",))
    assert graph.edges() == {
        "pkg": {"pkg.sub"},
        "pkg.sub": {"pkg.sub.leaf", "pkg.other"},
        "pkg.sub.leaf": set(),
        "pkg.other": {"pkg.sub.leaf"},
    }
    assert graph.imports["pkg.sub.leaf"] == {"json": 1}
    assert strongly_connected_components(graph.edges()) == []


def test_builder_sees_a_package_import_as_an_edge_to_its_init(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg.sub import leaf\n",
            "pkg/sub/__init__.py": "import pkg\n",
            "pkg/sub/leaf.py": "",
        },
    )
    graph = build_import_graph(tmp_path, ("pkg",))
    assert graph.edges()["pkg"] == {"pkg.sub.leaf"}
    assert graph.edges()["pkg.sub"] == {"pkg"}
    assert strongly_connected_components(graph.edges()) == []
    _write(tmp_path, {"pkg/sub/leaf.py": "from pkg.sub import x\n"})
    graph = build_import_graph(tmp_path, ("pkg",))
    assert strongly_connected_components(graph.edges()) == [["pkg", "pkg.sub", "pkg.sub.leaf"]]


# ---- the architecture ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def graph() -> ImportGraph:
    return build_import_graph(ROOT, PACKAGES)


@pytest.mark.parametrize(
    "package",
    [
        CLIENT,
        DEMO,
        "tools",
    ],
)
def test_no_import_cycles(graph: ImportGraph, package: str) -> None:
    mine = [
        component
        for component in strongly_connected_components(graph.edges())
        if any(_within(m, (package,)) for m in component)
    ]
    assert not mine, "import cycles:\n" + describe_cycles(graph, mine)


def _modules_of(graph: ImportGraph, package: str) -> list[str]:
    return sorted(m for m in graph.modules if _within(m, (package,)))


def _loaded_after_importing(modules: list[str]) -> list[str]:
    """``sys.modules`` of a fresh interpreter once ``modules`` are imported, in order."""
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    loaded: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return loaded


def test_demo_imports_nothing_of_the_client(graph: ImportGraph) -> None:
    demo = _modules_of(graph, DEMO)  # __main__ too: it runs main() only as a script
    crossing = graph.crossings(DEMO, CLIENT)
    assert not crossing, "the demo org imports the client:\n" + "\n".join(crossing)
    loaded = _loaded_after_importing([DEMO, f"{DEMO}.server", *demo])
    assert f"{DEMO}.soql.engine" in loaded  # the subprocess did import the demo
    leaked = sorted({m.split(".")[0] for m in loaded if _within(m, (CLIENT, *CLIENT_STACK))})
    assert not leaked, f"importing every demo module loads {leaked}"


def test_client_imports_nothing_of_the_demo(graph: ImportGraph) -> None:
    client = _modules_of(graph, CLIENT)
    crossing = graph.crossings(CLIENT, DEMO)
    assert not crossing, "the client imports the demo org:\n" + "\n".join(crossing)
    loaded = _loaded_after_importing(client)
    assert f"{CLIENT}.bulk" in loaded
    leaked = [m for m in loaded if _within(m, (DEMO,))]
    assert not leaked, f"importing the client loads the demo org: {leaked}"
