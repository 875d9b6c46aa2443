"""The sensor's checks when the DAG is parsed."""

from __future__ import annotations

import pytest

from airflow_provider_seedance.sensors.seedance import SeedanceGenerationSensor


def test_bad_sensor_arguments_fail_when_the_dag_is_parsed():
    with pytest.raises(ValueError, match=r"wait: output_path='clips/x\.mp4' has no scheme"):
        SeedanceGenerationSensor(task_id="wait", output_path="clips/x.mp4")
    with pytest.raises(ValueError, match="wait: poll_interval=0; allowed: more than 0"):
        SeedanceGenerationSensor(task_id="wait", output_path="s3://b/x.mp4", poll_interval=0)
