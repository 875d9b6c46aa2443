"""Where the extra links point: the console that serves the connection's endpoint, or nowhere."""

from __future__ import annotations

import pytest

from airflow_provider_seedance.links.seedance import s3_console_url, storage_console_url
from tests.conftest import AWS_CONN_ID


@pytest.mark.parametrize(
    ("endpoint", "region", "url"),
    [
        pytest.param(
            None,
            "eu-west-1",
            "https://s3.console.aws.amazon.com/s3/object/acme?region=eu-west-1&prefix=clips/a%20b.mp4",
            id="aws",
        ),
        pytest.param(None, None, "https://s3.console.aws.amazon.com/s3/object/acme?prefix=clips/a%20b.mp4", id="aws"),
        pytest.param(
            "https://s3.cn-north-1.amazonaws.com.cn",
            "cn-north-1",
            "https://console.amazonaws.cn/s3/object/acme?region=cn-north-1&prefix=clips/a%20b.mp4",
            id="china",
        ),
        pytest.param(
            None,
            "us-gov-west-1",
            "https://console.amazonaws-us-gov.com/s3/object/acme?region=us-gov-west-1&prefix=clips/a%20b.mp4",
            id="govcloud",
        ),
        pytest.param("http://127.0.0.1:9000", "us-east-1", "", id="moto-or-minio"),
        pytest.param("https://minio.internal.example", None, "", id="minio"),
    ],
)
def test_s3_links_go_to_the_aws_console_of_the_partition_or_nowhere(endpoint, region, url):
    assert s3_console_url("acme", "clips/a b.mp4", endpoint_url=endpoint, region=region) == url


def test_stored_video_links_follow_the_output_connection(moto_server, monkeypatch):
    from airflow_provider_seedance.testing.s3 import s3_connection

    monkeypatch.setenv(f"AIRFLOW_CONN_{AWS_CONN_ID.upper()}", s3_connection(moto_server))
    monkeypatch.setenv("AIRFLOW_CONN_AWS_CHINA", s3_connection("", region_name="cn-northwest-1"))
    assert storage_console_url("s3://acme/v.mp4", AWS_CONN_ID) == ""  # moto's endpoint is not AWS
    assert storage_console_url("s3://acme/v.mp4", "aws_china") == (
        "https://console.amazonaws.cn/s3/object/acme?region=cn-northwest-1&prefix=v.mp4"
    )
    assert storage_console_url("gs://acme/v.mp4", None) == (
        "https://console.cloud.google.com/storage/browser/_details/acme/v.mp4"
    )
    assert storage_console_url("file:///srv/videos/v.mp4", None) == ""
