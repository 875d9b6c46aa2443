"""Provider metadata that Airflow reads through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from airflow_provider_seedance import __version__
from airflow_provider_seedance.gateway_names import GATEWAY_NAMES

HOOK_CLASS = "airflow_provider_seedance.hooks.seedance.SeedanceHook"


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-seedance",
        "name": "Seedance",
        "description": "Generate videos with ByteDance Seedance models through their API gateways "
        "(BytePlus ModelArk / Volcengine Ark, imini, apimart, aiproxy, InfinityBlue, JimmyAI).",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Seedance",
                "external-doc-url": "https://docs.byteplus.com/en/docs/ModelArk/1520757",
                "tags": ["service"],
            }
        ],
        "hooks": [{"integration-name": "Seedance", "python-modules": ["airflow_provider_seedance.hooks.seedance"]}],
        "operators": [
            {"integration-name": "Seedance", "python-modules": ["airflow_provider_seedance.operators.seedance"]}
        ],
        "triggers": [
            {"integration-name": "Seedance", "python-modules": ["airflow_provider_seedance.triggers.seedance"]}
        ],
        "extra-links": ["airflow_provider_seedance.links.SeedanceVideoLink"],
        "connection-types": [
            {
                "connection-type": "seedance",
                "hook-class-name": HOOK_CLASS,
                "hook-name": "Seedance",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "login"],
                    "relabeling": {"host": "Base URL", "password": "API key"},
                    "placeholders": {
                        "host": "empty = the gateway's public URL, e.g. https://api.apimart.ai",
                        "password": "the gateway API key (sent as a Bearer token)",
                    },
                },
                "conn-fields": {
                    "gateway": {
                        "label": "Gateway",
                        "description": "Which API dialect this connection speaks.",
                        "schema": {"type": "string", "enum": list(GATEWAY_NAMES), "default": "ark"},
                    }
                },
            }
        ],
    }
