"""Review before publish: a person approves, rejects or asks for another take of each generated video.

``review_and_publish(videos, publish_path=..., max_takes=2)`` adds after a generation task (mapped or not)
one task per step of the loop, in a task group: ``ask_1`` -> ``take_2`` -> ``ask_2`` ... -> ``publish``.

- ``SeedanceReviewOperator`` (``ask_<n>``) is the standard provider's human-in-the-loop task: the reviewer
  answers in Required Actions (or over the REST API) while it waits without a worker slot, and the answer is
  recorded in the take's manifest.
- ``SeedanceTakeOperator`` (``take_<n>``) is a generation: the previous request with the note added to the
  prompt and a new seed, stored beside the first take. Its claims make a cleared or retried take pay nothing
  again, and the request is derived, never chosen, so a retry rebuilds the same one.
- ``SeedancePublishOperator`` copies an approved take to the publish location; its ``Asset`` outlet gets an
  event for approved videos only (a take that was not approved skips it, and a skipped task emits none).

Each step after a decision passes it on unchanged, so every item reaches ``publish`` with its final answer.
One task per round rather than a loop inside one task: Airflow keeps one question per task instance and does
not change its text when the same instance asks again, so a second take would be shown with the first's link.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowOptionalProviderFeatureException
from airflow.sdk import Asset, BaseOperator, Context, ObjectStoragePath, Param, XComArg, task_group
from airflow.sdk.definitions.mappedoperator import MappedOperator

from airflow_provider_seedance.compat import AirflowFailException, AirflowSkipException
from airflow_provider_seedance.generation.request_fields import is_template
from airflow_provider_seedance.generation.settings import DEFAULTS
from airflow_provider_seedance.links.seedance import start_try, viewer_url
from airflow_provider_seedance.observability.asset_events import announce_videos
from airflow_provider_seedance.operators.batch import SeedanceBatchGenerateVideoOperator
from airflow_provider_seedance.operators.seedance import SeedanceGenerateVideoOperator
from airflow_provider_seedance.outputs.layout import manifest_path, take_path
from airflow_provider_seedance.outputs.manifest import stored_manifest
from airflow_provider_seedance.outputs.store import read_json, storage_path, storage_uri
from airflow_provider_seedance.review import message
from airflow_provider_seedance.review.answers import (
    ANOTHER_TAKE,
    ANSWER_KEYS,
    APPROVE,
    NOTE,
    REJECT,
    options_for,
    record_in_manifest,
    review_record,
)
from airflow_provider_seedance.review.publish import publish_take
from airflow_provider_seedance.review.takes import next_take_request

if TYPE_CHECKING:
    from airflow.sdk.definitions._internal.node import DAGNode

try:
    from airflow.providers.standard.operators.hitl import HITLOperator
except AirflowOptionalProviderFeatureException:
    from airflow import __version__ as airflow_version

    raise AirflowOptionalProviderFeatureException(
        f"The Seedance review step needs Airflow 3.1 or later (its human-in-the-loop tasks are Airflow 3.1's); "
        f"this is Airflow {airflow_version}. Next: upgrade Airflow to 3.1 or later, or remove the review from "
        "this DAG (generation alone works on 3.0)."
    ) from None

MAX_TAKES_LIMIT = 10  # a loop a person answers each round of; more rounds than this is a typo


class SeedanceReviewOperator(HITLOperator):
    """Ask a person to approve, reject or ask for another take of one stored video (take ``take``).

    :param video: the result of the generation (or of the previous take) to review. Templated; usually an XComArg.
    :param take: which take this task reviews (1 for the first generation).
    :param max_takes: the most takes an item may have; the last one's reviewer is not offered another.
    :param publish_path: where an approved video is published (shown to the reviewer).
    :param output_conn_id: the connection the videos and manifests are read and annotated through.
    :param default_answer: ``Approve`` or ``Reject``, taken when ``response_timeout`` passes unanswered; None
        (default) fails the task then. Another take is never a default: a person decides to pay for one.
    :param response_timeout: how long the reviewer has; None waits as long as it takes.
    :param video_url_template: a link for the reviewer's browser, such as ``https://cdn.example.com/{key}``
        (``{bucket}``, ``{key}``, ``{uri}``); default: the store's own (see ``links.seedance.viewer_url``).
    """

    template_fields: Sequence[str] = (*HITLOperator.template_fields, "video", "publish_path")
    ui_color = "#fff2cc"

    def __init__(
        self,
        *,
        video: Any,
        publish_path: str | ObjectStoragePath,
        take: int = 1,
        max_takes: int = 2,
        output_conn_id: str | None = DEFAULTS.output_conn_id,
        default_answer: str | None = None,
        response_timeout: timedelta | None = None,
        video_url_template: str | None = None,
        **kwargs: Any,
    ) -> None:
        _check_takes(take, max_takes)
        if default_answer not in (None, APPROVE, REJECT):
            raise ValueError(
                f"default_answer={default_answer!r}: the answer taken at the timeout is {APPROVE!r}, {REJECT!r} or "
                "None (fail the task); another take costs money, so only a person asks for one"
            )
        kwargs.setdefault("subject", "Seedance review")  # replaced by the take's own once it is known
        super().__init__(
            options=options_for(take, max_takes),
            defaults=default_answer,
            response_timeout=response_timeout,
            params={
                NOTE: Param(
                    None,  # optional: approving needs no note
                    type=["null", "string"],
                    description="Reject: why. Another take: what to change (added to the prompt).",
                )
            },
            **kwargs,
        )
        self.video = video
        self.publish_path = publish_path
        self.take = take
        self.max_takes = max_takes
        self.output_conn_id = output_conn_id
        self.video_url_template = video_url_template

    def execute(self, context: Context) -> Any:
        video = _result(self.video, self.task_id)
        if "review" in video:
            return _passed_on(self, video, f"nothing to review in round {self.take}")
        manifest = read_json(manifest_path(self._path(video["video_path"])))
        if manifest is None:
            raise AirflowFailException(
                f"{self.task_id}: the video to review, {video['video_path']}, has no manifest. Next: check that the "
                "generation task stored it (its log), then clear it."
            )
        self.subject = message.subject(video, self.take, self.max_takes)
        self.body = message.body(
            result=video,
            prompt=manifest["request"].get("prompt"),
            take=self.take,
            max_takes=self.max_takes,
            video_url=viewer_url(video["video_path"], self.output_conn_id, self.video_url_template),
            frame_url=viewer_url(video["last_frame_path"], self.output_conn_id, self.video_url_template)
            if video.get("last_frame_path")
            else "",
            publish_to=storage_uri(self._path(self.publish_path)),
            history=video.get("history", []),
        )
        self.log.info(
            "Asking for a review of %s (take %d of at most %d).", video["video_path"], self.take, self.max_takes
        )
        return super().execute(context)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """The answer: recorded in the take's manifest and passed on with the take's result."""
        answered = super().execute_complete(context, event)
        video = _result(self.video, self.task_id)
        (chosen,) = answered["chosen_options"]
        record = review_record(
            take=self.take,
            chosen=chosen,
            note=(answered.get("params_input") or {}).get(NOTE),
            responded_by=answered.get("responded_by_user"),
            responded_at=answered["responded_at"],
            timed_out=bool(event.get("timedout")),
        )
        record_in_manifest(self._path(video["video_path"]), record)
        who = (record["by"] or {}).get("name") or "the timeout's default"
        self.log.info(
            "%s answered %r for take %d (%s)%s.",
            who,
            chosen,
            self.take,
            video["video_path"],
            f": {record['note']}" if record["note"] else "",
        )
        if chosen == REJECT and not record["note"]:
            self.log.warning("Rejected without a reason; the manifest records none.")
        spent = {name: video.get(name) for name in ("video_path", "actual_cost", "estimated_cost", "currency")}
        return {
            **video,
            "take": self.take,
            "first_video_path": video.get("first_video_path", video["video_path"]),
            "review": record,
            "history": [*video.get("history", []), {**record, **spent}],
        }

    def _path(self, path: str | ObjectStoragePath) -> ObjectStoragePath:
        return storage_path(path, self.output_conn_id)


class SeedanceTakeOperator(SeedanceGenerateVideoOperator):
    """Make take ``take`` when the review before it asked for another; otherwise pass its answer on.

    :param review: the previous review's result (templated; usually an XComArg).
    :param take: the number of the take this task makes (2 or more).
    :param kwargs: the generation settings (connections, ``poll_interval``, ``max_cost``...) as for
        ``SeedanceGenerateVideoOperator``; the request itself comes from the previous take's manifest, and
        ``skip_existing`` is always on (a take made already is never paid for again).
    """

    template_fields: Sequence[str] = (*SeedanceGenerateVideoOperator.template_fields, "review")
    request_set_during_execution = True

    def __init__(self, *, review: Any, take: int, **kwargs: Any) -> None:
        kwargs["skip_existing"] = True
        super().__init__(model=None, output_path=None, **kwargs)
        if take < 2:
            raise ValueError(f"{self.task_id}: take={take}: another take is take 2 or later")
        self.review = review
        self.take = take

    def execute(self, context: Context) -> dict[str, Any]:
        decision = _result(self.review, self.task_id)
        if decision["review"]["answer"] != ANSWER_KEYS[ANOTHER_TAKE]:
            start_try(self)  # this try submits nothing: its links show none
            return _passed_on(self, decision, f"no take {self.take} is made")
        self._become_take(decision)
        return self._carried(decision, super().execute(context))

    def execute_after_capacity_wait(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        decision = _result(self.review, self.task_id)
        self._become_take(decision)
        return self._carried(decision, super().execute_after_capacity_wait(context, event))

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        decision = _result(self.review, self.task_id)
        self._become_take(decision)
        return self._carried(decision, super().execute_complete(context, event))

    def _become_take(self, decision: Mapping[str, Any]) -> None:
        """This task's request and output: derived from the previous take's manifest and the reviewer's note."""
        conn_id = self.settings().output_conn_id
        previous = storage_path(decision["video_path"], conn_id)
        manifest = stored_manifest(previous)
        if manifest is None:
            raise AirflowFailException(
                f"{self.task_id}: take {decision['take']} at {decision['video_path']} has no manifest to make take "
                f"{self.take} from. Next: restore it (or clear the whole review), then clear this task."
            )
        try:
            fields = next_take_request(manifest, decision["review"].get("note"), self.take)
        except ValueError as exc:
            raise AirflowFailException(f"{self.task_id}: {exc}. Next: change the generation's inputs.") from None
        output = take_path(storage_path(decision["first_video_path"], conn_id), self.take)
        made = stored_manifest(output)
        if made is not None and made["request"].get("prompt") != fields["prompt"]:
            raise AirflowFailException(
                f"{self.task_id}: take {self.take} already exists at {storage_uri(output)}, made from another note "
                f"(prompt {made['request'].get('prompt')!r}); making this one would replace a paid video. Next: "
                "move that take away if it is not wanted, then clear this task."
            )
        for name, value in fields.items():
            setattr(self, name, value)
        self.model = manifest["model"]
        self.output_path = output
        self.log.info(
            "Making take %d of %s with the reviewer's note and seed %s: %s.",
            self.take,
            decision["first_video_path"],
            fields["seed"],
            storage_uri(output),
        )

    def _carried(self, decision: Mapping[str, Any], result: dict[str, Any]) -> dict[str, Any]:
        """The new take's result, with what the next review needs: its number, the first take, the history."""
        return {
            **result,
            "take": self.take,
            "first_video_path": decision["first_video_path"],
            "history": decision.get("history", []),
        }


class SeedancePublishOperator(BaseOperator):
    """Publish the approved take of one item (video, last frame, manifest with the review); skip otherwise.

    :param review: the last review's result (templated; usually an XComArg).
    :param publish_path: the folder approved videos are copied to (``s3://bucket/published/``). Templated.
    :param output_conn_id: the connection both the takes and the publish location are read and written through.

    The task's ``Asset`` outlets get one event per published video (its entry in ``videos``); a skipped task
    (nothing approved) emits none, so DAGs scheduled on the asset start on approved videos only.
    """

    template_fields: Sequence[str] = ("review", "publish_path")
    ui_color = "#d9f2e6"

    def __init__(
        self,
        *,
        review: Any,
        publish_path: str | ObjectStoragePath,
        output_conn_id: str | None = DEFAULTS.output_conn_id,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.review = review
        self.publish_path = publish_path
        self.output_conn_id = output_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        decision = _result(self.review, self.task_id)
        answer = decision["review"]["answer"]
        if answer != ANSWER_KEYS[APPROVE]:
            note = decision["review"].get("note")
            raise AirflowSkipException(
                f"Take {decision['take']} of {decision['first_video_path']} was answered {answer!r}"
                f"{f' ({note})' if note else ''}: nothing to publish."
            )
        published = publish_take(
            take_video=storage_path(decision["video_path"], self.output_conn_id),
            first_video=storage_path(decision["first_video_path"], self.output_conn_id),
            publish_root=storage_path(self.publish_path, self.output_conn_id),
        )
        self.log.info("Published take %d as %s.", decision["take"], published["video_path"])
        announce_videos(context, self.outlets, [published])
        return {**published, "take": decision["take"], "history": decision.get("history", [])}


def review_and_publish(
    videos: XComArg,
    *,
    publish_path: str,
    max_takes: int = 2,
    group_id: str = "review",
    default_answer: str | None = None,
    response_timeout: timedelta | None = None,
    video_url_template: str | None = None,
    publish_outlets: Sequence[Any] | None = None,
    assigned_users: Any = None,
    notifiers: Any = None,
    **take_settings: Any,
) -> DAGNode:
    """Review each video ``videos`` stored (one, or one per mapped item), then publish the approved ones.

    :param videos: the output of a generation task (``SeedanceGenerateVideoOperator``, ``@task.seedance``),
        mapped or not, or of a ``SeedanceBatchGenerateVideoOperator`` (each of its items is reviewed).
    :param publish_path: where approved videos go; unless ``publish_outlets`` says otherwise, the task emits
        an event on ``Asset(publish_path)`` for each (give it as text without templates for that default).
    :param max_takes: takes per item, the first included (1: approve or reject only).
    :param assigned_users: who may answer (the standard provider's ``HITLUser`` dicts); default: anyone allowed.
    :param notifiers: notifiers called when each question is asked (a Slack message with the link, say).
    :param take_settings: the settings of the takes, as for the generation (``seedance_conn_id``,
        ``output_conn_id``, ``poll_interval``, ``max_cost``...): use the generation's own.
    :returns: the task group (``review`` by default); chain later tasks after it with ``>>``. Its ``publish``
        task returns each published video (or is skipped for an item that was not approved).
    """
    _check_takes(1, max_takes)
    output_conn_id = take_settings.pop("output_conn_id", DEFAULTS.output_conn_id)
    if publish_outlets is None:
        if not isinstance(publish_path, str) or is_template(publish_path):
            raise ValueError(
                f"publish_path={publish_path!r} is not plain text, so it cannot name the asset published videos "
                "are announced on; pass publish_outlets=[Asset(...)] (or [] for none)"
            )
        publish_outlets = [Asset(publish_path)]
    asking = {
        "publish_path": publish_path,
        "max_takes": max_takes,
        "default_answer": default_answer,
        "response_timeout": response_timeout,
        "video_url_template": video_url_template,
        "output_conn_id": output_conn_id,
        "assigned_users": assigned_users,
        "notifiers": notifiers,
    }

    # A mapped task group, so that each item moves on as soon as its own review is answered: mapped tasks
    # chained outside a group would wait for every item's previous step before expanding the next.
    @task_group(group_id=group_id)
    def review(video: Any) -> None:
        answer = SeedanceReviewOperator(task_id="ask_1", video=video, take=1, **asking).output
        for take in range(2, max_takes + 1):
            made = SeedanceTakeOperator(
                task_id=f"take_{take}", review=answer, take=take, output_conn_id=output_conn_id, **take_settings
            ).output
            answer = SeedanceReviewOperator(task_id=f"ask_{take}", video=made, take=take, **asking).output
        SeedancePublishOperator(
            task_id="publish",
            review=answer,
            publish_path=publish_path,
            output_conn_id=output_conn_id,
            outlets=publish_outlets,
        )

    # One review per item: of a mapped generation, or of a batch (its result lists every item's).
    if isinstance(getattr(videos, "operator", None), MappedOperator | SeedanceBatchGenerateVideoOperator):
        return review.expand(video=videos)
    return review(videos)


def _check_takes(take: int, max_takes: int) -> None:
    if not 1 <= max_takes <= MAX_TAKES_LIMIT:
        raise ValueError(f"max_takes={max_takes}: between 1 and {MAX_TAKES_LIMIT} (each take is paid and reviewed)")
    if not 1 <= take <= max_takes:
        raise ValueError(f"take={take}: between 1 and max_takes={max_takes}")


def _passed_on(task: BaseOperator, decision: dict[str, Any], outcome: str) -> dict[str, Any]:
    """A step after the item's decision: it passes the decision on unchanged, saying so."""
    task.log.info("Take %s was answered %r; %s.", decision["take"], decision["review"]["answer"], outcome)
    return decision


def _result(value: Any, task_id: str) -> dict[str, Any]:
    """The upstream result a review step works on, or a clear failure when it is not one."""
    if isinstance(value, Mapping) and value.get("video_path"):
        return dict(value)
    raise AirflowFailException(
        f"{task_id}: expected a generation's result (a dict with video_path), got {value!r}. Next: pass the "
        "generation task's output (or a previous review step's)."
    )
