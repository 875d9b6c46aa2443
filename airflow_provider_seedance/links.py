"""The "Seedance video" extra link: where the task's video was stored."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow.sdk import BaseOperatorLink
from airflow.sdk.execution_time.xcom import XCom

if TYPE_CHECKING:
    from airflow.models.taskinstancekey import TaskInstanceKey


def browse_url(uri: str) -> str:
    """A browser link for a stored object: the S3 console for ``s3://``, the URI itself otherwise."""
    if uri.startswith("s3://"):
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        return f"https://s3.console.aws.amazon.com/s3/object/{bucket}?prefix={quote(key)}"
    return uri


class SeedanceVideoLink(BaseOperatorLink):
    name = "Seedance video"

    def get_link(self, operator: Any, *, ti_key: TaskInstanceKey) -> str:
        result = XCom.get_value(ti_key=ti_key, key="return_value")
        if isinstance(result, dict) and result.get("video_path"):
            return browse_url(result["video_path"])
        return ""
