"""OpenLineage facets of a generation operator's run: the media it read, the objects it stored, the generations.

The OpenLineage provider is optional. Only the operators' ``get_openlineage_facets_on_complete`` imports
this module, and only the provider's listener calls that method, so without the provider (or with it
disabled) nothing here is ever imported.

What a run reports, for each generation the task concluded (one for ``SeedanceGenerateVideoOperator``,
one per item for ``SeedanceBatchGenerateVideoOperator``):

- outputs: the video, its last frame (when stored) and its manifest, for the generations this run stored.
  A generation found already stored (``skip_existing``) wrote nothing, so it adds no dataset; a failed
  batch item neither. Names follow OpenLineage's naming through the provider's own converters (the ones
  hook-level lineage uses): ``s3://bucket`` + key, ``file`` + absolute path; a scheme without a converter
  (``gs`` without the Google provider, ``abfs``...) gives ``scheme://authority`` + the path without its
  leading slash.
- inputs: the media inputs of those generations that are objects in storage or ``http(s)`` URLs. Inline
  ``data:`` payloads and gateway ``asset://`` ids are no datasets and are left out. An ``http(s)`` input is
  kept without its query, fragment and ``user:password@``: query strings are where signatures and tokens
  travel (``X-Amz-Signature``, ``Signature``/``Expires``, ``sig``, ``token``...), and a list of the
  harmless ones would always miss one, so no query is kept at all. A storage URI's ``conn_id@`` is
  dropped too (Airflow reads it as a connection id; it names no data).
- run facet ``seedance`` (``SeedanceRunFacet``): one entry per generation, in the task's order, with its
  status (``stored``, ``skipped``, ``failed``), video, gateway, the connection that served it (and those its
  failover chain passed over first), remote task id, model, seed, usage and
  costs (a failed item: its output, remote task id when known, and cause). One list for both operators,
  so a consumer reads a single task and a batch the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from airflow.providers.common.compat.openlineage.facet import Dataset, RunFacet
from airflow.providers.openlineage.extractors import OperatorLineage
from airflow.providers.openlineage.utils.utils import translate_airflow_asset
from airflow.sdk import Asset
from attrs import define

from airflow_provider_seedance.models import MEDIA_FIELDS, MediaKind, media_kind

RUN_FACET_NAME = "seedance"
SCHEMA_URL = (
    "https://raw.githubusercontent.com/airflow-provider-seedance/airflow-provider-seedance/main/"
    "airflow_provider_seedance/observability/facets/SeedanceRunFacet.json#/$defs/SeedanceRunFacet"
)
# (the request fields of a generation, its result: the single operator's return value or a batch report entry)
Concluded = tuple[Mapping[str, Any], Mapping[str, Any]]


@define
class SeedanceRunFacet(RunFacet):
    """The generations of one task run: what each one was made by, with which seed, at what cost."""

    generations: list[dict[str, Any]]

    @staticmethod
    def _get_schema() -> str:
        return SCHEMA_URL


def operator_lineage(concluded: Iterable[Concluded]) -> OperatorLineage[Dataset, RunFacet]:
    """Inputs, outputs and the ``seedance`` run facet of the generations a task concluded."""
    inputs: dict[tuple[str, str], Dataset] = {}
    outputs: dict[tuple[str, str], Dataset] = {}
    generations = []
    for fields, result in concluded:
        entry = generation_entry(result)
        generations.append(entry)
        if entry["status"] != "stored":
            continue
        stored = (result.get(name) for name in ("video_path", "last_frame_path", "manifest_path"))
        _add(outputs, (storage_dataset(uri) for uri in stored if uri))
        _add(inputs, (input_dataset(uri) for uri in media_uris(fields)))
    return OperatorLineage(
        inputs=list(inputs.values()),
        outputs=list(outputs.values()),
        run_facets={RUN_FACET_NAME: SeedanceRunFacet(generations=generations)} if generations else {},
    )


def generation_entry(result: Mapping[str, Any]) -> dict[str, Any]:
    """One generation as the run facet lists it (unknown values left out)."""
    status = result.get("status") or ("skipped" if result.get("skipped") else "stored")
    entry = {
        "status": status,
        "video": result.get("video_path") or result.get("output_path"),
        "gateway": result.get("gateway"),
        "connection": result.get("seedance_conn_id"),
        "failedOverFrom": result.get("failed_over_from") or None,
        "remoteTaskId": result.get("remote_task_id"),
        "model": result.get("model"),
        "seed": result.get("seed"),
        "usage": result.get("usage"),
        "estimatedCost": result.get("estimated_cost"),
        "actualCost": result.get("actual_cost"),
        "currency": result.get("currency"),
        "cause": result.get("cause"),
    }
    return {key: value for key, value in entry.items() if value is not None}


def media_uris(fields: Mapping[str, Any]) -> list[str]:
    """Every media reference among a generation's request fields (as ``request_fields`` gives them)."""
    values = [fields.get(name) for name in MEDIA_FIELDS]
    return [uri for value in values if value for uri in (value if isinstance(value, list) else [value])]


def input_dataset(uri: str) -> Dataset | None:
    """A media input as a dataset: objects in storage and http(s) URLs without their query; else None."""
    try:
        kind = media_kind(uri)
    except ValueError:
        return None
    if kind is MediaKind.STORAGE:
        return storage_dataset(uri)
    if kind is not MediaKind.URL:
        return None  # inline data and gateway asset ids
    parts = urlsplit(uri)
    try:
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    authority = parts.hostname + (f":{port}" if port else "")
    return Dataset(namespace=f"{parts.scheme.lower()}://{authority}", name=parts.path or "/")


def storage_dataset(uri: str) -> Dataset:
    """An object-storage URI as OpenLineage names it (see the module docstring)."""
    parts = urlsplit(uri)
    host = parts.netloc.rpartition("@")[2]
    plain = urlunsplit((parts.scheme.lower(), host, parts.path, "", ""))
    try:
        converted = translate_airflow_asset(Asset(plain), None)
    except ValueError:  # not a URI Airflow takes as an asset
        converted = None
    if converted is not None:
        return Dataset(namespace=converted.namespace, name=converted.name)
    return Dataset(namespace=f"{parts.scheme.lower()}://{host}", name=parts.path.lstrip("/") or "/")


def _add(into: dict[tuple[str, str], Dataset], datasets: Iterable[Dataset | None]) -> None:
    for dataset in datasets:
        if dataset is not None:
            into.setdefault((dataset.namespace, dataset.name), dataset)
