"""Counters a test reads back: per gateway and per task, what was submitted, polled, downloaded, cancelled."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from typing import Any


class Stats:
    """Thread-safe counters; ``snapshot()`` is what ``GET /_simulator/stats`` returns."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._gateways: defaultdict[str, Counter[str]] = defaultdict(Counter)
            self._tasks: defaultdict[tuple[str, str], Counter[str]] = defaultdict(Counter)

    def request(self, gateway: str, op: str) -> None:
        """Any request that reached a gateway route, answered or not."""
        with self._lock:
            self._gateways[gateway][f"{op}_requests"] += 1

    def fault(self, gateway: str, kind: str) -> None:
        with self._lock:
            self._gateways[gateway][f"fault_{kind}"] += 1

    def rejected(self, gateway: str, op: str) -> None:
        """A request answered with an error by the gateway's own rules (auth, validation, not found)."""
        with self._lock:
            self._gateways[gateway][f"{op}_rejected"] += 1

    def task(self, gateway: str, task_id: str, counter: str, amount: int = 1) -> None:
        with self._lock:
            self._gateways[gateway][counter] += amount
            self._tasks[(gateway, task_id)][counter] += amount

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "gateways": {name: dict(counts) for name, counts in sorted(self._gateways.items())},
                "tasks": {
                    f"{gateway}/{task_id}": {"gateway": gateway, "task_id": task_id, **dict(counts)}
                    for (gateway, task_id), counts in self._tasks.items()
                },
            }
