"""The generation tests' DAGs through ``@task.seedance`` instead of the operator (``generation_form``): the same
arguments, the request fields returned by the function, everything else given to the decorator."""

from __future__ import annotations

from typing import Any

from airflow.sdk import task

from airflow_provider_seedance.decorators.seedance import RETURNABLE


def SeedanceGenerateVideoOperator(**arguments: Any) -> Any:
    request = {name: arguments.pop(name) for name in RETURNABLE if name in arguments}

    @task.seedance(**arguments)
    def generate() -> dict[str, Any]:
        return request

    return generate().operator
