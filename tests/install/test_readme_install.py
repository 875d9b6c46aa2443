"""The README's install lines as a user runs them today: resolved fresh from the registry, not from our locks.

For each Airflow line the README names, a new virtualenv gets exactly that command (this checkout standing in
for the package on PyPI). A real deployment from it (api-server, scheduler, dag-processor, triggerer) runs with
a Fernet key, as every real deployment does (``airflow standalone`` makes one), and with the ``airflow.cfg``
that release writes. Its connections are stored encrypted in its own database, and one generation, given no
``deferrable``, runs against the simulator into moto's S3: it must defer (the trigger row is encrypted with the
key), read its connections back, and store its video. The locked matrix cannot see what a resolver picks
today (cryptography 51 broke 3.0.6 and 3.1.8 that way).

Not part of ``make test``: it downloads and installs Airflow once per line. ``make test-install`` runs every
line (``pytest --readme-install=all tests/install``); the CI matrix runs each line's beside its locked tests.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from airflow_provider_seedance.testing import LocalAirflow
from airflow_provider_seedance.testing.s3 import s3_client, s3_connection
from tests.conftest import BUCKET, SIM_KEY, simulator_connections
from tests.support.readme import PACKAGE, install_lines

ROOT = Path(__file__).resolve().parents[2]
UV = Path(sys.executable).with_name("uv")
DAG_ID = "seedance_fresh_install"
# Stored in the deployment's database (encrypted with its Fernet key), not given as AIRFLOW_CONN_* variables.
SEEDANCE_CONN = "stored_ark"
OUTPUT_CONN = "stored_s3"
DAG_SOURCE = f"""
from datetime import datetime
from airflow.sdk import DAG
from airflow_provider_seedance.operators.seedance import SeedanceGenerateVideoOperator

with DAG(dag_id="{DAG_ID}", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    SeedanceGenerateVideoOperator(
        task_id="generate",
        seedance_conn_id="{SEEDANCE_CONN}",
        model="dreamina-seedance-2-0-260128",
        prompt="a paper boat on a fresh install",
        duration=4,
        resolution="480p",
        output_path=OUTPUT,
        output_conn_id="{OUTPUT_CONN}",
        poll_interval=15,  # a trigger firing within seconds of the deferral races Airflow 3.3's scheduler
    )
"""
RELEASES = install_lines()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The README's releases of the Airflow line ``--readme-install`` names (3.0, 3.1...), or all of them."""
    line = metafunc.config.getoption("--readme-install")
    releases = [release for release in sorted(RELEASES) if line == "all" or release.startswith(f"{line}.")]
    if not releases:
        raise pytest.UsageError(f"--readme-install={line}: the README has no install line for it; {sorted(RELEASES)}")
    metafunc.parametrize("release", releases)


@pytest.mark.early  # a real deployment: started first in a parallel run
def test_each_readme_install_line_runs_a_deferred_generation_with_a_fernet_key(
    release, tmp_path, simulator, moto_server
):
    venv = tmp_path / "venv"
    _run([str(UV), "venv", "--quiet", "--python", sys.executable, str(venv)])
    _, *install = shlex.split(RELEASES[release].replace(PACKAGE, str(ROOT)))  # uv pip install ...
    _run([str(UV), *install, "--quiet", "--python", str(venv / "bin" / "python")])
    version = "import importlib.metadata as m; print(m.version('apache-airflow'))"
    installed = _run([str(venv / "bin" / "python"), "-c", version]).strip()
    assert installed == release

    dags = tmp_path / "dags"
    dags.mkdir()
    output = f"s3://{BUCKET}/fresh-install/{release}.mp4"
    (dags / f"{DAG_ID}.py").write_text(f"OUTPUT = {output!r}\n" + DAG_SOURCE)
    ark = json.loads(simulator_connections(simulator)["AIRFLOW_CONN_SIM_ARK"])
    settings = {"AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode()}
    # Beside the other tests of a parallel run, 3.0.6 took over 180 s to become healthy.
    airflow = venv / "bin" / "airflow"
    with LocalAirflow(tmp_path / "airflow", dags, settings, healthy_within=300, airflow=airflow) as deployment:
        deployment.cli("connections", "add", SEEDANCE_CONN, "--conn-json", json.dumps(ark))
        deployment.cli("connections", "add", OUTPUT_CONN, "--conn-json", s3_connection(moto_server))
        encrypted = deployment.query("SELECT is_encrypted FROM connection WHERE conn_id = :id", id=SEEDANCE_CONN)
        assert encrypted == [(1,)], "the connection was stored unencrypted: the Fernet key was not used"
        deployment.wait_for_dag(DAG_ID)
        deployment.trigger(DAG_ID)
        triggers: list[str] = []
        state = deployment.wait_for_run(
            DAG_ID, on_poll=lambda db: triggers.extend(row[0] for row in db.execute("SELECT kwargs FROM trigger"))
        )
        logs = (deployment.home / "logs").rglob("*.log")
        task_log = "\n".join(path.read_text() for path in logs if DAG_ID in str(path))
        assert state == "success", task_log[-6000:]
    assert triggers, "the generation never deferred: no trigger row was seen"
    assert all(SIM_KEY not in kwargs for kwargs in triggers)
    video = s3_client(moto_server).get_object(Bucket=BUCKET, Key=output.split("/", 3)[3])["Body"].read()
    assert video[4:8] == b"ftyp"
    assert "waits in the triggerer" in task_log


def _run(command: list[str]) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stderr[-3000:]}"
    return result.stdout
