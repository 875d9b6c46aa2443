"""The batch operator's checks when the DAG is parsed: a bad list or setting fails at once, a list that
comes from XCom or templates waits for execute."""

from __future__ import annotations

import pytest

from airflow_provider_seedance.operators.batch import SeedanceBatchGenerateVideoOperator
from tests.support.dag_runs import MODELS, _requests

ARK = MODELS["ark"]


def _operator(**kwargs) -> SeedanceBatchGenerateVideoOperator:
    arguments = {"task_id": "batch", "requests": _requests("parse", 2), "defaults": {"model": ARK}}
    return SeedanceBatchGenerateVideoOperator(**{**arguments, **kwargs})


@pytest.mark.parametrize(
    ("requests", "message"),
    [
        ([], r"^batch: requests is empty: there is nothing to generate\. Next: fix the list of requests"),
        ("s3://b/x.mp4", r"requests='s3://b/x.mp4': a list of dicts is needed"),
        (
            [{"output_path": "s3://b/a.mp4"}, {"output_path": "s3://b/b.mp4"}, {"output_path": "s3://b/a.mp4"}],
            r"requests\[0, 2\] share output_path 's3://b/a\.mp4'; each item needs its own",
        ),
        ([{"prompt": "x"}], r"requests\[0\] has no output_path; every item needs its own"),
        (
            [{"output_path": "s3://b/a.mp4", "promt": "x", "seedance_conn_id": "c"}],
            r"requests\[0\] has 'promt', 'seedance_conn_id'; allowed: model, prompt, .*, output_path \(settings such",
        ),
        ([{"output_path": "videos/a.mp4"}], r"requests\[0\]: output_path='videos/a\.mp4' has no scheme"),
        (
            [{"output_path": "s3://b/a.mp4"}, {"output_path": "s3://b/b.mp4", "duration": 0}],
            r"(?s)1 item\(s\) are invalid: requests\[1\]: invalid video request \(1 problem\).*duration=0.*Next: fix",
        ),
    ],
    ids=["empty", "not-a-list", "duplicates", "no-output", "unknown-fields", "no-scheme", "bad-field"],
)
def test_a_bad_list_fails_when_the_dag_is_parsed(requests, message):
    with pytest.raises(ValueError, match=message):
        _operator(requests=requests)


def test_bad_settings_fail_when_the_dag_is_parsed():
    with pytest.raises(ValueError, match=r"max_in_flight=0; allowed: a whole number of at least 1"):
        _operator(max_in_flight=0)
    with pytest.raises(ValueError, match=r"defaults has 'output_conn_id'; allowed: the request fields"):
        _operator(defaults={"model": ARK, "output_conn_id": "aws"})
    with pytest.raises(ValueError, match=r"poll_interval=0; allowed: more than 0"):
        _operator(poll_interval=0)


def test_a_list_from_xcom_or_templates_waits_for_execute():
    from airflow.sdk import DAG, task

    with DAG(dag_id="batch_parse_xcom", schedule=None):

        @task
        def build() -> list[dict]:
            return []

        _operator(requests=build())
    _operator(requests=[{"output_path": "{{ params.out }}", "duration": "{{ params.seconds }}"}])
