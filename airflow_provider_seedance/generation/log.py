"""The logger a generation writes to, typed by the calls it gets."""

from __future__ import annotations

from typing import Protocol


class Log(Protocol):
    """A stdlib ``Logger`` or ``LoggerAdapter``, or the task SDK's structlog logger (an operator's ``self.log``).

    Messages are %-format strings with their arguments, which all three take.
    """

    def info(self, msg: str, /, *args: object) -> object: ...

    def warning(self, msg: str, /, *args: object) -> object: ...
