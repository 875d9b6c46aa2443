"""Operator checks that need no run: an event the trigger could never have sent is refused."""

from __future__ import annotations

import pytest

from airflow_provider_seedance.operators.seedance import SeedanceGenerateVideoOperator


def test_execute_complete_rejects_a_malformed_event():
    from airflow_provider_seedance.compat import AirflowException

    operator = SeedanceGenerateVideoOperator(task_id="t", model="m", output_path="file:///tmp/x.mp4")
    with pytest.raises(AirflowException, match="resumed without a trigger event"):
        operator.execute_complete({}, None)
    with pytest.raises(AirflowException, match="unexpected trigger event"):
        operator.execute_complete({}, {"status": "done"})
