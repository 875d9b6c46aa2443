"""A local Seedance gateway simulator: all six gateway dialects over real HTTP, real MP4s, injectable faults.

Needs the ``simulator`` extra (aiohttp, PyAV, numpy). Run it with
``python -m airflow_provider_seedance.simulator`` or, in tests, ``start_simulator()``.
"""

from airflow_provider_seedance.simulator.config import SimulatorConfig
from airflow_provider_seedance.simulator.faults import FaultKind, FaultPlan, ScriptedFault
from airflow_provider_seedance.simulator.runner import RunningSimulator, start_simulator
from airflow_provider_seedance.simulator.server import Simulator

__all__ = [
    "FaultKind",
    "FaultPlan",
    "RunningSimulator",
    "ScriptedFault",
    "Simulator",
    "SimulatorConfig",
    "start_simulator",
]
