"""A circuit breaker per gateway connection, shared by every task process on one machine.

After ``failures`` provably-unbilled refusals of a connection's submits within ``window_seconds``, the
connection is passed over for ``cooldown_seconds``: a failover chain goes straight to its next gateway,
so 500 mapped tasks do not each wait out the retries of a gateway that is down. After the cool-down the next
submits probe it again: a success closes the breaker, a refusal opens it for another cool-down.

Why a file and not memory: Airflow 3 runs every task instance in a process of its own, so a breaker in
memory would forget each refusal when its task ends. The state sits in ``[seedance] breaker_dir`` (default:
the system's temp dir), one small JSON file per connection identity (its id, URL, gateway and a digest
of the key: never the key), updated under an exclusive ``flock``. Each machine learns of an outage on its
own, after ``failures`` refusals. The triggerer submits nothing, so it never consults a breaker. The
libraries we looked at (pybreaker, circuitbreaker, aiobreaker) keep their state in memory or in Redis.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import math
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_provider_seedance.compat import conf
from airflow_provider_seedance.hooks.extra_objects import settings_object

log = logging.getLogger(__name__)

BREAKER_DIR_SETTING = ("seedance", "breaker_dir")


@dataclass(frozen=True)
class BreakerPolicy:
    """When a connection is passed over (``extra.breaker``): ``failures`` refusals within ``window_seconds``
    open it for ``cooldown_seconds``."""

    failures: int = 3
    window_seconds: float = 300.0
    cooldown_seconds: float = 300.0

    def __post_init__(self) -> None:
        if isinstance(self.failures, bool) or not isinstance(self.failures, int) or self.failures < 1:
            raise ValueError(f"failures={self.failures!r}; allowed: a whole number of refusals, 1 or more")
        for name in ("window_seconds", "cooldown_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name}={value!r}; allowed: a number of seconds above 0")


DEFAULT_BREAKER_POLICY = BreakerPolicy()


def policy_from(value: object, where: str) -> BreakerPolicy:
    """The policy a connection's ``extra.breaker`` object describes (``settings_object``)."""
    return settings_object(
        BreakerPolicy, value, where, '{"failures": 3, "window_seconds": 300, "cooldown_seconds": 300}'
    )


def breaker_dir() -> Path:
    """Where the breakers of this machine are kept."""
    configured = conf.get(*BREAKER_DIR_SETTING, fallback="") or ""
    return Path(configured) if configured else Path(tempfile.gettempdir()) / "airflow-provider-seedance-breakers"


class CircuitBreaker:
    """The breaker of one connection (``identity``, as ``GatewayConnection.identity`` names it)."""

    def __init__(self, identity: str, policy: BreakerPolicy, directory: Path | None = None) -> None:
        self.policy = policy
        name = hashlib.sha256(identity.encode()).hexdigest()[:24]
        self.path = (directory or breaker_dir()) / f"{name}.json"

    def open_until(self, now: float | None = None) -> float | None:
        """When the cool-down ends, while the breaker is open; None when submits may go through."""
        state = self._read()
        until = state.get("open_until")
        return until if isinstance(until, int | float) and until > (now or time.time()) else None

    def refused(self, now: float | None = None) -> bool:
        """Count a provably-unbilled refusal; True when this one opened the breaker."""
        now = now or time.time()
        try:
            with self._locked() as state:
                until = state.get("open_until")
                if isinstance(until, int | float) and until > now:
                    return False  # already open: a submit that started before it opened
                probing = until is not None  # the cool-down ended and the probe was refused
                recent = [t for t in state.get("refusals", []) if t > now - self.policy.window_seconds] + [now]
                if probing or len(recent) >= self.policy.failures:
                    state.clear()
                    state["open_until"] = now + self.policy.cooldown_seconds
                    return True
                state["refusals"] = recent
                return False
        except OSError as exc:
            self._unwritable(exc)
            return False

    def served(self) -> None:
        """A submit went through: forget the refusals (closing a breaker whose probe succeeded)."""
        if not self.path.exists():
            return
        try:
            with self._locked() as state:
                state.clear()
        except OSError as exc:
            self._unwritable(exc)

    def _unwritable(self, error: OSError) -> None:
        """A breaker never fails a generation: it only stops counting (and says so)."""
        log.warning(
            "The circuit breaker file %s cannot be written (%s), so this connection's refusals are not counted. "
            "Next: make [seedance] breaker_dir (AIRFLOW__SEEDANCE__BREAKER_DIR) writable by every worker.",
            self.path,
            error,
        )

    def _read(self) -> dict[str, Any]:
        """The state as last written whole (a shared lock: never a writer's half-written file); {} when none."""
        try:
            with open(self.path) as handle:
                fcntl.flock(handle, fcntl.LOCK_SH)
                state = json.loads(handle.read() or "{}")
        except (OSError, ValueError):
            return {}
        return state if isinstance(state, dict) else {}

    @contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        """The state, read and written back under an exclusive lock (many task processes share the file)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600), "r+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                text = handle.read()
                try:
                    state = json.loads(text) if text else {}
                except ValueError:
                    log.warning("Breaker state %s was unreadable; starting it afresh.", self.path)
                    state = {}
                if not isinstance(state, dict):
                    state = {}
                yield state
                handle.seek(0)
                handle.truncate()
                handle.write(json.dumps(state))
                handle.flush()  # written before the lock is let go, or the next reader sees half of it
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
