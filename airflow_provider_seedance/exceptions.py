"""One error tree for the provider; a leaf module that imports nothing from the package.

Split by what the caller should do next::

    SeedanceError
    ├── RequestValidationError      bad input, found before any network call; fix the request
    ├── BatchListError              a batch operator's list of requests is unusable as a whole; fix the list
    ├── MediaError                  a media input cannot be used; nothing was paid for yet
    │   ├── MediaSourceError            it cannot be read where it is said to live; fix the path or access
    │   └── MediaDeliveryError          it cannot be brought to the gateway (``retryable`` says if waiting helps)
    ├── MediaUnreadableError        a file's header does not read as the media it should be
    ├── MediaProbeUnavailable       PyAV, which reads video and audio headers, is not installed
    ├── ConnectionConfigError       the seedance connection cannot work as configured; fix the connection
    ├── TransportError              no answer: connection refused, reset or timed out (retryable)
    ├── SubmitOutcomeUnknownError   a submit was sent but no clear answer came back: never resent blindly
    ├── IncompleteTransferError     a download ended before its announced size (resumable)
    └── GatewayError                the gateway answered with an error (``retryable`` says if waiting helps)
        ├── AuthenticationError         401/403: wrong or revoked key, no access to the model
        ├── InvalidRequestError         400/422: the gateway rejected a request we let through
        ├── InsufficientCreditError     402: top up the account
        ├── TaskNotFoundError           404: unknown or expired task id
        ├── ContentModerationError      the prompt or an input was refused by content safety
        ├── RateLimitError              429: retry after ``retry_after`` seconds (retryable)
        ├── ServerError                 5xx / upstream failures (retryable)
        ├── ResultUnavailableError      the result URL no longer serves the file (expired or removed)
        └── UnexpectedResponseError     a reply we cannot interpret

Two more live beside the code that raises them, because they also carry another framework's base class:
``generation.lifecycle.ClaimNotWritten`` (also Airflow's ``AirflowFailException``: a submitted task whose
claim could not be written must not be retried) and the simulator's own ``SimulatorError`` family (below,
so the simulator needs nothing else of the provider).

No message or attribute ever holds the API key: errors are built from response bodies and request
fields only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


class SeedanceError(Exception):
    """Base class of every error raised by this provider."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request: the field, the value given and what is allowed."""

    field: str
    value: Any
    allowed: str

    def __str__(self) -> str:
        return f"{self.field}={self.value!r}: {self.allowed}"


class RequestValidationError(SeedanceError, ValueError):
    """The request cannot be sent as it is; raised before any network call, so nothing was paid."""

    def __init__(self, gateway: str | None, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.gateway = gateway
        self.problems = tuple(problems)
        where = f" for gateway {gateway!r}" if gateway else ""
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"invalid video request{where} ({count} {noun}):\n{lines}")


class BatchListError(SeedanceError, ValueError):
    """A batch operator's list of requests is unusable as a whole; the message lists every problem found."""


class MediaError(SeedanceError):
    """A media input cannot be used; ``problem`` names the field, the value and why. Nothing was paid yet."""

    retryable: bool = False

    def __init__(self, problem: Problem, *, retryable: bool = False) -> None:
        self.problem = problem
        self.retryable = retryable
        super().__init__(str(problem))


class MediaSourceError(MediaError, ValueError):
    """An input that cannot be read where it is said to live (missing, unreadable, not media)."""


class MediaDeliveryError(MediaError):
    """An input could not be brought to the gateway; nothing was submitted (or paid) yet."""


class MediaUnreadableError(SeedanceError, ValueError):
    """The bytes are not a readable file of the expected kind: truncated, damaged, or something else."""


class MediaProbeUnavailable(SeedanceError, ImportError):
    """PyAV, which reads video and audio headers, is not installed."""


class ConnectionConfigError(SeedanceError, ValueError):
    """The ``seedance`` connection is configured so that no call can work (no gateway, no key, no URL).

    No retry can fix it, so the operator fails the task at once.
    """


class TransportError(SeedanceError):
    """No usable answer came back. ``request_sent`` tells whether the gateway may have seen the request."""

    retryable = True

    def __init__(self, message: str, *, gateway: str, request_sent: bool) -> None:
        super().__init__(f"{gateway}: {message}")
        self.gateway = gateway
        self.request_sent = request_sent


class SubmitOutcomeUnknownError(SeedanceError):
    """A paid submit reached the gateway but no clear answer came back.

    The gateway may have created (and will bill) the task, so sending the request again could pay twice.
    Check the gateway's console for the task before retrying by hand.
    """


class IncompleteTransferError(SeedanceError):
    """The download ended before the size the server announced."""


class GatewayError(SeedanceError):
    """The gateway answered with an error; ``retryable`` tells whether trying again later can help.

    ``structured`` is False when the body was not the gateway's own error format (an HTML page from
    a proxy, an empty body): then it is unclear whether the gateway itself ever saw the request.
    """

    retryable: ClassVar[bool] = False
    # What a person does about it, one sentence; the operator ends its failure message with it.
    next_step: ClassVar[str] = "If it keeps happening, check the gateway's status page, then clear the task."

    def __init__(
        self,
        message: str,
        *,
        gateway: str,
        status_code: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        structured: bool = True,
    ) -> None:
        self.message = message
        self.gateway = gateway
        self.status_code = status_code
        self.code = code
        self.request_id = request_id
        self.structured = structured
        details = ", ".join(
            f"{name}={value}"
            for name, value in (("http", status_code), ("code", code), ("request_id", request_id))
            if value is not None
        )
        super().__init__(f"{gateway}: {message}" + (f" ({details})" if details else ""))


class AuthenticationError(GatewayError):
    """The API key is missing, wrong or revoked, or it has no access to this model."""

    next_step = (
        "Check the API key in the seedance connection and that the account may use this model, then clear the task."
    )


class InvalidRequestError(GatewayError):
    """The gateway rejected the request as malformed or unsupported."""

    next_step = (
        "Fix what the gateway names (a field this provider does not model goes through `extra`), then clear the task."
    )


class InsufficientCreditError(GatewayError):
    """The account has no balance or quota left for this generation."""

    next_step = "Top up the account or raise its spending limit, then clear the task."


class TaskNotFoundError(GatewayError):
    """The gateway does not know the task id, or it expired."""


class ContentModerationError(GatewayError):
    """Content safety refused the prompt or one of the inputs."""

    next_step = "Change the prompt or the input the gateway objects to, then clear the task."


class RateLimitError(GatewayError):
    """Too many requests; wait ``retry_after`` seconds (when the gateway says) and retry."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(GatewayError):
    """The gateway or its upstream model failed; transient, worth retrying."""

    retryable = True


class ResultUnavailableError(GatewayError):
    """The result URL no longer serves the file (it expired or was removed)."""

    next_step = "Clear the task to generate the video again; that is a new, paid generation."


class UnexpectedResponseError(GatewayError):
    """The gateway replied with something this dialect cannot interpret."""

    next_step = (
        "Check that the connection's Base URL and gateway belong together; if they do, the gateway changed its "
        "API: report the reply quoted above to the provider's maintainers."
    )


class SimulatorError(SeedanceError):
    """Raised inside the gateway simulator only (a fake gateway refusing a request, an input it cannot fetch)."""
