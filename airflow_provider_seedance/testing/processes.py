"""Named long-running processes, each in its own process group, with their output in log files.

What the local deployments here share: start a component, wait for something while checking that
every component still runs, kill one on purpose (as a crashed machine would die), stop them all, and
count the CPU each one's process tree has used, including the short-lived children it has already
reaped (a Celery worker's task processes).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, TypeVar

import httpx
import psutil

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]  # typeshed types the address as Any (its shape depends on the family)
        return port


def answers(url: str) -> bool:
    """Whether a server answers ``url`` over HTTP at all (any status): it has started listening."""
    try:
        httpx.get(url, timeout=2)
    except httpx.TransportError:
        return False
    return True


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its live descendants, plus what each has reaped from its children.

    Linux adds a child's CPU time (and its own reaped children's) to its parent's ``children_*`` times
    when the parent waits for it, so summing over the live tree counts every process once.
    """
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


class ProcessGroup:
    """Start with ``start(name, argv, env)``; output goes to ``<log_dir>/<name>.log``."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = Path(log_dir)
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: dict[str, IO[str]] = {}
        self._killed: set[str] = set()  # killed on purpose: not a failure
        self._cpu: dict[str, float] = {}  # name -> CPU seconds of its tree at the last sample

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str], cwd: Path | None = None) -> int:
        if name in self._processes:
            raise ValueError(f"a process named {name!r} was already started; give each component its own name")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.log_dir / f"{name}.log").open("w")
        self._logs[name] = log
        self._processes[name] = subprocess.Popen(
            list(argv), env=dict(env), cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self._processes[name].pid

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")

    def check_alive(self) -> None:
        """Raise with the tail of its log when a component that was not killed on purpose has exited."""
        for name, process in self._processes.items():
            if name not in self._killed and process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.log(name)[-3000:]}")

    def wait_for(
        self,
        ready: Callable[[], T | None],
        failure: str,
        timeout: float,
        *,
        interval: float = 0.5,
        log_of: str | None = None,
    ) -> T:
        """Call ``ready`` every ``interval`` seconds until it returns something true, and return that.

        Between calls ``check_alive`` raises when a component died on its own. After ``timeout`` seconds
        raise ``TimeoutError(failure)``, followed by the tail of component ``log_of``'s log when given.
        """
        deadline = time.monotonic() + timeout
        while not (result := ready()):
            self.check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(failure + (f":\n{self.log(log_of)[-2000:]}" if log_of else ""))
            time.sleep(interval)
        return result

    def kill(self, name: str, sig: signal.Signals = signal.SIGKILL) -> None:
        """Send ``sig`` to the whole process group of ``name`` (its children die with it), and wait for it."""
        self.sample_cpu()
        process = self._processes[name]
        self._killed.add(name)
        os.killpg(process.pid, sig)
        process.wait(timeout=30)

    def sample_cpu(self) -> dict[str, float]:
        """CPU seconds per component's process tree; a dead component keeps its last sample."""
        for name, process in self._processes.items():
            if process.poll() is None:
                self._cpu[name] = max(self._cpu.get(name, 0.0), tree_cpu_seconds(process.pid))
        return dict(self._cpu)

    def stop(self, grace_seconds: float = 10) -> None:
        """Terminate every component (whole process groups); kill what still runs after the grace time."""
        running = [process for process in self._processes.values() if process.poll() is None]
        for process in running:
            _signal_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait()
        # Children that outlived their leader (or a group left behind by a killed one) go too.
        for process in self._processes.values():
            _signal_group(process.pid, signal.SIGKILL)
        self._processes.clear()
        for log in self._logs.values():
            log.close()
        self._logs.clear()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)
