"""The provider metadata is valid for the installed Airflow and matches the code it points at."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.resources
import json

import jsonschema
import pytest

from airflow_provider_seedance.gateways import GATEWAY_NAMES, all_gateways
from airflow_provider_seedance.get_provider_info import get_provider_info


def _airflow_schema(name: str) -> dict:
    return json.loads(importlib.resources.files("airflow").joinpath(name).read_text())


def test_matches_runtime_schema_shipped_with_airflow():
    jsonschema.validate(get_provider_info(), _airflow_schema("provider_info.schema.json"))


def test_connection_form_matches_airflow_declarative_schema():
    # provider.yaml.schema.json holds the definition of conn-fields / ui-field-behaviour that 3.3 reads.
    item_schema = _airflow_schema("provider.yaml.schema.json")["properties"]["connection-types"]["items"]
    for connection_type in get_provider_info()["connection-types"]:
        jsonschema.validate(connection_type, item_schema)


def test_field_behaviour_matches_customized_form_schema():
    behaviour = get_provider_info()["connection-types"][0]["ui-field-behaviour"]
    as_snake_case = {key.replace("-", "_"): value for key, value in behaviour.items()}
    jsonschema.validate(as_snake_case, _airflow_schema("customized_form_field_behaviours.schema.json"))
    assert behaviour["relabeling"] == {"host": "Base URL", "password": "API key"}


def test_package_name_is_the_distribution_name():
    distribution = importlib.metadata.distribution("airflow-provider-seedance")
    assert get_provider_info()["package-name"] == distribution.metadata["Name"]
    entry_points = [ep for ep in distribution.entry_points if ep.group == "apache_airflow_provider"]
    assert [ep.value for ep in entry_points] == ["airflow_provider_seedance.get_provider_info:get_provider_info"]
    assert entry_points[0].load() is get_provider_info


def test_gateway_field_offers_exactly_the_six_dialects():
    field = get_provider_info()["connection-types"][0]["conn-fields"]["gateway"]
    assert field["schema"]["enum"] == list(GATEWAY_NAMES)
    assert set(GATEWAY_NAMES) == {"ark", "imini", "apimart", "aiproxy", "infinityblue", "jimmyai"}
    assert [gateway.name for gateway in all_gateways().values()] == list(GATEWAY_NAMES)  # each name, its dialect


@pytest.mark.parametrize("connection_type", get_provider_info()["connection-types"])
def test_hook_class_declares_what_airflow_reads(connection_type):
    module_name, class_name = connection_type["hook-class-name"].rsplit(".", 1)
    hook_class = getattr(importlib.import_module(module_name), class_name)
    assert hook_class.conn_type == connection_type["connection-type"]
    assert hook_class.hook_name == connection_type["hook-name"]
    assert hook_class.default_conn_name == "seedance_default"
    assert hook_class.conn_name_attr == "seedance_conn_id"


def test_listed_modules_and_links_import():
    info = get_provider_info()
    for section in ("hooks", "operators", "sensors", "triggers"):
        for entry in info[section]:
            for module in entry["python-modules"]:
                importlib.import_module(module)
    names = []
    for link in info["extra-links"]:
        module_name, class_name = link.rsplit(".", 1)
        names.append(getattr(importlib.import_module(module_name), class_name).name)
    assert names == ["Seedance task", "Seedance video"]


def test_provider_info_does_not_import_the_dialects():
    # Airflow reads provider info in every process it starts; it must stay cheap.
    import ast
    import subprocess
    import sys

    probe = (
        "import sys; from airflow_provider_seedance.get_provider_info import get_provider_info; get_provider_info(); "
        "print(sorted(m for m in sys.modules if m.startswith('airflow_provider_seedance')))"
    )
    output = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    loaded = ast.literal_eval(output)
    # The gateway names come from the lazy registry, which loads no dialect (nor the hook).
    assert "airflow_provider_seedance.gateways" in loaded
    assert [
        name
        for name in loaded
        if name.startswith(("airflow_provider_seedance.gateways.", "airflow_provider_seedance.hooks.seedance"))
    ] == []
