"""The sans-I/O Gateway interface: requests become plain HTTP call descriptions, replies become models.

A dialect never opens a socket. The hook runs the :class:`HttpCall` a dialect builds and hands the
reply back as an :class:`HttpResponse`; everything gateway-specific (paths, field names, casing,
envelopes, status words, error bodies) stays in the dialect's module.
"""

from __future__ import annotations

import email.utils
import json
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal
from urllib.parse import quote

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
from airflow_provider_seedance.models import (
    InputMode,
    MediaKind,
    TaskState,
    TaskStatus,
    VideoRequest,
    media_kind,
)

log = logging.getLogger(__name__)

Artifact = Literal["video", "last_frame"]


@dataclass(frozen=True)
class HttpCall:
    """One HTTP request to make: ``path`` is below the connection's base URL unless it is absolute.

    ``authenticated`` is False for result URLs on a CDN, which must never receive the API key.
    """

    method: Literal["GET", "POST", "DELETE"]
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    json: Mapping[str, Any] | None = None
    authenticated: bool = True

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


@dataclass(frozen=True)
class ModelSpec:
    """What one model accepts on one gateway. ``None`` means "not checked here"."""

    durations: frozenset[int] | None = None
    resolutions: tuple[str, ...] | None = None
    ratios: tuple[str, ...] | None = None
    input_modes: frozenset[InputMode] = frozenset(InputMode)
    prompt_required: bool = False
    max_prompt_chars: int | None = None
    seed_range: tuple[int, int] | None = None
    generate_audio: bool = True
    camera_fixed: bool = True
    watermark: bool = True
    return_last_frame: bool = True
    max_reference_images: int = 9
    max_reference_videos: int = 3
    max_reference_audios: int = 3
    image_sources: frozenset[MediaKind] = frozenset({MediaKind.URL, MediaKind.DATA})
    video_sources: frozenset[MediaKind] = frozenset({MediaKind.URL})
    audio_sources: frozenset[MediaKind] = frozenset({MediaKind.URL})


def seconds(low: int, high: int) -> frozenset[int]:
    """The whole-second durations from ``low`` to ``high`` inclusive."""
    return frozenset(range(low, high + 1))


def describe_durations(durations: Iterable[int]) -> str:
    """Render allowed durations compactly: ``4-15`` or ``-1, 4-15`` or ``5, 10``."""
    runs: list[list[int]] = []
    for value in sorted(durations):
        if runs and value == runs[-1][-1] + 1:
            runs[-1].append(value)
        else:
            runs.append([value])
    return ", ".join(f"{run[0]}-{run[-1]}" if len(run) > 2 else ", ".join(map(str, run)) for run in runs)


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
    """The parts of a gateway's error reply that our errors carry."""

    message: str
    code: str | None = None
    request_id: str | None = None


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
    # Gateway error codes that pick a more precise error class than the HTTP status does.
    error_codes: ClassVar[Mapping[str, type[GatewayError]]] = {}

    # ---- validation -------------------------------------------------------------------------

    def spec_for(self, model: str) -> ModelSpec:
        """The model's constraints, or the gateway-wide ones (with a warning) for a model we do not know."""
        spec = self.models.get(model)
        if spec is None:
            log.warning(
                "Model %r is not known to the %s dialect (known: %s); sending it with gateway-wide checks only.",
                model,
                self.name,
                ", ".join(sorted(self.models)),
            )
            return self.unknown_model_spec
        return spec

    def validate(self, request: VideoRequest) -> None:
        """Raise one ``RequestValidationError`` listing every problem, or return when the request is sendable."""
        spec = self.spec_for(request.model)
        problems = [*common_problems(request, spec, self.managed_body_keys), *self.extra_problems(request, spec)]
        if problems:
            raise RequestValidationError(self.name, problems)

    def extra_problems(self, request: VideoRequest, spec: ModelSpec) -> Iterable[Problem]:
        """Rules only this gateway has; the default has none."""
        return ()

    # ---- calls --------------------------------------------------------------------------------

    def build_submit(self, request: VideoRequest) -> HttpCall:
        """Validate, then describe the paid submit call (``extra`` merged into the body verbatim)."""
        self.validate(request)
        return HttpCall("POST", self.submit_path, json={**self.submit_body(request), **request.extra})

    @abstractmethod
    def submit_body(self, request: VideoRequest) -> dict[str, Any]:
        """The JSON body for a validated request, without ``extra``."""

    def build_status(self, task_id: str) -> HttpCall:
        return HttpCall("GET", self.status_path.format(task_id=quote(task_id, safe="")))

    def build_cancel(self, task_id: str) -> HttpCall | None:
        """The cancel call, or None where the gateway's API has no way to cancel."""
        if self.cancel_path is None:
            return None
        return HttpCall("DELETE", self.cancel_path.format(task_id=quote(task_id, safe="")))

    def build_download(self, status: TaskStatus, artifact: Artifact = "video") -> HttpCall:
        """Fetch a finished artifact from its result URL, without our credentials."""
        url = status.video_url if artifact == "video" else status.last_frame_url
        if not url:
            raise UnexpectedResponseError(
                f"task {status.task_id} has no {artifact} URL (state {status.state})", gateway=self.name
            )
        return HttpCall("GET", url, authenticated=False)

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

    def checked_json(self, response: HttpResponse) -> Any:
        """The JSON body of a successful reply; raises the typed error for anything else."""
        if response.status_code >= 400:
            raise self.error_from(response)
        body = response.json_or_none()
        if body is None:
            raise UnexpectedResponseError(
                f"expected a JSON body, got {response.content[:200]!r}",
                gateway=self.name,
                status_code=response.status_code,
            )
        return body

    def error_from(self, response: HttpResponse) -> GatewayError:
        """Turn an error reply (any HTTP status, any body) into the typed error."""
        body = response.json_or_none()
        parsed = self.parse_error_body(body) if body is not None else None
        if parsed is None:
            text = response.content[:200].decode("utf-8", "replace").strip()
            parsed = ErrorBody(message=text or f"HTTP {response.status_code} with an empty body")
        return self.make_error(response.status_code, parsed, response.header("retry-after"))

    def make_error(self, status_code: int | None, body: ErrorBody, retry_after: str | None = None) -> GatewayError:
        """Pick the error class from the gateway's code first, then from the HTTP status."""
        cls = self.classify(body.code, body.message) or STATUS_ERRORS.get(status_code or 0)
        if cls is None:
            cls = ServerError if (status_code or 0) >= 500 else UnexpectedResponseError
        kwargs: dict[str, Any] = {
            "gateway": self.name,
            "status_code": status_code,
            "code": body.code,
            "request_id": body.request_id,
        }
        if cls is RateLimitError:
            return RateLimitError(body.message, retry_after=parse_retry_after(retry_after), **kwargs)
        return cls(body.message, **kwargs)

    def classify(self, code: str | None, message: str) -> type[GatewayError] | None:
        """The error class the gateway's own code implies, if the dialect knows it."""
        return self.error_codes.get(code) if code is not None else None

    @abstractmethod
    def parse_error_body(self, body: Any) -> ErrorBody | None:
        """Read the gateway's error envelope; None when the body is not in that shape."""


def common_problems(request: VideoRequest, spec: ModelSpec, managed_keys: frozenset[str]) -> list[Problem]:
    """The rules every gateway shares, checked against one model's spec."""
    problems: list[Problem] = []
    add = problems.append

    if spec.prompt_required and not request.prompt:
        add(Problem("prompt", request.prompt, "a prompt is required for this model"))
    elif request.input_mode is InputMode.TEXT and not request.prompt:
        add(Problem("prompt", request.prompt, "a prompt is required when no image, video or audio is given"))
    if request.prompt and spec.max_prompt_chars and len(request.prompt) > spec.max_prompt_chars:
        add(
            Problem(
                "prompt",
                f"<{len(request.prompt)} characters>",
                f"at most {spec.max_prompt_chars} characters",
            )
        )
    if request.duration is not None and spec.durations is not None and request.duration not in spec.durations:
        add(Problem("duration", request.duration, f"seconds in {describe_durations(spec.durations)}"))
    if request.resolution is not None and spec.resolutions is not None and request.resolution not in spec.resolutions:
        add(Problem("resolution", request.resolution, f"one of {', '.join(spec.resolutions)}"))
    if request.ratio is not None and spec.ratios is not None and request.ratio not in spec.ratios:
        add(Problem("ratio", request.ratio, f"one of {', '.join(spec.ratios)}"))
    if request.seed is not None:
        if spec.seed_range is None:
            add(Problem("seed", request.seed, "this model takes no seed"))
        elif not spec.seed_range[0] <= request.seed <= spec.seed_range[1]:
            add(Problem("seed", request.seed, f"an integer in [{spec.seed_range[0]}, {spec.seed_range[1]}]"))
    for flag in ("generate_audio", "camera_fixed", "watermark", "return_last_frame"):
        if getattr(request, flag) and not getattr(spec, flag):
            add(Problem(flag, True, "not supported by this model; leave it unset or false"))

    problems.extend(_input_problems(request, spec))

    for key in sorted(set(request.extra) & managed_keys):
        add(Problem(f"extra.{key}", request.extra[key], "set by a VideoRequest field; use that field instead"))
    return problems


def _input_problems(request: VideoRequest, spec: ModelSpec) -> list[Problem]:
    problems: list[Problem] = []
    add = problems.append
    references = request.reference_images or request.reference_videos or request.reference_audios
    if (request.first_frame or request.last_frame) and references:
        add(
            Problem(
                "first_frame/last_frame",
                "set together with reference_images/videos/audios",
                "first/last-frame mode and multimodal references are mutually exclusive; use one",
            )
        )
    if request.last_frame and not request.first_frame:
        add(Problem("last_frame", request.last_frame, "a last frame needs a first_frame too"))
    if request.reference_audios and not (request.reference_images or request.reference_videos):
        add(
            Problem(
                "reference_audios", list(request.reference_audios), "audio needs at least one reference image or video"
            )
        )
    if request.input_mode not in spec.input_modes and not problems:
        allowed = ", ".join(sorted(mode.value for mode in spec.input_modes))
        add(Problem("input mode", request.input_mode.value, f"this model takes: {allowed}"))

    for name, limit in (
        ("reference_images", spec.max_reference_images),
        ("reference_videos", spec.max_reference_videos),
        ("reference_audios", spec.max_reference_audios),
    ):
        given = getattr(request, name)
        if len(given) > limit:
            allowed = f"at most {limit}" if limit else "none on this model"
            add(Problem(name, f"<{len(given)} items>", allowed))

    checks = [
        ("first_frame", request.first_frame, spec.image_sources),
        ("last_frame", request.last_frame, spec.image_sources),
        *((f"reference_images[{i}]", uri, spec.image_sources) for i, uri in enumerate(request.reference_images)),
        *((f"reference_videos[{i}]", uri, spec.video_sources) for i, uri in enumerate(request.reference_videos)),
        *((f"reference_audios[{i}]", uri, spec.audio_sources) for i, uri in enumerate(request.reference_audios)),
    ]
    for name, uri, sources in checks:
        if uri is not None and media_kind(uri) not in sources:
            allowed = " or ".join(_SOURCE_WORDS[kind] for kind in MediaKind if kind in sources)
            add(Problem(name, _shorten(uri), f"must be {allowed} on this gateway and model"))
    return problems


_SOURCE_WORDS = {MediaKind.URL: "an http(s) URL", MediaKind.ASSET: "an asset:// id", MediaKind.DATA: "a data: URI"}


def _shorten(value: str, limit: int = 80) -> str:
    # data: URIs can be megabytes long; an error message needs only their start.
    return value if len(value) <= limit else f"{value[:limit]}... ({len(value)} characters)"


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
