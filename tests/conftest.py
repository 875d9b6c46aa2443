"""Test-wide setup: a private AIRFLOW_HOME, one gateway simulator (on a fast clock), moto's S3 server, a file
server and a migrated Airflow database, each per process (so per pytest-xdist worker), started when first used.

The suite is in tiers: tests/unit (pure), tests/integration (servers), tests/dags (``dag.test()`` on the
database) and tests/e2e (real deployments, the ``airflow`` command, the docs build, a browser).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Set before anything imports airflow: its configuration is read once, at first import.
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="seedance-airflow-home-")
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
# Read when gcsfs is imported: the local GCS server speaks no gRPC, where gcsfs asks a bucket for its layout.
os.environ["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] = "false"


from airflow_provider_seedance.simulator import FaultPlan, RunningSimulator, SimulatorConfig, start_simulator  # noqa: E402
from airflow_provider_seedance.stores.schemes import AZURE, GCS, StoreKind  # noqa: E402
from airflow_provider_seedance.testing.s3 import s3_client, s3_connection  # noqa: E402 (tests import s3_client from here)

# 1 simulated second = 1 real millisecond: a 10 s generation finishes in about 10 ms.
TIME_SCALE = 0.001


def simulator_config(**settings: Any) -> SimulatorConfig:
    """A simulator on the tests' clock whose result URLs last an hour of real time (the gateways' 24 h would be
    86 real seconds: a task cleared and rerun on a busy machine found its video's URL expired)."""
    return SimulatorConfig(time_scale=TIME_SCALE, url_ttl_seconds=3600 / TIME_SCALE, **settings)


TESTS = Path(__file__).resolve().parent
# A parallel run (make test: pytest -n 2 --dist loadgroup) hands tests out one at a time in collection order,
# so the slow tiers go first and tests marked ``early`` (a real deployment, a long backoff) before everything:
# a long test that starts last runs alone at the end while the other worker idles.
TIERS = ("e2e", "dags", "integration", "unit")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--readme-install",
        metavar="LINE",
        default=None,
        help="also run tests/install for the README's install line of this Airflow line (3.0, 3.1...) or of "
        "'all': each resolved fresh from the registry into a new virtualenv (a few minutes a line)",
    )


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path == TESTS / "install" and not config.getoption("--readme-install"):
        return True
    return None


def _uses_a_module_fixture(item: pytest.Item) -> bool:
    definitions = getattr(item, "_fixtureinfo", None)
    definitions = definitions.name2fixturedefs if definitions else {}
    return any(definitions.get(name) and definitions[name][-1].scope == "module" for name in item.fixturenames)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The tests of a module that share a module-scoped fixture (the docs build, the example DAGs, the airflow
    # command's output) run on one worker, so the fixture is set up once rather than once per worker.
    for item in items:
        if _uses_a_module_fixture(item):
            item.add_marker(pytest.mark.xdist_group(item.path.relative_to(TESTS.parent).as_posix()))

    def order(item: pytest.Item) -> tuple[bool, int]:
        tier = item.path.relative_to(TESTS).parts[0] if item.path.is_relative_to(TESTS) else ""
        return item.get_closest_marker("early") is None, TIERS.index(tier) if tier in TIERS else len(TIERS)

    items.sort(key=order)  # stable: within a tier, files and tests keep their order


@pytest.fixture(scope="session")
def simulator(tmp_path_factory) -> Iterator[RunningSimulator]:
    config = simulator_config(cache_dir=tmp_path_factory.mktemp("simulator-media"))
    with start_simulator(config) as running:
        yield running


@pytest.fixture(autouse=True)
def _forget_unknown_model_warnings() -> None:
    """Each test sees the once-per-process "unknown model" warning afresh."""
    from airflow_provider_seedance.gateways import base

    base._WARNED_MODELS.clear()


@pytest.fixture(autouse=True)
def _clean_simulator(request) -> None:
    if "simulator" in request.fixturenames:
        running: RunningSimulator = request.getfixturevalue("simulator")
        running.simulator.faults.replace(FaultPlan())
        running.simulator.stats.reset()


# ---- a real S3-protocol server (moto's server mode) and a plain HTTP file server -----------------

AWS_CONN_ID = "aws_moto"
BUCKET = "seedance-test"


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto in server mode on a free port; ``AIRFLOW_CONN_AWS_MOTO`` points the Amazon provider at it."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    os.environ[f"AIRFLOW_CONN_{AWS_CONN_ID.upper()}"] = s3_connection(endpoint)
    s3_client(endpoint).create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


GCS_CONN_ID = "gcs_local"
AZURE_CONN_ID = "azure_local"


@pytest.fixture(scope="session")
def gcs_server() -> Iterator[object]:
    """fake-gcs-server with bucket ``BUCKET``; ``AIRFLOW_CONN_GCS_LOCAL`` reaches it through the Google provider."""
    from airflow_provider_seedance.testing.gcs import local_gcs

    yield from _local_store(GCS, local_gcs, GCS_CONN_ID, lambda gcs: gcs.create_bucket(BUCKET))


@pytest.fixture(scope="session")
def azurite_server() -> Iterator[object]:
    """Azurite with container ``BUCKET``; ``AIRFLOW_CONN_AZURE_LOCAL`` reaches it through the Azure provider."""
    from airflow_provider_seedance.testing.azure import local_azurite

    yield from _local_store(AZURE, local_azurite, AZURE_CONN_ID, lambda azurite: azurite.create_container(BUCKET))


def _local_store(kind: StoreKind, start: Callable[[], Any], conn_id: str, prepare: Callable[[Any], None]) -> Iterator:
    """A store's local server with its connection in ``AIRFLOW_CONN_*``; skipped where the store's extra is not
    installed (the matrix lanes carry it, so only a trimmed environment skips)."""
    missing = kind.missing_modules()
    if missing:
        pytest.skip(f"the [{kind.extra}] extra is not installed here ({', '.join(missing)})")
    with start() as server:
        os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = server.connection()
        prepare(server)
        yield server


@pytest.fixture(params=["s3", "gcs", "azure"])
def cloud_store(request):
    """Each cloud object store in turn, on its real protocol server: a ``tests.support.stores.CloudStore``."""
    from tests.support.stores import CloudStore

    return CloudStore.started(request.param, request)


@pytest.fixture(scope="session")
def file_server(tmp_path_factory) -> Iterator[tuple[str, object]]:
    """A static HTTP server with Range support over a temp folder: (base URL, folder path)."""
    import asyncio
    import threading

    from aiohttp import web

    root = tmp_path_factory.mktemp("served-files")
    app = web.Application()
    app.router.add_static("/", root)
    runner = web.AppRunner(app, access_log=None)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    host, port = runner.addresses[0][:2]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield f"http://{host}:{port}", root
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)


# ---- a migrated metadata database for dag.test() -------------------------------------------------


@pytest.fixture(scope="session")
def airflow_db(tmp_path_factory) -> str:
    """A migrated SQLite database in this process's private AIRFLOW_HOME.

    ``airflow db migrate`` (about 5 CPU seconds) runs once per test run: the first pytest-xdist worker to
    get here migrates, under a lock, and the others copy its fresh file."""
    import fcntl
    import shutil
    import subprocess
    import sys

    database = Path(_AIRFLOW_HOME) / "airflow.db"
    # Every worker of one run shares the parent of its base temp folder; a run without workers has no peer.
    shared = tmp_path_factory.getbasetemp().parent if os.environ.get("PYTEST_XDIST_WORKER") else None
    template = shared / "airflow-migrated.db" if shared else None
    with open(shared / "airflow-migrated.lock" if shared else os.devnull, "w") as lock:
        if shared:
            fcntl.flock(lock, fcntl.LOCK_EX)
        if template is not None and template.exists():
            shutil.copyfile(template, database)
        else:
            airflow = Path(sys.executable).with_name("airflow")
            migrate = [str(airflow), "db", "migrate"]
            result = subprocess.run(migrate, capture_output=True, text=True, timeout=300, check=False)
            assert result.returncode == 0, result.stderr[-3000:]
            if template is not None:
                shutil.copyfile(database, template)
    _one_in_process_execution_api()
    return _AIRFLOW_HOME


def _one_in_process_execution_api() -> None:
    """``dag.test()`` runs each task against an in-process execution API app. Airflow 3.3 builds that app
    once per process (``functools.lru_cache`` on ``supervisor.in_process_api_server``); 3.0 to 3.2 build a new
    one for every task, about 2 s of CPU each (Cadwyn copies every versioned route), which made a DAG run of
    16 tasks take 39 s on 3.1 against 9 s on 3.3. The matrix lines get 3.3's cache; the tasks run as before."""
    import functools

    from airflow.sdk.execution_time import supervisor

    if not hasattr(supervisor.in_process_api_server, "cache_info"):
        supervisor.in_process_api_server = functools.lru_cache(maxsize=1)(supervisor.in_process_api_server)


SIM_KEY = "sk-simulated-gateway-key-do-not-log"


def simulator_connections(simulator: RunningSimulator) -> dict[str, str]:
    """One ``seedance`` connection per simulated gateway (``sim_<gateway>``), without reseller prices."""
    from airflow_provider_seedance.testing.connections import simulated_gateway_connections

    return simulated_gateway_connections(simulator.gateway_urls, SIM_KEY, prefix="SIM")


@pytest.fixture
def env(simulator, moto_server, airflow_db, monkeypatch):
    """The simulator with one ``sim_<gateway>`` connection per gateway, moto's S3 and a migrated database."""
    from airflow_provider_seedance.generation import submission

    for name, value in simulator_connections(simulator).items():
        monkeypatch.setenv(name, value)
    # The simulator lists a task the moment it is created: a lost submit's lookup need not wait for the list.
    monkeypatch.setattr(submission, "UNKNOWN_SUBMIT_SETTLE_SECONDS", 0)
    simulator.simulator.faults.replace(FaultPlan(retry_after_seconds=0))
    return simulator


def dag_test(dag):
    """``dag.test()``, with the DAG's assets made active first where Airflow's own ``dag.test()`` does not.

    Airflow 3.0's ``dag.test()`` never writes the DAG's assets, so a task with an ``Asset`` outlet fails with
    ``AirflowInactiveAssetInInletOrOutletException``; in a deployment the dag-processor writes them, and
    3.1's ``dag.test()`` does. This writes them as the dag-processor would.
    """
    from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_1_PLUS

    if not AIRFLOW_V_3_1_PLUS:
        from airflow.dag_processing.bundles.manager import DagBundlesManager
        from airflow.models.dag import DAG as SchedulerDAG
        from airflow.serialization.serialized_objects import SerializedDAG

        DagBundlesManager().sync_bundles_to_db()
        serialized = SerializedDAG.deserialize_dag(SerializedDAG.serialize_dag(dag))
        SchedulerDAG.bulk_write_to_db("dags-folder", None, [serialized])
    return dag.test()


# Where the DAG sources of ``run_dag`` take ``SeedanceGenerateVideoOperator`` from: the operator, or the same
# arguments through ``@task.seedance`` (tests/dags/test_operator.py runs its cases both ways).
GENERATION_FORMS = {
    "operator": "airflow_provider_seedance.operators.seedance",
    "task.seedance": "tests.support.decorated",
}
GENERATION_FORM = "operator"


def generation_forms(*, chosen: bool) -> list[str]:
    """The forms a generation case runs in. ``SEEDANCE_TEST_GENERATION_FORMS=all`` (.ci/matrix, on the oldest and
    the newest Airflow line): both, for every case; ``=operator``: the operator only; unset (``make test``): both
    for the ``chosen`` cases, the operator only for the rest (within the suite's time budget)."""
    setting = os.environ.get("SEEDANCE_TEST_GENERATION_FORMS")
    both = setting == "all" or (setting is None and chosen)
    return list(GENERATION_FORMS) if both else ["operator"]


@pytest.fixture
def run_dag(airflow_db):
    """Write a DAG file into the dags folder (``dag.test()`` syncs DAGs from there), then test-run it.

    The body must bind the DAG to the name ``dag``; it can use SeedanceGenerateVideoOperator, DAG,
    datetime, timedelta, Asset, AssetAlias, BUCKET and AWS_CONN_ID without importing them.
    """
    import importlib.util
    import textwrap

    dags_folder = Path(_AIRFLOW_HOME) / "dags"
    dags_folder.mkdir(exist_ok=True)

    def run(dag_id: str, body: str):
        header = (
            "from datetime import datetime, timedelta\n"
            "from airflow.sdk import DAG, Asset, AssetAlias\n"
            f"from {GENERATION_FORMS[GENERATION_FORM]} import SeedanceGenerateVideoOperator\n"
            f"BUCKET = {BUCKET!r}\nAWS_CONN_ID = {AWS_CONN_ID!r}\n"
        )
        path = dags_folder / f"{dag_id}.py"
        path.write_text(header + textwrap.dedent(body))
        try:
            spec = importlib.util.spec_from_file_location(f"test_dag_{dag_id}", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return dag_test(module.dag)
        finally:
            # dag.test() parses the whole dags folder on every call (Airflow 3.3): files left behind would make
            # each later run parse every earlier test's DAG.
            path.unlink()

    return run


@pytest.fixture(scope="module")
def examples(simulator, moto_server, airflow_db):
    """The example DAGs copied into the dags folder, with settings and connections for the simulator."""
    from tests.support.examples import install_examples

    return install_examples(simulator)
