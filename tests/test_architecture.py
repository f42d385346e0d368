"""docs/architecture.md's layer table is the layout: every module is in it once, and every
import runs downhill. A newcomer reads the table; this keeps it true."""

import ast
import re
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
PACKAGES = ("config", "articles", "moderation")
LARGEST = 400  # lines: a module over it does more than one job
LARGER_BY_DESIGN = {"moderation/models.py", "config/settings.py"}  # every table; every setting
# Imports inside a function that may run uphill, and why: the web side imports tasks.py to
# send a task, so each task imports the worker's side when it runs (HackSoft's rule).
UPHILL_WHEN_RUN = {"moderation/tasks.py"}


def has_code(path: Path) -> bool:
    """A package marker holding a docstring or nothing is not a module of its own."""
    body = ast.parse(path.read_text()).body
    return bool(body[1:] if body and isinstance(body[0], ast.Expr) else body)


def modules() -> set[str]:
    """Every module with code, migrations aside."""
    return {
        str(path.relative_to(PROJECT))
        for package in PACKAGES
        for path in (PROJECT / package).rglob("*.py")
        if "migrations" not in path.parts and has_code(path)
    }


def layer_table() -> dict[str, int]:
    """{module: layer} from the table under "## Layers" (globs such as admin/*.py expanded)."""
    text = (PROJECT / "docs" / "architecture.md").read_text()
    section = text.split("## Layers", 1)[1].split("\n## ", 1)[0]
    layers = {}
    for number, cell in re.findall(r"^\| (\d) [^|]*\| (.+) \|$", section, re.MULTILINE):
        for pattern in re.findall(r"`([^`]+)`", cell):
            paths = [PROJECT / pattern]
            if "*" in pattern:
                paths = [path for path in sorted(PROJECT.glob(pattern)) if has_code(path)]
            for path in paths:
                name = str(path.relative_to(PROJECT))
                assert name not in layers, f"{name} is in the layer table twice"
                layers[name] = int(number)
    return layers


def module_path(dotted: str) -> str | None:
    """'moderation.spam' -> 'moderation/spam/__init__.py'; None outside the project."""
    base = PROJECT / Path(*dotted.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return str(path.relative_to(PROJECT))
    return None


def imports(path: str, source: str | None = None) -> list[tuple[str, bool]]:
    """(imported module path, whether the import is inside a function) for each project
    import of `path` (or of `source`, read as that module)."""
    tree = ast.parse(source if source is not None else (PROJECT / path).read_text())
    top = set(map(id, tree.body))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            targets = [module_path(name) or module_path(node.module) for name in names]
        elif isinstance(node, ast.Import):
            targets = [module_path(alias.name) for alias in node.names]
        else:
            continue
        found += [(target, id(node) not in top) for target in targets if target]
    return found


def test_the_layer_table_names_every_module_once_and_nothing_else():
    layers, tree = layer_table(), modules()

    assert not tree - set(layers), f"modules the table does not place: {tree - set(layers)}"
    assert not set(layers) - tree, f"the table names what is not there: {set(layers) - tree}"


def test_every_import_runs_downhill():
    layers = layer_table()
    uphill = [
        f"{path} (layer {layers[path]}) imports {target} (layer {layers[target]})"
        for path in sorted(modules())
        for target, in_function in imports(path)
        if target in layers
        and layers[target] > layers[path]
        and not (in_function and path in UPHILL_WHEN_RUN)
    ]

    assert not uphill, "\n".join(uphill)


def test_the_tasks_module_imports_the_workers_side_only_when_a_task_runs():
    at_import = [
        target for target, in_function in imports("moderation/tasks.py") if not in_function
    ]

    assert set(at_import) <= {"moderation/tasks.py"}, at_import


def test_no_module_does_more_than_one_job():
    long = {
        path: lines
        for path in modules() - LARGER_BY_DESIGN
        if (lines := len((PROJECT / path).read_text().splitlines())) > LARGEST
    }

    assert not long, long


def test_the_import_check_would_see_an_uphill_import():
    # The checks above pass on the tree as it is; this shows they can fail: rules.py (layer 1)
    # importing services.py (layer 3) is found.
    source = "from moderation.services import comment_decide\n"
    source += (PROJECT / "moderation/rules.py").read_text()
    layers = layer_table()

    found = [
        target
        for target, _ in imports("moderation/rules.py", source)
        if layers[target] > layers["moderation/rules.py"]
    ]

    assert found == ["moderation/services.py"]
