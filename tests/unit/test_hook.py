"""The wait's rule for a 404, on a clock of its own: InfinityBlue's grace, everyone else's "gone at once"."""

from __future__ import annotations

import pytest

from airflow_provider_seedance.exceptions import TaskNotFoundError


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _not_found(gateway: str) -> TaskNotFoundError:
    return TaskNotFoundError("video video_1 does not exist or has expired", gateway=gateway, status_code=404)


# InfinityBlue's OpenAPI (shared/specs/infinityblue-videos.en.yaml, lines 498-499, GET /v1/videos/{task_id}):
# "404: Task not found, not completed yet, or content already expired". A 404 may come for a task that
# exists, so it means gone only after 3 in a row spanning 600 s (the dialect's guess, NOT_FOUND_*).
# Each step is (seconds since the start, reply): "404", "ok" (a status was read) or "404!" (a 404 once the
# deadline has passed). Every 404 is tolerated but the last one of a "gone" row, which ends the wait.
@pytest.mark.parametrize(
    ("steps", "gone_message"),
    [
        pytest.param([(0, "404"), (10, "404"), (20, "ok")], None, id="a-few"),
        pytest.param(
            [(0, "404"), (300, "404"), (600, "404")],
            "was not found on 3 consecutive 404 replies over 600 s",
            id="three-over-ten-minutes",
        ),
        pytest.param([(0, "404"), (10, "404"), (20, "404"), (599, "404")], None, id="many-but-too-short"),
        pytest.param(
            [(0, "404"), (900, "404"), (901, "404")],
            "was not found on 3 consecutive 404 replies over 901 s",
            id="long-but-too-few-then-enough",
        ),
        pytest.param(
            [(0, "404"), (300, "404"), (301, "ok"), (600, "404"), (700, "404"), (1199, "404")],
            None,
            id="a-status-in-between-starts-again",
        ),
        pytest.param(
            [(0, "404"), (5, "404!")],
            "was still not found when the deadline passed (2 consecutive 404 replies over 5 s)",
            id="the-deadline-ends-a-run",
        ),
    ],
)
def test_infinityblue_404_grace_rule(steps, gone_message):
    from airflow_provider_seedance.gateways import get_gateway
    from airflow_provider_seedance.hooks.waiting import MissingTaskWatch

    clock = _Clock()
    watch = MissingTaskWatch(get_gateway("infinityblue"), "video_1", clock=clock)
    outcomes = []
    for at, reply in steps:
        clock.now = 1000.0 + at
        if reply == "ok":
            watch.found()
        else:
            outcomes.append(watch.gone(_not_found("infinityblue"), deadline_passed=reply == "404!"))
    *tolerated, last = outcomes
    assert tolerated == [None] * len(tolerated)
    if gone_message is None:
        assert last is None
        return
    assert isinstance(last, TaskNotFoundError)
    assert gone_message in last.message
    assert last.message.startswith("task video_1 ")
    assert last.message.endswith(": video video_1 does not exist or has expired")
    assert (last.gateway, last.status_code) == ("infinityblue", 404)


@pytest.mark.parametrize("gateway", ["ark", "imini", "apimart", "aiproxy", "jimmyai"])
def test_other_gateways_take_the_first_404_as_gone(gateway):
    # Their documents give a 404 only for an unknown or expired task (gateways.md sections 1-3, 5, 6).
    from airflow_provider_seedance.gateways import get_gateway
    from airflow_provider_seedance.hooks.waiting import MissingTaskWatch

    error = _not_found(gateway)
    assert MissingTaskWatch(get_gateway(gateway), "t").gone(error) is error


def test_a_404_read_just_before_the_deadline_ends_the_wait_as_not_found():
    # Each reading of the clock moves it on 0.6 s: the first poll's 404 comes before the deadline, any later
    # reading is past it. The wait reads the clock once per poll, so it polls again and ends on "not found"
    # rather than re-reading the clock and raising the first 404 as if the grace had run out.
    from datetime import UTC, datetime, timedelta

    from airflow_provider_seedance.gateways import get_gateway
    from airflow_provider_seedance.hooks.waiting import wait_on_worker

    start = datetime(2026, 1, 1, tzinfo=UTC)
    readings = iter(start + timedelta(seconds=0.6 * n) for n in range(1, 100))
    polls = []

    def get_status(task_id: str):
        polls.append(task_id)
        raise _not_found("infinityblue")

    with pytest.raises(TaskNotFoundError) as caught:
        wait_on_worker(
            get_status,
            get_gateway("infinityblue"),
            "video_1",
            poll_interval=0.5,
            deadline=start + timedelta(seconds=1),
            sleep=lambda seconds: None,
            now=lambda: next(readings),
        )
    assert "was still not found when the deadline passed (2 consecutive 404 replies" in caught.value.message
    assert len(polls) == 2
