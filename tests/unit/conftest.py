"""The unit tier stays pure: no gateway simulator, no S3 or file server, no Airflow metadata database.

A unit test that names one of the server or database fixtures fails collection, with the tier it belongs in;
one that asks for it at run time (``request.getfixturevalue``) fails when it asks. A fixture of the same name
that a unit test module defines itself (say ``media`` over files in a temp folder) is its own business.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
INTEGRATION = "tests/integration (servers: the simulator, moto's S3, the file server)"
DAGS = "tests/dags (a migrated Airflow database, dag.test())"
# Each fixture that needs a server or the metadata database, and the tier where a test that needs it goes.
SERVER_FIXTURES = {
    "simulator": INTEGRATION,
    "moto_server": INTEGRATION,
    "file_server": INTEGRATION,
    "client": INTEGRATION,
    "serve": INTEGRATION,
    "media": INTEGRATION,
    "airflow_db": DAGS,
    "env": DAGS,
    "run_dag": DAGS,
    "examples": DAGS,
    "deployment": "tests/e2e (a real Airflow deployment)",
}


def _servers_asked_for(item: pytest.Item) -> list[str]:
    own = vars(getattr(item, "module", None) or object)  # fixtures the test module defines itself
    return sorted(name for name in item.fixturenames if name in SERVER_FIXTURES and name not in own)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    offenders = []
    for item in items:
        if not item.path.is_relative_to(HERE):
            continue
        for name in _servers_asked_for(item):
            offenders.append(f"  {item.nodeid} uses {name!r}: move it to {SERVER_FIXTURES[name]}")
    if offenders:
        raise pytest.UsageError(
            "tests/unit is for pure tests (no server, no Airflow metadata database); these ask for one:\n"
            + "\n".join(offenders)
        )


def _refuse(name: str):
    def fixture(request: pytest.FixtureRequest) -> None:
        pytest.fail(
            f"{request.node.nodeid} asked for {name!r} at run time, but tests/unit is pure: "
            f"move it to {SERVER_FIXTURES[name]}",
            pytrace=False,
        )

    fixture.__name__ = name
    return pytest.fixture(name=name)(fixture)


# The same names, shadowing tests/conftest.py for this tier, for tests that ask while they run.
for _name in SERVER_FIXTURES:
    globals()[f"_refuse_{_name}"] = _refuse(_name)
