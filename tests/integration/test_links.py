"""The stored video's extra link follows the output connection: moto's endpoint is no AWS console."""

from __future__ import annotations

from airflow_provider_seedance.links.seedance import storage_console_url
from tests.conftest import AWS_CONN_ID


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
