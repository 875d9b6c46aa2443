"""The simulated gateways, one module each, served under ``/<name>`` by the simulator."""

from __future__ import annotations

from airflow_provider_seedance.simulator.fake_gateways.aiproxy import AiproxySim
from airflow_provider_seedance.simulator.fake_gateways.apimart import ApimartSim
from airflow_provider_seedance.simulator.fake_gateways.ark import ArkSim
from airflow_provider_seedance.simulator.fake_gateways.base import SimGateway
from airflow_provider_seedance.simulator.fake_gateways.imini import IminiSim
from airflow_provider_seedance.simulator.fake_gateways.infinityblue import InfinityBlueSim
from airflow_provider_seedance.simulator.fake_gateways.jimmyai import JimmyAiSim

# Classes, not instances: each Simulator builds its own, so gateway state never leaks between runs.
SIMULATED_GATEWAYS: tuple[type[SimGateway], ...] = (
    ArkSim,
    IminiSim,
    ApimartSim,
    AiproxySim,
    InfinityBlueSim,
    JimmyAiSim,
)
