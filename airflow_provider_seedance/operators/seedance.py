"""SeedanceGenerateVideoOperator: one prompt in, one video (plus manifest) in object storage out.

The story of a run: validate (no network) -> return an existing output as is (``skip_existing``)
-> resume the remote task a previous try submitted, or submit and remember its id at once -> wait in
the triggerer (or on the worker) -> on success stream the video into ``output_path`` and write
``<output>.json`` beside it. Retries never pay twice: the remote task id is claimed beside the
output (``<output>.claim.json``, see ``outputs/claims.py``), so any later attempt at the same output and
request picks the same generation up again, on every supported Airflow release. Each of those steps
is ``generation.lifecycle.Generation``'s, which the batch operator runs for each of its items too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, ClassVar, NoReturn

from airflow.sdk import Context, ObjectStoragePath

from airflow_provider_seedance.compat import AirflowFailException
from airflow_provider_seedance.exceptions import RateLimitError, RequestValidationError, SeedanceError
from airflow_provider_seedance.generation.deferral import conclude_or_defer, read_event, resolve_deferrable
from airflow_provider_seedance.generation.lifecycle import Generation, Prepared
from airflow_provider_seedance.generation.request_fields import (
    REQUEST_FIELDS,
    check_request_shape,
    parse_time_scheme_problem,
)
from airflow_provider_seedance.generation.settings import TEMPLATED_SETTINGS
from airflow_provider_seedance.links.seedance import (
    SeedanceTaskLink,
    SeedanceVideoLink,
    push_task_record,
    resume_try,
    start_try,
)
from airflow_provider_seedance.models import TaskStatus
from airflow_provider_seedance.operators.base import BaseSeedanceGenerationOperator
from airflow_provider_seedance.outputs.layout import claim_path
from airflow_provider_seedance.outputs.store import storage_uri
from airflow_provider_seedance.triggers.capacity import CapacityWaitTrigger
from airflow_provider_seedance.triggers.events import SeedanceEvent


class SeedanceGenerateVideoOperator(BaseSeedanceGenerationOperator):
    """Generate a video with a Seedance model through a gateway and store it in object storage.

    :param model: the gateway's model id, e.g. ``dreamina-seedance-2-0-260128`` (Ark) or
        ``doubao-seedance-2.0`` (apimart). A model the gateway dialect does not know is sent as is.
    :param output_path: where the MP4 lands (``s3://bucket/key.mp4``, ``file:///...``, or an
        ``ObjectStoragePath``); the manifest goes to ``<output_path>.json``, the last frame to
        ``<stem>.last_frame.png``. Templated.
    :param prompt: the text prompt. Templated.
    :param duration: seconds; ``resolution`` (``480p``/``720p``/``1080p``); ``ratio`` (``16:9``...);
        ``seed``; ``generate_audio``; ``watermark``; ``camera_fixed``; ``return_last_frame``: as the
        gateway documents them. Unset fields are not sent, so the gateway's defaults apply. A duration
        outside 1-60 s (or -1) and a seed outside [-1, 2**32-1] fail when the DAG is parsed.
    :param first_frame: the image the video starts from; ``last_frame`` the one it ends on. Either an
        ``http(s)://`` URL the gateway fetches, an ``asset://`` id, a ``data:`` URI, or an object in
        storage (``s3://``, ``gs://``, ``file://``, any ``ObjectStoragePath`` scheme, or an
        ``ObjectStoragePath``), read through ``media_conn_id`` and delivered as ``media_delivery`` says.
        Templated.
    :param reference_images: reference images (multimodal mode); ``reference_videos`` and
        ``reference_audios`` likewise, in the same forms. Templated.
    :param extra: gateway fields this provider does not model, sent verbatim. Templated.
    :param deferrable: wait in the triggerer, freeing the worker slot. Defaults to the provider's
        ``[seedance] default_deferrable`` (True), not Airflow's ``[operators] default_deferrable``, which every
        generated airflow.cfg sets to false. The log says where the task waits and why.
    :param wait_for_completion: False: submit (or resume the claimed task), push ``seedance_task`` and
        return it at once (``status: submitted``, ``gateway``, ``remote_task_id``, ``console_url``,
        ``output_path``, ``deadline``), leaving the wait and the storing to a ``SeedanceGenerationSensor`` on
        the same ``output_path``, in this DAG or another. The claim beside the output is the hand-over: a
        rerun of this task resumes the same remote task instead of paying again. Default True.
    :param kwargs: the settings every generation shares (connections, media delivery, ``skip_existing``,
        ``poll_interval``, ``generation_timeout``, ``cancel_on_kill``, ``max_cost``, the failure policy,
        ``asset_alias``, outlets), documented on ``generation.settings.GenerationSettings``, and ``BaseOperator``'s own.
    """

    template_fields: Sequence[str] = (
        "prompt",
        "model",
        "output_path",
        *TEMPLATED_SETTINGS,
        "duration",
        "resolution",
        "ratio",
        "seed",
        "first_frame",
        "last_frame",
        "reference_images",
        "reference_videos",
        "reference_audios",
        "extra",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {"extra": "json", "prompt": "md"}
    operator_extra_links = (SeedanceTaskLink(), SeedanceVideoLink())
    # Subclasses whose request is known only once the task runs (``@task.seedance``, another take) say so:
    # their ``model`` and ``output_path`` may be None until then.
    request_set_during_execution: ClassVar[bool] = False

    def __init__(
        self,
        *,
        model: str | None,
        output_path: str | ObjectStoragePath | None,
        prompt: str | None = None,
        duration: int | None = None,
        resolution: str | None = None,
        ratio: str | None = None,
        seed: int | None = None,
        generate_audio: bool | None = None,
        watermark: bool | None = None,
        camera_fixed: bool | None = None,
        return_last_frame: bool | None = None,
        first_frame: str | ObjectStoragePath | None = None,
        last_frame: str | ObjectStoragePath | None = None,
        reference_images: Sequence[str | ObjectStoragePath] | None = None,
        reference_videos: Sequence[str | ObjectStoragePath] | None = None,
        reference_audios: Sequence[str | ObjectStoragePath] | None = None,
        extra: dict[str, Any] | None = None,
        deferrable: bool | None = None,
        wait_for_completion: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.wait_for_completion = wait_for_completion
        self.model = model
        self.output_path = output_path
        self.prompt = prompt
        self.duration = duration
        self.resolution = resolution
        self.ratio = ratio
        self.seed = seed
        self.generate_audio = generate_audio
        self.watermark = watermark
        self.camera_fixed = camera_fixed
        self.return_last_frame = return_last_frame
        self.first_frame = first_frame
        self.last_frame = last_frame
        self.reference_images = list(reference_images or ())
        self.reference_videos = list(reference_videos or ())
        self.reference_audios = list(reference_audios or ())
        self.extra = dict(extra or {})
        self.deferrable, self.deferrable_by_setting = resolve_deferrable(deferrable)
        try:
            if not (self.request_set_during_execution or (model and output_path)):
                raise ValueError(f"model={model!r}, output_path={output_path!r}: both are required")
            self.check_request({"output_path": output_path, **self._fields()})
        except ValueError as exc:
            raise ValueError(f"{self.task_id}: {exc}") from None

    @classmethod
    def check_arguments(cls, arguments: Mapping[str, Any]) -> None:
        super().check_arguments(arguments)
        cls.check_request(arguments)

    @staticmethod
    def check_request(arguments: Mapping[str, Any]) -> None:
        """The output path's scheme and the request fields' types, ranges and media forms (no model rules:
        the gateway is named by the connection, which a DAG file should not look up while parsed)."""
        problem = parse_time_scheme_problem("output_path", arguments.get("output_path"))
        if problem:
            raise ValueError(problem)
        try:
            check_request_shape({name: arguments.get(name) for name in REQUEST_FIELDS})
        except RequestValidationError as exc:
            raise ValueError(str(exc)) from None

    def _fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in REQUEST_FIELDS}

    @cached_property
    def _generation(self) -> Generation:
        """This task's one generation, from its fields as rendered (so built on first use in ``execute``)."""
        if self.output_path is None:  # a subclass that sets it during execution has not yet
            raise AirflowFailException(f"{self.task_id}: no output_path. Next: give one, then clear the task.")
        return self.generation(self._fields(), self.output_path)

    # ---- the story --------------------------------------------------------------------------------

    def execute(self, context: Context) -> dict[str, Any]:
        start_try(self)
        return self._concluded_with(context, self._generate(context, waiting_since=None))

    def execute_after_capacity_wait(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Back from waiting for the gateway to take new tasks: start over (nothing was submitted)."""
        start_try(self)
        try:
            since = datetime.fromisoformat(str((event or {})["waiting_since"]))
        except (KeyError, ValueError):
            since = datetime.now(UTC)  # a malformed event only restarts the allowance
        return self._concluded_with(context, self._generate(context, waiting_since=since))

    def _generate(self, context: Context, waiting_since: datetime | None) -> dict[str, Any]:
        generation = self._generation
        try:
            self._check_connection()
            prepared = generation.prepare()
            existing = generation.existing_result(prepared.fingerprint)
            if existing is not None:
                return existing
            try:
                status, deadline = self._resume_or_submit(context, prepared)
            except RateLimitError as exc:  # still refused after the hook's own retries: wait without a slot
                self._wait_for_capacity(exc, waiting_since or datetime.now(UTC))
            self._remote_task_id = status.task_id  # for on_kill while waiting on the worker
            record = push_task_record(
                context, generation.hook.connection, status.task_id, storage_uri(generation.output)
            )
            if not self.wait_for_completion:
                self.log.info(
                    "%s task %s is claimed in %s; not waiting for it (wait_for_completion=False): a "
                    "SeedanceGenerationSensor on output_path=%r stores it.",
                    record["gateway"],
                    status.task_id,
                    storage_uri(claim_path(generation.output)),
                    record["output_path"],
                )
                return {**record, "status": "submitted", "deadline": deadline.isoformat()}
            return conclude_or_defer(
                self,
                context,
                generation,
                status,
                deadline,
                deferrable=self.deferrable,
                by_setting=self.deferrable_by_setting,
            )
        finally:
            generation.close()

    def _resume_or_submit(self, context: Context, prepared: Prepared) -> tuple[TaskStatus, datetime]:
        """The claimed remote task, or a newly submitted (and claimed) one; a seam tests and subclasses use."""
        return self._generation.resume_or_submit(context, prepared)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the trigger: the event is checked before anything in it is trusted."""
        resume_try(self)
        parsed = read_event(SeedanceEvent, event, next_step="a retry resumes the claimed remote task.")
        try:
            return self._concluded_with(context, self._generation.conclude(context, parsed))
        finally:
            self._generation.close()

    def _concluded_with(self, context: Context, result: dict[str, Any]) -> dict[str, Any]:
        """The task's result, announced through its outlets and kept for its lineage."""
        self.report_concluded(context, [(self._fields(), result)])
        return result

    def on_kill(self) -> None:
        """Killed while waiting on the worker (non-deferrable mode): cancel the remote task if it can be."""
        task_id = getattr(self, "_remote_task_id", None)
        if not (self.settings().cancel_on_kill and task_id):
            return
        hook = self._generation.hook  # the connection serving it (its failover chain's next, maybe)
        try:
            status = hook.get_status(task_id)
            if hook.gateway.can_cancel(status.state):
                hook.cancel(task_id)
        except SeedanceError as exc:
            self.log.warning("Could not cancel remote task %s: %s", task_id, exc)

    def _wait_for_capacity(self, exc: RateLimitError, waiting_since: datetime) -> NoReturn:
        """Defer until the gateway may take the task (its queue cap, its rate limit), within the timeout."""
        wait = self._generation.capacity_wait(exc, waiting_since)
        self.log.warning(
            "%s takes no new task now (%s); waiting %s without holding a worker slot, then submitting "
            "(waiting since %s, for at most generation_timeout=%s).",
            self._generation.hook.gateway.name,
            exc,
            wait,
            waiting_since.isoformat(),
            self.settings().generation_timeout,
        )
        self.defer(
            trigger=CapacityWaitTrigger(
                until=(datetime.now(UTC) + wait).timestamp(), waiting_since=waiting_since.isoformat()
            ),
            method_name="execute_after_capacity_wait",
        )
