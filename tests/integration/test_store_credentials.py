"""Credentials a store refuses: a write or a read through them fails as "no retry helps", naming the field, and a
connection that cannot sign a URL says so before anything is paid. On Azurite, which checks every signature, and
through gcsfs's own reading of Google's answers (fake-gcs-server checks no credentials)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from airflow.sdk import ObjectStoragePath

from airflow_provider_seedance.exceptions import MediaDeliveryError, MediaSourceError
from airflow_provider_seedance.media.sources import read_sources
from airflow_provider_seedance.models import VideoRequest
from airflow_provider_seedance.outputs.store import unwritable, write_json
from airflow_provider_seedance.stores.gcs import GcsStore
from airflow_provider_seedance.stores.registry import store_for
from airflow_provider_seedance.testing.azure import ACCOUNT
from tests.conftest import BUCKET
from tests.support.media import png

WRONG_KEY = "d3Jvbmcta2V5LWZvci10aGUtZGV2LWFjY291bnQtdGhhdC1henVyaXRlLXJlZnVzZXM="


@pytest.fixture
def wrong_key(azurite_server, monkeypatch) -> str:
    """A wasb connection to Azurite's account with a key Azurite refuses."""
    connection_string = azurite_server.connection_string.replace(
        azurite_server.connection_string.split("AccountKey=")[1].split(";")[0], WRONG_KEY
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_AZURE_WRONG_KEY",
        json.dumps({"conn_type": "wasb", "extra": {"connection_string": connection_string}}),
    )
    return "azure_wrong_key"


def test_a_write_with_a_refused_key_is_unwritable(wrong_key):
    output = ObjectStoragePath(f"abfs://{BUCKET}/refused/x.mp4.json", conn_id=wrong_key)
    with pytest.raises(Exception, match=r"AuthorizationFailure|AuthenticationFailed") as raised:
        write_json(output, {"x": 1})
    assert unwritable(raised.value, output)


def test_an_input_read_with_a_refused_key_fails_as_access_denied(azurite_server, wrong_key):
    azurite_server.service().get_blob_client(BUCKET, "refused/frame.png").upload_blob(png(), overwrite=True)
    request = VideoRequest(model="m", prompt="p", first_frame=f"abfs://{BUCKET}/refused/frame.png")
    with pytest.raises(MediaSourceError, match=r"first_frame=.*access denied .*check media_conn_id's credentials"):
        read_sources(request, wrong_key)


def test_google_refusals_are_judged_as_denied():
    from gcsfs.retry import validate_response

    store = GcsStore()
    for status in (401, 403):
        with pytest.raises(Exception) as raised:  # noqa: PT011 (gcsfs's own classes: OSError, HttpError)
            validate_response(status, b'{"error": {"code": %d, "message": "no"}}' % status, "b/k")
        assert store.denied(raised.value), raised.value
    with pytest.raises(Exception) as transient:  # noqa: PT011
        validate_response(503, b'{"error": {"code": 503, "message": "try later"}}', "b/k")
    assert not store.denied(transient.value)


def test_a_sas_token_connection_cannot_sign_and_says_what_to_do(azurite_server, monkeypatch):
    connection = {"conn_type": "wasb", "host": azurite_server.blob_endpoint, "login": ACCOUNT}
    connection["extra"] = {"sas_token": "sv=2025-01-05&ss=b&srt=o&sp=r&sig=not-a-real-signature"}
    monkeypatch.setenv("AIRFLOW_CONN_AZURE_SAS_ONLY", json.dumps(connection))
    path = ObjectStoragePath(f"abfs://{BUCKET}/in/ref.mp4", conn_id="azure_sas_only")
    with pytest.raises(MediaDeliveryError) as raised:
        store_for(path).signed_url(path, timedelta(hours=1))
    assert not raised.value.retryable
    message = str(raised.value)
    assert message.startswith("media_conn_id='azure_sas_only': cannot sign a URL for abfs://seedance-test/in/ref.mp4")
    assert "SAS token or anonymously, and neither can sign" in message
    assert message.endswith(
        "or put 'upload' or 'inline' before 'presigned_url' in media_delivery where the gateway takes them"
    )
    assert "not-a-real-signature" not in message


@pytest.mark.parametrize("store", ["gcs", "azure"])
def test_an_input_without_a_connection_cannot_be_signed(store, request):
    from tests.support.stores import CloudStore

    where = CloudStore.started(store, request)
    path = ObjectStoragePath(where.uri("in/a.png"))
    with pytest.raises(MediaDeliveryError, match=r"media_conn_id=None: cannot sign a URL .*no connection names"):
        store_for(path).signed_url(path, timedelta(hours=1))
