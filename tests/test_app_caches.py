"""Every cached read in the app is bounded: a long session that opens many workspaces keeps memory flat."""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def cache_decorators(tree: ast.AST):
    """(line, call or bare attribute) of every `st.cache_data` decorator in a module."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if isinstance(target, ast.Attribute) and target.attr == "cache_data":
                    yield node.lineno, decorator


def test_the_walker_finds_bare_and_called_decorators():
    source = "@st.cache_data\ndef a(): pass\n@st.cache_data(ttl=3)\ndef b(): pass\n@other\ndef c(): pass\n"
    found = list(cache_decorators(ast.parse(source)))
    assert [line for line, _ in found] == [2, 4]
    assert isinstance(found[0][1], ast.Attribute) and isinstance(found[1][1], ast.Call)


def test_every_cached_read_in_the_app_has_max_entries():
    files = sorted((REPO / "app").rglob("*.py")) + sorted((REPO / "pages").rglob("*.py"))
    unbounded, seen = [], 0
    for path in files:
        for line, decorator in cache_decorators(ast.parse(path.read_text())):
            seen += 1
            keywords = {k.arg for k in decorator.keywords} if isinstance(decorator, ast.Call) else set()
            if "max_entries" not in keywords:
                unbounded.append(f"{path.relative_to(REPO)}:{line}")
    assert seen >= 5  # the app does cache its reads; an empty scan would prove nothing
    assert not unbounded, f"st.cache_data without max_entries: {unbounded}"
