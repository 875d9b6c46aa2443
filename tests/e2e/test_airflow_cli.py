"""The real ``airflow`` command finds our provider, hook and connection form."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

AIRFLOW = Path(sys.executable).with_name("airflow")


def _airflow_json(*args: str) -> list[dict]:
    result = subprocess.run(
        [str(AIRFLOW), *args, "--output", "json"],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # Airflow may print warnings before the JSON document; the document is the last line.
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory):
    os.environ.setdefault("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow-home")))


def test_providers_list_shows_seedance(cli_env):
    providers = {row["package_name"]: row for row in _airflow_json("providers", "list")}
    assert "airflow-provider-seedance" in providers
    assert providers["airflow-provider-seedance"]["version"] == "0.1.0"


def test_providers_hooks_shows_seedance_hook(cli_env):
    hooks = {row["connection_type"]: row for row in _airflow_json("providers", "hooks")}
    assert hooks["seedance"]["class"] == "airflow_provider_seedance.hooks.seedance.SeedanceHook"
    assert hooks["seedance"]["package_name"] == "airflow-provider-seedance"
    assert hooks["seedance"]["conn_id_attribute_name"] == "seedance_conn_id"


def test_connection_form_metadata_reaches_the_ui(cli_env):
    behaviours = _airflow_json("providers", "behaviours")
    assert {"field_behaviours": "seedance"} in behaviours
    widgets = {row["connection_parameter_name"]: row for row in _airflow_json("providers", "widgets")}
    assert widgets["extra__seedance__gateway"]["package_name"] == "airflow-provider-seedance"


def test_ui_connection_form_has_relabels_and_gateway_choice():
    # The same service the api-server's /ui/connections/hook_meta route answers from.
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    meta = {item.connection_type: item for item in HookMetaService.hook_meta_data()}["seedance"]
    assert meta.hook_class_name == "airflow_provider_seedance.hooks.seedance.SeedanceHook"
    standard = meta.standard_fields.model_dump()
    assert standard["host"]["title"] == "Base URL"
    assert standard["password"]["title"] == "API key"
    assert standard["login"]["hidden"] is True
    gateway = meta.extra_fields["gateway"]
    assert gateway["schema"]["enum"] == ["ark", "imini", "apimart", "aiproxy", "infinityblue", "jimmyai"]
