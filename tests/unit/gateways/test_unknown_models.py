"""Issue 11: a model a dialect does not know gets the gateway's structural rules only.

Seedance 2.5 was refused by the "gateway-wide" checks of the 2.0 era (12 reference images: "at most 9";
audio-only references: "audio needs at least one reference image or video"). Next year's model must not be.
"""

from __future__ import annotations

import pytest

from airflow_provider_seedance.exceptions import RequestValidationError
from airflow_provider_seedance.gateways import all_gateways
from airflow_provider_seedance.models import VideoRequest

IMAGES = tuple(f"https://cdn.example.com/ref-{index}.png" for index in range(12))
AUDIOS = ("https://cdn.example.com/voice.mp3", "https://cdn.example.com/music.mp3")
# aiproxy's API has an `images` field only: no reference video or audio reaches it, whatever the model.
CARRIES_AUDIO = sorted(
    name for name, gateway in all_gateways().items() if gateway.unknown_model_spec.max_reference_audios != 0
)


@pytest.mark.parametrize("name", sorted(all_gateways()))
def test_twelve_reference_images_pass_for_an_unknown_model(name):
    request = VideoRequest(model="seedance-next-270101", prompt="x", reference_images=IMAGES, duration=30)
    all_gateways()[name].build_submit(request)


@pytest.mark.parametrize("name", CARRIES_AUDIO)
def test_audio_only_references_pass_for_an_unknown_model(name):
    request = VideoRequest(model="seedance-next-270101", prompt="x", reference_audios=AUDIOS)
    all_gateways()[name].build_submit(request)


@pytest.mark.parametrize("name", sorted(all_gateways()))
def test_mixing_frames_and_references_is_still_refused_for_an_unknown_model(name):
    request = VideoRequest(
        model="seedance-next-270101", prompt="x", first_frame=IMAGES[0], reference_images=IMAGES[1:3]
    )
    with pytest.raises(RequestValidationError, match="mutually exclusive"):
        all_gateways()[name].build_submit(request)


def test_aiproxy_carries_no_reference_audio_whatever_the_model():
    assert CARRIES_AUDIO == ["apimart", "ark", "imini", "infinityblue", "jimmyai"]
