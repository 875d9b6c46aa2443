"""A claim knows which gateway and request it is for."""

from __future__ import annotations

from tests.support.claims import CLAIM


def test_is_for_matches_gateway_and_request():
    assert CLAIM.is_for("ark", "f" * 64)
    assert not CLAIM.is_for("apimart", "f" * 64)
    assert not CLAIM.is_for("ark", "e" * 64)


def test_a_reservation_moved_to_another_connection_is_another_producers_to_settle_there():
    """A producer whose failover chain moved on reserves again through its next connection (same request): the
    producer waiting on the first reservation must settle that one through its own connection, not submit."""
    from dataclasses import replace

    from airflow_provider_seedance.generation.reservations import superseded

    reservation = replace(CLAIM, remote_task_id=None, answer_by=CLAIM.deadline)
    assert not superseded(reservation, replace(reservation, unknown_resubmits=1))  # the same, settled
    assert superseded(reservation, replace(reservation, gateway="apimart", seedance_conn_id="seedance_apimart"))
    assert superseded(reservation, replace(reservation, seedance_conn_id="ark_second_account"))  # same gateway
    assert superseded(reservation, replace(reservation, request_sha256="e" * 64))
