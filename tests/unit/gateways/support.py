"""Helpers shared by the dialect tests: build replies and check validation errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_seedance.exceptions import RequestValidationError
from airflow_provider_seedance.gateways.base import Gateway, HttpResponse
from airflow_provider_seedance.models import VideoRequest


def reply(status_code: int, body: Any, **headers: str) -> HttpResponse:
    """An HttpResponse whose body is ``body`` as JSON, or as given when it is already bytes or str."""
    if isinstance(body, bytes):
        content = body
    elif isinstance(body, str):
        content = body.encode()
    else:
        content = json.dumps(body).encode()
    return HttpResponse(status_code=status_code, content=content, headers=headers)


def request(**fields: Any) -> VideoRequest:
    return VideoRequest.from_fields(fields)


def assert_rejected(gateway: Gateway, fields: dict[str, Any], field: str, allowed: str) -> None:
    """Validation fails, and its message names the field, the value given and what is allowed."""
    with pytest.raises(RequestValidationError) as caught:
        gateway.build_submit(request(**fields))
    message = str(caught.value)
    matching = [problem for problem in caught.value.problems if problem.field == field]
    assert matching, f"no problem reported for {field!r}; got: {message}"
    assert any(allowed in problem.allowed for problem in matching), message
    assert field in message
    for problem in matching:
        assert repr(problem.value) in message
