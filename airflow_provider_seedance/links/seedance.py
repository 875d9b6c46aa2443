"""The task's extra links: the gateway's console while a generation waits, the stored video once it is done.

Airflow 3 computes extra links on the worker each time a try ends or defers, and keeps them in XCom for
the UI. So the task link works during the wait: the operator pushes ``seedance_task`` (gateway, remote
task id, console) before it waits. Each link points at the console that serves the connection's
endpoint, or at nothing: an S3 object behind MinIO, moto or any other ``endpoint_url`` gets no AWS
console link, and a gateway reached through a proxy gets no gateway console link.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from airflow.sdk import BaseOperatorLink
from airflow.sdk.execution_time.xcom import XCom

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.sdk.types import TaskInstanceKey

    from airflow_provider_seedance.hooks.connection import GatewayConnection

# The XCom a generation operator pushes before it waits: {gateway, remote_task_id, console_url, output_path}.
SEEDANCE_TASK_KEY = "seedance_task"


def task_record(connection: GatewayConnection, remote_task_id: str, output_path: str) -> dict[str, Any]:
    """The ``seedance_task`` XCom, pushed before a generation is waited for: enough to find it at its gateway
    while the Airflow task waits (the "Seedance task" link reads ``console_url`` from it)."""
    return {
        "gateway": connection.gateway.name,
        "remote_task_id": remote_task_id,
        "console_url": connection.console_url(remote_task_id),
        "output_path": output_path,
    }


# The task runner works out the extra links at the end of each part of a try, in the process that ran it, so
# the links read what that process knows before asking XCom: the task SDK logs each XCom it does not find as
# an error, and a try that failed early pushed neither ``seedance_task`` nor a return value.
# TRY_RECORD: the ``seedance_task`` this process pushed ({} when none yet; absent in a process resumed after a
# deferral, whose try pushed it before deferring: read from XCom). IN_PROCESS: this process ran (part of) the try.
TRY_RECORD = "seedance_task_record"
IN_PROCESS = "seedance_try_in_process"


def start_try(task: Any) -> None:
    """Mark the start of a try (``execute``): no generation waited for yet."""
    setattr(task, TRY_RECORD, {})
    setattr(task, IN_PROCESS, True)


def resume_try(task: Any) -> None:
    """Mark a process that resumes a try after a deferral (its ``seedance_task`` was pushed before it)."""
    setattr(task, IN_PROCESS, True)


def push_task_record(
    context: Context, connection: GatewayConnection, remote_task_id: str, output_path: str
) -> dict[str, Any]:
    """Push the ``seedance_task`` XCom of a generation about to be waited for; returns it."""
    record = task_record(connection, remote_task_id, output_path)
    context["ti"].xcom_push(key=SEEDANCE_TASK_KEY, value=record)
    setattr(context["task"], TRY_RECORD, record)
    return record


AWS_HOST_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn")


def s3_console_url(bucket: str, key: str, *, endpoint_url: str | None, region: str | None) -> str:
    """The AWS console page of an S3 object, in the partition of ``region``; "" when the endpoint is not AWS."""
    host = (urlsplit(endpoint_url).hostname or "").lower() if endpoint_url else ""
    if host and not host.endswith(AWS_HOST_SUFFIXES):
        return ""  # MinIO, moto, Ceph...: the AWS console would show another store, or nothing
    if region and region.startswith("cn-"):
        console = "https://console.amazonaws.cn/s3/object"
    elif region and region.startswith("us-gov-"):
        console = "https://console.amazonaws-us-gov.com/s3/object"
    else:
        console = "https://s3.console.aws.amazon.com/s3/object"
    where = f"region={region}&" if region else ""
    return f"{console}/{bucket}?{where}prefix={quote(key)}"


def storage_console_url(uri: str, conn_id: str | None) -> str:
    """A browser link for a stored object, or "" where no console is known for its store."""
    scheme, _, rest = uri.partition("://")
    bucket, _, key = rest.partition("/")
    if scheme in ("gs", "gcs"):
        return f"https://console.cloud.google.com/storage/browser/_details/{bucket}/{quote(key)}"
    if scheme not in ("s3", "s3a"):
        return ""  # file:// is a worker's disk; other stores have no console we know
    endpoint, region = _s3_endpoint(conn_id)
    return s3_console_url(bucket, key, endpoint_url=endpoint, region=region)


def viewer_url(uri: str, conn_id: str | None, template: str | None = None) -> str:
    """A link a reviewer's browser opens a stored video (or image) with; "" where none is known.

    ``template`` (``https://cdn.example.com/{key}``; also ``{bucket}``, ``{uri}``) wins: teams that serve their
    bucket through a CDN or a viewer say so. Otherwise an S3 store behind its own endpoint (MinIO, moto...)
    gets the object's unsigned address there (it plays where that store lets the reviewer read), and AWS S3 and
    GCS their console. Never a presigned URL: the link is kept in Airflow's database, readable by every user.
    """
    scheme, _, rest = uri.partition("://")
    bucket, _, key = rest.partition("/")
    if template:
        return template.format(uri=uri, bucket=bucket, key=key)
    console = storage_console_url(uri, conn_id)
    if console or scheme not in ("s3", "s3a"):
        return console
    endpoint, _ = _s3_endpoint(conn_id)
    return f"{endpoint.rstrip('/')}/{bucket}/{quote(key)}" if endpoint else ""


def _s3_endpoint(conn_id: str | None) -> tuple[str | None, str | None]:
    """The S3 endpoint URL (None for AWS's own) and region of an Amazon connection."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    config = S3Hook(aws_conn_id=conn_id).conn_config
    return config.get_service_endpoint_url("s3"), config.region_name


class SeedanceTaskLink(BaseOperatorLink):
    """The gateway console of the account running the generation (from ``seedance_task``), while it waits
    and after."""

    name = "Seedance task"

    def get_link(self, operator: Any, *, ti_key: TaskInstanceKey) -> str:
        task = getattr(operator, TRY_RECORD, None)
        if task is None:
            task = XCom.get_value(ti_key=ti_key, key=SEEDANCE_TASK_KEY)
        return (task.get("console_url") or "") if isinstance(task, dict) else ""


class SeedanceVideoLink(BaseOperatorLink):
    """The stored video in its store's console, for the output connection's endpoint."""

    name = "Seedance video"

    def get_link(self, operator: Any, *, ti_key: TaskInstanceKey) -> str:
        if getattr(operator, IN_PROCESS, False):
            # The video this process concluded, if any: a try that failed or deferred here stored none.
            concluded = [result for _, result in getattr(operator, "_concluded", ())]
            result = concluded[0] if len(concluded) == 1 else None
        else:
            result = XCom.get_value(ti_key=ti_key, key="return_value")
        if not (isinstance(result, dict) and result.get("video_path")):
            return ""
        return storage_console_url(result["video_path"], getattr(operator, "output_conn_id", None))
