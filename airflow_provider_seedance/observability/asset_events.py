"""Asset events for stored videos, only through the outlets a DAG author declares.

An alias that every video of a deployment is attached to (the old default) grows without bound, and the
scheduler expands all of it on every evaluation. So nothing is announced unless the task declares where:

- an ``Asset`` outlet, such as the output prefix as a collection, gets the one event Airflow records
  for it when the task succeeds; its extra lists the videos this run stored (``videos``);
- an ``AssetAlias`` outlet gets one asset per stored video, named by the video's URI, with that
  video's entry as the event's extra.

Each entry: ``uri``, ``sha256``, ``size``, ``gateway``, ``model``, ``remote_task_id``,
``estimated_cost``, ``actual_cost`` and ``currency``. A video that was already there (``skip_existing``)
is not new, so it is not announced again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from airflow.sdk import Asset, AssetAlias, Context

log = logging.getLogger(__name__)

# The result keys an event entry carries, by the entry's name for them.
ENTRY_FIELDS = {
    "uri": "video_path",
    "sha256": "video_sha256",
    "size": "video_size",
    "gateway": "gateway",
    "model": "model",
    "remote_task_id": "remote_task_id",
    "estimated_cost": "estimated_cost",
    "actual_cost": "actual_cost",
    "currency": "currency",
}


def video_entry(result: Mapping[str, Any]) -> dict[str, Any]:
    """What an asset event says of one stored video, from the operator's result for it."""
    return {name: result.get(key) for name, key in ENTRY_FIELDS.items()}


def newly_stored(results: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The entries of the videos these results stored now (not skipped, not failed, not only submitted)."""
    return [video_entry(result) for result in results if result.get("video_path") and not result.get("skipped")]


def announce_videos(context: Context, outlets: Sequence[Any], results: Iterable[Mapping[str, Any]]) -> None:
    """Attach the newly stored videos to the task's declared ``Asset`` and ``AssetAlias`` outlets."""
    entries = newly_stored(results)
    for outlet in outlets:
        if isinstance(outlet, AssetAlias):
            for entry in entries:
                context["outlet_events"][outlet].add(Asset(entry["uri"]), extra=entry)
            if entries:
                # For a URI it has not seen, Airflow logs "AssetModel ... not found; cannot create asset event."
                # and then creates the asset and its event all the same: this line comes first, to say so.
                log.info(
                    "%d asset event(s) go to alias %r when this task succeeds (Airflow creates each asset the "
                    "first time it sees its URI, after warning 'AssetModel ... not found'): %s",
                    len(entries),
                    outlet.name,
                    ", ".join(entry["uri"] for entry in entries),
                )
        elif isinstance(outlet, Asset):
            # A new list typed as JSON values, as ``extra`` is (a list[dict] is not a list[JsonValue]).
            context["outlet_events"][outlet].extra["videos"] = list(entries)
            log.info("The asset event of %s lists %d video(s) stored by this run.", outlet.uri, len(entries))
