"""Different prompts render visibly different clips; equal requests still render once."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from airflow_provider_seedance.simulator.media import Look, MediaCache, VideoSpec
from airflow_provider_seedance.simulator.media import prompt_bits as strip_bits
from tests.integration.simulator.media_check import decode_mp4, prompt_bits

RAIN = "Nimbus rain jacket in a neon-lit city street during a downpour"
LAMP = "Arc desk lamp on a tidy walnut desk as night falls"


def _rgb(path) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(path.read_bytes())).convert("RGB"), np.int16)


def test_two_prompts_differ_in_pattern_colour_and_caption(tmp_path):
    cache = MediaCache(tmp_path)
    rain, lamp = (VideoSpec(864, 480, 2, 12, False, prompt) for prompt in (RAIN, LAMP))
    assert Look.of(RAIN) != Look.of(LAMP)
    assert cache.video(rain).read_bytes() != cache.video(lamp).read_bytes()
    first, second = _rgb(cache.last_frame(rain)), _rgb(cache.last_frame(lamp))
    assert np.abs(first - second).mean() > 30  # out of 255: plainly different pictures, not a few pixels
    caption = first[-40:, 10:400]  # the band along the bottom holds the prompt's text: dark with light letters
    assert caption.mean() < 80
    assert caption.max() > 200


def test_a_clip_stays_playable_and_keeps_its_prompt_strip(tmp_path):
    data = MediaCache(tmp_path).video(VideoSpec(1280, 720, 2, 12, True, RAIN)).read_bytes()
    decoded = decode_mp4(data)
    assert (decoded.width, decoded.height, decoded.frames, decoded.has_audio) == (1280, 720, 24, True)
    assert prompt_bits(data) == strip_bits(RAIN)


def test_an_equal_request_is_served_from_the_cache(tmp_path):
    cache = MediaCache(tmp_path)
    path = cache.video(VideoSpec(864, 480, 2, 12, False, RAIN))
    rendered = path.stat().st_mtime_ns
    assert cache.video(VideoSpec(864, 480, 2, 12, False, RAIN)) == path
    assert path.stat().st_mtime_ns == rendered
    assert cache.video(VideoSpec(864, 480, 2, 12, False, RAIN + "!")) != path
