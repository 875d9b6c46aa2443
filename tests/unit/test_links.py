"""Where the extra links point: the console that serves the connection's endpoint, or nowhere."""

from __future__ import annotations

import pytest

from airflow_provider_seedance.links.seedance import s3_console_url


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
