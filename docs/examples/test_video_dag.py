"""Run one of your DAGs under ``dag.test()`` against the Seedance simulator and a local S3 server.

Copy this file into your project's tests and set DAG_FILE and BUCKET. It needs the provider's ``demo``
extra (the simulator and moto) and pytest. Nothing leaves the machine and nothing is paid for.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

DAG_FILE = Path(os.environ.get("DAG_FILE", "dags/my_video_dag.py"))  # the DAG under test
BUCKET = os.environ.get("BUCKET", "my-video-bucket")  # the bucket it writes its videos to


@pytest.fixture
def airflow_home(tmp_path, monkeypatch):
    """A throwaway AIRFLOW_HOME with a migrated database, and the DAG in its dags folder."""
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    (tmp_path / "dags").mkdir()
    shutil.copy(DAG_FILE, tmp_path / "dags")  # dag.test() syncs DAGs from the dags folder
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True)
    return tmp_path


@pytest.fixture
def gateway(monkeypatch):
    """The simulator on a fast clock; seedance_default points at its Ark API."""
    from airflow_provider_seedance.simulator import SimulatorConfig, start_simulator

    with start_simulator(SimulatorConfig(time_scale=0.001)) as simulator:
        connection = {
            "conn_type": "seedance",
            "host": simulator.gateway_url("ark"),
            # Long enough not to occur inside ordinary words: Airflow masks the password in logs.
            "password": "sk-simulator-test-key",
            "extra": {"gateway": "ark"},
        }
        monkeypatch.setenv("AIRFLOW_CONN_SEEDANCE_DEFAULT", json.dumps(connection))
        yield simulator


@pytest.fixture
def s3(monkeypatch):
    """moto's S3 server with the bucket; aws_default points at it."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    extra = {"endpoint_url": endpoint, "region_name": "us-east-1"}
    connection = {"conn_type": "aws", "login": "testing", "password": "testing", "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(connection))
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **credentials)
    client.create_bucket(Bucket=BUCKET)
    yield client
    server.stop()


def test_dag_stores_its_videos(airflow_home, gateway, s3):
    spec = importlib.util.spec_from_file_location("dag_under_test", airflow_home / "dags" / DAG_FILE.name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    run = module.dag.test()

    assert run.state == "success"
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    videos = [key for key in keys if key.endswith(".mp4")]
    assert videos, keys
    for video in videos:
        assert f"{video}.json" in keys  # every video has its manifest
