"""Imports flow one way (exceptions -> models -> gateways -> hooks), and dialects stay free of I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "airflow_provider_seedance"
# A module may import package modules of its own layer or lower ones only.
LAYERS = {
    "exceptions": 0,
    "gateway_names": 0,
    "connection_form": 0,
    "compat": 1,
    "models": 1,
    "media_limits": 1,
    "gateways": 2,
    "pricing": 2,
    "hooks": 3,
    "get_provider_info": 1,
    "triggers": 4,
    "storage": 4,
    "transfer": 4,
    "media": 4,
    "claims": 4,
    "manifest": 4,
    "metrics": 4,
    "report": 0,
    "operators": 5,
    "links": 5,
    "lineage": 5,
    "sensors": 5,
    "testing": 6,
    "demo": 7,
    "simulator": 2,
}
NO_IO_IN_DIALECTS = {"httpx", "asyncio", "airflow", "socket", "requests", "urllib3", "ssl", "aiohttp"}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "airflow_provider_seedance" or len(parts) < 2:
        return None
    return LAYERS.get(parts[1])


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
    ours = [name for name in _imports(path) if name.startswith("airflow_provider_seedance.")]
    borrowed = [name for name in ours if not name.startswith("airflow_provider_seedance.simulator")]
    assert not borrowed, f"simulator/{path.name} imports provider code: {borrowed}"


def test_every_module_says_what_it_is_for():
    for path in PACKAGE.rglob("*.py"):
        assert ast.get_docstring(ast.parse(path.read_text())), f"{path} has no module docstring"
