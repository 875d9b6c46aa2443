"""The compat layer gives the same answers on every supported Airflow release (run by the version matrix)."""

from __future__ import annotations

import warnings

from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_3_PLUS
from airflow.sdk import ObjectStoragePath

from airflow_provider_seedance import compat
from airflow_provider_seedance.get_provider_info import get_provider_info
from airflow_provider_seedance.hooks.seedance import SeedanceHook


def test_trigger_on_kill_is_known_to_be_supported_from_3_3():
    assert compat.TRIGGER_ON_KILL_SUPPORTED is AIRFLOW_V_3_3_PLUS


def test_storage_conn_id_reads_the_connection_on_every_release():
    assert compat.storage_conn_id(ObjectStoragePath("s3://bucket/key.mp4", conn_id="aws_x")) == "aws_x"
    assert compat.storage_conn_id(ObjectStoragePath("s3://aws_y@bucket/key.mp4")) == "aws_y"
    assert compat.storage_conn_id(ObjectStoragePath("file:///tmp/key.mp4")) is None


def test_legacy_field_behaviour_is_the_declarative_one():
    declarative = get_provider_info()["connection-types"][0]["ui-field-behaviour"]
    legacy = SeedanceHook.get_ui_field_behaviour()
    assert legacy == {key.replace("-", "_"): value for key, value in declarative.items()}


def test_legacy_gateway_widget_offers_the_declarative_choices():
    from wtforms import Form

    declarative = get_provider_info()["connection-types"][0]["conn-fields"]["gateway"]
    widgets = SeedanceHook.get_connection_form_widgets()
    assert list(widgets) == ["gateway"]
    form_class = type("SeedanceForm", (Form,), widgets)
    form = form_class(data={"gateway": "apimart"})
    assert form.gateway.label.text == declarative["label"]
    assert form.gateway.default == declarative["schema"]["default"]
    assert form.validate()
    assert not form_class(data={"gateway": "openai"}).validate()


def test_hook_methods_for_old_releases_raise_no_deprecation_on_new_ones():
    # 3.2+ skips the hook's form methods (and their deprecation warning) when provider info has the form.
    from airflow.providers_manager import ProvidersManager

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert ProvidersManager().hooks["seedance"].hook_class_name.endswith("SeedanceHook")
    assert not [w for w in caught if "SeedanceHook" in str(w.message)]
