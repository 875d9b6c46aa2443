"""OpenLineage naming and the facet, from the results the operators return: inputs named as OpenLineage
names them (without credentials), and what skipped, failed and empty tasks report."""

from __future__ import annotations

import pytest

from airflow_provider_seedance.observability.lineage import SeedanceRunFacet, input_dataset, operator_lineage


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://bucket/dir/a.png", ("s3://bucket", "dir/a.png")),
        ("s3://aws_default@bucket/a.png", ("s3://bucket", "a.png")),  # Airflow's conn_id@ names no data
        ("file:///data/in/a.png", ("file", "/data/in/a.png")),
        ("gs://bucket/dir/a.png", ("gs://bucket", "dir/a.png")),
        ("abfs://container/dir/a.png", ("abfs://container", "dir/a.png")),
        (
            "https://b.s3.amazonaws.com/a.png?X-Amz-Algorithm=AWS4&X-Amz-Credential=AKIA&X-Amz-Signature=ab12",
            ("https://b.s3.amazonaws.com", "/a.png"),
        ),
        (
            "https://user:secret@cdn.example.com:8443/i/a.png?Expires=1&Signature=x",
            ("https://cdn.example.com:8443", "/i/a.png"),
        ),
        ("HTTP://cdn.example.com", ("http://cdn.example.com", "/")),
    ],
)
def test_inputs_are_named_as_openlineage_names_them_without_credentials(uri, expected):
    dataset = input_dataset(uri)
    assert (dataset.namespace, dataset.name) == expected


@pytest.mark.parametrize("uri", ["data:image/png;base64,iVBORw0KGgo=", "asset://asset-20260101-abc", "not a uri"])
def test_inline_data_and_gateway_assets_are_no_inputs(uri):
    assert input_dataset(uri) is None


def test_skipped_and_failed_generations_add_no_datasets_but_are_listed():
    stored = {
        "video_path": "s3://b/1.mp4",
        "last_frame_path": None,
        "manifest_path": "s3://b/1.mp4.json",
        "remote_task_id": "cgt-1",
        "gateway": "ark",
        "model": "m",
        "seed": 7,
        "usage": None,
        "estimated_cost": 0.5,
        "actual_cost": None,
        "currency": "USD",
        "skipped": False,
    }
    concluded = [
        ({"reference_images": ["s3://b/in.png"]}, {"output_path": "s3://b/1.mp4", "status": "stored", **stored}),
        (
            {"first_frame": "s3://b/other.png"},
            {
                "output_path": "s3://b/2.mp4",
                "status": "skipped",
                **stored,
                "video_path": "s3://b/2.mp4",
                "skipped": True,
            },
        ),
        (
            {"first_frame": "s3://b/third.png"},
            {"output_path": "s3://b/3.mp4", "status": "failed", "remote_task_id": None, "cause": "before_submit"},
        ),
    ]
    lineage = operator_lineage(concluded)
    assert {(d.namespace, d.name) for d in lineage.outputs} == {
        ("s3://b", "1.mp4"),
        ("s3://b", "1.mp4.json"),
    }
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("s3://b", "in.png")]
    facet = lineage.run_facets["seedance"]
    assert isinstance(facet, SeedanceRunFacet)
    assert [(each["status"], each["video"]) for each in facet.generations] == [
        ("stored", "s3://b/1.mp4"),
        ("skipped", "s3://b/2.mp4"),
        ("failed", "s3://b/3.mp4"),
    ]
    assert facet.generations[2] == {"status": "failed", "video": "s3://b/3.mp4", "cause": "before_submit"}


def test_a_task_that_concluded_nothing_reports_nothing():
    lineage = operator_lineage([])
    assert (lineage.inputs, lineage.outputs, lineage.run_facets) == ([], [], {})
