"""Imports flow one way (errors -> models -> dialects -> hooks -> engine parts -> engine -> Airflow surface),
dialects stay free of I/O, and the simulator is written apart from the dialects."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "airflow_provider_seedance"
# A module may import package modules of its own layer or lower ones only. Layers are given by path (a
# folder, or one module where it sits lower than its folder); the longest matching path decides.
LAYERS = {
    # leaves: the error tree, names Airflow reads in every process, a pure renderer
    "exceptions.py": 0,
    "gateways/__init__.py": 0,
    "hooks/connection_form.py": 0,
    "outputs/layout.py": 0,
    "outputs/report.py": 0,
    # what everything else speaks: Airflow's version differences, the request model, media limits
    "compat.py": 1,
    "models.py": 1,
    "media/limits.py": 1,
    "stores/schemes.py": 1,
    "get_provider_info.py": 1,
    # pure protocol and prices (no I/O); the simulator stands beside them, on its own
    "gateways/": 2,
    "pricing/": 2,
    "simulator/": 2,
    # HTTP to a gateway
    "hooks/": 3,
    # what the engine is made of: waiting in the triggerer, storage, media inputs, links, telemetry
    "triggers/": 4,
    "outputs/": 4,
    "media/": 4,
    "links/": 4,
    "stores/": 4,
    "observability/": 4,
    # the engine, and the review loop's parts (takes, answers, what a reviewer reads, publishing)
    "generation/": 5,
    "review/": 5,
    # the Airflow surface
    "operators/": 6,
    "sensors/": 6,
    "decorators/": 6,
    # what users test their DAGs with
    "testing/": 7,
}
NO_IO_IN_DIALECTS = {"httpx", "asyncio", "airflow", "socket", "requests", "urllib3", "ssl", "aiohttp"}


def _imports(path: Path) -> list[str]:
    """The modules ``path`` imports at run time (not for type checking only); ``from package import module``
    counts as that module."""
    tree = ast.parse(path.read_text())
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
        for inner in ast.walk(node)
    }
    names: list[str] = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.extend(_module_or_package(f"{node.module}.{alias.name}", node.module) for alias in node.names)
    return names


def _module_or_package(dotted: str, package: str) -> str:
    """``dotted`` when it names a module or package of ours, else ``package`` (it names an object in it)."""
    parts = dotted.split(".")
    if parts[0] != "airflow_provider_seedance":
        return package
    where = PACKAGE.joinpath(*parts[1:])
    return dotted if where.with_suffix(".py").is_file() or (where / "__init__.py").is_file() else package


def _layer(module: str) -> int | None:
    """The layer of a dotted module name inside the package; None outside it."""
    parts = module.split(".")
    if parts[0] != "airflow_provider_seedance" or len(parts) < 2:
        return None
    relative = "/".join(parts[1:])
    folders = ("/".join(parts[1:end]) + "/" for end in range(2, len(parts) + 1))
    candidates = [f"{relative}.py", f"{relative}/__init__.py", *folders]
    matches = [path for path in LAYERS if path in candidates]
    return LAYERS[max(matches, key=len)] if matches else None


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_upward_imports(path):
    own = _layer("airflow_provider_seedance." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts))
    assert own is not None, f"{path.name}: add this module to LAYERS"
    upward = [name for name in _imports(path) if (_layer(name) or 0) > own]
    assert not upward, f"{path.relative_to(PACKAGE)} imports from a higher layer: {upward}"


@pytest.mark.parametrize("path", sorted((PACKAGE / "gateways").glob("*.py")), ids=lambda p: p.name)
def test_dialects_do_no_io(path):
    forbidden = [name for name in _imports(path) if name.split(".")[0] in NO_IO_IN_DIALECTS]
    assert not forbidden, f"gateways/{path.name} imports I/O libraries: {forbidden}"


@pytest.mark.parametrize("path", sorted((PACKAGE / "simulator").rglob("*.py")), ids=lambda p: p.name)
def test_simulator_is_written_independently_of_the_dialects(path):
    # A dialect bug must fail a test, not be mirrored by a simulator built on the same code.
    # Only the error tree's root is shared: it holds no gateway knowledge.
    ours = [name for name in _imports(path) if name.startswith("airflow_provider_seedance.")]
    allowed = ("airflow_provider_seedance.simulator", "airflow_provider_seedance.exceptions")
    borrowed = [name for name in ours if not name.startswith(allowed)]
    assert not borrowed, f"simulator/{path.name} imports provider code: {borrowed}"


def test_every_module_says_what_it_is_for():
    for path in PACKAGE.rglob("*.py"):
        assert ast.get_docstring(ast.parse(path.read_text())), f"{path} has no module docstring"


def test_every_error_class_is_in_the_one_tree():
    from airflow_provider_seedance.exceptions import SeedanceError

    outside = []
    for path in MODULES:
        module = importlib.import_module(
            "airflow_provider_seedance." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        )
        for name, value in vars(module).items():
            ours = inspect.isclass(value) and value.__module__ == module.__name__
            if ours and issubclass(value, BaseException) and not issubclass(value, SeedanceError):
                outside.append(f"{module.__name__}.{name}")
    assert outside == []


def test_the_dialects_and_the_request_model_load_without_airflow_or_a_store_library():
    # Static imports miss a package ``__init__``'s own imports (stores/schemes.py is read by the dialects):
    # a fresh interpreter shows what importing them really loads.
    import json
    import subprocess
    import sys

    modules = ", ".join(f"airflow_provider_seedance.{name}" for name in ("models", "gateways.ark", "gateways.delivery"))
    probe = f"import json, sys, {modules}; print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    heavy = {"airflow", "httpx", "fsspec", "gcsfs", "adlfs", "boto3", "google", "azure"}
    assert not heavy & set(json.loads(loaded)), loaded
