"""One claim as the operator writes it, for the claim tests of every tier."""

from __future__ import annotations

from airflow_provider_seedance.outputs.claims import Claim

CLAIM = Claim(
    gateway="ark",
    seedance_conn_id="seedance_default",
    remote_task_id="cgt-20261201-abc",
    request_sha256="f" * 64,
    submitted_at="2026-12-01T20:00:00+00:00",
    deadline="2026-12-01T22:00:00+00:00",
    airflow={"dag_id": "d", "run_id": "r", "task_id": "t", "map_index": -1, "try_number": 1},
)
