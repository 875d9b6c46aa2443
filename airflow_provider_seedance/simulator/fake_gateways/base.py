"""What every simulated gateway provides to the server: its routes and its own error body.

A simulated gateway is written from the gateway's documentation, never from the provider's dialects,
so that a mistake in a dialect shows up as a failing test instead of being mirrored here.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar, overload

from aiohttp import web

from airflow_provider_seedance.exceptions import SimulatorError

if TYPE_CHECKING:
    from airflow_provider_seedance.simulator.host import GatewayHost

Handler = Callable[[web.Request, "GatewayHost"], Awaitable[web.StreamResponse]]


class ErrorKind(enum.StrEnum):
    """Why a request failed, for the gateway to phrase in its own error shape."""

    AUTHENTICATION = "authentication"
    INVALID_REQUEST = "invalid_request"
    INSUFFICIENT_CREDIT = "insufficient_credit"
    NOT_FOUND = "not_found"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    MODERATION = "moderation"


@dataclass(frozen=True)
class Route:
    """One endpoint below the gateway's prefix. ``public`` routes take no API key (result CDNs)."""

    method: str
    path: str
    op: str
    handler: Handler
    public: bool = False
    # A batch status route: a ``not_found`` fault leaves the named tasks out of its reply instead of a 404.
    batch: bool = False


class SimGateway(ABC):
    name: ClassVar[str]
    # Part of the gateway's base URL below its prefix (Ark's base URL ends in /api/v3).
    base_path: ClassVar[str] = ""

    def reset(self) -> None:  # noqa: B027 - an optional hook: most gateways keep no state
        """Forget any state the gateway keeps of its own (uploads, assets); called on a full reset."""

    @abstractmethod
    def routes(self) -> list[Route]:
        """The gateway's real paths, relative to its prefix (``/apimart`` + ``/v1/tasks/{task_id}``)."""

    @abstractmethod
    def error(self, status: int, kind: ErrorKind, message: str, *, param: str | None = None) -> web.Response:
        """An error reply exactly as this gateway documents it; ``param`` names the offending field."""


class RequestRejected(SimulatorError):
    """Raised by a handler to answer with the gateway's own error body."""

    def __init__(self, status: int, kind: ErrorKind, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message
        self.details = details


# ---- request checking helpers: each raises RequestRejected(400) naming the field -----------------

_MISSING = object()


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 in the gateway's shape."""
    try:
        body = await request.json()
    except ValueError:
        raise RequestRejected(400, ErrorKind.INVALID_REQUEST, "request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise RequestRejected(400, ErrorKind.INVALID_REQUEST, "request body must be a JSON object")
    return body


def reject(message: str, param: str | None = None) -> RequestRejected:
    return RequestRejected(400, ErrorKind.INVALID_REQUEST, message, param=param)


def check_known_fields(body: dict[str, Any], allowed: set[str] | frozenset[str]) -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise reject(f"unknown parameter(s): {', '.join(unknown)}", unknown[0])


T = TypeVar("T")


# Typed by the one JSON type asked for (a required field is never None); a tuple of types gives Any.
@overload
def field(body: dict[str, Any], name: str, kind: type[T], *, required: Literal[True]) -> T: ...
@overload
def field(body: dict[str, Any], name: str, kind: type[T], *, required: bool = False) -> T | None: ...
@overload
def field(body: dict[str, Any], name: str, kind: tuple[type, ...], *, required: bool = False) -> Any: ...
def field(body: dict[str, Any], name: str, kind: type | tuple[type, ...], *, required: bool = False) -> Any:
    """``body[name]`` if it has the documented JSON type; None when absent and optional."""
    value = body.get(name, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise reject(f"missing required parameter: {name}", name)
        return None
    kinds = kind if isinstance(kind, tuple) else (kind,)
    # JSON booleans are not integers, whatever Python thinks.
    if isinstance(value, bool) and bool not in kinds:
        raise reject(f"parameter {name} must be {_type_words(kinds)}, got {value!r}", name)
    if not isinstance(value, kinds):
        raise reject(f"parameter {name} must be {_type_words(kinds)}, got {value!r}", name)
    return value


def one_of(body: dict[str, Any], name: str, allowed: tuple[Any, ...], *, required: bool = False) -> Any:
    value = body.get(name)
    if value is None:
        if required:
            raise reject(f"missing required parameter: {name}", name)
        return None
    # Compare types too: JSON true is not 1, and 5.0 is not the enum value 5.
    if not any(value == option and type(value) is type(option) for option in allowed):
        raise reject(f"parameter {name}={value!r} is not one of {', '.join(map(str, allowed))}", name)
    return value


def int_in(body: dict[str, Any], name: str, low: int, high: int, *, required: bool = False) -> int | None:
    value = field(body, name, int, required=required)
    if value is not None and not low <= value <= high:
        raise reject(f"parameter {name}={value} is out of range [{low}, {high}]", name)
    return value


def url_kind(value: Any, name: str) -> str:
    """'url', 'asset' or 'data' for a media reference; a 400 for anything else."""
    if not isinstance(value, str) or not value:
        raise reject(f"parameter {name} must be a non-empty string", name)
    lowered = value[:8].lower()
    if lowered.startswith(("http://", "https://")):
        return "url"
    if lowered.startswith("asset://"):
        return "asset"
    if lowered.startswith("data:"):
        return "data"
    raise reject(f"parameter {name} is not a valid URL: {value[:60]!r}", name)


def _type_words(kinds: tuple[type, ...]) -> str:
    names = {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "an object",
    }
    return " or ".join(names.get(kind, kind.__name__) for kind in kinds)
