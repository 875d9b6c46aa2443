"""SeedanceGenerateVideoOperator: one prompt in, one video (plus manifest) in object storage out.

The story of a run: validate (no network) -> return an existing output as is (``skip_existing``)
-> resume the remote task a previous try submitted, or submit and remember its id at once -> wait in
the triggerer (or on the worker) -> on success stream the video into ``output_path`` and write
``<output>.json`` beside it. Retries never pay twice: the remote task id is claimed beside the
output (``<output>.claim.json``, see ``claims.py``), so any later attempt at the same output and
request picks the same generation up again, on every supported Airflow release.
"""

from __future__ import annotations

import configparser
import hashlib
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, ClassVar, NoReturn

from airflow.sdk import Asset, AssetAlias, BaseOperator, Context, ObjectStoragePath

from airflow_provider_seedance.claims import Claim, claim_path, read_claim, remove_claim, write_claim
from airflow_provider_seedance.compat import TRIGGER_ON_KILL_SUPPORTED, AirflowException, AirflowFailException, conf
from airflow_provider_seedance.exceptions import (
    ConnectionConfigError,
    GatewayError,
    RateLimitError,
    RequestValidationError,
    ResultUnavailableError,
    SeedanceError,
    SubmitOutcomeUnknownError,
    TaskNotFoundError,
)
from airflow_provider_seedance.gateways.delivery import parse_delivery_order
from airflow_provider_seedance.gateways.failures import FailureCause, failure_cause
from airflow_provider_seedance.hooks.seedance import SeedanceHook
from airflow_provider_seedance.links import SeedanceVideoLink
from airflow_provider_seedance.manifest import (
    FAILURE_SUFFIX,
    build_manifest,
    failure_record,
    request_fingerprint,
    result_from_manifest,
)
from airflow_provider_seedance.media.assets import AssetRegistry, default_registry_root
from airflow_provider_seedance.media.delivery import DeliveredRequest, MediaDelivery, MediaDeliveryError
from airflow_provider_seedance.media.sources import (
    MediaSourceError,
    SourceMedia,
    media_digests,
    read_sources,
    source_problems,
)
from airflow_provider_seedance.models import MediaKind, TaskState, TaskStatus, VideoRequest, media_kind
from airflow_provider_seedance.pricing import Cost, actual
from airflow_provider_seedance.storage import (
    StoredObject,
    beside,
    read_json,
    remove_quietly,
    storage_uri,
    store_stream,
    write_json,
)
from airflow_provider_seedance.triggers.capacity import CapacityWaitTrigger
from airflow_provider_seedance.triggers.events import SeedanceEvent
from airflow_provider_seedance.triggers.seedance import SeedanceTaskTrigger

DEFAULT_ASSET_ALIAS = "seedance_videos"
# The framework's deferral timeout sits a little past the trigger's own deadline, as a backstop.
# It covers one status poll's own retries (timeouts and Retry-After waits), which can take minutes.
DEFERRAL_MARGIN = timedelta(minutes=15)
# Presigned input URLs outlive the deadline by this much: a gateway may fetch an input when a queued
# task starts, or again when it retries internally.
PRESIGNED_URL_MARGIN = timedelta(hours=1)
# Polling a generation less often than hourly only delays its result; more often than 0 s is a busy loop.
MAX_POLL_INTERVAL = 3600.0
# Ark expires a task that has not finished after at most 72 h (execution_expires_after); result URLs last 24 h.
MAX_GENERATION_TIMEOUT = timedelta(hours=72)
# How failure messages end: what a person does next.
FIX_REQUEST = "Next: fix the fields above in the DAG (or the values they are templated from), then clear the task."
FIX_INPUT = "Next: fix the input, then clear the task."
# A gateway refusing new tasks (queue cap, rate limit) is asked again after at most this long.
CAPACITY_MAX_WAIT_SECONDS = 600.0
# After a submit whose answer was lost: the choices, how long to let the task appear in the gateway's list,
# and how far before our clock its creation time may lie.
UNKNOWN_SUBMIT_CHOICES = ("fail", "resubmit")
UNKNOWN_SUBMIT_SETTLE_SECONDS = 3.0
UNKNOWN_SUBMIT_CLOCK_SKEW = timedelta(minutes=2)
# How many other seeds a generation that failed output moderation may try (reseed_on_output_moderation).
MAX_RESEEDS = 2
# Why a generation ended without a video, and what happens next (failed generations are not billed).
AFTER_NO_VIDEO = {
    "failed": "Next: a retry submits it again; if it fails the same way, change what the message names.",
    "cancelled": "Next: a retry submits it again, unless it was cancelled on purpose (then mark the task skipped).",
    "expired": "Next: a retry submits it again; the gateway dropped it unstarted, so its queue was full or slow.",
    "timeout": "Next: a retry resumes it, or submits anew if it was cancelled; raise generation_timeout if "
    "this gateway is often this slow.",
}
MEDIA_FIELDS = ("first_frame", "last_frame", "reference_images", "reference_videos", "reference_audios")
REQUEST_FIELDS = (
    "model",
    "prompt",
    "duration",
    "resolution",
    "ratio",
    "seed",
    "generate_audio",
    "watermark",
    "camera_fixed",
    "return_last_frame",
    "first_frame",
    "last_frame",
    "reference_images",
    "reference_videos",
    "reference_audios",
    "extra",
)


def default_deferrable() -> bool:
    """``[operators] default_deferrable`` when the deployment sets it, else True.

    Airflow ships that option as False, which would park a worker slot for every generation; a
    provider that waits minutes per task defers unless told otherwise.
    """
    configured = "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE" in os.environ or configparser.ConfigParser.has_option(
        conf, "operators", "default_deferrable"
    )
    return conf.getboolean("operators", "default_deferrable") if configured else True


class SeedanceGenerateVideoOperator(BaseOperator):
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
    :param seedance_conn_id: the ``seedance`` connection (API key, base URL, gateway). Templated.
    :param output_conn_id: the connection for ``output_path`` (e.g. an ``aws`` connection). Templated.
    :param media_conn_id: the connection that reads media inputs given as storage URIs (and signs
        their presigned URLs); defaults to ``output_conn_id``. Templated.
    :param media_delivery: the ways a storage (or inline) input may reach the gateway, in the order to
        try them: ``presigned_url`` (S3 only; valid past the generation's deadline), ``upload`` (the
        gateway's upload endpoint: apimart images), ``asset`` (the gateway's asset library, audited
        once per content: JimmyAI SP models), ``inline`` (a base64 ``data:`` URI where the gateway takes
        one and the body stays under its limit). Default: all four, in that order. Inputs are checked
        against the gateway's documented limits (format, size, dimensions, duration, frame rate) before
        anything is paid for.
    :param asset_registry_path: where approved asset ids are remembered by content sha256 (default:
        ``.seedance-assets`` at the top of the output's bucket, or beside a local output). Templated.
    :param skip_existing: when the output and its manifest already exist, return them without
        generating (and paying) again.
    :param poll_interval: seconds between status polls, more than 0 and at most 3600.
    :param generation_timeout: how long the generation may take, from submission (at most 72 h);
        then the remote task is cancelled where the gateway can, and the task fails.
    :param deferrable: wait in the triggerer, freeing the worker slot. Defaults to
        ``[operators] default_deferrable`` when set, else True.
    :param cancel_on_kill: cancel the remote task when the Airflow task is cleared, marked or killed
        while waiting, where the gateway can cancel it in its current state. For a task waiting in
        the triggerer this needs Airflow 3.3 (``BaseTrigger.on_kill``); below it the generation keeps
        running and its claim lets the next run resume it.
    :param reseed_on_output_moderation: when the output (not the input) fails content moderation, which can
        happen at random on identical input, let the task's next retry submit it with another seed (at most
        ``MAX_RESEEDS`` times; needs ``retries``). The seed used is in the manifest. Off: such a failure fails
        the task without retrying.
    :param on_unknown_submit: what to do when a submit's answer is lost (a dropped connection, a 500), on
        gateways whose task list cannot tell whether the task was created: ``"fail"`` (default: say what to
        check) or ``"resubmit"`` (send it once more, at the risk of paying twice). Ark needs neither: the
        operator looks the task up by model and seed, resumes it if it was created and submits once more if
        it provably was not.
    :param max_cost: the most one generation may cost, in the currency of its price (the shipped BytePlus
        card is USD; a connection's ``extra.prices`` names its own). A generation estimated above it fails
        before it is submitted; with no price known for the model, it fails too. None: no limit.
    :param resubmit_lost_tasks: when a retry finds that the gateway no longer knows the task an
        earlier try submitted, submit again (False: fail instead, since it may have been paid for).
    :param asset_alias: name of the ``AssetAlias`` that gets one asset event per stored video (so
        downstream DAGs can be scheduled on new videos); None for no event.
    """

    template_fields: Sequence[str] = (
        "prompt",
        "model",
        "output_path",
        "output_conn_id",
        "media_conn_id",
        "asset_registry_path",
        "seedance_conn_id",
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
    operator_extra_links = (SeedanceVideoLink(),)
    ui_color = "#f2e6ff"

    def __init__(
        self,
        *,
        model: str,
        output_path: str | ObjectStoragePath,
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
        seedance_conn_id: str = SeedanceHook.default_conn_name,
        output_conn_id: str | None = None,
        media_conn_id: str | None = None,
        media_delivery: Sequence[str] | None = None,
        asset_registry_path: str | ObjectStoragePath | None = None,
        skip_existing: bool = True,
        poll_interval: float = 15.0,
        generation_timeout: timedelta = timedelta(hours=2),
        deferrable: bool | None = None,
        cancel_on_kill: bool = True,
        resubmit_lost_tasks: bool = False,
        max_cost: float | None = None,
        reseed_on_output_moderation: bool = False,
        on_unknown_submit: str = "fail",
        asset_alias: str | None = DEFAULT_ASSET_ALIAS,
        **kwargs: Any,
    ) -> None:
        if asset_alias:
            kwargs["outlets"] = [*(kwargs.get("outlets") or []), AssetAlias(asset_alias)]
        super().__init__(**kwargs)
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
        self.seedance_conn_id = seedance_conn_id
        self.output_conn_id = output_conn_id
        self.media_conn_id = media_conn_id
        try:
            self.media_delivery = parse_delivery_order(media_delivery)
        except ValueError as exc:
            raise ValueError(f"{self.task_id}: {exc}") from None
        self.asset_registry_path = asset_registry_path
        for name in ("output_path", "asset_registry_path"):
            problem = _scheme_problem(name, getattr(self, name))
            if problem and not _is_template(getattr(self, name)):
                raise ValueError(f"{self.task_id}: {problem}")
        if not 0 < poll_interval <= MAX_POLL_INTERVAL:
            raise ValueError(
                f"{self.task_id}: poll_interval={poll_interval!r}; allowed: more than 0 and at most "
                f"{MAX_POLL_INTERVAL:g} seconds (15-30 s suits most generations)"
            )
        if not timedelta(0) < generation_timeout <= MAX_GENERATION_TIMEOUT:
            raise ValueError(
                f"{self.task_id}: generation_timeout={generation_timeout}; allowed: more than 0 and at most "
                f"{MAX_GENERATION_TIMEOUT} (gateways expire a task that has not run by then)"
            )
        if max_cost is not None and not max_cost > 0:
            raise ValueError(f"{self.task_id}: max_cost={max_cost!r}; allowed: more than 0, or None for no limit")
        self.max_cost = max_cost
        self.reseed_on_output_moderation = reseed_on_output_moderation
        if on_unknown_submit not in UNKNOWN_SUBMIT_CHOICES:
            raise ValueError(
                f"{self.task_id}: on_unknown_submit={on_unknown_submit!r}; allowed: {', '.join(UNKNOWN_SUBMIT_CHOICES)}"
            )
        self.on_unknown_submit = on_unknown_submit
        self._check_request_shape()
        self.skip_existing = skip_existing
        self.poll_interval = poll_interval
        self.generation_timeout = generation_timeout
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.cancel_on_kill = cancel_on_kill
        self.resubmit_lost_tasks = resubmit_lost_tasks
        self.asset_alias = asset_alias

    def _check_request_shape(self) -> None:
        """Types, sane ranges and media forms of the fields already known while the DAG is parsed.

        Templated fields and the gateway's own rules for the model wait for ``execute`` (the gateway is
        named by the connection, which a DAG file should not look up while it is parsed).
        """
        known = request_fields({name: getattr(self, name) for name in REQUEST_FIELDS})
        known = {name: value for name, value in known.items() if _is_concrete(value)}
        try:
            VideoRequest.from_fields({"model": "placeholder", **known})
        except RequestValidationError as exc:
            raise ValueError(f"{self.task_id}: {exc}") from None

    @cached_property
    def hook(self) -> SeedanceHook:
        return SeedanceHook(self.seedance_conn_id)

    # ---- the story --------------------------------------------------------------------------------

    def execute(self, context: Context) -> dict[str, Any]:
        return self._generate(context, waiting_since=None)

    def execute_after_capacity_wait(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Back from waiting for the gateway to take new tasks: start over (nothing was submitted)."""
        try:
            since = datetime.fromisoformat(str((event or {})["waiting_since"]))
        except (KeyError, ValueError):
            since = datetime.now(UTC)  # a malformed event only restarts the allowance
        return self._generate(context, waiting_since=since)

    def _generate(self, context: Context, waiting_since: datetime | None) -> dict[str, Any]:
        try:
            self._check_paths()
            self._check_connection()
            request = self._request(validate=True)
            sources, fingerprint = self._read_sources(request)
            existing = self._existing_result(fingerprint)
            if existing is not None:
                return existing
            try:
                status, deadline = self._resume_or_submit(context, request, sources, fingerprint)
            except RateLimitError as exc:  # still refused after the hook's own retries: wait without a slot
                self._wait_for_capacity(exc, waiting_since or datetime.now(UTC))
            self._remote_task_id = status.task_id  # for on_kill while waiting on the worker
            if status.state.is_terminal:
                return self._conclude(context, request, SeedanceEvent.from_status(self.hook.gateway.name, status))
            if not self.deferrable:
                return self._conclude(context, request, self._wait_here(status.task_id, deadline))
        finally:
            self.hook.close()
        if self.cancel_on_kill and not TRIGGER_ON_KILL_SUPPORTED:
            self.log.info(
                "This Airflow release does not tell triggers when a task is cleared or marked (3.3+ does): "
                "clearing this task while it waits leaves remote task %s running; its claim lets the next run "
                "resume it.",
                status.task_id,
            )
        self.defer(
            trigger=SeedanceTaskTrigger(
                seedance_conn_id=self.seedance_conn_id,
                remote_task_id=status.task_id,
                deadline=deadline.timestamp(),
                poll_interval=self.poll_interval,
                cancel_on_kill=self.cancel_on_kill,
            ),
            method_name="execute_complete",
            timeout=max(deadline - datetime.now(UTC), timedelta(0)) + DEFERRAL_MARGIN,
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the trigger: the event is checked before anything in it is trusted."""
        try:
            parsed = SeedanceEvent.parse(event)
        except ValueError as exc:
            raise AirflowException(f"{exc}. Next: a retry resumes the claimed remote task.") from None
        try:
            # Not validated again: the request was validated before it was paid for, and a rule that
            # changed since (a provider upgrade) must not strand a finished video.
            return self._conclude(context, self._request(validate=False), parsed)
        finally:
            self.hook.close()

    def on_kill(self) -> None:
        """Killed while waiting on the worker (non-deferrable mode): cancel the remote task if it can be."""
        task_id = getattr(self, "_remote_task_id", None)
        if not (self.cancel_on_kill and task_id):
            return
        try:
            status = self.hook.get_status(task_id)
            if self.hook.gateway.can_cancel(status.state):
                self.hook.cancel(task_id)
        except SeedanceError as exc:
            self.log.warning("Could not cancel remote task %s: %s", task_id, exc)

    # ---- steps --------------------------------------------------------------------------------

    def _check_paths(self) -> None:
        """Rendered paths need a scheme, or they would land on the worker's local disk."""
        for name in ("output_path", "asset_registry_path"):
            problem = _scheme_problem(name, getattr(self, name))
            if problem:
                raise AirflowFailException(problem)

    def _check_connection(self) -> None:
        """Resolve the seedance connection; a configuration no retry can fix fails the task at once."""
        try:
            self.hook.connection  # noqa: B018 - resolving it is the check
        except ConnectionConfigError as exc:
            raise AirflowFailException(f"{exc}. Fix the connection, then clear the task.") from None

    def _request(self, *, validate: bool) -> VideoRequest:
        """Build the request; with ``validate``, check it against the gateway's rules (no network)."""
        try:
            request = VideoRequest.from_fields(request_fields({name: getattr(self, name) for name in REQUEST_FIELDS}))
            if validate:
                self.hook.gateway.validate(request, self.media_delivery)
        except RequestValidationError as exc:
            raise AirflowFailException(f"{exc}\n{FIX_REQUEST}") from None  # no retry can fix the request
        return request

    def _read_sources(self, request: VideoRequest) -> tuple[list[SourceMedia], str]:
        """Read and check the inputs that live in storage or inline (headers only), before any paid call.

        Returns them with the request's fingerprint. An input that can no longer be read does not strand
        a generation already paid for: when the claim beside the output records this request (by the
        sha256 of each input it was made from), that generation is resumed without the inputs.
        """
        try:
            sources = read_sources(request, self._media_conn_id(), self._media_paths())
        except MediaSourceError as exc:
            claimed = self._claimed_fingerprint(request)
            if claimed is None:
                raise AirflowFailException(
                    f"{RequestValidationError(self.hook.gateway.name, [exc.problem])}\n{FIX_INPUT}"
                ) from None
            self.log.warning("%s; the claimed generation made from it is resumed instead.", exc.problem)
            return [], claimed
        problems = source_problems(sources, self.hook.gateway.spec_for(request.model).media_limits)
        if problems:
            raise AirflowFailException(f"{RequestValidationError(self.hook.gateway.name, problems)}\n{FIX_INPUT}")
        return sources, request_fingerprint(request, media_digests(sources))

    def _claimed_fingerprint(self, request: VideoRequest) -> str | None:
        """The fingerprint of the claim beside the output, if that claim is for ``request`` as its inputs were."""
        claim = read_claim(self._output())
        if claim is None:
            return None
        digests = {
            item["source"]: item["sha256"] for item in claim.inputs if media_kind(item["source"]) is MediaKind.STORAGE
        }
        fingerprint = request_fingerprint(request, digests)
        return fingerprint if claim.is_for(self.hook.gateway.name, fingerprint) else None

    def _existing_result(self, fingerprint: str) -> dict[str, Any] | None:
        if not self.skip_existing:
            return None
        output = self._output()
        manifest = read_json(self._manifest_path(output))
        if manifest is None or not output.exists():
            return None
        if manifest.get("request_sha256") != fingerprint:
            self.log.info("%s exists but was made from another request; generating anew.", storage_uri(output))
            return None
        self.log.info(
            "%s and its manifest already exist; returning them without generating again.", storage_uri(output)
        )
        return result_from_manifest(manifest, storage_uri(self._manifest_path(output)), skipped=True)

    def _resume_or_submit(
        self, context: Context, request: VideoRequest, sources: list[SourceMedia], fingerprint: str
    ) -> tuple[TaskStatus, datetime]:
        """Resume the generation an earlier attempt claimed for this output and request, or submit and claim."""
        output = self._output()
        gateway = self.hook.gateway.name
        claim = read_claim(output)
        seed, reseeds = None, 0
        if claim is not None and claim.is_for(gateway, fingerprint) and claim.next_seed is not None:
            seed, reseeds = claim.next_seed, claim.reseeds + 1
            self.log.info(
                "Task %s failed output moderation; submitting again with seed %d (reseed %d of %d).",
                claim.remote_task_id,
                seed,
                reseeds,
                MAX_RESEEDS,
            )
        elif claim is not None and claim.is_for(gateway, fingerprint):
            status = self._still_usable(claim.remote_task_id)
            if status is not None:
                self.log.info(
                    "Resuming %s task %s, submitted at %s (claim %s): no new submission.",
                    gateway,
                    status.task_id,
                    claim.submitted_at,
                    storage_uri(claim_path(output)),
                )
                # A retry after a timeout gets a fresh allowance instead of timing out at once.
                return status, max(claim.deadline_at, datetime.now(UTC) + self.generation_timeout)
        elif claim is not None:
            self.log.warning(
                "%s claims %s task %s for another request; that task is left alone and this request is submitted.",
                storage_uri(claim_path(output)),
                claim.gateway,
                claim.remote_task_id,
            )
        seed_range = self.hook.gateway.spec_for(request.model).seed_range
        if seed is None and request.seed is None and self.hook.gateway.lists_tasks and seed_range:
            # So the task list can recognise this submit (see _submit): the seed is this output's, this
            # request's and this try's, so no other generation (or earlier try) in the list carries it.
            identity = f"{fingerprint}:{storage_uri(output)}:{context['ti'].try_number}"
            seed = _derived_seed(identity, 0, seed_range)
        if seed is not None:
            request = request.model_copy(update={"seed": seed})
        estimate = self._check_cost(request, sources)
        delivered = self._deliver(request, sources)
        status = self._submit(delivered)
        submitted_at = datetime.now(UTC)
        deadline = submitted_at + self.generation_timeout
        claim = Claim(
            gateway=gateway,
            seedance_conn_id=self.seedance_conn_id,
            remote_task_id=status.task_id,
            request_sha256=fingerprint,
            submitted_at=submitted_at.isoformat(),
            deadline=deadline.isoformat(),
            airflow=_airflow_identity(context),
            inputs=[source.record(delivered.forms.get(source.input.field)) for source in sources],
            estimated_cost=estimate.as_dict() if estimate else None,
            seed=seed,
            reseeds=reseeds,
        )
        try:
            write_claim(output, claim)
        except Exception as exc:
            # Without the claim a retry would submit (and pay) again: stop here and say which task it is.
            raise AirflowFailException(
                f"{gateway} task {status.task_id} was submitted but its claim could not be written to "
                f"{storage_uri(claim_path(output))} ({type(exc).__name__}: {exc}). Not retrying, so it is not paid "
                f"twice. Fix write access to the output location, then write the claim by hand or wait for task "
                f"{status.task_id} in the {gateway} console before clearing this task."
            ) from exc
        return status, deadline

    def _estimate(self, request: VideoRequest, sources: list[SourceMedia] | None) -> Cost | None:
        """The estimated cost from the connection's prices; None when no price is known for the model."""
        videos = [source for source in sources or () if source.input.media == "video"]
        return self.hook.connection.estimate(request, [video.info.duration if video.info else None for video in videos])

    def _check_cost(self, request: VideoRequest, sources: list[SourceMedia]) -> Cost | None:
        """Log what this submit is estimated to cost; refuse it when it is above ``max_cost``."""
        cost = self._estimate(request, sources)
        gateway = self.hook.gateway.name
        if cost is None:
            message = (
                f"no price is known for {request.model} on {gateway}, so its cost cannot be estimated. Next: add "
                f"the model's price to connection {self.seedance_conn_id!r} as extra.prices (see the README)"
            )
            if self.max_cost is not None:
                raise AirflowFailException(f"max_cost={self.max_cost:g} is set but {message}, then clear the task.")
            self.log.info("%s.", message[0].upper() + message[1:])
            return None
        self.log.info("Estimated cost: %.4f %s (%s).", cost.amount, cost.currency, cost.basis)
        if self.max_cost is not None and cost.amount > self.max_cost:
            raise AirflowFailException(
                f"the generation is estimated at {cost.amount:.4f} {cost.currency} ({cost.basis}), above "
                f"max_cost={self.max_cost:g}; nothing was submitted. Next: shorten it, lower its resolution, or "
                "raise max_cost, then clear the task."
            )
        return cost

    def _deliver(self, request: VideoRequest, sources: list[SourceMedia]) -> DeliveredRequest:
        """Bring storage and inline inputs to the gateway in a form it takes; nothing is paid for yet."""
        inputs = [item.field for item in request.media_inputs if item.kind in (MediaKind.STORAGE, MediaKind.DATA)]
        if len(inputs) > len(sources):
            raise AirflowFailException(
                f"the media inputs ({', '.join(inputs)}) could not be read, and the generation the claim recorded "
                "for them is gone; fix the inputs, then clear the task."
            )
        delivery = MediaDelivery(
            hook=self.hook,
            order=self.media_delivery,
            url_lifetime=self.generation_timeout + PRESIGNED_URL_MARGIN,
            registry=AssetRegistry(self._asset_registry_root()),
            poll_interval=self.poll_interval,
        )
        try:
            return delivery.deliver(request, sources)
        except MediaDeliveryError as exc:
            message = f"{RequestValidationError(self.hook.gateway.name, [exc.problem])}"
            if exc.retryable:
                raise AirflowException(message) from None
            raise AirflowFailException(f"{message}\n{FIX_INPUT}") from None
        except GatewayError as exc:
            if not exc.retryable:
                raise AirflowFailException(
                    f"the gateway refused a media input before the submit: {exc}. Next: {exc.next_step}"
                ) from exc
            raise

    def _wait_for_capacity(self, exc: RateLimitError, waiting_since: datetime) -> NoReturn:
        """Defer until the gateway may take the task (its queue cap, its rate limit), within the timeout."""
        wait = timedelta(seconds=min(max(exc.retry_after or 0.0, self.poll_interval, 1.0), CAPACITY_MAX_WAIT_SECONDS))
        gateway = self.hook.gateway.name
        if datetime.now(UTC) + wait > waiting_since + self.generation_timeout:
            raise AirflowException(
                f"{gateway} kept refusing new tasks since {waiting_since.isoformat()} ({exc}); nothing was submitted. "
                "Next: a retry tries again; fewer concurrent generations (the pool's slots) leave room in its queue."
            )
        self.log.warning(
            "%s takes no new task now (%s); waiting %s without holding a worker slot, then submitting "
            "(waiting since %s, for at most generation_timeout=%s).",
            gateway,
            exc,
            wait,
            waiting_since.isoformat(),
            self.generation_timeout,
        )
        self.defer(
            trigger=CapacityWaitTrigger(
                until=(datetime.now(UTC) + wait).timestamp(), waiting_since=waiting_since.isoformat()
            ),
            method_name="execute_after_capacity_wait",
        )

    def _submit(self, delivered: DeliveredRequest) -> TaskStatus:
        """Submit; when the answer is lost, find out whether the task was created before sending it again."""
        sent = datetime.now(UTC)
        try:
            return self._submit_once(delivered)
        except SubmitOutcomeUnknownError as exc:
            found = self._resolve_unknown_submit(delivered, sent, exc)
            if found is not None:
                return found
        try:
            return self._submit_once(delivered)
        except SubmitOutcomeUnknownError as exc:
            raise self._unknown_outcome(delivered, sent, exc) from None

    def _submit_once(self, delivered: DeliveredRequest) -> TaskStatus:
        try:
            return self.hook.submit(delivered.request, secrets=delivered.secrets)
        except SubmitOutcomeUnknownError:
            raise
        except GatewayError as exc:
            if not exc.retryable:
                hint = self.hook.gateway.model_hint(delivered.request.model)
                raise AirflowFailException(
                    f"the gateway refused the generation: {exc}.{hint} Next: {exc.next_step}"
                ) from exc
            raise

    def _resolve_unknown_submit(
        self, delivered: DeliveredRequest, sent: datetime, exc: SubmitOutcomeUnknownError
    ) -> TaskStatus | None:
        """The task a lost-answer submit created; None when it provably was not created (or the user allows
        sending again regardless); else fail, since a second submit could pay twice."""
        request, gateway = delivered.request, self.hook.gateway
        if gateway.lists_tasks and request.seed is not None:
            time.sleep(UNKNOWN_SUBMIT_SETTLE_SECONDS)  # a task created a moment ago may not be listed yet
            try:
                found = self.hook.find_task(request.model, request.seed, sent - UNKNOWN_SUBMIT_CLOCK_SKEW)
            except SeedanceError as lookup:
                self.log.warning("Looking for the task in %s's task list failed too: %s", gateway.name, lookup)
                raise self._unknown_outcome(delivered, sent, exc) from None
            if found is not None:
                self.log.warning(
                    "The submit's answer was lost (%s), but %s's task list shows the task it created: %s (model "
                    "%s, seed %d). Resuming it; nothing is submitted again.",
                    exc,
                    gateway.name,
                    found.task_id,
                    request.model,
                    request.seed,
                )
                return found
            self.log.warning(
                "The submit's answer was lost (%s) and %s's task list shows no %s task with seed %d since %s: it "
                "was not created. Submitting once more.",
                exc,
                gateway.name,
                request.model,
                request.seed,
                sent.isoformat(),
            )
            return None
        if self.on_unknown_submit == "resubmit":
            self.log.warning("The submit's answer was lost (%s); submitting once more (on_unknown_submit).", exc)
            return None
        raise self._unknown_outcome(delivered, sent, exc)

    def _unknown_outcome(
        self, delivered: DeliveredRequest, sent: datetime, exc: SubmitOutcomeUnknownError
    ) -> AirflowFailException:
        # A retry would submit (and pay) again without knowing whether this one went through. The message is
        # the whole story, so the chain of transport errors behind it is not repeated.
        gateway = self.hook.gateway.name
        return AirflowFailException(
            f"{exc} Next: in {gateway}'s console, look for a {delivered.request.model} task created around "
            f"{sent.strftime('%Y-%m-%d %H:%M UTC')}. If there is none, clear this task to submit again. If there is "
            "one, it is being generated and billed: take its video from the console, or clear this task only if a "
            "second generation is acceptable. (on_unknown_submit='resubmit' submits again on its own, at the risk "
            "of paying twice.)"
        )

    def _still_usable(self, task_id: str) -> TaskStatus | None:
        """The claimed task's status; None when it failed (not billed, so it may be submitted anew)."""
        try:
            status = self.hook.get_status(task_id)
        except TaskNotFoundError:
            grace = self.hook.gateway.not_found_grace
            if grace is not None:
                # This gateway also answers 404 for a task that is not finished yet: wait for it, and let the
                # wait's grace decide whether it is gone (execute_complete handles that outcome).
                self.log.warning(
                    "%s answered 404 for task %s, which an earlier attempt submitted; on %s that can mean it is not "
                    "finished yet, so it is waited for (a 404 run counts as gone after %d polls over %.0f s).",
                    self.hook.gateway.name,
                    task_id,
                    self.hook.gateway.name,
                    *grace,
                )
                return TaskStatus(task_id=task_id, state=TaskState.RUNNING)
            self._lost_task(task_id)
            return None
        if status.state in (TaskState.FAILED, TaskState.CANCELLED, TaskState.EXPIRED):
            self.log.warning("Task %s from an earlier attempt ended %s; submitting again.", task_id, status.state.value)
            return None
        return status

    def _lost_task(self, task_id: str) -> None:
        """The gateway no longer knows a task an attempt submitted: fail, unless paying again was allowed."""
        if not self.resubmit_lost_tasks:
            raise AirflowFailException(
                f"{self.hook.gateway.name} no longer knows task {task_id}, submitted by an earlier attempt. Not "
                "submitting again automatically, since it may have been paid for. Next: if its video is in the "
                f"{self.hook.gateway.name} console, take it from there; otherwise set resubmit_lost_tasks=True and "
                "clear the task (a new, paid generation)."
            )
        self.log.warning("The gateway no longer knows task %s; submitting again.", task_id)

    def _conclude(self, context: Context, request: VideoRequest, event: SeedanceEvent) -> dict[str, Any]:
        if event.status == "succeeded":
            return self._store(context, request, event.remote_task_id)
        if event.status == "timeout":
            status = self.hook.get_status(event.remote_task_id)
            if status.state is TaskState.SUCCEEDED:  # it finished while the worker was on its way
                return self._store(context, request, status.task_id)
            self._cancel_after_timeout(status)
        elif event.status == "failed":
            self._after_failure(event, request)
        elif event.status in ("cancelled", "expired"):
            self._forget()  # not billed by the gateways; a retry may try again
        elif event.reason == TaskNotFoundError.__name__:
            self._lost_task(event.remote_task_id)
            self._forget()
            raise AirflowException(f"{event.message}. Next: a retry submits it again (resubmit_lost_tasks=True).")
        raise AirflowException(
            f"Seedance generation did not produce a video: {event.message} ({event.reason}). "
            + AFTER_NO_VIDEO.get(event.status, "Next: a retry tries again.")
        )

    def _record_failure(self, event: SeedanceEvent, request: VideoRequest, cause: FailureCause) -> None:
        """Best effort: ``<output>.failure.json`` tells a night's summary why this output is missing."""
        record = failure_record(
            gateway=event.gateway,
            model=request.model,
            remote_task_id=event.remote_task_id,
            cause=cause.value,
            code=event.error_code,
            message=event.message,
            at=datetime.now(UTC),
        )
        try:
            write_json(self._failure_path(), record)
        except Exception as exc:  # any store's error: the task fails with the same text either way
            self.log.warning("Could not write %s (%s).", storage_uri(self._failure_path()), exc)

    def _failure_path(self) -> ObjectStoragePath:
        return beside(self._output(), FAILURE_SUFFIX)

    def _after_failure(self, event: SeedanceEvent, request: VideoRequest) -> None:
        """Fail by what a retry can change: another seed for output moderation (if allowed), nothing for a
        refused input or an invalid request, another try for the rest. Failed tasks are not billed."""
        cause = failure_cause(event.error_code, event.message)
        what = f"Seedance generation did not produce a video: {event.message} ({event.reason})"
        self._record_failure(event, request, cause)
        claim = read_claim(self._output())
        seed_range = self.hook.gateway.spec_for(request.model).seed_range
        if cause is FailureCause.OUTPUT_MODERATION and self.reseed_on_output_moderation and seed_range is None:
            self._forget()
            raise AirflowException(
                f"{what}. Output moderation can pass on another try: this model takes no seed, so the next retry "
                "submits it again and the gateway picks one."
            )
        if cause is FailureCause.OUTPUT_MODERATION and self.reseed_on_output_moderation and seed_range:
            tried = claim.reseeds if claim is not None else 0
            if claim is not None and tried < MAX_RESEEDS:
                next_seed = _derived_seed(
                    f"{claim.request_sha256}:{storage_uri(self._output())}", tried + 1, seed_range
                )
                write_claim(self._output(), replace(claim, next_seed=next_seed))
                raise AirflowException(
                    f"{what}. Output moderation can pass with another seed: the next retry submits it with seed "
                    f"{next_seed} (reseed {tried + 1} of {MAX_RESEEDS}; the task needs retries for it)."
                )
            self._forget()
            raise AirflowFailException(
                f"{what}. {tried + 1} seeds failed output moderation. Next: change the prompt or the inputs, then "
                "clear the task."
            )
        self._forget()
        if cause is FailureCause.OUTPUT_MODERATION:
            raise AirflowFailException(
                f"{what}. Output moderation can pass with another seed. Next: set "
                "reseed_on_output_moderation=True (with retries) to try others, or change the prompt, then clear "
                "the task."
            )
        if cause is FailureCause.INPUT_REFUSED:
            raise AirflowFailException(
                f"{what}. A retry cannot pass it. Next: change the input or prompt it names, then clear the task."
            )
        if cause is FailureCause.INVALID_REQUEST:
            raise AirflowFailException(f"{what}. Next: fix what it names, then clear the task.")
        raise AirflowException(f"{what}. {AFTER_NO_VIDEO['failed']}")

    def _cancel_after_timeout(self, status: TaskStatus) -> None:
        """Cancel where the gateway can (then a retry submits anew); otherwise a retry resumes the same task."""
        if not self.hook.gateway.can_cancel(status.state):
            self.log.warning(
                "Task %s is %s and cannot be cancelled on %s; a retry will resume it.",
                status.task_id,
                status.state.value,
                self.hook.gateway.name,
            )
            return
        try:
            self.hook.cancel(status.task_id)
        except SeedanceError as exc:
            self.log.warning("Could not cancel task %s: %s; a retry will resume it.", status.task_id, exc)
            return
        self._forget()

    def _store(self, context: Context, request: VideoRequest, task_id: str) -> dict[str, Any]:
        """Stream the video (and last frame) into storage, write the manifest, announce the asset."""
        status = self.hook.get_status(task_id)  # fresh result URLs and usage
        output = self._output()
        try:
            if status.video_expires_at is not None and status.video_expires_at <= datetime.now(UTC):
                raise ResultUnavailableError(
                    f"the result URL expired at {status.video_expires_at.isoformat()}", gateway=self.hook.gateway.name
                )
            video = store_stream(lambda offset: self.hook.open_artifact(status, "video", offset), output)
        except ResultUnavailableError as exc:
            # Nothing can fetch this video any more. Keeping the claim would make every later run resume
            # the same task and fail the same way, so a person's clear is what pays for a new one.
            self._forget()
            raise AirflowFailException(
                f"the video of {self.hook.gateway.name} task {task_id} can no longer be fetched ({exc}); gateways keep "
                f"results for about 24 h. Next: {exc.next_step}"
            ) from None
        last_frame = self._store_last_frame(request, status, output)
        claim = read_claim(output)
        claim = claim if claim is not None and claim.remote_task_id == task_id else None
        if claim is not None:
            fingerprint, inputs, estimated = claim.request_sha256, claim.inputs, claim.estimated_cost
            if claim.seed is not None:  # re-seeded after output moderation: record the seed that was sent
                request = request.model_copy(update={"seed": claim.seed})
        else:  # the claim went missing: identify the inputs again, as well as they can still be read
            fingerprint, inputs = self._identify_inputs_again(request)
            recomputed = self._estimate(request, None)
            estimated = recomputed.as_dict() if recomputed else None
        price = self.hook.connection.price(request.model)
        spent = actual(request, price, status.usage) if price else None
        manifest = build_manifest(
            request=request,
            gateway=self.hook.gateway.name,
            status=status,
            video=video,
            last_frame=last_frame,
            request_sha256=fingerprint,
            inputs=inputs,
            submitted_at=claim.submitted_at if claim is not None else None,
            stored_at=datetime.now(UTC),
            airflow=_airflow_identity(context),
            cost={"estimate": estimated, "actual": spent.as_dict() if spent else None},
        )
        if spent is not None:
            self.log.info("Actual cost: %.4f %s (%s).", spent.amount, spent.currency, spent.basis)
        manifest_path = self._manifest_path(output)
        write_json(manifest_path, manifest)
        remove_claim(output)  # the manifest replaces it; a later run without skip_existing generates anew
        # An earlier try's failure record is history once the video is stored.
        remove_quietly(self._failure_path(), "the video beside it is what counts")
        if self.asset_alias:
            context["outlet_events"][AssetAlias(self.asset_alias)].add(
                Asset(video.uri), extra={"sha256": video.sha256, "size": video.size, "gateway": manifest["gateway"]}
            )
            # Airflow records the event when the task succeeds. For a URI it has not seen, it first logs
            # "AssetModel ... not found; cannot create asset event." and then creates the asset and the
            # event anyway, so this line says what happens before that warning can alarm anyone.
            self.log.info(
                "Asset event for %s goes to alias %r when this task succeeds (Airflow creates the asset the "
                "first time it sees this URI, after warning 'AssetModel ... not found').",
                video.uri,
                self.asset_alias,
            )
        return result_from_manifest(manifest, storage_uri(manifest_path), skipped=False)

    def _identify_inputs_again(self, request: VideoRequest) -> tuple[str, list[dict[str, Any]]]:
        """Fingerprint and input records from the inputs themselves; without them when they are gone,
        since the stored video must get its manifest either way."""
        try:
            sources = read_sources(request, self._media_conn_id(), self._media_paths())
        except (MediaSourceError, OSError) as exc:
            self.log.warning("The manifest cannot identify the inputs by content (%s).", exc)
            return request_fingerprint(request), []
        return request_fingerprint(request, media_digests(sources)), [source.record(None) for source in sources]

    def _store_last_frame(
        self, request: VideoRequest, status: TaskStatus, output: ObjectStoragePath
    ) -> StoredObject | None:
        """Best effort: a missing or unreachable last frame never costs the video."""
        if not request.return_last_frame:
            return None
        if not status.last_frame_url:
            self.log.warning("%s returned no last-frame URL for task %s.", self.hook.gateway.name, status.task_id)
            return None
        frame_path = output.with_name(f"{output.stem}.last_frame.png")
        try:
            return store_stream(lambda offset: self.hook.open_artifact(status, "last_frame", offset), frame_path)
        except SeedanceError as exc:
            self.log.warning("Could not store the last frame of task %s: %s", status.task_id, exc)
            return None

    # ---- helpers ------------------------------------------------------------------------------

    def _output(self) -> ObjectStoragePath:
        if isinstance(self.output_path, ObjectStoragePath):
            return self.output_path
        return ObjectStoragePath(self.output_path, conn_id=self.output_conn_id)

    def _media_conn_id(self) -> str | None:
        return self.media_conn_id if self.media_conn_id is not None else self.output_conn_id

    def _media_paths(self) -> dict[str, ObjectStoragePath]:
        """Inputs given as ``ObjectStoragePath`` objects, by their URI: they keep their own connection."""
        given = [getattr(self, name) for name in MEDIA_FIELDS]
        flat = [item for value in given for item in (value if isinstance(value, list) else [value])]
        return {storage_uri(item): item for item in flat if isinstance(item, ObjectStoragePath)}

    def _asset_registry_root(self) -> ObjectStoragePath:
        if isinstance(self.asset_registry_path, ObjectStoragePath):
            return self.asset_registry_path
        if self.asset_registry_path:
            return ObjectStoragePath(self.asset_registry_path, conn_id=self.output_conn_id)
        return default_registry_root(self._output())

    @staticmethod
    def _manifest_path(output: ObjectStoragePath) -> ObjectStoragePath:
        return beside(output, ".json")

    def _forget(self) -> None:
        """The claimed task ended without a video (not billed): the next attempt may submit anew."""
        remove_claim(self._output())

    def _wait_here(self, task_id: str, deadline: datetime) -> SeedanceEvent:
        """Wait on the worker; the outcome in the same form the trigger reports it."""
        try:
            status = self.hook.wait(task_id, poll_interval=self.poll_interval, deadline=deadline)
        except TaskNotFoundError as exc:
            return SeedanceEvent(
                status="error",
                gateway=self.hook.gateway.name,
                remote_task_id=task_id,
                reason=TaskNotFoundError.__name__,
                message=str(exc),
            )
        if status.state.is_terminal:
            return SeedanceEvent.from_status(self.hook.gateway.name, status)
        return self._timeout_event(task_id)

    def _timeout_event(self, task_id: str) -> SeedanceEvent:
        return SeedanceEvent(
            status="timeout",
            gateway=self.hook.gateway.name,
            remote_task_id=task_id,
            reason="deadline",
            message=f"task {task_id} did not finish within {self.generation_timeout}",
        )


def _scheme_problem(name: str, value: Any) -> str | None:
    """What is wrong with a storage path given as text without a scheme; None when it is fine."""
    if not isinstance(value, str) or "://" in value:
        return None
    hint = f"s3://{value.lstrip('/')}" if not value.startswith("/") else f"file://{value}"
    return (
        f"{name}={value!r} has no scheme, so it would be written to the worker's local disk; "
        f"write {hint} (or any other scheme, such as file:///absolute/path)"
    )


def request_fields(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The ``VideoRequest`` fields among an operator's arguments: storage paths as URIs, unset ones left out."""
    fields = {name: arguments.get(name) for name in REQUEST_FIELDS}
    fields.update({name: _media_uris(fields[name]) for name in MEDIA_FIELDS})
    return {name: value for name, value in fields.items() if value not in (None, [], {}, ())}


def _derived_seed(identity: str, reseed: int, seed_range: tuple[int, int]) -> int:
    """A seed derived from a generation's identity and the reseed count, within what the model takes."""
    low, high = max(seed_range[0], 0), seed_range[1]  # -1 means "random": a derived seed names one
    digest = hashlib.sha256(f"{identity}:reseed:{reseed}".encode()).digest()
    return low + int.from_bytes(digest[:8], "big") % (high - low + 1)


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _is_concrete(value: Any) -> bool:
    """Plain data with no Jinja in it (an XComArg or other lazy value is not)."""
    if isinstance(value, list):
        return all(_is_concrete(item) for item in value)
    if isinstance(value, str):
        return not _is_template(value)
    return isinstance(value, int | float | bool | dict)


def _media_uris(value: Any) -> Any:
    """A media field with ``ObjectStoragePath`` objects written as their URIs (the request holds text)."""
    if isinstance(value, ObjectStoragePath):
        return storage_uri(value)
    if isinstance(value, list):
        return [_media_uris(item) for item in value]
    return value


def _airflow_identity(context: Context) -> dict[str, Any]:
    ti = context["ti"]
    return {
        "dag_id": ti.dag_id,
        "run_id": ti.run_id,
        "task_id": ti.task_id,
        "map_index": ti.map_index,
        "try_number": ti.try_number,
    }
