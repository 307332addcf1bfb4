"""The house: no import cycle among ksent's modules (imports inside functions count too), and text/
imports nothing above it (it knows no config, featurizer or model)."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
# what text/ may import: itself and the leaf utilities, none of which imports anything of ksent's above them
TEXT_MAY_IMPORT = ("ksent.text", "ksent.errors", "ksent.progress", "ksent.runtime", "ksent.atomic", "ksent._version")


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, modules: set[str]) -> set[str]:
    """The ksent modules `path` imports anywhere in it (`from ksent import x` names module ksent.x)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {
                f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module for a in node.names
            }
    return {m for m in found if m in modules}


def graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in (SRC / "ksent").rglob("*.py")}
    return {name: imports(path, set(files)) - {name} for name, path in files.items()}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle():
    # A package's __init__ that re-exports its own modules is not a cycle of the house: drop the
    # edges from a module to the package that contains it.
    g = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in graph().items()}
    assert cycles(g) == []


def test_the_cycle_finder_finds_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_text_imports_nothing_above_it():
    g = graph()
    upward = {m: sorted(d for d in deps if not d.startswith(TEXT_MAY_IMPORT)) for m, deps in g.items()}
    assert {m: d for m, d in upward.items() if m.startswith("ksent.text") and d} == {}
    assert "ksent.config" in g["ksent.features.base"]  # the finder sees imports at all
