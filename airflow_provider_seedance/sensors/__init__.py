"""Sensors of the Seedance provider."""
