"""The sans-I/O Gateway interface: requests become plain HTTP call descriptions, replies become models.

A dialect never opens a socket. The hook runs the :class:`HttpCall` a dialect builds and hands the
reply back as an :class:`HttpResponse`; everything gateway-specific (paths, field names, casing,
envelopes, status words, error bodies) stays in the dialect's module.
"""

from __future__ import annotations

import difflib
import email.utils
import json
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Literal
from urllib.parse import quote, urlsplit

from airflow_provider_seedance.exceptions import (
    AuthenticationError,
    GatewayError,
    InsufficientCreditError,
    InvalidRequestError,
    Problem,
    RateLimitError,
    RequestValidationError,
    ServerError,
    TaskNotFoundError,
    UnexpectedResponseError,
)
from airflow_provider_seedance.gateways.delivery import DEFAULT_DELIVERY_ORDER, AssetState, Delivery, MediaChannels
from airflow_provider_seedance.gateways.fields import scrub
from airflow_provider_seedance.gateways.spec import ModelSpec, common_problems
from airflow_provider_seedance.models import TaskState, TaskStatus, VideoRequest

log = logging.getLogger(__name__)

Artifact = Literal["video", "last_frame"]
# (gateway, model) pairs already warned about as unknown in this process: one warning per task, not per call.
_WARNED_MODELS: set[tuple[str, str]] = set()
# The submit body holds media only in forms the gateway takes as they are: delivery happened before.
SENT_AS_IS: tuple[Delivery, ...] = ()


@dataclass(frozen=True)
class HttpCall:
    """One HTTP request to make: ``path`` is below the connection's base URL unless it is absolute.

    ``authenticated`` is False for result URLs on a CDN, which must never receive the API key.
    """

    method: Literal["GET", "POST", "DELETE"]
    path: str
    # A list value repeats the parameter (``?a=1&a=2``).
    query: Mapping[str, str | Sequence[str]] = field(default_factory=dict)
    json: Mapping[str, Any] | None = None
    authenticated: bool = True
    # Multipart form files, as httpx takes them: field name -> (file name, bytes, content type).
    files: Mapping[str, tuple[str, bytes, str]] | None = None

    @property
    def is_absolute(self) -> bool:
        return self.path.startswith(("http://", "https://"))


@dataclass(frozen=True)
class HttpResponse:
    """A reply as the hook received it; header names are compared case-insensitively."""

    status_code: int
    content: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == wanted), None)

    def json_or_none(self) -> Any:
        """The decoded JSON body, or None when the body is empty or not JSON (HTML error pages, proxies)."""
        try:
            return json.loads(self.content)
        except ValueError:
            return None


def parse_retry_after(value: str | None) -> float | None:
    """Read a Retry-After header given as seconds or as an HTTP-date; None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    return max(0.0, email.utils.mktime_tz(parsed) - time.time())


STATUS_ERRORS: Mapping[int, type[GatewayError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    402: InsufficientCreditError,
    403: AuthenticationError,
    404: TaskNotFoundError,
    410: TaskNotFoundError,
    422: InvalidRequestError,
    429: RateLimitError,
}


@dataclass(frozen=True)
class ErrorBody:
    """The parts of a gateway's error reply that our errors carry.

    ``kind`` is the gateway's error category (an OpenAI-style ``type``), looked up in
    ``Gateway.error_kinds``; ``status`` is an HTTP status stated inside the body, used for
    classification when an error arrives inside a 200 reply.
    """

    message: str
    code: str | None = None
    request_id: str | None = None
    kind: str | None = None
    status: int | None = None


class Gateway(ABC):
    """One gateway's dialect. Subclasses fill in the class attributes and the abstract methods."""

    name: ClassVar[str]
    default_base_url: ClassVar[str | None]
    submit_path: ClassVar[str]
    status_path: ClassVar[str]
    cancel_path: ClassVar[str | None] = None
    models: ClassVar[Mapping[str, ModelSpec]]
    unknown_model_spec: ClassVar[ModelSpec]
    # Body keys the dialect sets from VideoRequest fields; ``extra`` may not override them.
    managed_body_keys: ClassVar[frozenset[str]]
    # Task states in which the gateway's cancel call works (Ark cancels only queued tasks).
    cancellable_states: ClassVar[frozenset[TaskState]] = frozenset()
    # Gateway error codes, then error categories, that pick a more precise class than the HTTP status.
    error_codes: ClassVar[Mapping[str, type[GatewayError]]] = {}
    error_kinds: ClassVar[Mapping[str, type[GatewayError]]] = {}
    # Media kinds ("image", "video", "audio") the gateway's upload endpoint takes (it answers with a URL).
    upload_media_kinds: ClassVar[frozenset[str]] = frozenset()
    # Models whose asset:// ids come from an asset library we can fill (upload by URL, audit, then use).
    asset_library_models: ClassVar[frozenset[str]] = frozenset()
    asset_library_kinds: ClassVar[frozenset[str]] = frozenset()
    # Whether ``build_list``/``parse_list`` can find a task by model, seed and creation time (Ark's list).
    lists_tasks: ClassVar[bool] = False
    # How many task ids one ``build_batch_status`` call may name; 0 where the gateway has no batch status call
    # (its tasks are polled one by one).
    batch_status_limit: ClassVar[int] = 0
    # When a 404 on a task being waited for means "gone": (consecutive 404s, seconds from the first of them
    # to the last). None: the first 404 does. Set where the gateway documents 404s for tasks that exist.
    not_found_grace: ClassVar[tuple[int, float] | None] = None
    # The web console where an account's tasks can be looked at, by the API host it serves. Only hosts
    # whose console is known: a proxy, a reseller or a simulator in front of the same API gets no link,
    # since a link to another account's console would be a wrong place.
    consoles: ClassVar[Mapping[str, str]] = {}
    # Which upstream Seedance model each model id sells (``seedance-2.0``, ``seedance-2.0-fast``...): the same
    # model has another id on every gateway, and failover maps a request's model by it. A model left out is
    # one this dialect cannot vouch for (a gateway's own route or variant); it is mapped only by the connection.
    upstream_models: ClassVar[Mapping[str, str]] = {}

    def upstream_of(self, model: str) -> str | None:
        """The upstream model ``model`` is on this gateway; None when the dialect cannot say."""
        return self.upstream_models.get(model)

    def model_for(self, upstream: str, base_url: str) -> str | None:
        """This gateway's id for the upstream model ``upstream`` (the first the dialect lists); None when it sells
        none. ``base_url`` lets a dialect whose ids differ by region pick the region's (Ark)."""
        return next((model for model, sold in self.upstream_models.items() if sold == upstream), None)

    def console_url(self, base_url: str) -> str | None:
        """The console of the account behind ``base_url``; None where none is known for that host."""
        return self.consoles.get((urlsplit(base_url).hostname or "").lower())

    # ---- validation -------------------------------------------------------------------------

    def spec_for(self, model: str) -> ModelSpec:
        """The model's constraints, or the gateway-wide ones for a model we do not know.

        An unknown model is sent anyway (it may be newer than this release); the warning saying so is
        logged once per process, with the closest known id when one looks like a typo of it.
        """
        spec = self.models.get(model)
        if spec is None:
            if (self.name, model) not in _WARNED_MODELS:
                _WARNED_MODELS.add((self.name, model))
                log.warning(
                    "Model %r is not known to the %s dialect (known: %s); sending it with structural checks only "
                    "(no model-family limits).%s",
                    model,
                    self.name,
                    ", ".join(sorted(self.models)),
                    self.model_hint(model),
                )
            return self.unknown_model_spec
        return spec

    def model_hint(self, model: str) -> str:
        """ " Did you mean '<id>'?" for a model id one or two characters away from a known one; else ""."""
        if model in self.models:
            return ""
        close = difflib.get_close_matches(model, list(self.models), n=1, cutoff=0.9)
        return f" Did you mean {close[0]!r}?" if close else ""

    def validate(self, request: VideoRequest, delivery_order: Sequence[Delivery] = DEFAULT_DELIVERY_ORDER) -> None:
        """Raise one ``RequestValidationError`` listing every problem, or return when the request is sendable.

        Inputs in object storage pass when one of ``delivery_order`` can bring them to this gateway.
        """
        spec = self.spec_for(request.model)
        problems = [
            *common_problems(request, spec, self.managed_body_keys, self.media_channels(request.model), delivery_order),
            *self.extra_problems(request, spec),
        ]
        if problems:
            raise RequestValidationError(self.name, problems)

    def media_channels(self, model: str) -> MediaChannels:
        """The upload endpoint and asset library this gateway offers for ``model``."""
        assets = self.asset_library_kinds if model in self.asset_library_models else frozenset()
        return MediaChannels(upload_kinds=self.upload_media_kinds, asset_kinds=assets)

    def extra_problems(self, request: VideoRequest, spec: ModelSpec) -> Iterable[Problem]:
        """Rules only this gateway has; the default has none."""
        return ()

    # ---- calls --------------------------------------------------------------------------------

    def build_submit(self, request: VideoRequest) -> HttpCall:
        """Validate, then describe the paid submit call (``extra`` merged into the body verbatim)."""
        self.validate(request, delivery_order=SENT_AS_IS)
        return HttpCall("POST", self.submit_path, json={**self.submit_body(request), **request.extra})

    @abstractmethod
    def submit_body(self, request: VideoRequest) -> dict[str, Any]:
        """The JSON body for a validated request, without ``extra``."""

    def build_status(self, task_id: str) -> HttpCall:
        return HttpCall("GET", self.status_path.format(task_id=quote(task_id, safe="")))

    def can_cancel(self, state: TaskState) -> bool:
        """Whether the gateway's cancel call applies to a task in ``state``."""
        return self.cancel_path is not None and state in self.cancellable_states

    def build_cancel(self, task_id: str) -> HttpCall | None:
        """The cancel call, or None where the gateway's API has no way to cancel."""
        if self.cancel_path is None:
            return None
        return HttpCall("DELETE", self.cancel_path.format(task_id=quote(task_id, safe="")))

    def build_list(self, model: str, page: int, page_size: int) -> HttpCall:
        """One page of the account's recent tasks of ``model``, newest first (only where ``lists_tasks``)."""
        raise NotImplementedError(f"{self.name} has no task list")

    def parse_list(self, response: HttpResponse) -> list[TaskStatus]:
        """The tasks of one list page; ``raw`` keeps each task object (its seed and creation time)."""
        raise NotImplementedError(f"{self.name} has no task list")

    def build_batch_status(self, task_ids: Sequence[str]) -> HttpCall:
        """One call asking for the status of up to ``batch_status_limit`` tasks (only where that is set)."""
        raise NotImplementedError(f"{self.name} has no batch status call")

    def parse_batch_status(self, response: HttpResponse) -> dict[str, TaskStatus]:
        """Each named task's status by id; a task the reply leaves out is absent (ask for it on its own)."""
        raise NotImplementedError(f"{self.name} has no batch status call")

    def build_download(self, status: TaskStatus, artifact: Artifact = "video") -> HttpCall:
        """Fetch a finished artifact from its result URL, without our credentials."""
        url = status.video_url if artifact == "video" else status.last_frame_url
        if not url:
            raise UnexpectedResponseError(
                f"task {status.task_id} has no {artifact} URL (state {status.state})", gateway=self.name
            )
        return HttpCall("GET", url, authenticated=False)

    # ---- media side doors: an upload endpoint, an asset library (see gateways/delivery.py) -----------

    def build_upload(self, filename: str, content_type: str, data: bytes) -> HttpCall:
        """Post a file to the gateway's upload endpoint (only where ``upload_media_kinds`` is set)."""
        raise NotImplementedError(f"{self.name} has no upload endpoint")

    def parse_upload(self, response: HttpResponse) -> str:
        """The URL the gateway serves the uploaded file from."""
        raise NotImplementedError(f"{self.name} has no upload endpoint")

    def build_asset_create(self, name: str, media: str, url: str) -> HttpCall:
        """Ask the asset library to take (and audit) the file at ``url``."""
        raise NotImplementedError(f"{self.name} has no asset library")

    def parse_asset_create(self, response: HttpResponse) -> str:
        """The new asset's id."""
        raise NotImplementedError(f"{self.name} has no asset library")

    def build_asset_status(self, asset_ids: Sequence[str]) -> HttpCall:
        raise NotImplementedError(f"{self.name} has no asset library")

    def parse_asset_status(self, response: HttpResponse) -> dict[str, AssetState]:
        """Each asked-for asset's state; an id the reply leaves out is missing from the dict."""
        raise NotImplementedError(f"{self.name} has no asset library")

    def auth_headers(self, api_key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_key}"}

    # ---- replies ------------------------------------------------------------------------------

    @abstractmethod
    def parse_submit(self, response: HttpResponse) -> TaskStatus:
        """The task the gateway created; raises the typed error for an error reply."""

    @abstractmethod
    def parse_status(self, response: HttpResponse) -> TaskStatus:
        """The task's current status; raises the typed error for an error reply."""

    def parse_cancel(self, response: HttpResponse) -> None:
        self.checked_json(response)

    def checked_json(self, response: HttpResponse, *, submit: bool = False) -> Any:
        """The JSON body of a successful reply; raises the typed error for anything else.

        ``submit`` marks the reply to a submit, where a 404 means a wrong URL, not a missing task.
        """
        if response.status_code >= 400:
            raise self.error_from(response, submit=submit)
        body = response.json_or_none()
        if body is None:
            raise UnexpectedResponseError(
                f"expected a JSON body, got {response.content[:200]!r}",
                gateway=self.name,
                status_code=response.status_code,
            )
        business_error = self.business_error(body)
        if business_error is not None:
            raise self.make_error(response.status_code, business_error, self.retry_after(response), submit=submit)
        return body

    def business_error(self, body: Any) -> ErrorBody | None:
        """An error reported inside a successful HTTP reply (a business code, an error envelope); None if none."""
        return None

    def error_from(self, response: HttpResponse, *, submit: bool = False) -> GatewayError:
        """Turn an error reply (any HTTP status, any body) into the typed error."""
        body = response.json_or_none()
        parsed = self.parse_error_body(body) if body is not None else None
        structured = parsed is not None
        if parsed is None:
            text = response.content[:200].decode("utf-8", "replace").strip()
            parsed = ErrorBody(message=text or f"HTTP {response.status_code} with an empty body")
        error = self.make_error(response.status_code, parsed, self.retry_after(response), submit=submit)
        error.structured = structured
        return error

    def retry_after(self, response: HttpResponse) -> float | None:
        """Seconds the gateway asks us to wait, from ``Retry-After``; dialects may read other headers."""
        return parse_retry_after(response.header("retry-after"))

    def make_error(
        self,
        status_code: int | None,
        body: ErrorBody,
        retry_after: float | None = None,
        *,
        submit: bool = False,
    ) -> GatewayError:
        """Pick the error class from the gateway's code, then its error category, then the HTTP status."""
        status = body.status or status_code or 0
        body = replace(body, message=scrub(body.message))
        cls = (
            self.classify(body.code, body.message)
            or self.error_kinds.get(body.kind or "")
            or STATUS_ERRORS.get(status)
            or (ServerError if status >= 500 else UnexpectedResponseError)
        )
        message = body.message
        if submit and cls is TaskNotFoundError:
            # Nothing exists yet to be "not found": the submit URL itself is wrong.
            cls = InvalidRequestError
            message = f"{message} (the submit endpoint was not found: check the connection's base URL and gateway)"
        kwargs: dict[str, Any] = {
            "gateway": self.name,
            "status_code": status_code,
            "code": body.code,
            "request_id": body.request_id,
        }
        if cls is RateLimitError:
            return RateLimitError(message, retry_after=retry_after, **kwargs)
        return cls(message, **kwargs)

    def classify(self, code: str | None, message: str) -> type[GatewayError] | None:
        """The error class the gateway's own code implies, if the dialect knows it."""
        return self.error_codes.get(code) if code is not None else None

    @abstractmethod
    def parse_error_body(self, body: Any) -> ErrorBody | None:
        """Read the gateway's error envelope; None when the body is not in that shape."""


def state_from(word: Any, table: Mapping[str, TaskState], gateway: str) -> TaskState:
    """Map a status word; a word we have never seen keeps the task RUNNING so the deadline decides.

    Failing on an unknown word would fail a paid generation that may still succeed; polling on is
    bounded by the trigger's deadline, and the raw reply is kept on the status for diagnosis.
    """
    state = table.get(str(word))
    if state is None:
        log.warning("%s reported an unknown task status %r; treating it as running.", gateway, word)
        return TaskState.RUNNING
    return state
