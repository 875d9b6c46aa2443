"""Test-wide setup: a private AIRFLOW_HOME, and one gateway simulator (on a fast clock) for every test."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest

# Set before anything imports airflow: its configuration is read once, at first import.
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="seedance-airflow-home-")
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"


from airflow_provider_seedance.simulator import FaultPlan, RunningSimulator, SimulatorConfig, start_simulator  # noqa: E402

# 1 simulated second = 1 real millisecond: a 10 s generation finishes in about 10 ms.
TIME_SCALE = 0.001


@pytest.fixture(scope="session")
def simulator(tmp_path_factory) -> Iterator[RunningSimulator]:
    config = SimulatorConfig(time_scale=TIME_SCALE, cache_dir=tmp_path_factory.mktemp("simulator-media"))
    with start_simulator(config) as running:
        yield running


@pytest.fixture(autouse=True)
def _clean_simulator(request) -> None:
    if "simulator" in request.fixturenames:
        running: RunningSimulator = request.getfixturevalue("simulator")
        running.simulator.faults.replace(FaultPlan())
        running.simulator.stats.reset()
