"""The import graph of `cchc/` points only downward and has no circle (lazy imports included).

Layers, from the top (docs/architecture.md):
  cli → bench → flows → tasks → pipeline → (report, connectors) → config → domain → errors
and the simulator on the side (it imports domain records only). A module may import its own layer
or any layer below; `report` and `connectors` are peers that do not import each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "cchc"

#: layer -> rank; a module imports only modules of a rank <= its own (peers excepted, below).
RANKS = {"cli": 9, "bench": 8, "flows": 7, "tasks": 6, "pipeline": 5, "report": 4, "connectors": 4, "simulator": 4,
         "migrations": 4, "config": 2, "domain": 1, "errors": 0, "package": 0}
#: layers of the same rank that must not import each other.
SEPARATE = {frozenset({"report", "connectors"}), frozenset({"report", "simulator"}),
            frozenset({"connectors", "simulator"}), frozenset({"simulator", "migrations"}),
            frozenset({"report", "migrations"})}
#: what the simulator may import, besides itself (it plays the outside systems: records only).
SIMULATOR_MAY_IMPORT = ("cchc.domain.", "cchc.errors")

#: what the flows may import: they compose tasks (docs/architecture.md), nothing else.
FLOWS_MAY_IMPORT = ("flows", "tasks", "config", "errors")

#: Today's violations: (importer, imported). This list only shrinks; it must end EMPTY.
KNOWN_VIOLATIONS: set[tuple[str, str]] = set()
#: Today's import circles (sorted members), likewise to shrink to EMPTY.
KNOWN_CYCLES: list[list[str]] = []


def layer_of(module: str) -> str:
    parts = module.split(".")
    if module == "cchc":
        return "package"
    head = parts[1]
    if head == "cli":
        return "cli"
    if head == "bench":
        return "bench"
    if head in ("flows", "tasks", "pipeline", "report", "connectors", "simulator", "domain", "migrations"):
        return head
    if head in ("config", "errors"):
        return head
    if head == "logmask":
        return "domain"  # pure (masks secrets in log records), imported by the package itself
    raise AssertionError(f"{module}: no layer for this module — add it to tests/test_layers.py")


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    """Every cchc module `module` imports, at any depth of the file (lazy imports included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()

    def resolve(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = module.split(".") if is_pkg else module.split(".")[:-1]
                pkg = pkg[: len(pkg) - (node.level - 1)]
                base = ".".join(pkg + ([base] if base else []))
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for name in names:
            if name == "cchc" or name.startswith("cchc."):
                target = resolve(name)
                if target and target != module:
                    out.add(target)
    return out


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {m: imports_of(m, p, known) for m, p in mods.items()}


def upward_imports(g: dict[str, set[str]]) -> set[tuple[str, str]]:
    bad = set()
    for a, targets in g.items():
        la = layer_of(a)
        for b in targets:
            lb = layer_of(b)
            if la == "simulator" and lb != "simulator":
                if not b.startswith(SIMULATOR_MAY_IMPORT):
                    bad.add((a, b))
                continue
            if la == "package" and b == "cchc.logmask":
                continue
            if la == "flows" and lb not in FLOWS_MAY_IMPORT:
                bad.add((a, b))
                continue
            if RANKS[lb] > RANKS[la] or (la != lb and frozenset({la, lb}) in SEPARATE):
                bad.add((a, b))
    return bad


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def test_every_module_has_a_layer():
    for module in modules():
        layer_of(module)


def test_no_upward_import():
    found = upward_imports(graph())
    new = sorted(found - KNOWN_VIOLATIONS)
    assert not new, "imports against the layers (docs/architecture.md):\n" + "\n".join(f"  {a} -> {b}" for a, b in new)
    fixed = sorted(KNOWN_VIOLATIONS - found)
    assert not fixed, "fixed: remove from KNOWN_VIOLATIONS:\n" + "\n".join(f"  {a} -> {b}" for a, b in fixed)


def test_no_import_circle():
    found = cycles(graph())
    assert found == KNOWN_CYCLES, "import circles:\n" + "\n".join("  " + " -> ".join(c) for c in found)


def test_the_checker_sees_lazy_and_upward_imports(tmp_path):
    """The walker is not vacuous: an import inside a function, from the tasks up to the flows, is found,
    and so is a flow reaching past the tasks into the domain."""
    pkg = tmp_path / "cchc"
    for sub in ("domain", "flows", "tasks"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "flows" / "f.py").write_text("from cchc.tasks import t\nfrom cchc.domain.r import y\n")
    (pkg / "tasks" / "t.py").write_text("def g():\n    from cchc.flows.f import x\n    return x\n")
    (pkg / "domain" / "r.py").write_text("y = 1\n")
    known = {"cchc", "cchc.domain", "cchc.flows", "cchc.tasks", "cchc.flows.f", "cchc.tasks.t", "cchc.domain.r"}
    g = {m: imports_of(m, pkg / m.split(".")[1] / (m.split(".")[2] + ".py"), known)
         for m in ("cchc.flows.f", "cchc.tasks.t", "cchc.domain.r")}
    assert upward_imports(g) == {("cchc.tasks.t", "cchc.flows.f"), ("cchc.flows.f", "cchc.domain.r")}
    assert cycles(g) == [["cchc.flows.f", "cchc.tasks.t"]]


def test_the_simulator_has_a_room_of_its_own():
    """It plays the outside systems; it is not a connector, and it reads nothing but domain records."""
    mods = modules()
    assert "cchc.simulator" in mods
    assert not [m for m in mods if m.startswith("cchc.connectors.simulator")]
    g = graph()
    assert {b for a, t in g.items() if a.startswith("cchc.simulator") for b in t
            if not b.startswith("cchc.simulator")} <= {"cchc.domain.records", "cchc.domain.wire"}


#: Modules outside cchc/cli/ that print or exit, and why. The child process that reads Arrow for the
#: store is a program of its own (its `main` reports to its parent on stderr).
MAY_PRINT = {"cchc.connectors.arrow_table": "a helper program run as a child process"}


def test_only_the_command_line_prints_or_exits():
    found = set()
    for module, path in modules().items():
        if layer_of(module) == "cli":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.id if isinstance(f, ast.Name) else (
                    f"{f.value.id}.{f.attr}" if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) else "")
                if name in ("print", "sys.exit", "exit", "quit"):
                    found.add(module)
    assert found == set(MAY_PRINT), found


def test_tasks_are_prefect_tasks_and_pipelines_are_not():
    """tasks/ is the Prefect room (each module uses Prefect); pipeline/ is orchestration-free (tests and
    benchmarks call the same functions the tasks wrap, no `plain` switch)."""
    import inspect

    from cchc.pipeline.sync import run_sources

    for module, path in modules().items():
        text = path.read_text(encoding="utf-8")
        if layer_of(module) == "tasks" and module != "cchc.tasks":
            assert "prefect" in text, f"{module}: not a Prefect module — does it belong in cchc/pipeline/?"
        if layer_of(module) == "pipeline":
            assert "@task" not in text and "@flow" not in text, module
    assert "plain" not in inspect.signature(run_sources).parameters


def test_no_module_imports_another_modules_private_names():
    """Benchmarks, commands and tasks call public functions only (a leading underscore stays home)."""
    found = []
    for module, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cchc"):
                found += [f"{module}: {node.module}.{a.name}" for a in node.names
                          if a.name.startswith("_") and not a.name.startswith("__")]
    assert not found, found


def test_tests_import_each_other_as_ci_runs_them():
    """pytest puts tests/ itself on sys.path (no package): `from tests.x import` works only when the
    repository root happens to be on PYTHONPATH, as in a developer's shell, and fails in CI."""
    import re

    here = Path(__file__).resolve().parent
    bad = [f"{p.name}:{n}" for p in sorted(here.glob("*.py"))
           for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
           if re.match(r"\s*(from tests\.|import tests\b)", line)]
    assert not bad, bad
