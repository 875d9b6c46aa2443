"""Airflow's own command line finds our provider, hook and connection form."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# Airflow's own command line, parsed and run as ``airflow <command> --output json`` does, for several commands
# in one process: each ``airflow`` process costs seconds of imports before it does anything.
CLI = """
import contextlib, io, json, sys
from airflow.cli import cli_parser

parser = cli_parser.get_parser()
outputs = []
for command in json.loads(sys.argv[1]):
    printed = io.StringIO()
    args = parser.parse_args([*command, "--output", "json"])
    with contextlib.redirect_stdout(printed):
        args.func(args)
    # Airflow may print warnings before the JSON document; the document is the last line.
    outputs.append(json.loads(printed.getvalue().strip().splitlines()[-1]))
print(json.dumps(outputs))
"""
COMMANDS = {name: ["providers", name] for name in ("list", "hooks", "behaviours", "widgets")}


@pytest.fixture(scope="module")
def providers(tmp_path_factory) -> dict[str, list[dict]]:
    """What ``airflow providers list|hooks|behaviours|widgets --output json`` print, by subcommand."""
    home = os.environ.get("AIRFLOW_HOME") or str(tmp_path_factory.mktemp("airflow-home"))
    result = subprocess.run(
        [sys.executable, "-c", CLI, json.dumps(list(COMMANDS.values()))],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "AIRFLOW_HOME": home},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(zip(COMMANDS, json.loads(result.stdout.strip().splitlines()[-1]), strict=True))


def test_providers_list_shows_seedance(providers):
    listed = {row["package_name"]: row for row in providers["list"]}
    assert "airflow-provider-seedance" in listed
    assert listed["airflow-provider-seedance"]["version"] == "0.1.0"


def test_providers_hooks_shows_seedance_hook(providers):
    hooks = {row["connection_type"]: row for row in providers["hooks"]}
    assert hooks["seedance"]["class"] == "airflow_provider_seedance.hooks.seedance.SeedanceHook"
    assert hooks["seedance"]["package_name"] == "airflow-provider-seedance"
    assert hooks["seedance"]["conn_id_attribute_name"] == "seedance_conn_id"


def test_connection_form_metadata_reaches_the_ui(providers):
    assert {"field_behaviours": "seedance"} in providers["behaviours"]
    widgets = {row["connection_parameter_name"]: row for row in providers["widgets"]}
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
