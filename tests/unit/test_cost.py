"""The cost limit's check when the DAG is parsed."""

from __future__ import annotations

import pytest

V20 = "dreamina-seedance-2-0-260128"


def test_max_cost_must_be_positive():
    from airflow_provider_seedance.operators.seedance import SeedanceGenerateVideoOperator

    with pytest.raises(ValueError, match=r"max_cost=0; allowed: more than 0, or None for no limit"):
        SeedanceGenerateVideoOperator(task_id="clip", model=V20, prompt="x", output_path="s3://b/x.mp4", max_cost=0)
