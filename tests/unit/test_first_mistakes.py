"""First mistakes that fail when the DAG is parsed, before any run: a path without a scheme, a setting out
of range, a request field no model accepts; templated and mapped fields wait for execute."""

from __future__ import annotations

from datetime import timedelta

import pytest

from airflow_provider_seedance.operators.seedance import SeedanceGenerateVideoOperator
from tests.conftest import BUCKET
from tests.support.dag_runs import MODELS


def _operator(**kwargs) -> SeedanceGenerateVideoOperator:
    arguments = {"task_id": "clip", "model": MODELS["ark"], "prompt": "x", "output_path": f"s3://{BUCKET}/x.mp4"}
    return SeedanceGenerateVideoOperator(**{**arguments, **kwargs})


def test_an_output_path_without_a_scheme_fails_when_the_dag_is_parsed():
    with pytest.raises(ValueError, match=r"output_path='acme-videos/clips/x.mp4' has no scheme") as caught:
        _operator(output_path="acme-videos/clips/x.mp4")
    assert "write s3://acme-videos/clips/x.mp4" in str(caught.value)


@pytest.mark.parametrize("value", [0, -1, 3601])
def test_a_poll_interval_out_of_range_fails_when_the_dag_is_parsed(value):
    with pytest.raises(ValueError, match=rf"poll_interval={value}; allowed: more than 0 and at most 3600 seconds"):
        _operator(poll_interval=value)


@pytest.mark.parametrize("value", [timedelta(0), timedelta(days=4)])
def test_a_generation_timeout_out_of_range_fails_when_the_dag_is_parsed(value):
    with pytest.raises(ValueError, match=rf"generation_timeout={value}; allowed: more than 0 and at most 3 days"):
        _operator(generation_timeout=value)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"duration": 0}, "duration=0: whole seconds from 1 to 60, or -1 where the model picks the length"),
        ({"duration": 300}, "duration=300: whole seconds from 1 to 60"),
        ({"duration": "5s"}, "duration='5s': Input should be a valid integer"),
        ({"seed": -7}, "seed=-7: an integer in [-1, 4294967295] (-1: random)"),
        ({"seed": 2**32}, "seed=4294967296: an integer in [-1, 4294967295]"),
        ({"first_frame": "products/p1.png"}, "first_frame='products/p1.png': must be an http(s):// URL"),
        ({"reference_images": ["s3://b/a.png", "b.png"]}, "reference_images[1]='b.png': must be an http(s):// URL"),
    ],
)
def test_a_request_field_no_model_accepts_fails_when_the_dag_is_parsed(fields, problem):
    with pytest.raises(ValueError, match=r"^clip: invalid video request \(1 problem\)") as caught:
        _operator(**fields)
    assert problem in str(caught.value)


def test_templated_and_mapped_request_fields_wait_for_execute():
    _operator(duration="{{ params.seconds }}", seed="{{ params.seed }}", first_frame="{{ ti.xcom_pull('img') }}")
    _operator(model="{{ params.model }}", reference_images=["s3://b/a.png", "{{ params.image }}"])


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ({"duration": 99}, "duration=99: whole seconds from 1 to 60"),
        ({"poll_interval": 0}, "poll_interval=0; allowed: more than 0 and at most 3600 seconds"),
        ({"output_path": "acme-videos/x.mp4"}, "output_path='acme-videos/x.mp4' has no scheme"),
    ],
)
def test_partial_arguments_of_a_mapped_task_are_checked_when_the_dag_is_parsed(given, problem):
    from airflow.sdk import DAG

    with pytest.raises(ValueError, match=r"^clips: ") as caught, DAG(dag_id="mapped_mistake", schedule=None):
        SeedanceGenerateVideoOperator.partial(task_id="clips", model=MODELS["ark"], **given).expand(prompt=["a"])
    assert problem in str(caught.value)


def test_templated_and_mapped_arguments_of_a_mapped_task_wait_for_execute():
    from airflow.sdk import DAG, task

    with DAG(dag_id="mapped_fine", schedule=None) as dag:

        @task
        def seconds() -> int:
            return 5

        SeedanceGenerateVideoOperator.partial(
            task_id="clips", model=MODELS["ark"], duration=seconds(), output_path="s3://b/{{ ti.map_index }}.mp4"
        ).expand(prompt=["a", "b"])
    assert "clips" in dag.task_dict
