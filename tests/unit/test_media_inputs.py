"""The media delivery setting's check when the DAG is parsed."""

from __future__ import annotations

import pytest


def test_an_unknown_delivery_fails_when_the_dag_is_parsed():
    from airflow_provider_seedance.operators.seedance import SeedanceGenerateVideoOperator

    with pytest.raises(ValueError, match=r"media_delivery has 'ftp'; allowed: presigned_url, upload, asset, inline"):
        SeedanceGenerateVideoOperator(
            task_id="bad_delivery", model="m", output_path="s3://b/k.mp4", media_delivery=["presigned_url", "ftp"]
        )
