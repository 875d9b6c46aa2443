"""Tables the documentation takes from the code and the lock files, written into the pages as Markdown.

A page asks for one between ``<!-- table: KIND [ARGUMENT] -->`` and ``<!-- /table -->``; ``make docs-tables``
(``python docs/tables.py``) rewrites what stands between them, and a test fails when a page's table differs
from what the code says now. Markdown tables, not Sphinx directives, so the pages read the same on a code host
as in the built manual. The kinds:

``gateways``
    one row per gateway: its public Base URL and the calls its dialect declares (cancel, batch status,
    task list, upload endpoint, asset library, 404 grace).
``models`` *gateway*
    per model the dialect knows: its settings, then its media inputs, as the validation before the submit
    checks them.
``airflow-lines``
    one row per lock file CI installs (``requirements/dev.lock`` and ``requirements/matrix/*.lock``),
    then the test files ``.ci/matrix`` runs on every line.
``metrics``
    one row per metric the operators send, as ``metrics.METRICS`` declares it.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from airflow_provider_seedance.gateways import all_gateways
from airflow_provider_seedance.gateways.base import Gateway
from airflow_provider_seedance.gateways.delivery import DEFAULT_DELIVERY_ORDER, ordered, possible_deliveries
from airflow_provider_seedance.gateways.spec import ModelSpec, describe_durations
from airflow_provider_seedance.models import InputMode, MediaInput
from airflow_provider_seedance.observability.metrics import METRICS

ROOT = Path(__file__).resolve().parents[1]
# Packages whose pinned versions the Airflow table shows, in its column order, with their column titles.
LOCKED = {
    "apache-airflow": "Airflow",
    "apache-airflow-task-sdk": "task SDK",
    "apache-airflow-providers-amazon": "Amazon provider",
    "apache-airflow-providers-common-compat": "common-compat provider",
    "httpx": "httpx",
    "pydantic": "pydantic",
}
NOT_CHECKED = "not checked"
# A generated table in a page: its kind and argument, then the text the generator wrote.
BLOCK = re.compile(
    r"(<!-- table: (?P<kind>[\w-]+)(?: (?P<argument>\S+))? -->\n)(?P<body>.*?)(<!-- /table -->)", re.DOTALL
)
PAGES = ("docs/connections.md", "docs/metrics.md", "docs/support-matrix.md")


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A Markdown table; a ``|`` inside a cell is escaped."""
    lines = [header, ["---"] * len(header), *rows]
    return "".join("| " + " | ".join(cell.replace("|", "\\|") for cell in line) + " |\n" for line in lines)


def code(*values: object) -> str:
    """Values as inline code, comma-separated; an empty list reads 'none'."""
    return ", ".join(f"`{value}`" for value in values) if values else "none"


def yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


# ---- gateways ------------------------------------------------------------------------------------


def gateway_row(gateway: Gateway) -> list[str]:
    cancel = ", ".join(sorted(state.value for state in gateway.cancellable_states)) if gateway.cancel_path else ""
    grace = gateway.not_found_grace
    return [
        code(gateway.name),
        code(gateway.default_base_url) if gateway.default_base_url else "none: set the Base URL",
        f"yes ({cancel} tasks)" if cancel else "no",
        f"yes, {gateway.batch_status_limit} tasks per call" if gateway.batch_status_limit else "no (one poll per task)",
        yes_no(gateway.lists_tasks),
        ", ".join(sorted(gateway.upload_media_kinds)) or "no",
        f"{', '.join(sorted(gateway.asset_library_kinds))} ({len(gateway.asset_library_models)} models)"
        if gateway.asset_library_models
        else "no",
        f"{grace[0]} in a row over {grace[1] / 60:.0f} min" if grace else "the first",
    ]


def gateways_table() -> str:
    """What each dialect declares about its gateway's API."""
    header = [
        "gateway",
        "default Base URL",
        "cancel",
        "batch status (fleet polling)",
        "finds a lost submit in its task list",
        "upload endpoint",
        "asset library",
        "404s that mean a task is gone",
    ]
    return table(header, (gateway_row(gateway) for gateway in all_gateways().values()))


# ---- models ----------------------------------------------------------------------------------------


def _limits(values: Sequence[Any] | None) -> str:
    return code(*values) if values is not None else NOT_CHECKED


def _references(spec: ModelSpec) -> str:
    counts = [spec.max_reference_images, spec.max_reference_videos, spec.max_reference_audios]
    if all(count is None for count in counts) and spec.max_reference_files is None:
        return NOT_CHECKED
    text = " / ".join("any" if count is None else str(count) for count in counts)
    if spec.max_reference_files is not None:
        text += f", {spec.max_reference_files} in all"
    if spec.audio_only_references:
        text += "; audio may be the only reference"
    return text


MEDIA = ("image", "video", "audio")


def _forms(spec: ModelSpec, media: str) -> str:
    """The forms a field of ``media`` takes in the request body."""
    return ", ".join(sorted(kind.value for kind in spec.sources_for(media))) or "no"


def _from_s3(gateway: Gateway, model: str, spec: ModelSpec, media: str) -> str:
    """How an ``s3://`` input of ``media`` can reach this model, in the order the operator tries them."""
    item = MediaInput(field=media, media=media, uri=f"s3://bucket/input.{media}")
    ways = possible_deliveries(item, spec.sources_for(media), gateway.media_channels(model))
    return ", ".join(way.value for way in ordered(ways, DEFAULT_DELIVERY_ORDER)) or "no"


def request_row(model: str, spec: ModelSpec) -> list[str]:
    durations = describe_durations(spec.durations) if spec.durations is not None else NOT_CHECKED
    if spec.default_duration is not None:
        durations += f" (default {spec.default_duration})"
    modes = [mode.value for mode in InputMode if mode in spec.input_modes]
    return [
        code(model),
        durations,
        _limits(spec.resolutions),
        _limits(spec.ratios),
        code(*modes),
        yes_no(spec.generate_audio),
        yes_no(spec.return_last_frame),
        f"{spec.seed_range[0]} to {spec.seed_range[1]}" if spec.seed_range else "no seed",
    ]


def media_row(gateway: Gateway, model: str, spec: ModelSpec) -> list[str]:
    cells: list[str] = [code(model), _references(spec)]
    for media in MEDIA:
        cells += [_forms(spec, media), _from_s3(gateway, model, spec, media)]
    return cells


def models_tables(name: str) -> str:
    """What each model the gateway's dialect knows accepts, in two tables (the request's settings, then its
    media inputs)."""
    if name not in all_gateways():
        raise ValueError(f"unknown gateway {name!r}; choose one of: {', '.join(all_gateways())}")
    gateway = all_gateways()[name]
    models = sorted(gateway.models.items())  # a frozenset fills some dialects: no stable order of their own
    settings = ["model", "duration (s)", "resolution", "ratio", "starts from", "audio", "last frame", "seed"]
    media = ["model", "references (images / videos / audios)"]
    for kind in MEDIA:
        media += [f"{kind}s in the request", f"s3:// {kind}s go as"]
    return (
        table(settings, (request_row(model, spec) for model, spec in models))
        + "\n"
        + table(media, (media_row(gateway, model, spec) for model, spec in models))
    )


# ---- Airflow lines ------------------------------------------------------------------------------


def locked_versions(lock: Path) -> dict[str, str]:
    """``name -> version`` of every ``name==version`` pin in a uv lock file."""
    pins = re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)", lock.read_text(), flags=re.MULTILINE)
    return {name.lower(): version for name, version in pins}


def python_version(lock: Path) -> str:
    """The ``--python-version`` the lock was compiled for (from uv's header comment)."""
    found = re.search(r"--python-version (\S+)", lock.read_text())
    return found.group(1) if found else "?"


def matrix_tests() -> list[str]:
    """The test files ``.ci/matrix`` runs on every Airflow line (its ``TESTS=( ... )`` array)."""
    script = (ROOT / ".ci" / "matrix").read_text()
    block = re.search(r"^TESTS=\((.*?)^\)", script, flags=re.MULTILINE | re.DOTALL)
    if block is None:
        raise ValueError(".ci/matrix has no TESTS=( ... ) array")
    return block.group(1).split()


def airflow_lines_table() -> str:
    """The pinned versions of every lock CI tests, and the matrix tests."""
    locks = [ROOT / "requirements" / "dev.lock", *sorted((ROOT / "requirements" / "matrix").glob("*.lock"))]
    rows = []
    for lock in locks:
        pins = locked_versions(lock)
        scope = "the whole suite (make test)" if lock.name == "dev.lock" else "the matrix tests (make test-matrix)"
        rows.append(
            [code(lock.relative_to(ROOT)), python_version(lock), *(pins.get(name, "-") for name in LOCKED), scope]
        )
    header = ["lock file", "Python", *LOCKED.values(), "what runs on it"]
    return table(header, rows) + f"\nThe matrix tests, as .ci/matrix lists them: {code(*matrix_tests())}.\n"


# ---- metrics -------------------------------------------------------------------------------------


def metrics_table() -> str:
    """Every metric as declared in code (name, kind, unit, tags, what it counts)."""
    header = ["name", "type", "unit", "tags", "what it counts"]
    return table(header, ([code(m.name), m.kind, m.unit, code(*m.tags), m.description] for m in METRICS))


# ---- the pages -----------------------------------------------------------------------------------

KINDS: dict[str, Callable[..., str]] = {
    "gateways": gateways_table,
    "models": models_tables,
    "airflow-lines": airflow_lines_table,
    "metrics": metrics_table,
}


def regenerated(page: str) -> str:
    """The page with every generated table as the code and lock files say now."""

    def fill(block: re.Match[str]) -> str:
        argument = [block["argument"]] if block["argument"] else []
        return block.group(1) + "\n" + KINDS[block["kind"]](*argument) + "\n" + block.group(5)

    return BLOCK.sub(fill, page)


def main(arguments: Sequence[str]) -> int:
    """Rewrite the pages' tables; with ``--check``, only say which pages are out of date (exit 1)."""
    stale = []
    for name in PAGES:
        page = ROOT / name
        text = page.read_text()
        new = regenerated(text)
        if new != text:
            stale.append(name)
            if "--check" not in arguments:
                page.write_text(new)
    if stale and "--check" in arguments:
        print(f"out of date: {', '.join(stale)}; run make docs-tables")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
