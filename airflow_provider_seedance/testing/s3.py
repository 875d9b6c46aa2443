"""A local S3-protocol server (moto's server mode, say) as Airflow and boto3 reach it: an ``aws``
connection to it and a boto3 client. Used by the tests and the benchmarks; handy for your own DAG tests."""

from __future__ import annotations

import json
from typing import Any

REGION = "us-east-1"


def s3_connection(endpoint: str, *, key: str = "testing", secret: str = "testing", **extra: Any) -> str:
    """An ``aws`` connection to ``endpoint`` as an ``AIRFLOW_CONN_*`` value; ``extra`` joins its extra
    (``service_config={"s3": {...}}``, say)."""
    extra = {"endpoint_url": endpoint, "region_name": REGION, **extra}
    return json.dumps({"conn_type": "aws", "login": key, "password": secret, "extra": extra})


def s3_client(endpoint: str, *, key: str = "testing", secret: str = "testing") -> Any:
    """A boto3 S3 client for ``endpoint`` with the same credentials (Any: boto3 ships no types)."""
    import boto3

    return boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=key, aws_secret_access_key=secret, region_name=REGION
    )
