"""How the dashboard's modules import each other: public names only, at module level, no cycle.

The page (``hotspots.ui.dashboard``) imports the views; the views import ``hotspots.ui.common``
and the computations; nothing imports the page. Read from the source with ``ast``, so no module
is imported (and Streamlit is not needed).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

UI = Path(__file__).resolve().parent.parent / "hotspots" / "ui"
MODULES = {f"hotspots.ui.{p.stem}": p for p in sorted(UI.glob("*.py")) if p.stem != "__init__"}


def _tree(module: str) -> ast.Module:
    return ast.parse(MODULES[module].read_text(encoding="utf-8"), filename=str(MODULES[module]))


def _ui_target(node: ast.Import | ast.ImportFrom) -> list[tuple[str, str | None]]:
    """(ui module, imported name or None for the module itself) for each ui import."""
    out: list[tuple[str, str | None]] = []
    if isinstance(node, ast.Import):
        out += [(a.name, None) for a in node.names if a.name.startswith("hotspots.ui")]
    elif node.module == "hotspots.ui":
        out += [(f"hotspots.ui.{a.name}", None) for a in node.names]
    elif node.module and node.module.startswith("hotspots.ui."):
        out += [(node.module, a.name) for a in node.names]
    return out


def _module_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Imports outside any function (including those under ``if TYPE_CHECKING:``)."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.append(child)
            visit(child)

    visit(tree)
    return found


def _ui_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module in MODULES:
        for node in _module_level_imports(_tree(module)):
            for target, name in _ui_target(node):
                if name is not None and f"{target}.{name}" in MODULES:
                    target = f"{target}.{name}"  # from hotspots.ui.x import submodule
                if target != module:
                    graph[module].add(target)
    return graph


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_name_is_imported_from_another_ui_module(module):
    tree = _tree(module)
    ui_aliases = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for target, name in _ui_target(node):
                assert not (name or "").startswith("_"), \
                    f"{module} imports {name} from {target}"
                if name is None or f"{target}.{name}" in MODULES:
                    ui_aliases.add((name or target).rsplit(".", 1)[-1])
    for node in ast.walk(tree):  # compute._helper, through the module
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in ui_aliases and node.attr.startswith("_")):
            raise AssertionError(f"{module} uses {node.value.id}.{node.attr}")


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_ui_import_inside_a_function(module):
    for node in ast.walk(_tree(module)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Import, ast.ImportFrom)):
                    assert not _ui_target(inner), \
                        f"{module}.{node.name} imports {ast.unparse(inner)}"
                if isinstance(inner, ast.Name) and inner.id in {"importlib", "__import__"}:
                    raise AssertionError(f"{module}.{node.name} imports dynamically")


def test_ui_modules_form_no_cycle_and_only_app_imports_the_page():
    graph = _ui_graph()
    importers = sorted(m for m, targets in graph.items() if "hotspots.ui.dashboard" in targets)
    assert importers == []
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            assert state.get(target) != 1, "import cycle: " + " -> ".join([*path, target])
            if target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_the_package_and_the_computations_import_no_streamlit():
    init = ast.parse((UI / "__init__.py").read_text(encoding="utf-8"))
    assert not [n for n in ast.walk(init) if isinstance(n, (ast.Import, ast.ImportFrom))
                and n.module != "__future__"]
    for module in ("hotspots.ui.compute", "hotspots.ui.corridor_compute"):
        imported = [a.name for n in ast.walk(_tree(module)) if isinstance(n, ast.Import)
                    for a in n.names]
        imported += [n.module or "" for n in ast.walk(_tree(module))
                     if isinstance(n, ast.ImportFrom)]
        assert not [m for m in imported if m.split(".")[0] == "streamlit"], module
