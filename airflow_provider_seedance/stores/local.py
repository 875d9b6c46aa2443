"""Local files (``file://``): written to a hidden sibling, then put in place by a rename or a hard link.

fsspec keeps an uncommitted local file in the system temp folder and moves it on commit: a copy, not a
rename, when that folder is on another device (a mounted output volume), so a worker killed meanwhile
would leave part of a video at the final path, and a small /tmp would not hold it at all. The sibling is
written through the filesystem directly, so lineage names only the final path.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from collections.abc import Iterator

from airflow.sdk import ObjectStoragePath

from airflow_provider_seedance.outputs.layout import partial_name
from airflow_provider_seedance.stores.base import COPY_BUFFER, ObjectStore, report_output


class LocalStore(ObjectStore):
    exclusive_create = True

    def upload(self, source: io.BufferedIOBase, destination: ObjectStoragePath, content_type: str) -> None:
        self.make_parent(destination)
        with _hidden_sibling(destination.path) as temporary:
            with destination.fs.open(temporary, "wb") as file:
                shutil.copyfileobj(source, file, COPY_BUFFER)
            os.replace(temporary, destination.path)
        report_output(destination)

    def create(self, data: bytes, destination: ObjectStoragePath, content_type: str) -> bool:
        """Written whole to a hidden sibling, then hard-linked to the final name, which fails if the name exists."""
        self.make_parent(destination)
        with _hidden_sibling(destination.path) as temporary:
            with open(temporary, "wb") as file:
                file.write(data)
            try:
                os.link(temporary, destination.path)
            except FileExistsError:
                return False
        return True


@contextlib.contextmanager
def _hidden_sibling(final: str) -> Iterator[str]:
    """A hidden file beside ``final`` to write before it is put in place; gone afterwards, whatever happened."""
    temporary = partial_name(final)
    try:
        yield temporary
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
