"""What a reviewer reads in Airflow's Required Actions: the subject and the Markdown body of one take."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_seedance.review.answers import ANOTHER_TAKE, APPROVE, REJECT


def subject(result: Mapping[str, Any], take: int, max_takes: int) -> str:
    name = str(result["video_path"]).rsplit("/", 1)[-1]
    return f"Review {name} (take {take} of at most {max_takes})"


def body(
    *,
    result: Mapping[str, Any],
    prompt: str | None,
    take: int,
    max_takes: int,
    video_url: str,
    frame_url: str,
    publish_to: str,
    history: Sequence[Mapping[str, Any]],
) -> str:
    """The take under review (prompt, gateway, model, cost, links) and what each answer will do."""
    play = f"[Play the video]({video_url})" if video_url else f"`{result['video_path']}` (no browser link known)"
    frame = f" · [last frame]({frame_url})" if frame_url else ""
    rows = [
        ("Prompt", _cell(prompt or "(none: image-led)")),
        ("Gateway · model", f"{result.get('gateway')} · `{result.get('model')}`"),
        ("Cost of this take", _cost(result)),
        ("Seed", str(result.get("seed"))),
        ("Stored at", f"`{result['video_path']}`"),
        ("Manifest", f"`{result.get('manifest_path')}`"),
    ]
    lines = [f"▶ {play}{frame}", "", "| | |", "|---|---|", *(f"| {name} | {value} |" for name, value in rows)]
    if history:
        lines += ["", "Earlier takes:"]
        lines += [
            f"- take {each['take']}: {each['answer']} ({_cost(each)}): {each.get('note') or 'no note'}"
            for each in history
        ]
    answers = [
        f"**{APPROVE}** publishes this take to `{publish_to}`; downstream DAGs start on it.",
        f"**{REJECT}** publishes nothing: say why in the note.",
    ]
    if take < max_takes:
        answers.append(
            f"**{ANOTHER_TAKE}** pays for a new generation (take {take + 1} of {max_takes}) with the note added to "
            "the prompt and a new seed, then asks again."
        )
    return "\n".join([*lines, "", *answers])


def _cost(result: Mapping[str, Any]) -> str:
    amount = result.get("actual_cost")
    kind = "actual"
    if amount is None:
        amount, kind = result.get("estimated_cost"), "estimated"
    return "unknown (no price for this model)" if amount is None else f"{amount:.4f} {result.get('currency')} ({kind})"


def _cell(text: str) -> str:
    """Text that stays in one Markdown table cell."""
    return re.sub(r"\s*\n\s*", " / ", text.strip()).replace("|", "\\|")
