"""The items of a batch: each one a generation's request fields plus its own ``output_path``, checked.

The list is checked as a whole (not empty, every item a mapping of known fields with an output path,
no output path twice) both when the DAG is parsed (when the list is already there) and when the task
runs (when it came from XCom or a template); each item's request fields also get the single operator's
parse-time checks. Problems name the item by its index and end with what to do next.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow.sdk import ObjectStoragePath

from airflow_provider_seedance.exceptions import BatchListError, RequestValidationError
from airflow_provider_seedance.generation.request_fields import (
    REQUEST_FIELDS,
    check_request_shape,
    parse_time_scheme_problem,
)
from airflow_provider_seedance.outputs.store import storage_uri

ITEM_FIELDS = (*REQUEST_FIELDS, "output_path")
FIX_LIST = "Next: fix the list of requests (or the task that builds it), then clear the task."


@dataclass(frozen=True)
class BatchItem:
    """One generation of a batch: where it is in the list, its output as text (its key), and its fields."""

    index: int
    key: str
    output_path: str | ObjectStoragePath
    fields: dict[str, Any]


def batch_items(requests: Any, defaults: Mapping[str, Any]) -> list[BatchItem]:
    """The items of ``requests`` (each laid over ``defaults``); ``BatchListError`` naming the items at fault."""
    if not isinstance(requests, Sequence) or isinstance(requests, str | bytes):
        raise BatchListError(
            f"requests={_short(requests)}: a list of dicts is needed (one per video, each with its output_path). "
            f"{FIX_LIST}"
        )
    if not requests:
        raise BatchListError(f"requests is empty: there is nothing to generate. {FIX_LIST}")
    unknown_defaults = sorted(set(defaults) - set(REQUEST_FIELDS))
    if unknown_defaults:
        raise BatchListError(
            f"defaults has {', '.join(map(repr, unknown_defaults))}; allowed: the request fields "
            f"({', '.join(REQUEST_FIELDS)}). Settings such as seedance_conn_id are arguments of the operator. "
            f"{FIX_LIST}"
        )
    problems: list[str] = []
    items: list[BatchItem] = []
    for index, request in enumerate(requests):
        if not isinstance(request, Mapping):
            problems.append(f"requests[{index}]={_short(request)} is not a dict")
            continue
        unknown = sorted(set(request) - set(ITEM_FIELDS))
        if unknown:
            problems.append(
                f"requests[{index}] has {', '.join(map(repr, unknown))}; allowed: {', '.join(ITEM_FIELDS)} "
                "(settings such as seedance_conn_id or output_conn_id are arguments of the operator)"
            )
            continue
        output_path = request.get("output_path")
        if not output_path:
            problems.append(f"requests[{index}] has no output_path; every item needs its own")
            continue
        key = storage_uri(output_path) if isinstance(output_path, ObjectStoragePath) else str(output_path)
        fields = {**defaults, **{name: value for name, value in request.items() if name != "output_path"}}
        items.append(BatchItem(index=index, key=key, output_path=output_path, fields=fields))
    by_key: defaultdict[str, list[int]] = defaultdict(list)
    for item in items:
        by_key[item.key].append(item.index)
    problems.extend(
        f"requests{indexes} share output_path {key!r}; each item needs its own (one would overwrite the other)"
        for key, indexes in by_key.items()
        if len(indexes) > 1
    )
    if problems:
        raise BatchListError(f"{len(problems)} problem(s) in requests: " + "; ".join(problems) + f". {FIX_LIST}")
    return items


def parse_time_problems(items: Sequence[BatchItem]) -> list[str]:
    """Each item's problems that are known before the task runs (as the single operator checks its own)."""
    problems: list[str] = []
    for item in items:
        scheme = parse_time_scheme_problem("output_path", item.output_path)
        if scheme:
            problems.append(f"requests[{item.index}]: {scheme}")
        try:
            check_request_shape(item.fields)
        except RequestValidationError as exc:
            problems.append(f"requests[{item.index}]: {exc}")
    return problems


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
