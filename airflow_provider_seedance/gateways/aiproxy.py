"""PLACEHOLDER: being written; replace this whole file."""

from airflow_provider_seedance.gateways.ark import ArkGateway


class AiproxyGateway(ArkGateway):
    name = "aiproxy"
