"""What the scale test checks after the run: stored videos against their manifests, one submission per
generation, and no API key anywhere it could have leaked to."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse


@dataclass
class Findings:
    failures: list[str] = field(default_factory=list)
    remote_tasks: set[str] = field(default_factory=set)  # "<gateway>/<task id>" of every stored video

    def fail(self, message: str) -> None:
        self.failures.append(message)


def stored_objects(output_base: str, s3_endpoint: str, s3_client: Callable[[str], Any]) -> Iterator[tuple[str, bytes]]:
    """Every object under the output location: (name relative to it, bytes)."""
    parsed = urlparse(output_base)
    if parsed.scheme == "file":
        root = Path(parsed.path)
        for path in sorted(root.rglob("*")) if root.exists() else []:
            if path.is_file():
                yield str(path.relative_to(root)), path.read_bytes()
        return
    client, prefix = s3_client(s3_endpoint), parsed.path.lstrip("/") + "/"
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=parsed.netloc, Prefix=prefix):
        for item in page.get("Contents", []):
            body = client.get_object(Bucket=parsed.netloc, Key=item["Key"])["Body"].read()
            yield item["Key"][len(prefix) :], body


def check_stored(findings: Findings, objects: dict[str, bytes], generations: int) -> int:
    """Every video has its manifest, with the stored bytes' sha256 and size; no claim or failure record is
    left. Returns how many videos passed."""
    videos = sorted(name for name in objects if name.endswith(".mp4"))
    good = 0
    for name in videos:
        manifest_bytes = objects.get(f"{name}.json")
        if manifest_bytes is None:
            findings.fail(f"{name}: no manifest")
            continue
        manifest = json.loads(manifest_bytes)
        data = objects[name]
        digest = hashlib.sha256(data).hexdigest()
        if (manifest["video"]["sha256"], manifest["video"]["size"]) != (digest, len(data)):
            findings.fail(
                f"{name}: manifest says sha256 {manifest['video']['sha256']} and {manifest['video']['size']} bytes; "
                f"stored: {digest}, {len(data)} bytes"
            )
            continue
        findings.remote_tasks.add(f"{manifest['gateway']}/{manifest['remote_task_id']}")
        good += 1
    if len(videos) != generations:
        findings.fail(f"{len(videos)} videos stored; expected {generations}")
    leftovers = sorted(name for name in objects if name.endswith((".claim.json", ".failure.json")))
    if leftovers:
        findings.fail(f"claims or failure records left beside outputs: {', '.join(leftovers[:5])}")
    return good


def check_submissions(findings: Findings, stats: dict[str, Any], stored: int, generations: int) -> None:
    """Exactly one submission per generation, and the stored videos came from exactly those remote tasks."""
    submitted = {key: task["submissions"] for key, task in stats["tasks"].items() if task.get("submissions")}
    total = sum(submitted.values())
    if total != generations or len(submitted) != generations:
        findings.fail(f"{total} submissions to {len(submitted)} remote tasks; expected exactly {generations}")
    twice = sorted(key for key, count in submitted.items() if count > 1)
    if twice:
        findings.fail(f"remote tasks submitted more than once: {', '.join(twice[:5])}")
    if stored == generations and findings.remote_tasks != set(submitted):
        extra = sorted(set(submitted) - findings.remote_tasks)[:5]
        findings.fail(f"the stored videos do not come from the submitted tasks one to one (e.g. {extra})")


def check_key_absent(
    findings: Findings,
    api_key: str,
    airflow_home: Path,
    database_dump: str,
    trigger_rows: set[str],
    objects: dict[str, bytes],
) -> None:
    """The key is in no log file (task, trigger, component), the metadata database (a full dump, plus the
    Fernet-encrypted trigger kwargs decrypted while the rows existed), or any stored object."""
    places: list[str] = []
    for path in sorted(airflow_home.rglob("*.log*")):
        if api_key in path.read_text(errors="replace"):
            places.append(str(path))
    if api_key in database_dump:
        lines = [line[:120] for line in database_dump.splitlines() if api_key in line]
        places.append(f"the metadata database: {lines[:3]}")
    if any(api_key in row for row in trigger_rows):
        places.append("trigger kwargs")
    if not trigger_rows:
        findings.fail("no trigger row was ever seen: the generations did not defer")
    for name, data in objects.items():
        if api_key.encode() in data:
            places.append(f"stored object {name}")
    if places:
        findings.fail("the API key leaked to: " + "; ".join(places[:10]))
