"""Settings objects a connection's ``extra`` holds as JSON (``retry``, ``breaker``), read the same way."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")


def settings_object(kind: type[T], value: object, where: str, example: str) -> T:
    """The ``kind`` (a dataclass checking its fields) a JSON object of its fields describes; a field left out
    keeps its default, an absent or empty object is ``kind()``.

    Raises ``ValueError`` starting with ``where`` and naming the field, the value and what is allowed.
    """
    if value in (None, "", {}):
        return kind()
    if not isinstance(value, Mapping):
        raise ValueError(f"{where} {value!r} is not an object; write the fields to change, such as {example}")
    allowed = [item.name for item in fields(kind)]  # type: ignore[arg-type]
    unknown = [name for name in value if name not in allowed]
    if unknown:
        raise ValueError(f"{where} has no field {unknown[0]!r}; allowed: {', '.join(allowed)}")
    arguments: dict[str, Any] = dict(value)
    try:
        return kind(**arguments)
    except ValueError as exc:
        raise ValueError(f"{where}: {str(exc).removeprefix(kind.__name__ + ' ')}") from None
