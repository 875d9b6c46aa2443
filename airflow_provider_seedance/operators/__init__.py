"""Operators of the Seedance provider."""
