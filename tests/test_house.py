"""The house rules of lab/, read from its source: short functions, narrow constructors, and no two modules that
import each other (imports under TYPE_CHECKING or inside a function included)."""

import ast

from tests.conftest import repo_root

LAB = repo_root() / "lab"
MAX_LINES, MAX_PARAMETERS = 60, 5


def modules() -> dict[str, ast.Module]:
    out = {}
    for path in sorted(LAB.rglob("*.py")):
        parts = path.relative_to(LAB.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = ast.parse(path.read_text(), filename=str(path))
    return out


def imported(name: str, tree: ast.Module, known: set[str]) -> set[str]:
    """The lab modules `name` imports anywhere in its text (`from lab.x import y` counts lab.x.y where that is a module)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names if alias.name in known}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out |= {node.module} & known
            out |= {f"{node.module}.{alias.name}" for alias in node.names} & known
    return out - {name}


def test_no_function_is_longer_than_a_screen_and_no_constructor_takes_more_than_five_parameters():
    long, wide = [], []
    for name, tree in modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if node.end_lineno - node.lineno + 1 > MAX_LINES:
                    long.append(f"{name}.{node.name}")
                if node.name == "__init__" and len(node.args.args) - 1 + len(node.args.kwonlyargs) > MAX_PARAMETERS:
                    wide.append(name)
    assert long == [] and wide == []


def test_no_two_modules_import_each_other():
    trees = modules()
    graph = {name: imported(name, tree, set(trees)) for name, tree in trees.items()}
    # A package's __init__ may name its own modules; the rule is about two modules leaning on each other.
    pairs = sorted((a, b) for a, targets in graph.items() for b in targets if a < b and a in graph[b] and not (b.startswith(a + ".") or a.startswith(b + ".")))
    assert pairs == []


def test_the_check_sees_an_import_under_type_checking():
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from lab.real_data import RealData\n")
    assert imported("lab.toy_data", tree, {"lab.real_data", "lab.toy_data"}) == {"lab.real_data"}
