"""Provider metadata that Airflow reads through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from airflow_provider_seedance import __version__
from airflow_provider_seedance.gateways import GATEWAY_NAMES
from airflow_provider_seedance.hooks import connection_form

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
            {
                "integration-name": "Seedance",
                "python-modules": [
                    "airflow_provider_seedance.operators.seedance",
                    "airflow_provider_seedance.operators.batch",
                    "airflow_provider_seedance.operators.budget",
                ],
            }
        ],
        "sensors": [{"integration-name": "Seedance", "python-modules": ["airflow_provider_seedance.sensors.seedance"]}],
        "triggers": [
            {
                "integration-name": "Seedance",
                "python-modules": [
                    "airflow_provider_seedance.triggers.seedance",
                    "airflow_provider_seedance.triggers.batch",
                    "airflow_provider_seedance.triggers.capacity",
                ],
            }
        ],
        "task-decorators": [
            {"name": "seedance", "class-name": "airflow_provider_seedance.decorators.seedance.seedance_task"}
        ],
        "extra-links": [
            "airflow_provider_seedance.links.seedance.SeedanceTaskLink",
            "airflow_provider_seedance.links.seedance.SeedanceVideoLink",
        ],
        "config": {
            "seedance": {
                "description": "Settings of the Seedance provider.",
                "options": {
                    "default_deferrable": {
                        "description": "Whether Seedance operators and the sensor wait for a generation in the "
                        "triggerer (holding no worker slot) when a task does not set ``deferrable``. Read instead "
                        "of ``[operators] default_deferrable``, which every generated airflow.cfg sets to false.",
                        "version_added": "0.1.0",
                        "type": "boolean",
                        "example": "False",
                        "default": "True",
                    },
                    "breaker_dir": {
                        "description": "Where each machine keeps the circuit breakers of its seedance connections "
                        "(a small file per connection, shared by the task processes; timestamps only). Empty: "
                        "a folder in the system's temp directory.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "/var/lib/airflow/seedance-breakers",
                        "default": "",
                    },
                },
            }
        },
        "connection-types": [
            {
                "connection-type": "seedance",
                "hook-class-name": HOOK_CLASS,
                "hook-name": "Seedance",
                # Read by Airflow 3.2+; 3.0 and 3.1 ask the hook (see compat.py) for the same form.
                "ui-field-behaviour": {
                    "hidden-fields": list(connection_form.HIDDEN_FIELDS),
                    "relabeling": dict(connection_form.RELABELING),
                    "placeholders": dict(connection_form.PLACEHOLDERS),
                },
                "conn-fields": {
                    connection_form.GATEWAY_FIELD: {
                        "label": connection_form.GATEWAY_LABEL,
                        "description": connection_form.GATEWAY_DESCRIPTION,
                        "schema": {
                            "type": "string",
                            "enum": list(GATEWAY_NAMES),
                            "default": connection_form.GATEWAY_DEFAULT,
                        },
                    }
                },
            }
        ],
    }
