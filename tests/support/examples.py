"""The example DAGs installed into this run's dags folder (the ``examples`` fixture), loaded and parsed as the
DAG processor does."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

from airflow_provider_seedance.testing.connections import simulated_gateway_connections
from tests.conftest import _AIRFLOW_HOME, AWS_CONN_ID, BUCKET, SIM_KEY

EXAMPLES = Path(__file__).resolve().parents[2] / "example_dags"
DAGS_FOLDER = Path(_AIRFLOW_HOME) / "dags"
OUTPUT_BASE = f"s3://{BUCKET}/examples"
SETTINGS = {
    "SEEDANCE_OUTPUT_BASE": OUTPUT_BASE,
    "SEEDANCE_OUTPUT_CONN": AWS_CONN_ID,
    "SEEDANCE_POLL_SECONDS": "0.05",
    "SEEDANCE_POOL": "seedance_api",
}


def install_examples(simulator) -> Path:
    """Copy the example DAGs into the dags folder; set their settings, their pool and a connection per
    simulated gateway (the ``examples`` fixture in tests/conftest.py)."""
    os.environ.update(SETTINGS)
    connections = simulated_gateway_connections(simulator.gateway_urls, SIM_KEY, demo_prices=True)
    os.environ.update(connections)
    os.environ["AIRFLOW_CONN_SEEDANCE_DEFAULT"] = connections["AIRFLOW_CONN_SEEDANCE_ARK"]
    shutil.copytree(EXAMPLES, DAGS_FOLDER, dirs_exist_ok=True)
    # The pool the fan-out example's docstring creates with `airflow pools set seedance_api 4 "Concurrent
    # Seedance generations" --include-deferred`, written as that command's local client writes it, without
    # starting an `airflow` process (about 7 s of CPU on this machine).
    from airflow.models.pool import Pool

    Pool.create_or_update_pool(
        name="seedance_api", slots=4, description="Concurrent Seedance generations", include_deferred=True
    )
    return DAGS_FOLDER


def uninstall_examples() -> None:
    """Take the example DAGs out of the dags folder again: ``dag.test()`` parses the whole folder on every
    call, so examples left there would be parsed (and written to the database) by every later run."""
    for path in EXAMPLES.iterdir():
        copy = DAGS_FOLDER / path.name
        if copy.is_dir():
            shutil.rmtree(copy)
        else:
            copy.unlink(missing_ok=True)


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", DAGS_FOLDER / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _dag_bag(folder: Path):
    """The DAG processor's own parser for ``folder`` (it moved in Airflow 3.2)."""
    try:
        from airflow.dag_processing.dagbag import BundleDagBag
    except ImportError:  # Airflow 3.0 and 3.1
        from airflow.models.dagbag import DagBag

        return DagBag(dag_folder=str(folder), include_examples=False, bundle_path=folder)
    return BundleDagBag(dag_folder=str(folder), bundle_path=str(folder), bundle_name="examples")
