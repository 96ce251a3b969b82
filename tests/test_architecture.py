"""ARCHITECTURE.md holds the map of mr/; these tests hold the code to it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ROW = re.compile(r"^\| `(?P<module>[\w.]+)` \| (?P<layer>\d) \| .+ \|$")


def documented() -> dict[str, int]:
    """module (dotted, below ``mr``; ``mr`` for the package) -> layer, from the table in ARCHITECTURE.md."""
    out: dict[str, int] = {}
    for line in (ROOT / "ARCHITECTURE.md").read_text().splitlines():
        m = ROW.match(line)
        if m:
            assert m["module"] not in out, f"{m['module']} is listed twice"
            out[m["module"]] = int(m["layer"])
    return out


def modules() -> dict[str, Path]:
    """Every module of the package, named as the table names it."""
    out = {}
    for path in sorted((ROOT / "mr").rglob("*.py")):
        parts = path.relative_to(ROOT / "mr").with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts) or "mr"] = path
    return out


def imports(path: Path) -> set[str]:
    """The mr modules ``path`` imports, anywhere in it (lazily in functions and under TYPE_CHECKING too)."""
    known = modules()
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            if node.module == "mr":
                names = [alias.name for alias in node.names]
            elif node.module.startswith("mr."):
                package = node.module.removeprefix("mr.")
                # ``from mr.commands import promote`` imports the module commands.promote
                names = [f"{package}.{a.name}" if f"{package}.{a.name}" in known else package for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name.removeprefix("mr.") for a in node.names if a.name.startswith("mr.")]
        out.update(n for n in names if n in known)
    return out


def test_every_module_is_on_the_map_and_every_row_is_a_module() -> None:
    table, code = set(documented()), set(modules())
    assert sorted(code - table) == [], "modules missing from ARCHITECTURE.md's table"
    assert sorted(table - code) == [], "rows of ARCHITECTURE.md's table that name no module"


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    layer = documented()
    upward = []
    for name, path in modules().items():
        for dep in sorted(imports(path)):
            if dep != name and layer[dep] > layer[name]:
                upward.append(f"{name} (layer {layer[name]}) imports {dep} (layer {layer[dep]})")
    assert upward == []


def test_commands_import_no_other_command() -> None:
    between = []
    for name, path in modules().items():
        if name.startswith("commands."):
            between += [f"{name} imports {dep}" for dep in sorted(imports(path)) if dep.startswith("commands.")]
    assert between == []


def test_api_implements_nothing() -> None:
    tree = ast.parse((ROOT / "mr" / "api.py").read_text())
    defined = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    # only the module's own hooks, which find each name in its command's module when first used
    assert [n for n in defined if n not in ("__getattr__", "__dir__")] == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from mr import git, errors\n", {"git", "errors"}),
        ("def f():\n    from mr.commands import promote\n", {"commands.promote"}),
        ("def f():\n    from mr.commands.promote import plan_on\n", {"commands.promote"}),
        ("if TYPE_CHECKING:\n    from mr.reader import Reader\n", {"reader"}),
        ("import mr.registry\n", {"registry"}),
        ("from .x import y\nfrom click import echo\n", set()),
    ],
)
def test_imports_are_seen_wherever_they_are(tmp_path: Path, source: str, expected: set[str]) -> None:
    path = tmp_path / "m.py"
    path.write_text(source)
    assert imports(path) == expected
