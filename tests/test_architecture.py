"""The package's structure holds: no import cycles, imports point down, and the
training core reaches into no other object's private attributes.

Imports are read from the source (every ``import`` statement, also those inside
functions), so a cycle cannot hide behind a lazy import.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sknn_backprop"


def _module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules():
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(current, is_package, node, known):
    """The package modules one ``import`` / ``from ... import`` statement loads."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name in known]
    base = current if is_package else current.rpartition(".")[0]
    for _ in range(node.level - 1):
        base = base.rpartition(".")[0]
    target = (f"{base}.{node.module}" if node.module else base) if node.level else node.module
    if target is None or not (target == "sknn_backprop" or target.startswith("sknn_backprop.")):
        return []
    found = []
    for alias in node.names:
        sub = f"{target}.{alias.name}"
        found.append(sub if sub in known else target)
    return [name for name in found if name in known]


def import_graph():
    """``{module: set of package modules it imports}`` (parent packages left out)."""
    known = _modules()
    graph = {}
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        is_package = path.name == "__init__.py"
        edges = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges.update(_resolve(name, is_package, node, known))
        edges.discard(name)
        graph[name] = edges
    return graph


def _cycles(graph):
    """Every strongly connected component with more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    graph = import_graph()
    # a package's __init__ re-exports its modules: those edges point down, never up
    down = {
        m: {t for t in edges if not (m.endswith("__init__") or t.startswith(m + "."))}
        for m, edges in graph.items()
    }
    assert _cycles(down) == []


def test_the_cycle_finder_finds_cycles():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize(
    "layer, may_not_import",
    [
        ("sknn_backprop.nn", ("sknn_backprop._", "sknn_backprop.export", "sklearn")),
        ("sknn_backprop._training", ("sknn_backprop._base", "sknn_backprop._bagging",
                                     "sknn_backprop._fitting", "sknn_backprop._mlp")),
    ],
)  # fmt: skip
def test_imports_point_down(layer, may_not_import):
    for name, path in _modules().items():
        if not (name == layer or name.startswith(layer + ".")):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        loaded = set(import_graph()[name])
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom) and getattr(node, "level", 0) == 0:
                loaded.update(a.name for a in node.names)
                if isinstance(node, ast.ImportFrom) and node.module:
                    loaded.add(node.module)
        for target in loaded:
            if target.startswith(layer):
                continue
            assert not target.startswith(may_not_import), f"{name} imports {target}"


def _private_reaches(path):
    """``obj._name`` where ``obj`` is not ``self`` / ``cls`` (dunders aside)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
        ):
            found.append(f"{path.name}:{node.lineno} .{node.attr}")
    return found


def test_the_training_core_reaches_no_private_attribute_of_another_object():
    core = sorted((PACKAGE / "_training").glob("*.py"))
    found = [hit for path in core for hit in _private_reaches(path)]
    assert found == []


def test_the_private_attribute_check_sees_a_reach(tmp_path):
    source = tmp_path / "core.py"
    source.write_text("def f(est, self):\n    est._opt = self._own\n    return est.__dict__\n")
    assert _private_reaches(source) == ["core.py:2 ._opt"]


def test_no_code_outside_nn_imports_a_private_name_of_nn():
    for name, path in _modules().items():
        if name.startswith("sknn_backprop.nn"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and ".nn" in f".{node.module}":
                assert not any(a.name.startswith("_") for a in node.names), name
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and (
                isinstance(node.value, ast.Attribute) and isinstance(node.value.value, ast.Name)
                and node.value.value.id == "nn"
            ):
                pytest.fail(f"{name}:{node.lineno} reaches nn's private {node.attr}")
