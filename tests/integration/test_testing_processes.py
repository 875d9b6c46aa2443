"""The process groups behind LocalAirflow: CPU of a process tree (reaped children included), and a
component killed on purpose is not a failure while one that dies on its own is."""

from __future__ import annotations

import signal
import sys
import time

import pytest

from airflow_provider_seedance.testing.processes import ProcessGroup, tree_cpu_seconds

# A parent that starts a child burning ~0.3 s of CPU, waits for it (reaping it), then sleeps.
BURN = "import time\\nend = time.process_time() + 0.3\\nwhile time.process_time() < end: pass"
PARENT = f"""
import subprocess, sys, time
subprocess.run([sys.executable, "-c", "{BURN}"])
print("child done", flush=True)
time.sleep(60)
"""


@pytest.fixture
def group(tmp_path):
    group = ProcessGroup(tmp_path)
    yield group
    group.stop(grace_seconds=2)


def _wait_for(predicate, timeout: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_tree_cpu_counts_the_children_a_process_has_reaped(group):
    pid = group.start("parent", [sys.executable, "-c", PARENT], {})
    _wait_for(lambda: "child done" in group.log("parent"))
    assert tree_cpu_seconds(pid) >= 0.3
    assert group.sample_cpu()["parent"] >= 0.3


def test_a_component_killed_on_purpose_is_not_a_failure_but_one_that_dies_is(group):
    group.start("victim", [sys.executable, "-c", "import time; time.sleep(60)"], {})
    group.start("quitter", [sys.executable, "-c", "print('bye')"], {})
    group.kill("victim", signal.SIGKILL)

    def only_the_quitter_failed() -> bool:
        try:
            group.check_alive()
        except RuntimeError as exc:  # the victim comes first: it would be named if it counted as failed
            return str(exc).startswith("quitter exited with 0")
        return False

    _wait_for(only_the_quitter_failed)
    with pytest.raises(ValueError, match="already started"):
        group.start("victim", [sys.executable, "-c", "pass"], {})


def test_wait_for_returns_what_came_and_fails_on_a_death_or_the_timeout(group):
    group.start("talker", [sys.executable, "-c", "print('ready', flush=True); import time; time.sleep(60)"], {})
    said = group.wait_for(lambda: "ready" in group.log("talker") and "yes", "never ready", 30, interval=0.05)
    assert said == "yes"
    with pytest.raises(TimeoutError, match=r"^not today:\nready"):
        group.wait_for(lambda: False, "not today", 0.2, interval=0.05, log_of="talker")
    group.start("quitter", [sys.executable, "-c", "pass"], {})
    with pytest.raises(RuntimeError, match="quitter exited with 0"):
        group.wait_for(lambda: False, "never", 30, interval=0.05)
