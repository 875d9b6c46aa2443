"""A run's videos as one self-contained HTML page: a player per clip, what made it, what it cost, what failed.

``render_report`` is pure (manifests and failure records in, an HTML string out) and needs nothing from
Airflow. The page has no scripts and loads nothing from elsewhere: styles are inline, and videos, posters
and manifests stored in the report's own bucket or folder are linked relatively, so the page works when
served from the bucket or opened from a downloaded copy. Every string from a manifest is escaped.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import quote

from airflow_provider_seedance.outputs.layout import manifest_uri

MISSING = "—"


@dataclass(frozen=True)
class Clip:
    """One stored video, as the report shows it (read from its manifest)."""

    video: str
    last_frame: str | None
    manifest: str
    prompt: str
    gateway: str
    # The connection that served it, and the ones of its failover chain passed over first (id and why).
    connection: str | None
    passed_over: tuple[tuple[str, str], ...]
    model: str
    remote_task_id: str
    duration: int | None
    resolution: str | None
    ratio: str | None
    seed: int | None
    size: int
    estimate: Mapping[str, Any] | None
    actual: Mapping[str, Any] | None
    submitted_at: datetime | None
    stored_at: datetime | None

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any]) -> Clip:
        request = manifest.get("request") or {}
        cost = manifest.get("cost") or {}
        timings = manifest.get("timings") or {}
        video_uri = manifest["video"]["uri"]
        return cls(
            video=video_uri,
            last_frame=(manifest.get("last_frame") or {}).get("uri"),
            manifest=manifest_uri(video_uri),
            prompt=request.get("prompt", ""),
            gateway=manifest.get("gateway", ""),
            connection=manifest.get("seedance_conn_id"),
            passed_over=tuple(
                (str(hop.get("seedance_conn_id")), str(hop.get("cause"))) for hop in manifest.get("failover") or []
            ),
            model=manifest.get("model", ""),
            remote_task_id=manifest.get("remote_task_id", ""),
            duration=request.get("duration"),
            resolution=request.get("resolution"),
            ratio=request.get("ratio"),
            seed=manifest.get("seed"),
            size=manifest["video"].get("size", 0),
            estimate=cost.get("estimate"),
            actual=cost.get("actual"),
            submitted_at=_moment(timings.get("submitted_at")),
            stored_at=_moment(timings.get("stored_at")),
        )

    @property
    def seconds(self) -> float | None:
        """From submit to stored: the wait at the gateway plus the download."""
        if self.submitted_at is None or self.stored_at is None:
            return None
        return (self.stored_at - self.submitted_at).total_seconds()


@dataclass(frozen=True)
class Summary:
    """The run in numbers. Costs are per currency; ``actual_known`` counts the clips the gateway billed."""

    stored: int
    failed: int
    estimated: dict[str, float]
    actual: dict[str, float]
    actual_known: int
    generation_seconds: float
    wall_seconds: float | None

    @classmethod
    def of(cls, clips: Sequence[Clip], failures: Sequence[Mapping[str, Any]]) -> Summary:
        starts = [clip.submitted_at for clip in clips if clip.submitted_at]
        ends = [clip.stored_at for clip in clips if clip.stored_at]
        return cls(
            stored=len(clips),
            failed=len(failures),
            estimated=_totals(clip.estimate for clip in clips),
            actual=_totals(clip.actual for clip in clips),
            actual_known=sum(clip.actual is not None for clip in clips),
            generation_seconds=sum(clip.seconds or 0.0 for clip in clips),
            wall_seconds=(max(ends) - min(starts)).total_seconds() if starts and ends else None,
        )


def render_report(
    manifests: Sequence[Mapping[str, Any]],
    failures: Sequence[Mapping[str, Any]] = (),
    *,
    title: str,
    run_id: str | None,
    generated_at: datetime,
    report_uri: str | None = None,
) -> str:
    """The report page.

    :param manifests: the stored videos' manifests (``<video>.json``), in the order to show them.
    :param failures: why outputs are missing: ``<output>.failure.json`` records, best with ``output``
        (the output's URI) and ``prompt`` added; ``cause`` and ``message`` are shown as given.
    :param report_uri: where the page will be stored; files in the same bucket (or on the same disk)
        are linked relative to it. Without it only http(s) files get a player.
    """
    clips = [Clip.from_manifest(manifest) for manifest in manifests]
    summary = Summary.of(clips, failures)
    cards = "\n".join(_card(clip, report_uri) for clip in clips)
    run = f"Run <code>{escape(run_id)}</code> · " if run_id else ""
    return (
        f'<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<title>{escape(title)}</title>\n<link rel="icon" href="{ICON}">\n<style>{STYLE}</style>\n</head>\n<body>\n'
        f"<header><h1>{escape(title)}</h1>\n"
        f'<p class="run">{run}generated {escape(_when(generated_at))}</p></header>\n'
        f"{_summary(summary)}\n{_failures(failures)}\n"
        f'<main class="clips">\n{cards}\n</main>\n</body>\n</html>\n'
    )


def _card(clip: Clip, report_uri: str | None) -> str:
    video = _href(clip.video, report_uri)
    poster = _href(clip.last_frame, report_uri) if clip.last_frame else None
    if video is None:
        player = f'<div class="nowhere">Stored at <code>{escape(clip.video)}</code></div>'
    else:
        poster_attribute = f' poster="{escape(poster)}"' if poster else ""
        player = (
            f'<video src="{escape(video)}"{poster_attribute} controls muted loop playsinline preload="metadata">'
            "</video>"
        )
    manifest = _href(clip.manifest, report_uri)
    name = escape(_name(clip.video))
    heading = f'<a href="{escape(manifest)}">{name}</a>' if manifest else name
    facts = [
        ("Gateway", f"{clip.gateway} ({clip.connection})" if clip.connection else clip.gateway),
        *(
            [("Failed over from", ", ".join(f"{conn_id} ({cause})" for conn_id, cause in clip.passed_over))]
            if clip.passed_over
            else []
        ),
        ("Model", clip.model),
        ("Duration", f"{clip.duration} s" if clip.duration else MISSING),
        ("Resolution", " · ".join(part for part in (clip.resolution, clip.ratio) if part) or MISSING),
        ("Seed", MISSING if clip.seed is None else str(clip.seed)),
        ("Estimated", _money(clip.estimate)),
        ("Actual", _money(clip.actual)),
        ("Generation", _duration(clip.seconds)),
        ("Size", f"{clip.size / 1_000_000:.2f} MB"),
    ]
    rows = "".join(f"<dt>{label}</dt><dd>{escape(value)}</dd>" for label, value in facts)
    return (
        f'<article class="clip">{player}\n<div class="about"><h2>{heading}</h2>\n'
        f'<p class="prompt">{escape(clip.prompt)}</p>\n<dl>{rows}</dl>\n'
        f'<p class="task">task <code>{escape(clip.remote_task_id)}</code></p></div></article>'
    )


def _summary(summary: Summary) -> str:
    billed = f"reported for {summary.actual_known} of {summary.stored}" if summary.stored else ""
    tiles = [
        ("Videos stored", str(summary.stored), f"of {summary.stored + summary.failed} asked for"),
        ("Failed", str(summary.failed), "see below" if summary.failed else "none"),
        ("Estimated cost", _sums(summary.estimated), "before submitting"),
        ("Actual cost", _sums(summary.actual), billed),
        ("Generation time", _duration(summary.generation_seconds), "submit to stored, summed"),
        ("Wall time", _duration(summary.wall_seconds), "first submit to last store"),
    ]
    cells = "".join(
        f'<div class="tile{" bad" if label == "Failed" and summary.failed else ""}"><span>{label}</span>'
        f"<strong>{escape(value)}</strong><small>{escape(note)}</small></div>"
        for label, value, note in tiles
    )
    return f'<section class="summary">{cells}</section>'


def _failures(failures: Sequence[Mapping[str, Any]]) -> str:
    if not failures:
        return ""
    items = []
    for failure in failures:
        output = str(failure.get("output") or failure.get("remote_task_id") or "an output")
        where = " · ".join(str(failure[key]) for key in ("gateway", "model") if failure.get(key))
        code = f" ({failure['code']})" if failure.get("code") else ""
        prompt = f'<p class="prompt">{escape(str(failure["prompt"]))}</p>' if failure.get("prompt") else ""
        items.append(
            f"<li><h3>{escape(_name(output))}</h3>"
            f"<p><strong>{escape(_cause(failure))}{escape(code)}</strong>"
            f"{escape(' · ' + where) if where else ''}</p>"
            f"<p>{escape(str(failure.get('message', '')))}</p>{prompt}</li>"
        )
    return f'<section class="failures"><h2>No video for {len(failures)}</h2><ul>{"".join(items)}</ul></section>'


def _cause(failure: Mapping[str, Any]) -> str:
    """The record's cause as a person reads it: ``outcome_unknown`` is "outcome unknown"."""
    return str(failure.get("cause") or "unknown cause").replace("_", " ")


def _href(uri: str, report_uri: str | None) -> str | None:
    """A link a browser can follow: http(s) URIs as they are; a file in the report's own bucket (or disk)
    relative to the report; else None (an ``s3://`` URI elsewhere means nothing to a browser).

    Storage URIs are not URL-encoded (a key may hold ``#`` or ``?``), so they are split by hand and quoted.
    """
    scheme, _, rest = uri.partition("://")
    if scheme in ("http", "https"):
        return uri
    if report_uri is None:
        return None
    bucket, _, path = rest.partition("/")
    report_scheme, _, report_rest = report_uri.partition("://")
    report_bucket, _, report_path = report_rest.partition("/")
    if (scheme, bucket) != (report_scheme, report_bucket):
        return None
    return quote(posixpath.relpath(f"/{path}", posixpath.dirname(f"/{report_path}")), safe="/")


def _name(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1]


def _totals(costs: Iterable[Mapping[str, Any] | None]) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for cost in costs:
        if cost and cost.get("amount") is not None:
            totals[cost.get("currency") or "?"] += float(cost["amount"])
    return dict(totals)


def _money(cost: Mapping[str, Any] | None) -> str:
    if not cost or cost.get("amount") is None:
        return MISSING
    return f"{float(cost['amount']):.4f} {cost.get('currency') or ''}".strip()


def _sums(totals: Mapping[str, float]) -> str:
    return " + ".join(f"{amount:.4f} {currency}" for currency, amount in sorted(totals.items())) or MISSING


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return MISSING
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _when(moment: datetime) -> str:
    return moment.isoformat(sep=" ", timespec="seconds")


# A play sign, inline: without an icon a browser asks the server for /favicon.ico.
ICON = "data:image/svg+xml," + quote(
    "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'><path d='M4 2l10 6-10 6z' fill='#3b5bdb'/></svg>"
)

# Light and dark, readable on a phone; no web fonts, no images, no scripts.
STYLE = """
:root{color-scheme:light dark;--bg:#f6f7f9;--card:#fff;--ink:#1d2330;--muted:#667085;--line:#e3e6eb;
--accent:#3b5bdb;--bad:#c92a2a;--bad-bg:#fff5f5}
@media (prefers-color-scheme:dark){:root{--bg:#12151b;--card:#1b2029;--ink:#e8ebf0;--muted:#98a2b3;
--line:#2b3240;--accent:#91a7ff;--bad:#ff8787;--bad-bg:#2a1618}}
*{box-sizing:border-box}
body{margin:0;padding:2rem clamp(1rem,4vw,3rem);background:var(--bg);color:var(--ink);
font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
h1{margin:0;font-size:1.8rem}h2{margin:0;font-size:1rem}h3{margin:0;font-size:.95rem}
code{font:12px/1.4 ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
.run{margin:.25rem 0 1.5rem;color:var(--muted)}
.summary{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:.75rem;margin-bottom:1.5rem}
.tile{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:.8rem 1rem}
.tile span,.tile small{display:block;color:var(--muted);font-size:.8rem}
.tile strong{display:block;font-size:1.35rem;margin:.1rem 0}
.tile.bad{border-color:var(--bad);background:var(--bad-bg)}.tile.bad strong{color:var(--bad)}
.failures{background:var(--bad-bg);border:1px solid var(--bad);border-radius:12px;padding:1rem 1.25rem;
margin-bottom:1.5rem}
.failures h2{color:var(--bad)}.failures ul{list-style:none;margin:0;padding:0}
.failures li{padding:.6rem 0;border-top:1px solid var(--line)}.failures li:first-child{border-top:0}
.failures p{margin:.15rem 0}
.clips{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:1.25rem}
.clip{background:var(--card);border:1px solid var(--line);border-radius:12px;overflow:hidden;
box-shadow:0 1px 3px rgba(0,0,0,.06)}
.clip video,.nowhere{display:block;width:100%;aspect-ratio:16/9;background:#000;object-fit:contain}
.nowhere{padding:1rem;color:#ccc;font-size:.85rem}
.about{padding:.9rem 1rem 1rem}
.prompt{margin:.35rem 0 .75rem;font-style:italic}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem .9rem;margin:0;font-size:.85rem}
dt{color:var(--muted)}dd{margin:0;font-variant-numeric:tabular-nums}
.task{margin:.6rem 0 0;color:var(--muted);font-size:.8rem}
"""
