"""CapacityWaitTrigger: wait, holding no worker slot, while a gateway takes no new tasks.

Airflow's TimeDeltaTrigger would do the waiting, but ``dag.test()`` hands the resumed method only the
trigger's event (not the ``kwargs`` given to ``defer``), so the time the wait began travels in the event.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent


class CapacityWaitTrigger(BaseTrigger):
    """Fire at ``until`` (Unix seconds) with ``{"waiting_since": ...}``, the ISO time the wait began."""

    def __init__(self, *, until: float, waiting_since: str) -> None:
        super().__init__()
        self.until = float(until)
        self.waiting_since = str(waiting_since)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {"until": self.until, "waiting_since": self.waiting_since},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        await asyncio.sleep(max(0.0, self.until - time.time()))
        yield TriggerEvent({"waiting_since": self.waiting_since})
