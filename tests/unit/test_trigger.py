"""Trigger checks that need no gateway: a useless poll interval is refused, and the remote task id survives
the triggerer attaching its task instance."""

from __future__ import annotations

import pytest

from airflow_provider_seedance.triggers.seedance import SeedanceTaskTrigger


def test_rejects_a_useless_poll_interval():
    with pytest.raises(ValueError, match="poll_interval must be positive"):
        SeedanceTaskTrigger(seedance_conn_id="x", remote_task_id="t", deadline=0, poll_interval=0)


def test_remote_id_survives_the_triggerer_attaching_its_task_instance():
    # The triggerer sets ``trigger.task_instance``, and BaseTrigger then overwrites ``task_id`` with the
    # Airflow task's id: the gateway's id must live under another name (a real-deployment test found this).
    from types import SimpleNamespace

    trigger = SeedanceTaskTrigger(seedance_conn_id="c", remote_task_id="cgt-9", deadline=0)
    trigger.task_instance = SimpleNamespace(task_id="generate")
    assert trigger.remote_task_id == "cgt-9"
    assert trigger.serialize()[1]["remote_task_id"] == "cgt-9"
