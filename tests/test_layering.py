"""conrec_core's packages depend only on the packages before them in pipeline order (issue: one shape)."""

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "conrec_core"
# Each entry may import from the entries before it; entries on one line are peers that must not import each other.
LAYERS = (
    ("errors", "quiet"),
    ("config", "metrics"),  # metrics: plain ranking functions that predict and GRPO validation use too
    ("data",),
    ("semantic_ids",),
    ("lm",),  # the model: backbones, SID vocabulary, prompts, checkpoints
    ("decoding",),  # constrained search and everything that turns scores into ranked lists
    ("training",),  # SFT
    ("rl",),
    ("spark",),  # the Spark engine of the data stages (samples, Swing): the CLI chooses it
    ("evaluation",),  # scoring: metrics, intervals, baselines, probes, slices, the report
    ("experiment",),  # the pipeline's trip: spec, stages, seeds, runs, ablation
    ("views", "jobs", "shipped"),
    ("maintenance",),  # doctor looks at everything, job records included
    ("cli",),
    ("__main__", "__init__"),
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def unit_of(path: Path) -> str:
    """The layer unit a file belongs to: its package under conrec_core, or its own stem at the top."""
    parts = path.relative_to(CORE).parts
    return parts[0] if len(parts) > 1 else path.stem


def imported_units(source: str, package: tuple[str, ...]) -> set[str]:
    """Every conrec_core unit that `source`, a module in conrec_core's sub-package `package` (() at the top),
    imports, at module level or inside functions."""
    here = package
    units = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(here[:len(here) - node.level + 1])
                target = base + (node.module.split(".") if node.module else [])
                if not target:  # `from . import x` at the top: x is the unit
                    target = [alias.name for alias in node.names]
                    units.update(target)
                    continue
                units.add(target[0])
            elif node.module and node.module.split(".")[0] == "conrec_core":
                parts = node.module.split(".")
                units.update([parts[1]] if len(parts) > 1 else [a.name for a in node.names])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "conrec_core" and len(parts) > 1:
                    units.add(parts[1])
    return units


def test_every_unit_has_a_layer():
    units = {unit_of(path) for path in CORE.rglob("*.py")}
    assert units <= set(RANK), f"place these in LAYERS: {sorted(units - set(RANK))}"


def test_imports_point_down_the_pipeline():
    wrong = []
    for path in sorted(CORE.rglob("*.py")):
        own = unit_of(path)
        for unit in imported_units(path.read_text(), path.relative_to(CORE).parts[:-1]):
            if unit != own and RANK.get(unit, -1) >= RANK[own]:
                wrong.append(f"{path.relative_to(CORE)} imports {unit}")
    assert not wrong, "imports against the pipeline order:\n" + "\n".join(wrong)


def test_the_walker_sees_every_import_form():
    # Relative imports from inside a package, lazy ones in functions and absolute ones all count; without this
    # the test above could pass by seeing nothing.
    source = ("from ..lm.predict import predict\nfrom .samples import build_samples\n"
              "def f():\n    from conrec_core.rl import grpo\n    import conrec_core.views.user\n"
              "from ..errors import ConrecError\n")
    assert imported_units(source, ("data",)) == {"lm", "data", "rl", "views", "errors"}
    assert imported_units("from .cli import main\nfrom . import metrics\n", ()) == {"cli", "metrics"}


def module_of(path: Path) -> str:
    parts = path.relative_to(CORE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    """The conrec_core modules that the module at `path` imports, at module level or inside functions
    (`from .x import y` counts as x, or as x.y where that is a module)."""
    here = path.relative_to(CORE).parts[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(here[:len(here) - node.level + 1])
                target = ".".join(base + (node.module.split(".") if node.module else []))
            elif node.module and node.module.startswith("conrec_core"):
                target = node.module.removeprefix("conrec_core").lstrip(".")
            else:
                continue
            targets = [f"{target}.{alias.name}".lstrip(".") for alias in node.names] + [target]
        elif isinstance(node, ast.Import):
            targets = [a.name.removeprefix("conrec_core.") for a in node.names if a.name.startswith("conrec_core.")]
        for target in targets:
            if target in modules:
                found.add(target)
                break
    return found


def test_no_import_circle():
    paths = {module_of(path): path for path in CORE.rglob("*.py")}
    graph = {module: imported_modules(path, set(paths)) - {module} for module, path in paths.items()}
    # Packages' __init__ files re-export lazily and import nothing at load; a circle through them is no circle.
    graph = {m: {t for t in targets if not (paths[t].name == "__init__.py")} for m, targets in graph.items()}
    state, circles = {}, []

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                circles.append(" -> ".join(trail[trail.index(target):] + [module, target]) if target in trail
                               else f"{module} -> {target}")
            elif target not in state:
                visit(target, trail + [module])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [])
    assert not circles, "import circles:\n" + "\n".join(circles)
