"""Helpers for testing DAGs that use this provider: a local Airflow deployment to run them in."""

from airflow_provider_seedance.testing.local_airflow import CeleryWorkers, LocalAirflow
from airflow_provider_seedance.testing.services import LocalPostgres, LocalRedis

__all__ = ["CeleryWorkers", "LocalAirflow", "LocalPostgres", "LocalRedis"]
