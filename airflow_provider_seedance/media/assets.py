"""The asset registry: which bytes a gateway's asset library has already approved, by content sha256.

An audit takes time and may be limited, and the same product image is used night after night, so an
approved asset id is remembered in a small JSON document per gateway, connection and sha256 under a
registry folder in object storage (any scheme). Before reuse the id's state is asked again: an asset
the gateway dropped is audited anew. No library keeps such a record: it is specific to these gateways.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from airflow.sdk import ObjectStoragePath

from airflow_provider_seedance.compat import storage_conn_id
from airflow_provider_seedance.outputs.layout import ASSET_REGISTRY_FOLDER
from airflow_provider_seedance.outputs.store import read_json, storage_uri, write_json

log = logging.getLogger(__name__)

REGISTRY_VERSION = 1


@dataclass(frozen=True)
class RegisteredAsset:
    gateway: str
    seedance_conn_id: str
    asset_id: str
    media: str
    sha256: str
    size: int
    approved_at: str


class AssetRegistry:
    """Approved asset ids under ``root``: ``<root>/<gateway>/<conn id>/<sha256>.json``."""

    def __init__(self, root: ObjectStoragePath) -> None:
        self.root = root

    def _path(self, gateway: str, conn_id: str, sha256: str) -> ObjectStoragePath:
        return self.root / gateway / conn_id / f"{sha256}.json"

    def get(self, gateway: str, conn_id: str, sha256: str) -> RegisteredAsset | None:
        document = read_json(self._path(gateway, conn_id, sha256))
        if document is None or document.get("registry_version") != REGISTRY_VERSION:
            return None
        try:
            return RegisteredAsset(**{name: document[name] for name in RegisteredAsset.__dataclass_fields__})
        except (KeyError, TypeError):
            return None

    def put(self, asset: RegisteredAsset) -> None:
        path = self._path(asset.gateway, asset.seedance_conn_id, asset.sha256)
        try:
            write_json(path, {"registry_version": REGISTRY_VERSION, **asdict(asset)})
        except Exception as exc:  # any store's own error: the asset is approved either way
            log.warning(
                "Could not remember asset %s in %s (%s); it may be audited again.",
                asset.asset_id,
                storage_uri(path),
                exc,
            )


def default_registry_root(output: ObjectStoragePath) -> ObjectStoragePath:
    """The registry beside the outputs: at the bucket's top for object stores, else in the output's folder.

    The bucket's top is shared by every run and DAG writing there, so an asset approved once is found
    again tomorrow, whatever dated folder tomorrow's videos land in.
    """
    if output.protocol == "file":
        return output.parent / ASSET_REGISTRY_FOLDER
    bucket = output.path.split("/", 1)[0]
    return ObjectStoragePath(f"{output.protocol}://{bucket}/{ASSET_REGISTRY_FOLDER}", conn_id=storage_conn_id(output))
