"""Helpers for testing DAGs that use this provider: a local Airflow deployment to run them in."""

from airflow_provider_seedance.testing.local_airflow import CeleryWorkers, LocalAirflow

__all__ = ["CeleryWorkers", "LocalAirflow"]
