"""Helpers the test tiers share (plain functions and data; the server fixtures live in tests/conftest.py)."""
