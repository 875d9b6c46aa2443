"""The run report: the pure page builder on manifests as the operator writes them (the fan-out example's real
report in a real browser: tests/e2e/test_report.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

from airflow_provider_seedance.models import TaskState, TaskStatus, VideoRequest
from airflow_provider_seedance.outputs.manifest import build_manifest, failure_record
from airflow_provider_seedance.outputs.report import Clip, Summary, render_report
from airflow_provider_seedance.outputs.store import StoredObject

START = datetime(2026, 3, 1, 22, 0, tzinfo=UTC)
FOLDER = "s3://night/films/2026-03-01"
REPORT = f"{FOLDER}/report.html"


def manifest(
    name: str,
    *,
    prompt: str = "a kite over dunes",
    gateway: str = "ark",
    seed: int | None = 7,
    estimate: float = 0.34,
    actual: float | None = 0.34,
    took: float = 40.0,
    started: float = 0.0,
    folder: str = FOLDER,
    last_frame: bool = True,
) -> dict:
    """A manifest built by the operator's own builder."""
    request = VideoRequest(
        model="m-1", prompt=prompt, duration=5, resolution="720p", ratio="16:9", seed=seed, return_last_frame=True
    )
    submitted = START + timedelta(seconds=started)
    video = f"{folder}/{name}"

    def price(amount: float | None) -> dict | None:
        return None if amount is None else {"amount": amount, "currency": "USD", "basis": "test"}

    return build_manifest(
        request=request,
        gateway=gateway,
        status=TaskStatus(task_id=f"task-{name}", state=TaskState.SUCCEEDED),
        video=StoredObject(video, 1_500_000, "0" * 64, "video/mp4"),
        last_frame=StoredObject(video.replace(".mp4", ".last_frame.png"), 900, "1" * 64, "image/png")
        if last_frame
        else None,
        request_sha256="2" * 64,
        inputs=[],
        submitted_at=submitted.isoformat(),
        stored_at=submitted + timedelta(seconds=took),
        airflow={"run_id": "nightly"},
        cost={"estimate": price(estimate), "actual": price(actual)},
    )


def refused(name: str, **extra: str) -> dict:
    """A failure record as the operator writes it, with the output and prompt the example adds."""
    record = failure_record(
        gateway="apimart",
        model="m-2",
        remote_task_id="task-refused",
        cause="input_moderation",
        code="sensitive",
        message="the first frame <img> was refused",
        at=START,
    )
    return {**record, "output": f"{FOLDER}/{name}", **extra}


class Page(HTMLParser):
    """The elements (tag and attributes) and the visible text of a page, as a browser's parser reads them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.texts: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.texts.append(data.strip())

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.elements if name == tag]

    @property
    def text(self) -> str:
        return " ".join(self.texts)


def page(manifests, failures=(), report_uri: str | None = REPORT, **run) -> Page:
    run = {"title": "Nightly films", "run_id": "nightly", "generated_at": START, **run}
    return Page(render_report(manifests, failures, report_uri=report_uri, **run))


def test_user_text_is_escaped_everywhere():
    hostile = '<script>alert("x")</script> & "quotes" <b>bold</b>'
    html = render_report(
        [manifest("a.mp4", prompt=hostile, gateway="<i>ark</i>")],
        [refused("b.mp4", prompt=hostile)],
        title="<title>night</title>",
        run_id="manual__<img src=x onerror=alert(1)>",
        generated_at=START,
        report_uri=REPORT,
    )
    parsed = Page(html)
    assert {tag for tag, _ in parsed.elements}.isdisjoint({"script", "b", "i", "img", "iframe"})
    assert parsed.text.count(hostile) == 2  # the clip's prompt and the failed row's prompt, shown as written
    assert "<i>ark</i>" in parsed.text
    assert "manual__<img src=x onerror=alert(1)>" in parsed.text
    assert "the first frame <img> was refused" in parsed.text


def test_the_page_loads_nothing_from_elsewhere():
    parsed = page([manifest("a.mp4")])
    assert not parsed.all("script")
    assert all(attrs["href"].startswith("data:") for attrs in parsed.all("link"))  # the icon, inline
    assert [attrs["src"] for attrs in parsed.all("video")] == ["a.mp4"]
    assert all(not (attrs.get("href") or "").startswith(("http", "//")) for attrs in parsed.all("a"))


def test_files_beside_the_report_are_linked_relatively():
    manifests = [
        manifest("a.mp4"),
        manifest("b c#1.mp4", folder=f"{FOLDER}/retakes", last_frame=False),
        manifest("d.mp4", folder="s3://night/films/2026-02-28"),
    ]
    parsed = page(manifests)
    videos = parsed.all("video")
    assert [attrs["src"] for attrs in videos] == ["a.mp4", "retakes/b%20c%231.mp4", "../2026-02-28/d.mp4"]
    assert [attrs.get("poster") for attrs in videos] == ["a.last_frame.png", None, "../2026-02-28/d.last_frame.png"]
    assert [attrs["href"] for attrs in parsed.all("a")] == [
        "a.mp4.json",
        "retakes/b%20c%231.mp4.json",
        "../2026-02-28/d.mp4.json",
    ]


def test_files_on_a_laptop_are_linked_relatively_too():
    parsed = page([manifest("a.mp4", folder="file:///home/me/films")], report_uri="file:///home/me/films/report.html")
    assert parsed.all("video")[0]["src"] == "a.mp4"


def test_a_video_a_browser_cannot_reach_is_named_not_played():
    # Another bucket: a relative link cannot reach it and an s3:// URI means nothing to a browser.
    parsed = page([manifest("a.mp4", folder="s3://elsewhere/x"), manifest("b.mp4", folder="https://cdn.example/v")])
    assert [attrs["src"] for attrs in parsed.all("video")] == ["https://cdn.example/v/b.mp4"]
    assert "Stored at s3://elsewhere/x/a.mp4" in parsed.text


def test_each_clip_shows_what_made_it_and_what_it_cost():
    text = page([manifest("a.mp4", seed=None, actual=None, took=83.0)]).text
    for shown in (
        "a kite over dunes",
        "Gateway ark",
        "Model m-1",
        "Duration 5 s",
        "Resolution 720p · 16:9",
        "Seed —",
        "Estimated 0.3400 USD",
        "Actual —",
        "Generation 1 min 23 s",
        "Size 1.50 MB",
        "task task-a.mp4",
    ):
        assert shown in text


def test_the_summary_adds_up_the_run():
    manifests = [
        manifest("a.mp4", estimate=0.34, actual=0.3, took=40, started=0),
        manifest("b.mp4", gateway="apimart", seed=None, estimate=0.5, actual=None, took=30, started=20),
    ]
    summary = Summary.of([Clip.from_manifest(each) for each in manifests], [refused("c.mp4")])
    assert summary == Summary(
        stored=2,
        failed=1,
        estimated={"USD": pytest.approx(0.84)},
        actual={"USD": 0.3},
        actual_known=1,
        generation_seconds=70.0,
        wall_seconds=50.0,
    )
    text = page(manifests, [refused("c.mp4")]).text
    for shown in (
        "Videos stored 2 of 3 asked for",
        "Failed 1",
        "Estimated cost 0.8400 USD",
        "Actual cost 0.3000 USD reported for 1 of 2",
        "Generation time 1 min 10 s",
        "Wall time 50.0 s",
        "Run nightly · generated 2026-03-01 22:00:00+00:00",
    ):
        assert shown in text


def test_a_failure_is_listed_with_its_cause():
    text = page([], [refused("c.mp4", prompt="a red fox")]).text
    assert "No video for 1" in text
    assert "c.mp4 input moderation (sensitive) · apimart · m-2 the first frame <img> was refused a red fox" in text
    assert "Videos stored 0 of 1 asked for" in text


def test_a_submit_of_unknown_outcome_is_listed_as_such():
    unknown = {**refused("d.mp4"), "cause": "outcome_unknown", "code": None, "remote_task_id": None}
    unknown["message"] = "outcome unknown: the submit's answer was lost. Next: look in apimart's console"
    text = page([], [unknown]).text
    assert "d.mp4 outcome unknown · apimart · m-2 outcome unknown: the submit's answer was lost." in text
