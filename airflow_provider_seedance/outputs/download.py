"""A finished generation's download as a readable file: hashed as it passes, resumed when it drops.

Upload libraries (s3transfer, fsspec files) pull from a file object; the hook pushes chunks from an HTTP
response that may die halfway. ``DownloadReader`` sits between them: ``read(n)`` returns exactly ``n``
bytes (fewer only at the end), reopening the download at the last byte received when the connection
drops, and it ends only once the whole announced size has arrived. A download that cannot be finished
raises from ``read`` instead of ending, so the library uploading it aborts and never completes a
partial object.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack

from airflow_provider_seedance.exceptions import IncompleteTransferError, TransportError
from airflow_provider_seedance.hooks.downloads import ArtifactStream

log = logging.getLogger(__name__)

MAX_RESUMES = 5

# ``open_stream(offset)`` opens the download from ``offset`` (an HTTP Range request when it is not 0).
OpenStream = Callable[[int], AbstractContextManager[ArtifactStream]]


class DownloadReader(io.BufferedIOBase):
    """The bytes ``open_stream`` gives; ``size`` and ``sha256`` describe them once ``read`` returned b''.

    ``name`` only labels the log lines and errors (the destination, without credentials).
    """

    def __init__(self, open_stream: OpenStream, name: str, *, max_resumes: int = MAX_RESUMES) -> None:
        super().__init__()
        self._open_stream = open_stream
        self.name = name
        self._max_resumes = max_resumes
        self._resumes = 0
        self._digest = hashlib.sha256()
        self.size = 0  # bytes taken from the network: the offset a resume asks for
        self.content_type: str | None = None
        self._response = ExitStack()  # the open download, if any
        self._chunks: Iterator[bytes] | None = None
        self._total: int | None = None
        self._skip = 0
        self._rest = b""  # what the last read left of the last chunk
        self._finished = False

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        """``size`` bytes (all that is left when negative or None); fewer only at the verified end."""
        pieces: list[bytes] = []
        gathered = 0
        while size is None or size < 0 or gathered < size:
            chunk = self._rest or self._next_chunk()
            if not chunk:
                break
            cut = len(chunk) if size is None or size < 0 else min(len(chunk), size - gathered)
            pieces.append(chunk[:cut] if cut < len(chunk) else chunk)
            self._rest = chunk[cut:]
            gathered += cut
        return b"".join(pieces)

    def close(self) -> None:
        self._response.close()
        super().close()

    def _next_chunk(self) -> bytes:
        """The next new bytes of the body, or b'' once all of it has arrived."""
        while not self._finished:
            try:
                if self._chunks is None:
                    self._chunks = self._open()
                for chunk in self._chunks:
                    if self._skip:  # a server that ignored our Range resends bytes we have
                        dropped = min(self._skip, len(chunk))
                        chunk, self._skip = chunk[dropped:], self._skip - dropped
                    if chunk:
                        self._digest.update(chunk)
                        self.size += len(chunk)
                        return chunk
                self._end_of_body()
            except (TransportError, IncompleteTransferError) as exc:
                self._drop_response()
                self._resumes += 1
                if self._resumes > self._max_resumes:
                    raise
                log.warning(
                    "Download interrupted with %d bytes stored (%s); resuming from there (%d of %d).",
                    self.size,
                    exc,
                    self._resumes,
                    self._max_resumes,
                )
        return b""

    def _open(self) -> Iterator[bytes]:
        """The download from ``size`` on, entered into ``_response``; its chunks."""
        stream = self._response.enter_context(self._open_stream(self.size))
        self.content_type = self.content_type or stream.content_type
        self._skip = self.size - stream.offset
        self._total = stream.total_size
        return iter(stream.chunks)

    def _end_of_body(self) -> None:
        """The response ended: finished when the announced size is all here, else resumable."""
        self._drop_response()
        if self._total is not None and self.size != self._total:
            raise IncompleteTransferError(f"received {self.size} of {self._total} bytes for {self.name}")
        self._finished = True

    def _drop_response(self) -> None:
        self._chunks = None
        self._response.close()
