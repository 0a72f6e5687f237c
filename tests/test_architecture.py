"""The house rules a change must keep: imports point one way, no module imports itself back,
and every file and function fits a reader's screen (the developers' guide, "How the code
should look"; ../shared/DESIGN.md).
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# package -> the project packages it may import: search -> spaces -> trainers, search -> storage
ALLOWED = {
    "errors": set(),
    "trainers": {"errors"},
    "spaces": {"trainers", "errors"},
    "storage": {"errors"},
    "search": {"spaces", "trainers", "storage", "errors"},
}
MAX_FILE_LINES = 300
MAX_FUNCTION_LINES = 60
OPTION_LISTS = "search/cli"  # typed CLI functions whose option lists may run longer


def modules() -> dict[str, Path]:
    """Every module of the project's packages by dotted name (a package as its __init__)."""
    found = {}
    for package in ALLOWED:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = modules()


def imports(path: Path) -> set[str]:
    """The project modules `path` imports, at the top or inside functions."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in names if name in MODULES}


GRAPH = {name: imports(path) for name, path in MODULES.items()}


def test_imports_point_one_way():
    wrong = [
        f"{name} imports {target}"
        for name, targets in GRAPH.items()
        for target in targets
        if (top := target.split(".")[0]) != name.split(".")[0]
        and top not in ALLOWED[name.split(".")[0]]
    ]
    assert not wrong, wrong


def test_no_module_imports_itself_back():
    cycles, done = [], set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            cycles.append(" -> ".join([*path[path.index(name) :], name]))
            return
        if name in done:
            return
        for target in sorted(GRAPH[name]):
            if target != name and not name.startswith(f"{target}."):  # its own package
                visit(target, [*path, name])
        done.add(name)

    for name in sorted(GRAPH):
        visit(name, [])
    assert not cycles, cycles


@pytest.mark.parametrize("name", sorted(MODULES))
def test_files_and_functions_fit_a_screen(name):
    path = MODULES[name]
    source = path.read_text()
    assert len(source.splitlines()) <= MAX_FILE_LINES, f"{path}: over {MAX_FILE_LINES} lines"
    if path.relative_to(ROOT).as_posix().startswith(OPTION_LISTS):
        return
    long = [
        f"{node.name}: {node.end_lineno - node.lineno + 1} lines"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, f"{path}: {long}"
