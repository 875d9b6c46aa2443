"""A claim knows which gateway and request it is for."""

from __future__ import annotations

from tests.support.claims import CLAIM


def test_is_for_matches_gateway_and_request():
    assert CLAIM.is_for("ark", "f" * 64)
    assert not CLAIM.is_for("apimart", "f" * 64)
    assert not CLAIM.is_for("ark", "e" * 64)
