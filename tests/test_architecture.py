"""The package's layering (docs/architecture.md), read from the code's own imports.

Two rules, checked on every module of ``send_early``:

1. A package imports another package through its public face only
   (``from ..schema import Tables``), never through a private module
   (``from ..schema._validate import Tables``). Top-level private modules
   (``send_early._json``) are shared internals and may be imported anywhere.
2. Imports only point down the layers below: a package never imports one from a
   higher layer, so the lower layers can be used (and tested) without the upper ones.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "send_early"

#: Layers, lowest first; a package may import packages of its own layer or below.
LAYERS = [
    {"exceptions", "_json", "_resources", "_templates", "_validation", "privacy", "estimators"},
    {"schema", "explain", "evaluation", "governance"},
    {"features", "datasets", "fairness"},
    {"model", "report"},
    {"registry"},
    {"batch", "workflow", "outcomes"},
    {"lists", "demo", "transparency", "monitor"},
    {"cli", "__main__"},
]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}


def _unit(path: Path) -> str:
    """The package (or top-level module) a file belongs to."""
    rel = path.relative_to(ROOT)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(path: Path):
    """(line, target parts) for every send_early import in a module, relative or absolute."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = path.relative_to(ROOT.parent).with_suffix("").parts[:-1]
    type_only = {  # ``if TYPE_CHECKING:`` blocks never run
        id(n)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for stmt in block.body
        for n in ast.walk(stmt)
    }
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                parts = (*base, *(node.module.split(".") if node.module else ()))
            elif node.module and node.module.split(".")[0] == "send_early":
                parts = tuple(node.module.split("."))
            else:
                continue
            names = [a.name for a in node.names]
            if not node.module:  # ``from .. import schema``: the names are modules
                for name in names:
                    yield node.lineno, (*parts, name)
            else:
                yield node.lineno, parts
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "send_early":
                    yield node.lineno, tuple(alias.name.split("."))


MODULES = sorted(p for p in ROOT.rglob("*.py") if "templates" not in p.parts)


def test_every_package_has_a_layer():
    units = {_unit(p) for p in MODULES} - {"__init__"}
    assert sorted(units - set(LAYER)) == []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_use_public_names_and_point_down(path):
    here = _unit(path)
    problems = []
    for line, parts in _imports(path):
        if len(parts) < 2 or parts[0] != "send_early":
            continue
        there = parts[1]
        if there == here or here == "__init__":
            continue
        if len(parts) > 2 and parts[2].startswith("_") and not there.startswith("_"):
            problems.append(f"line {line}: private module {'.'.join(parts)}")
        if there in LAYER and LAYER[there] > LAYER.get(here, len(LAYERS)):
            problems.append(
                f"line {line}: {here} (layer {LAYER[here]}) imports {there} (layer {LAYER[there]})"
            )
    assert problems == []
