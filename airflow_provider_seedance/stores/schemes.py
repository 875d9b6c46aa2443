"""The object stores outputs and media inputs may live in, by URI scheme, and what each needs installed.

Pure data and an import check (no store library is imported here), so the paths a DAG file names are judged
while it is parsed: a ``gs://`` output on a machine without the Google provider fails then, naming the extra
to install, instead of after the generation was paid for.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.util import find_spec

PACKAGE = "airflow-provider-seedance"


@dataclass(frozen=True)
class StoreKind:
    """One kind of object store: the schemes Airflow's object storage reads it by and what it needs."""

    name: str
    schemes: frozenset[str]
    # Importable once the store's Airflow provider and its fsspec library are installed.
    modules: tuple[str, ...]
    # Our extra that installs them (None: a dependency of the package itself).
    extra: str | None
    # What the store's time-limited GET URLs are called (in logs and errors).
    signed_url: str

    def missing_modules(self) -> list[str]:
        return [module for module in self.modules if not _installed(module)]


S3 = StoreKind(
    name="Amazon S3",
    schemes=frozenset({"s3", "s3a", "s3n"}),
    modules=("airflow.providers.amazon", "s3fs"),
    extra=None,
    signed_url="presigned URL",
)
GCS = StoreKind(
    name="Google Cloud Storage",
    schemes=frozenset({"gs", "gcs"}),
    modules=("airflow.providers.google", "gcsfs"),
    extra="google",
    signed_url="V4 signed URL",
)
AZURE = StoreKind(
    name="Azure Blob Storage",
    schemes=frozenset({"abfs", "abfss"}),
    modules=("airflow.providers.microsoft.azure", "adlfs"),
    extra="azure",
    signed_url="SAS URL",
)
CLOUD_STORES = (S3, GCS, AZURE)
LOCAL_SCHEMES = frozenset({"file", "local"})
# Objects of these schemes can be handed to a gateway as a time-limited GET URL signed with their connection.
SIGNABLE_SCHEMES = frozenset().union(*(kind.schemes for kind in CLOUD_STORES))
# Schemes users know from Azure tools that Airflow's object storage does not register: the path to write instead.
AZURE_ALIASES = {"wasb": "abfs", "wasbs": "abfss", "az": "abfs"}


@cache
def _installed(module: str) -> bool:
    """Looked up once per process: every operator a DAG file builds, and every request, asks."""
    return find_spec(module) is not None


def store_kind(scheme: str) -> StoreKind | None:
    """The cloud store a scheme names; None for local files and other fsspec schemes."""
    return next((kind for kind in CLOUD_STORES if scheme in kind.schemes), None)


def scheme_support_problem(scheme: str) -> str | None:
    """Why paths of ``scheme`` cannot be read or written here (a missing extra, an alias); None when they can."""
    if scheme in AZURE_ALIASES:
        return (
            f"{scheme}:// is not a scheme Airflow's object storage reads; write "
            f"{AZURE_ALIASES[scheme]}://<container>/<path> (Blob Storage and ADLS Gen2 alike) with an Azure "
            "connection (conn_type wasb) as its connection"
        )
    kind = store_kind(scheme)
    if kind is None or kind.extra is None:
        return None
    missing = kind.missing_modules()
    if not missing:
        return None
    return (
        f"{scheme}:// paths ({kind.name}) need {', '.join(missing)}, which are not installed; install "
        f"'{PACKAGE}[{kind.extra}]' on every Airflow machine (scheduler, workers, triggerer)"
    )
