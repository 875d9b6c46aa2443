"""Which object stores a path may name, checked while a DAG is parsed: a store whose provider is not installed,
or a scheme Airflow's object storage does not read, fails the DAG file naming what to do."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from airflow.sdk import ObjectStoragePath

from airflow_provider_seedance.stores import schemes
from airflow_provider_seedance.stores.base import MAX_SIGNED_URL_LIFETIME, capped
from airflow_provider_seedance.stores.registry import store_for
from airflow_provider_seedance.stores.schemes import AZURE, GCS, S3, SIGNABLE_SCHEMES, scheme_support_problem


@pytest.fixture
def without_gcsfs(monkeypatch):
    """This machine as one without the [google] extra: GCS's library under a name no machine has."""
    monkeypatch.setattr(schemes, "CLOUD_STORES", (S3, replace(GCS, modules=("gcsfs_not_on_this_machine",)), AZURE))


def test_every_cloud_store_is_installed_in_the_development_environment():
    assert [kind.missing_modules() for kind in schemes.CLOUD_STORES] == [[], [], []]
    assert {"s3", "s3a", "s3n", "gs", "gcs", "abfs", "abfss"} == SIGNABLE_SCHEMES


def test_a_store_without_its_extra_names_the_extra_to_install(without_gcsfs):
    problem = scheme_support_problem("gs")
    assert problem == (
        "gs:// paths (Google Cloud Storage) need gcsfs_not_on_this_machine, which are not installed; install "
        "'airflow-provider-seedance[google]' on every Airflow machine (scheduler, workers, triggerer)"
    )
    assert scheme_support_problem("abfs") is None
    assert scheme_support_problem("s3") is None
    assert scheme_support_problem("file") is None


@pytest.mark.parametrize(("scheme", "instead"), [("wasb", "abfs"), ("wasbs", "abfss"), ("az", "abfs")])
def test_azure_schemes_airflow_does_not_read_name_the_one_it_does(scheme, instead):
    assert scheme_support_problem(scheme).startswith(
        f"{scheme}:// is not a scheme Airflow's object storage reads; write {instead}://<container>/<path>"
    )


def test_an_output_in_a_store_without_its_extra_fails_the_dag_file(without_gcsfs):
    from airflow_provider_seedance.operators.seedance import SeedanceGenerateVideoOperator

    with pytest.raises(
        ValueError, match=r"output_path='gs://acme/x\.mp4': gs:// paths \(Google Cloud Storage\)"
    ) as err:
        SeedanceGenerateVideoOperator(task_id="gcs_output", model="m", prompt="p", output_path="gs://acme/x.mp4")
    assert "install 'airflow-provider-seedance[google]'" in str(err.value)


def test_a_media_input_in_a_store_without_its_extra_fails_the_dag_file(without_gcsfs):
    from airflow_provider_seedance.operators.seedance import SeedanceGenerateVideoOperator

    with pytest.raises(ValueError, match=r"first_frame.*gs:// paths \(Google Cloud Storage\) need"):
        SeedanceGenerateVideoOperator(
            task_id="gcs_input", model="m", prompt="p", first_frame="gs://acme/a.png", output_path="s3://b/x.mp4"
        )


def test_a_wasb_output_fails_the_dag_file_naming_abfs():
    from airflow_provider_seedance.operators.seedance import SeedanceGenerateVideoOperator

    with pytest.raises(ValueError, match=r"output_path='wasb://videos@acme/x\.mp4': wasb:// is not a scheme"):
        SeedanceGenerateVideoOperator(task_id="wasb", model="m", prompt="p", output_path="wasb://videos@acme/x.mp4")


def test_an_output_path_object_is_judged_by_its_scheme(without_gcsfs):
    from airflow_provider_seedance.operators.seedance import SeedanceGenerateVideoOperator

    with pytest.raises(ValueError, match=r"gs:// paths \(Google Cloud Storage\) need"):
        SeedanceGenerateVideoOperator(
            task_id="gcs_path", model="m", prompt="p", output_path=ObjectStoragePath("gs://acme/x.mp4")
        )


@pytest.mark.parametrize(
    ("uri", "store"),
    [
        ("s3://b/k", "S3Store"),
        ("gs://b/k", "GcsStore"),
        ("gcs://b/k", "GcsStore"),
        ("abfs://c/k", "AzureStore"),
        ("abfss://c/k", "AzureStore"),
        ("file:///tmp/k", "LocalStore"),
        ("memory://k", "ObjectStore"),
    ],
)
def test_each_scheme_is_written_by_its_own_store(uri, store):
    assert type(store_for(ObjectStoragePath(uri))).__name__ == store


def test_an_azure_path_without_a_connection_fails_before_anything_is_paid():
    from airflow_provider_seedance.outputs.store import check_destination

    with pytest.raises(ValueError, match=r"abfs://videos/x\.mp4 has no connection; abfs:// paths are written"):
        check_destination(ObjectStoragePath("abfs://videos/x.mp4"))


def test_signed_urls_live_at_most_seven_days(caplog):
    assert capped(timedelta(hours=3), "SAS URL") == timedelta(hours=3)
    assert capped(timedelta(days=9), "SAS URL") == MAX_SIGNED_URL_LIFETIME == timedelta(days=7)
    assert "A SAS URL lives at most 7 days; 9 days, 0:00:00 is longer than that." in caplog.text
