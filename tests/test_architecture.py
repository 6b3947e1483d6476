"""The package's shape: thin entry points, no import cycle (imports inside functions included)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "motion_transfer"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports anywhere in its file (a package's import also
    runs its __init__: parents count)."""
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in paths}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{base}.{node.module}" if node.module else base
                elif node.module and node.module.startswith("motion_transfer"):
                    base = node.module
                else:
                    continue
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in paths else base for alias in node.names]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names if alias.name.startswith("motion_transfer")]
            else:
                continue
            for target in targets:
                while target not in paths and "." in target:
                    target = target.rpartition(".")[0]
                parts = target.split(".")
                for i in range(1, len(parts) + 1):  # importing a.b.c runs a and a.b too
                    module = ".".join(parts[:i])
                    if module in paths and module != name and not name.startswith(module + "."):
                        graph[name].add(module)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_package_has_no_import_cycle():
    assert find_cycle(import_graph()) is None


def test_the_cycle_finder_sees_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_entry_points_are_thin():
    for script in (ROOT / "src").glob("*.py"):
        lines = [line for line in script.read_text().splitlines() if line.strip()]
        assert len(lines) <= 15, f"{script.name} has {len(lines)} non-blank lines"


def test_the_folder_list_is_the_architecture():
    """The package's top holds few modules beside its subpackages, and no module is long."""
    modules = [p for p in PACKAGE.glob("*.py") if p.name != "__init__.py"]
    subpackages = [p for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()]
    assert len(modules) <= 8 and len(subpackages) >= 6, (modules, subpackages)
    long = {
        str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > 450
    }
    assert not long, f"modules over 450 lines: {long}"


def test_the_layers_hold_and_a_breach_is_seen(tmp_path):
    """lint-imports (pyproject.toml's [tool.importlinter]) keeps the layers; a lower layer importing a
    higher one breaks it (checked on a copy of the package with one such import added)."""
    import shutil
    import subprocess
    import sys

    lint = Path(sys.executable).with_name("lint-imports")

    def check(src: Path) -> subprocess.CompletedProcess:
        config = ROOT / "pyproject.toml"
        return subprocess.run([str(lint), str(config)], cwd=src, capture_output=True, text=True)

    kept = check(ROOT / "src")
    assert kept.returncode == 0, kept.stdout[-3000:]
    copy = tmp_path / "src"
    shutil.copytree(PACKAGE, copy / "motion_transfer", ignore=shutil.ignore_patterns("__pycache__"))
    skeleton = copy / "motion_transfer" / "pose" / "skeleton.py"
    skeleton.write_text(skeleton.read_text() + "\nfrom motion_transfer.demo import run_demo  # noqa\n")
    broken = check(copy)
    assert broken.returncode != 0 and "motion_transfer.pose.skeleton -> motion_transfer.demo" in broken.stdout


def test_every_model_config_names_a_class_that_loads_checkpoints():
    from motion_transfer.models import GENERATOR_CLASSES, PoseToImageModule
    from motion_transfer.models.kinds import model_kinds
    from motion_transfer.runtime.config import choices

    kinds = model_kinds()
    assert list(kinds) == choices("model")
    for kind in kinds.values():
        assert issubclass(kind.cls, PoseToImageModule) and GENERATOR_CLASSES[kind.cls.__name__] is kind.cls
        assert kind.summary and not kind.summary.startswith("#"), kind.name


def test_no_model_name_is_written_in_the_package_outside_models():
    """The page, the report, the race and the bench list models from models/kinds.py."""
    from motion_transfer.runtime.config import choices

    names = set(choices("model"))
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path.relative_to(PACKAGE).parts[0] == "models":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in names:
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.value!r}")
    assert not found, found
