"""The fan-out example's real run report in a real headless Chromium: every video plays, nothing logs an
error, a screenshot is kept."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from airflow_provider_seedance.simulator import FaultPlan, ScriptedFault
from tests.conftest import BUCKET, dag_test, s3_client
from tests.e2e.browser import Browser, chromium
from tests.support.examples import _load

# Plays every video until it has shown a frame and moved on (at most 5 s: a busy machine decodes slowly);
# per video: what Chromium made of it.
PLAY_EVERY_VIDEO = """Promise.all([...document.querySelectorAll('video')].map(video => new Promise(done => {
  const frames = () => video.getVideoPlaybackQuality().totalVideoFrames;
  const report = () => { video.pause(); done({src: video.getAttribute('src'), ready: video.readyState,
    error: video.error && video.error.code, width: video.videoWidth, played: video.currentTime,
    frames: frames()}); };
  if (video.error) return report();
  video.addEventListener('error', report, {once: true});
  const started = Date.now();
  const playing = () => (video.currentTime > 0 && frames() > 0) || Date.now() - started > 5000
    ? report() : setTimeout(playing, 100);
  video.play().then(playing, report);
})))"""


POSTERS_LOADED = """Promise.all([...document.querySelectorAll('video[poster]')].map(video => new Promise(done => {
  const image = new Image();
  image.onload = () => done(image.naturalWidth);
  image.onerror = () => done(0);
  image.src = video.poster;
})))"""


@pytest.fixture(scope="session")  # session: checked before the module's examples are set up
def browser_binary() -> str:
    binary = chromium()
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed; .ci/run installs it (apt-get install -y chromium)")
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium); CI installs it")
    return binary


@pytest.mark.usefixtures("examples")
def test_the_fanout_report_plays_in_a_real_browser(moto_server, simulator, browser_binary, tmp_path, monkeypatch):
    monkeypatch.setenv("SEEDANCE_OUTPUT_BASE", f"s3://{BUCKET}/report-browser")
    simulator.simulator.faults.replace(
        FaultPlan(script=[ScriptedFault(kind="moderation", gateway="apimart", op="submit")], retry_after_seconds=0)
    )
    dag_test(_load("seedance_fanout_from_etl").dag)
    client = s3_client(moto_server)
    # Readable without credentials, as a bucket (or a prefix of one) that serves pages is.
    public = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/report-browser/*",
    }
    client.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [public]}))
    listing = client.list_objects_v2(Bucket=BUCKET, Prefix="report-browser/")["Contents"]
    report_key = next(item["Key"] for item in listing if item["Key"].endswith("/report.html"))
    copy = tmp_path / "copy"  # the run's folder as someone would download it to a laptop
    for item in listing:
        target = copy / item["Key"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(client.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read())

    places = {"laptop": (copy / report_key).as_uri(), "bucket": f"{moto_server}/{BUCKET}/{report_key}"}
    seen = asyncio.run(_look_at(browser_binary, places, tmp_path))
    print(f"\nReport screenshots: {tmp_path / 'report-laptop.png'}, {tmp_path / 'report-bucket.png'}")
    for place, (videos, posters, errors) in seen.items():
        assert len(videos) == 5, place  # six rows, one refused at submit
        for video in videos:
            assert video["error"] is None, (place, video)
            assert video["ready"] >= 1, (place, video)
            assert (video["width"], video["frames"] > 0, video["played"] > 0) == (864, True, True), (place, video)
        assert posters == [864] * 5, place
        assert errors == [], place
    assert (tmp_path / "report-laptop.png").stat().st_size > 50_000


async def _look_at(binary: str, places: dict[str, str], folder: Path) -> dict[str, tuple[list, list, list[str]]]:
    seen = {}
    async with Browser(binary) as browser:
        for place, url in places.items():
            browser.errors.clear()
            await browser.open(url)
            posters = await browser.evaluate(POSTERS_LOADED)
            videos = await browser.evaluate(PLAY_EVERY_VIDEO)
            await browser.screenshot(folder / f"report-{place}.png")  # each player paused on a decoded frame
            seen[place] = (videos, posters, list(browser.errors))
    return seen
