"""The generation settings are defined once (``GenerationSettings``); the operators take exactly those."""

from __future__ import annotations

import inspect
from datetime import timedelta

import pytest

from airflow_provider_seedance.generation.settings import DEFAULTS, GenerationSettings
from airflow_provider_seedance.operators.base import BaseSeedanceGenerationOperator
from airflow_provider_seedance.operators.batch import SeedanceBatchGenerateVideoOperator
from airflow_provider_seedance.operators.seedance import SeedanceGenerateVideoOperator


def test_the_base_operator_takes_every_setting_with_its_default():
    # Airflow fills arguments from default_args by the signature, so each setting is a named parameter.
    parameters = inspect.signature(BaseSeedanceGenerationOperator.__init__).parameters
    taken = {name: parameters[name].default for name in parameters if name in GenerationSettings.names()}
    assert taken == {name: getattr(DEFAULTS, name) for name in GenerationSettings.names()}
    assert set(parameters) - set(GenerationSettings.names()) == {"self", "asset_alias", "kwargs"}


@pytest.mark.parametrize("operator", [SeedanceGenerateVideoOperator, SeedanceBatchGenerateVideoOperator])
def test_the_operators_build_their_settings_from_their_arguments(operator):
    given = {"seedance_conn_id": "sim_ark", "poll_interval": 2.5, "generation_timeout": timedelta(minutes=9)}
    request = {"model": "m", "output_path": "s3://b/k.mp4"}
    task = (
        operator(task_id="t", **given, **request)
        if operator is SeedanceGenerateVideoOperator
        else operator(task_id="t", requests=[request], **given)
    )
    assert task.settings() == GenerationSettings(**given)
    assert all(getattr(task, name) == getattr(task.settings(), name) for name in GenerationSettings.names())


@pytest.mark.parametrize(
    ("setting", "value", "allowed"),
    [
        ("poll_interval", 0, "more than 0 and at most 3600"),
        ("generation_timeout", timedelta(hours=73), "at most 3 days"),
        ("max_cost", -1, "more than 0, or None"),
        ("on_unknown_submit", "retry", "fail, resubmit"),
        ("media_delivery", ["carrier_pigeon"], "presigned_url"),
    ],
)
def test_a_bad_setting_fails_while_the_dag_is_parsed_naming_the_field(setting, value, allowed):
    with pytest.raises(ValueError, match=rf"^t: .*{setting}.*{allowed}"):
        SeedanceGenerateVideoOperator(task_id="t", model="m", output_path="s3://b/k.mp4", **{setting: value})
