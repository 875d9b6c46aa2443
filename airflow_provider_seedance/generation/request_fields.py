"""The request fields among an operator's arguments, and the checks they get while a DAG is parsed.

Both generation operators take the same request fields (the single one as its own arguments, the batch
one per item); this module says which they are, turns them into ``VideoRequest`` fields, and checks the
ones already known at parse time (templated values and XComArgs wait for ``execute``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.sdk import ObjectStoragePath

from airflow_provider_seedance.models import MEDIA_FIELDS, VideoRequest
from airflow_provider_seedance.outputs.store import storage_uri
from airflow_provider_seedance.stores.schemes import scheme_support_problem

# The request arguments are the request model's own fields, in its order: no second list to keep in step
# (a batch item takes every one; the single operator reads each from its attribute of the same name).
REQUEST_FIELDS = tuple(VideoRequest.model_fields)


def request_fields(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The ``VideoRequest`` fields among an operator's arguments: storage paths as URIs, unset ones left out."""
    fields = {name: arguments.get(name) for name in REQUEST_FIELDS}
    fields.update({name: _media_uris(fields[name]) for name in MEDIA_FIELDS})
    return {name: value for name, value in fields.items() if value not in (None, [], {}, ())}


def check_request_shape(arguments: Mapping[str, Any]) -> None:
    """Types, sane ranges and media forms of the request fields already known while the DAG is parsed.

    Raises ``RequestValidationError``. Templated fields and the gateway's own rules for the model wait for
    ``execute`` (the gateway is named by the connection, which a DAG file should not look up while parsed).
    """
    known = {name: value for name, value in request_fields(arguments).items() if is_concrete(value)}
    VideoRequest.from_fields({"model": "placeholder", **known})


def scheme_problem(name: str, value: Any) -> str | None:
    """What is wrong with a storage path: no scheme (given as text), or a scheme whose store is not installed
    here (or that Airflow's object storage does not read); None when it is fine."""
    if isinstance(value, ObjectStoragePath):
        scheme = value.protocol
    elif isinstance(value, str) and "://" in value:
        scheme = value.split("://", 1)[0].lower()
    else:
        scheme = None
    if scheme is not None:
        unsupported = scheme_support_problem(scheme)
        return f"{name}={str(value)!r}: {unsupported}" if unsupported else None
    if not isinstance(value, str):
        return None
    hint = f"s3://{value.lstrip('/')}" if not value.startswith("/") else f"file://{value}"
    return (
        f"{name}={value!r} has no scheme, so it would be written to the worker's local disk; "
        f"write {hint} (or any other scheme, such as file:///absolute/path)"
    )


def parse_time_scheme_problem(name: str, value: Any) -> str | None:
    """``scheme_problem`` for a value seen while the DAG is parsed: a template is judged once rendered."""
    return None if is_template(value) else scheme_problem(name, value)


def is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def is_concrete(value: Any) -> bool:
    """Plain data with no Jinja in it (an XComArg or other lazy value is not)."""
    if isinstance(value, list):
        return all(is_concrete(item) for item in value)
    if isinstance(value, str):
        return not is_template(value)
    return isinstance(value, int | float | bool | dict)


def _media_uris(value: Any) -> Any:
    """A media field with ``ObjectStoragePath`` objects written as their URIs (the request holds text)."""
    if isinstance(value, ObjectStoragePath):
        return storage_uri(value)
    if isinstance(value, list):
        return [_media_uris(item) for item in value]
    return value
