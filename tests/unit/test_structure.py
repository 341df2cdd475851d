"""pipelines/, studio/ and storage/ stay easy to grow: small modules, public interfaces between them, no
import cycles.

Read from the source (AST), so an import inside a function counts too: a lazy import still ties modules into
a loop, it only hides it until the first call.
"""
from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

import pytest

PACKAGES = ("pipelines", "studio", "storage")
MAX_LINES = 450


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules(package: str) -> dict[str, Path]:
    return {module_name(p): p for p in sorted((ROOT / package).rglob("*.py"))}


MODULES = package_modules("pipelines")
ALL_MODULES = {name: path for package in PACKAGES for name, path in package_modules(package).items()}


def imports(name: str, path: Path) -> list[tuple[str, list[str]]]:
    """(imported module, names taken from it) for every import statement in the file, absolute."""
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((target, [alias.name for alias in node.names]))
    return found


def graph(modules: dict[str, Path] = MODULES) -> dict[str, set[str]]:
    """Module -> the modules of its package importing it runs: the module itself and the packages above it (an
    import runs each enclosing package's __init__), except the importer's own enclosing packages."""
    edges: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        own = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
        for target, names in imports(name, path):
            wanted = [f"{target}.{n}" if f"{target}.{n}" in modules else target for n in names] or [target]
            for module in wanted:
                parts = module.split(".")
                for i in range(1, len(parts) + 1):
                    step = ".".join(parts[:i])
                    if step in modules and step not in own and step != name:
                        edges[name].add(step)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycle_inside_a_package(package):
    assert cycles(graph(package_modules(package))) == []


def test_no_import_cycle_between_the_parts_of_pipelines():
    """Parts: the subpackages and top-level modules (audio, editing, speak, narration...). A loop between
    parts, like the editing -> narration -> speak -> editing one that match_loudness used to make, means
    neither part can be understood or tested without the other."""
    def part(module: str) -> str:
        return ".".join(module.split(".")[:2])

    parts: dict[str, set[str]] = {}
    for module, targets in graph().items():
        parts.setdefault(part(module), set()).update(part(t) for t in targets if part(t) != part(module))
    assert cycles(parts) == []


def test_no_module_imports_a_private_name_from_another_module():
    private = [f"{name}: {target}.{n}" for name, path in ALL_MODULES.items() for target, names in imports(name, path)
               for n in names if n.startswith("_") and not n.startswith("__")]
    assert private == []


def test_tests_use_only_public_names_of_pipelines():
    private = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for target, names in imports(module_name(path), path):
            if target.startswith("pipelines"):
                private += [f"{path.relative_to(ROOT)}: {target}.{n}" for n in names if n.startswith("_")]
    assert private == []


def test_no_module_is_over_450_lines():
    long = {name: n for name, path in ALL_MODULES.items() if (n := len(path.read_text(encoding="utf-8").splitlines()))
            > MAX_LINES}
    assert long == {}


def test_the_checker_sees_a_cycle_and_a_lazy_import(tmp_path):
    assert cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]
    module = tmp_path / "lazy.py"
    module.write_text("def f():\n    from .editing import trim\n")
    assert imports("pipelines.lazy", module) == [("pipelines.editing", ["trim"])]


def test_pipelines_know_nothing_of_the_user_interface():
    """Gradio's (rate, array) players and events belong to studio/ui; the engines run without it."""
    ui = [f"{name}: {target}" for name, path in MODULES.items() for target, _ in imports(name, path)
          if target.split(".")[0] in ("gradio", "gradio_client") or target.startswith("studio")]
    assert ui == []


def test_ui_handlers_reach_the_store_and_models_only_through_use_cases():
    reached = []
    for path in sorted((ROOT / "studio" / "ui").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("store", "models", "media"):
                reached.append(f"{path.name}:{node.lineno} .{node.attr}")
    assert reached == []


TABS = ("speak", "voices", "edit", "enhance", "takes", "projects", "models")


@pytest.mark.parametrize("tab", TABS)
def test_every_tab_renders_its_parts_then_listens(tab):
    import dataclasses
    import importlib
    import inspect

    module = importlib.import_module(f"studio.ui.{tab}")
    parts = inspect.signature(module.render).return_annotation
    assert dataclasses.is_dataclass(getattr(module, parts, None)), f"render() of {tab} returns {parts}"
    assert list(inspect.signature(module.listen).parameters) == ["ctx", "tab"]
