"""The package's shape: no import cycles, and a family's name only in its own folder."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from rnn_zoo import get_spec, list_models

PACKAGE = Path(__file__).resolve().parents[1] / "rnn_zoo"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(path: Path) -> set[str]:
    """The rnn_zoo modules a file imports, at the top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        found.update(name for name in names if name in MODULES)
    return found


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    return {name: imported_modules(path) - {name} for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_the_package_has_no_import_cycle():
    assert cycles(import_graph(MODULES)) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def code_strings(path: Path) -> set[str]:
    """The string constants of a file's code, its docstrings left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    }


def family_words() -> list[tuple[str, str]]:
    """Each registered model's name and task, with the model it belongs to."""
    return [(word, name) for name in list_models() for word in (name, get_spec(name).task)]


@pytest.mark.parametrize(("word", "name"), family_words())
def test_a_model_name_or_task_appears_in_code_only_in_its_family_folder(word, name):
    specs = [get_spec(model) for model in list_models()]
    if any(word in values for spec in specs for values in spec.choices.values()):
        pytest.skip(f"{word!r} is also an accepted factory value (a cell), written as such")
    family = Path(get_spec(name).get_factory().__code__.co_filename).parent
    outside = [
        path.relative_to(PACKAGE.parent)
        for path in MODULES.values()
        if family not in path.parents and word in code_strings(path)
    ]
    assert outside == [], f"{word!r} is written outside {family.name}/ in {outside}"
