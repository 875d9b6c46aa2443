"""One generation: its request, its output path and the shared settings, with every step it goes through.

Both operators run generations through this unit, so one video (the single operator) and each video of
a batch get exactly the same treatment:

- ``prepare``: check the rendered paths and the request against the gateway (no network), read the media
  inputs kept in storage, and fingerprint the request by them;
- ``existing_result``: the stored video and manifest, when ``skip_existing`` finds them for this request;
- ``resume_or_submit``: the remote task a claim beside the output names (no new payment), or a priced and
  delivered one, reserved before it is submitted and claimed the moment it answers (``<output>.claim.json``,
  see ``outputs/claims.py``; an unanswered reservation is ``reservations.py``'s);
- ``conclude``: from how waiting ended, store the video and its manifest, or fail
  by cause (a reseed after output moderation, a cancel after a timeout, a lost task), leaving the claim
  where a retry should resume and removing it where a retry should submit anew.

Failures come out as ``AirflowFailException`` (no retry can fix them) or ``AirflowException`` (a retry
may), with what to do next; the single operator lets Airflow act on them, the batch records them per item.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from airflow.sdk import Context, ObjectStoragePath

from airflow_provider_seedance.compat import (
    AirflowException,
    AirflowFailException,
    AirflowNotFoundException,
    BaseHook,
)
from airflow_provider_seedance.exceptions import (
    ConnectionConfigError,
    GatewayError,
    MediaSourceError,
    RateLimitError,
    RequestValidationError,
    ResultUnavailableError,
    SeedanceError,
    TaskNotFoundError,
    TransportError,
)
from airflow_provider_seedance.generation.failover import Passed, Route, refusal_cause
from airflow_provider_seedance.generation.failure_policy import (
    AFTER_NO_VIDEO,
    MAX_RESEEDS,
    OUTCOME_UNKNOWN,
    after_failure,
    cancel_after_timeout,
    derived_seed,
    write_failure_record,
)
from airflow_provider_seedance.generation.log import Log
from airflow_provider_seedance.generation.request_fields import request_fields, scheme_problem
from airflow_provider_seedance.generation.reservations import settle, superseded
from airflow_provider_seedance.generation.settings import GenerationSettings
from airflow_provider_seedance.generation.storing import Provenance, store_result
from airflow_provider_seedance.generation.submission import (
    ANSWER_WINDOW,
    FIX_INPUT,
    OutcomeUnknown,
    Reserved,
    Submission,
)
from airflow_provider_seedance.hooks.retry import outcome_unknown
from airflow_provider_seedance.hooks.seedance import SeedanceHook
from airflow_provider_seedance.media.assets import default_registry_root
from airflow_provider_seedance.media.sources import (
    SourceMedia,
    media_digests,
    read_sources,
    source_problems,
)
from airflow_provider_seedance.models import MEDIA_FIELDS, MediaKind, TaskState, TaskStatus, VideoRequest, media_kind
from airflow_provider_seedance.observability import metrics
from airflow_provider_seedance.outputs.claims import (
    Claim,
    read_claim,
    remove_claim,
    reserve_claim,
    same_task_instance,
    write_claim,
)
from airflow_provider_seedance.outputs.layout import claim_path, failure_path, manifest_path
from airflow_provider_seedance.outputs.manifest import (
    failure_record,
    request_fingerprint,
    request_record,
    result_from_manifest,
    stored_manifest,
)
from airflow_provider_seedance.outputs.store import (
    check_destination,
    remove_quietly,
    storage_path,
    storage_uri,
    unwritable,
)
from airflow_provider_seedance.triggers.events import SeedanceEvent

# How failure messages about the request end: what a person does next.
FIX_REQUEST = "Next: fix the fields above in the DAG (or the values they are templated from), then clear the task."
# A gateway refusing new tasks (queue cap, rate limit) is asked again after at most this long.
CAPACITY_MAX_WAIT_SECONDS = 600.0


class ClaimNotWritten(SeedanceError, AirflowFailException):
    """The claim beside the output could not be written: before the submit (nothing was paid), or after it
    (the task is billed but its id is not recorded). Either way the output location is not writable, and
    submitting more would pay for generations no later attempt could find."""


@dataclass(frozen=True)
class Prepared:
    """A validated request, its inputs as read from storage, and its fingerprint (which names the output's
    claim and manifest)."""

    request: VideoRequest
    sources: list[SourceMedia]
    fingerprint: str


class Generation:
    """One request into one output path, through ``hook``, under ``settings``.

    :param fields: the request fields as the operator has them (``REQUEST_FIELDS``; media may be
        ``ObjectStoragePath`` objects, which keep their own connection).
    """

    def __init__(
        self,
        *,
        fields: Mapping[str, Any],
        output_path: str | ObjectStoragePath,
        settings: GenerationSettings,
        hook: SeedanceHook,
        log: Log,
        failover: bool = True,
    ) -> None:
        self.fields = dict(fields)
        self.output_path = output_path
        self.settings = settings
        self.log = log
        # ``hook`` is the task's connection; ``self.hook`` the one serving this generation (its failover chain's
        # next, once the task's refused it, or the one a claim names).
        self.route = Route(hook, log, enabled=failover)
        self._serve_through(hook)
        self._reserved = False  # whether the last ``_submit`` wrote its reservation

    def _serve_through(self, hook: SeedanceHook) -> None:
        self.hook = hook
        self.submission = Submission(hook, self.settings, self.log)

    def _follow(self, claim: Claim | None) -> bool:
        """Serve through the connection ``claim`` names, if it is this route's; whether it is."""
        hook = self.route.hook_for(claim.seedance_conn_id, claim.gateway) if claim is not None else None
        if hook is None:
            return False
        if hook is not self.hook:
            self._serve_through(hook)
        return True

    @cached_property
    def output(self) -> ObjectStoragePath:
        return storage_path(self.output_path, self.settings.output_conn_id)

    # ---- before paying ----------------------------------------------------------------------------

    def prepare(self) -> Prepared:
        """Check the connections, the paths and the request, then read and check the inputs kept in storage."""
        self.check_connections()
        self.check_paths()
        request = self.request(validate=True)
        sources, fingerprint = self._read_sources(request)
        return Prepared(request, sources, fingerprint)

    def check_connections(self) -> None:
        """Every storage connection the task will use exists: for a missing one the Amazon provider falls back
        to the worker's default AWS credentials (real AWS, for a moto or MinIO bucket), and fails after paying.
        Paths given as ``ObjectStoragePath`` objects bring their own connection."""
        used = {}
        if isinstance(self.output_path, str) and self.settings.output_conn_id is not None:
            used["output_conn_id"] = self.settings.output_conn_id
        media_conn_id = self.settings.media_conn_id_or_output
        if media_conn_id is not None and any(
            isinstance(item, str) and media_kind(item) is MediaKind.STORAGE for item in self._media_items()
        ):
            used["media_conn_id" if self.settings.media_conn_id is not None else "output_conn_id"] = media_conn_id
        for field, conn_id in used.items():
            try:
                BaseHook.get_connection(conn_id)
            except AirflowNotFoundException:
                raise AirflowFailException(
                    f"{field}={conn_id!r}: no such connection in this deployment (Airflow would fall back to the "
                    f"worker's default credentials); nothing was submitted. Next: create it (Admin > Connections, "
                    f"AIRFLOW_CONN_{conn_id.upper()} or your secrets backend) or fix the name, then clear the task."
                ) from None

    def check_paths(self) -> None:
        """Rendered paths need a scheme, or they would land on the worker's local disk; the output's upload
        settings must be usable, or the video would be paid for and then not stored."""
        paths = (("output_path", self.output_path), ("asset_registry_path", self.settings.asset_registry_path))
        for name, value in paths:
            problem = scheme_problem(name, value)
            if problem:
                raise AirflowFailException(problem)
        try:
            check_destination(self.output)
        except ValueError as exc:
            raise AirflowFailException(str(exc)) from None

    def request(self, *, validate: bool) -> VideoRequest:
        """Build the request; with ``validate``, check it against the gateway's rules (no network)."""
        try:
            request = VideoRequest.from_fields(request_fields(self.fields))
            if validate:
                self.hook.gateway.validate(request, self.settings.deliveries)
        except RequestValidationError as exc:
            raise AirflowFailException(f"{exc}\n{FIX_REQUEST}") from None  # no retry can fix the request
        prompt = self.fields.get("prompt")
        if validate and isinstance(prompt, str) and not prompt.strip():
            # Text given but empty: most often a template that rendered nothing (a missing param or XCom).
            self.log.warning(
                "prompt=%r is empty, so the video is made from the inputs alone. If prompt is a template, it "
                "rendered empty: check the param, Variable or XCom it reads, or pass prompt=None on purpose.",
                prompt,
            )
        return request

    def _read_sources(self, request: VideoRequest) -> tuple[list[SourceMedia], str]:
        """Read and check the inputs that live in storage or inline (headers only), before any paid call.

        Returns them with the request's fingerprint. An input that can no longer be read does not strand
        a generation already paid for: when the claim beside the output records this request (by the
        sha256 of each input it was made from), that generation is resumed without the inputs.
        """
        try:
            sources = read_sources(request, self.settings.media_conn_id_or_output, self._media_paths())
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
        claim = read_claim(self.output)
        if claim is None:
            return None
        digests = {
            item["source"]: item["sha256"] for item in claim.inputs if media_kind(item["source"]) is MediaKind.STORAGE
        }
        fingerprint = request_fingerprint(request, digests)
        ours = claim.request_sha256 == fingerprint and self.route.hook_for(claim.seedance_conn_id, claim.gateway)
        return fingerprint if ours else None

    def existing_result(self, fingerprint: str) -> dict[str, Any] | None:
        """The stored result, when ``skip_existing`` is on and the output was made from this request."""
        if not self.settings.skip_existing:
            return None
        manifest = stored_manifest(self.output)
        if manifest is None:
            return None
        if manifest.get("request_sha256") != fingerprint:
            self.log.info("%s exists but was made from another request; generating anew.", storage_uri(self.output))
            return None
        self.log.info(
            "%s and its manifest already exist; returning them without generating again.", storage_uri(self.output)
        )
        return self._result(manifest, skipped=True)

    def _result(self, manifest: dict[str, Any], *, skipped: bool) -> dict[str, Any]:
        return result_from_manifest(manifest, storage_uri(manifest_path(self.output)), skipped=skipped)

    # ---- paying once ------------------------------------------------------------------------------

    def resume_or_submit(self, context: Context, prepared: Prepared) -> tuple[TaskStatus, datetime]:
        """Resume the generation a claim beside the output names for this request, or reserve, submit and claim.

        Returns the task's status and the deadline of the wait. A gateway that takes no new task now
        raises ``RateLimitError`` (nothing was submitted, and the reservation is released).
        """
        request, fingerprint = prepared.request, prepared.fingerprint
        me = airflow_identity(context)
        claim = read_claim(self.output)
        self._refuse_a_siblings_output(me, fingerprint, claim)
        # A reservation of this request: settled through its connection (until one that is not moved on).
        while (
            claim is not None and claim.is_reservation and claim.request_sha256 == fingerprint and self._follow(claim)
        ):
            reservation = claim
            try:
                claim = settle(claim, me, output=self.output, submission=self.submission, log=self.log)
            except OutcomeUnknown as exc:
                self._record_unknown(request, str(exc))
                raise
            if claim is None:
                claim = self._stored_meanwhile(reservation)
            if claim is None or not superseded(reservation, claim):
                break  # else another producer reserved it again through another connection: settle that one
        seed, reseeds = None, 0
        ours = claim is not None and claim.request_sha256 == fingerprint and self._follow(claim)
        if claim is not None and ours and claim.next_seed is not None:
            seed, reseeds = claim.next_seed, claim.reseeds + 1
            self.log.info(
                "Task %s failed output moderation; submitting again with seed %d (reseed %d of %d).",
                claim.remote_task_id,
                seed,
                reseeds,
                MAX_RESEEDS,
            )
        elif claim is not None and ours and claim.remote_task_id is not None:
            status = self._still_usable(claim.remote_task_id)
            if status is not None:
                self.log.info(
                    "Resuming %s task %s, submitted at %s through %s (claim %s): no new submission.",
                    claim.gateway,
                    status.task_id,
                    claim.submitted_at,
                    claim.seedance_conn_id,
                    storage_uri(claim_path(self.output)),
                )
                metrics.resumed(claim.gateway, str((claim.request or {}).get("model", request.model)))
                # A retry after a timeout gets a fresh allowance instead of timing out at once.
                return status, max(claim.deadline_at, datetime.now(UTC) + self.settings.generation_timeout)
        elif claim is not None and not ours:
            self.log.warning(
                "%s claims %s task %s for another request; that task is left alone and this request is submitted.",
                storage_uri(claim_path(self.output)),
                claim.gateway,
                claim.remote_task_id or "(not answered yet)",
            )
        return self._submit_on_route(context, prepared, claim, seed, reseeds)

    def _submit_on_route(
        self, context: Context, prepared: Prepared, replacing: Claim | None, seed: int | None, reseeds: int
    ) -> tuple[TaskStatus, datetime]:
        """Submit through the task's connection, or the next of its failover chain while each refuses in a way
        that proves nothing was created (``generation.failover``); any other failure is raised as it is."""
        try:
            self.route.check()  # here, not before: a broken fallback must not keep a paid task from resuming
        except ConnectionConfigError as exc:
            raise AirflowFailException(f"{exc}; nothing was submitted. Next: fix it, then clear the task.") from None
        passed = Passed()
        hops = self.route.hops(prepared.request, self.settings.deliveries, self.settings.max_cost, passed)
        announced = 0
        for index, hop in enumerate(hops):
            self._serve_through(hop.hook)
            for moved in passed.hops[announced:]:
                metrics.failover(moved["seedance_conn_id"], hop.conn_id, moved["cause"])
                self.log.warning(
                    "Failing over from %s to %s (%s, model %s): %s created nothing for this generation (%s).",
                    moved["seedance_conn_id"],
                    hop.conn_id,
                    hop.hook.gateway.name,
                    hop.request.model,
                    moved["seedance_conn_id"],
                    moved["cause"],
                )
            announced = len(passed.hops)
            request = self._with_lookup_seed(
                context, prepared, hop.request if seed is None else hop.request.model_copy(update={"seed": seed})
            )
            # The seed this provider chose (a reseed, or the lookup seed), as the claim records it.
            chosen = seed if seed is not None else (request.seed if hop.request.seed is None else None)
            try:
                status = self._submit(
                    context, replace(prepared, request=request), replacing, chosen, reseeds, passed.hops
                )
            except Exception as exc:
                cause = refusal_cause(exc)
                if cause is None:
                    raise
                self.route.refused(hop, cause)
                if index == len(hops) - 1:
                    raise
                self.log.warning("%s refused the submit (%s): %s", hop.conn_id, cause, exc)
                passed.add(hop, cause)
                if self._reserved:  # its reservation (over ``replacing``) is gone; else ``replacing`` still stands
                    replacing = None
                continue
            if status is None:  # another run reserved the output first: go on from its claim
                return self.resume_or_submit(context, prepared)
            self.route.served(hop)
            return status
        raise AssertionError("a route has at least one hop")  # pragma: no cover - Route.hops keeps one

    def _with_lookup_seed(self, context: Context, prepared: Prepared, request: VideoRequest) -> VideoRequest:
        """``request`` with the seed a gateway whose task list can find a lost submit (Ark) recognises it by."""
        seed_range = self.hook.gateway.spec_for(request.model).seed_range
        if request.seed is not None or not (self.hook.gateway.lists_tasks and seed_range):
            return request
        # The seed is this output's, this request's and this try's, so no other generation (or earlier try) in
        # the list carries it (see Submission.resolve_unknown).
        identity = f"{prepared.fingerprint}:{storage_uri(self.output)}:{context['ti'].try_number}"
        return request.model_copy(update={"seed": derived_seed(identity, 0, seed_range)})

    def _submit(
        self,
        context: Context,
        prepared: Prepared,
        replacing: Claim | None,
        seed: int | None,
        reseeds: int,
        passed: list[dict[str, Any]],
    ) -> tuple[TaskStatus, datetime] | None:
        """Price and deliver, reserve the claim, submit, and fill in the task id (see ``reservations.py``); None
        when another run reserved the output first.

        ``replacing`` is the claim this submit takes the place of (None: reserve only where there is none),
        ``seed`` the one this provider chose (recorded in the claim), ``passed`` the connections of the failover
        chain passed over before this one.
        """
        request, sources, fingerprint = prepared.request, prepared.sources, prepared.fingerprint
        gateway = self.hook.gateway.name
        self._reserved = False
        estimate = self.submission.check_cost(request, sources)
        delivered = self.submission.deliver(request, sources, self._asset_registry_root())
        sent = datetime.now(UTC)
        resubmits = replacing.unknown_resubmits if replacing is not None and replacing.is_reservation else 0
        reservation = Claim(
            gateway=gateway,
            seedance_conn_id=self.hook.seedance_conn_id,
            remote_task_id=None,
            request_sha256=fingerprint,
            submitted_at=sent.isoformat(),
            deadline=(sent + self.settings.generation_timeout).isoformat(),
            airflow=airflow_identity(context),
            inputs=[source.record(delivered.forms.get(source.input.field)) for source in sources],
            estimated_cost=estimate.as_dict() if estimate else None,
            seed=seed,
            reseeds=reseeds,
            request=request_record(request),
            answer_by=(sent + ANSWER_WINDOW).isoformat(),
            unknown_resubmits=resubmits,
            failover=list(passed),
        )
        claim_uri = storage_uri(claim_path(self.output))
        if not self._reserve(reservation, replacing):
            if read_claim(self.output) is None:  # there, but unreadable: going on from it would loop
                raise AirflowFailException(
                    f"{claim_uri} exists but is not a claim this provider can read, so this output cannot be "
                    "reserved. Next: if it names a task you found in the console, fix its JSON (claim_version 2, "
                    "remote_task_id); otherwise delete it. Then clear the task."
                )
            self.log.info("Another run reserved %s a moment ago; going on from its claim.", storage_uri(self.output))
            return None
        self._reserved = True
        try:
            status, resent = self.submission.submit(delivered, Reserved.of(reservation, claim_uri))
        except OutcomeUnknown as exc:
            self._record_unknown(request, str(exc))  # the reservation stays: a person or Ark's list resolves it
            raise
        except Exception as exc:
            if _nothing_sent(exc):
                self.forget()  # refused, or never sent: nothing was created, so nothing is reserved
            raise
        metrics.submitted(gateway, request.model, estimate)
        claim = replace(
            reservation,
            remote_task_id=status.task_id,
            deadline=(datetime.now(UTC) + self.settings.generation_timeout).isoformat(),
            answer_by=None,
            unknown_resubmits=resubmits + resent,
        )
        try:
            write_claim(self.output, claim)
        except Exception as exc:
            # Without the task id a retry finds only the reservation: say which task it is.
            raise ClaimNotWritten(
                f"{gateway} task {status.task_id} was submitted but its id could not be written to {claim_uri} "
                f"({type(exc).__name__}: {exc}). Not retrying, so it is not paid twice. Fix write access to the "
                f'output location, then write "remote_task_id": "{status.task_id}" into that claim and clear '
                "this task: it resumes the task."
            ) from exc
        return status, claim.deadline_at

    def _refuse_a_siblings_output(self, me: dict[str, Any], fingerprint: str, claim: Claim | None) -> None:
        """Another task instance of this DAG run made, or is making, this output from another request: two
        items render one ``output_path``, and going on would overwrite a paid video. Nothing is submitted."""
        found: list[tuple[str, dict[str, Any], str | None]] = []
        if claim is not None:
            found.append(("claims", claim.airflow, claim.request_sha256))
        manifest = stored_manifest(self.output)
        if manifest is not None:
            found.append(("stored its video in", manifest.get("airflow") or {}, manifest.get("request_sha256")))
        for did, airflow, made_from in found:
            same_run = all(airflow.get(key) == me[key] for key in ("dag_id", "run_id"))
            if not same_run or made_from == fingerprint or same_task_instance(airflow, me):
                continue
            index = airflow.get("map_index", -1)
            other = f"{airflow.get('task_id')}" + (f" (map index {index})" if index is not None and index >= 0 else "")
            raise AirflowFailException(
                f"output_path={storage_uri(self.output)!r} is another item's: {other} of this run {did} it, for "
                "another request. Two items render the same output_path, and this one would overwrite a paid video; "
                "nothing was submitted. Next: make output_path unique per item (an id from the item, or "
                "{{ ti.map_index }}), then clear the task."
            )

    def _stored_meanwhile(self, reservation: Claim) -> Claim | None:
        """The task of a video another producer stored for this request after reserving (its claim is gone)."""
        stored = stored_manifest(self.output)
        if stored is None or not reservation.is_for(str(stored.get("gateway")), str(stored.get("request_sha256"))):
            return None
        if datetime.fromisoformat(stored["timings"]["stored_at"]) < datetime.fromisoformat(reservation.submitted_at):
            return None  # stored before that reservation: an older video, not the one it paid for
        self.log.info("The other run stored %s meanwhile; taking its task, paying nothing.", storage_uri(self.output))
        return Claim.of_stored(stored, str(stored.get("seedance_conn_id") or reservation.seedance_conn_id))

    def _reserve(self, reservation: Claim, replacing: Claim | None) -> bool:
        """Write the reservation before paying: over ``replacing``, else only where no claim exists (False when
        another producer's appeared first). A store that cannot be written fails here, before anything is paid."""
        try:
            if replacing is not None:
                write_claim(self.output, reservation)
                return True
            return reserve_claim(self.output, reservation)
        except Exception as exc:
            what = f"could not write the claim {storage_uri(claim_path(self.output))} before submitting"
            if not unwritable(exc, self.output):  # a store's passing trouble (a 500, a throttle): a retry reserves
                raise AirflowException(f"{what} ({type(exc).__name__}: {exc}); nothing was submitted.") from exc
            raise ClaimNotWritten(
                f"{what} ({type(exc).__name__}: {exc}); nothing was submitted. Next: check that the output location "
                f"exists and that {self.settings.output_conn_id or 'the default connection'} can write there, then "
                "clear the task."
            ) from exc

    def _record_unknown(self, request: VideoRequest, message: str) -> None:
        """``<output>.failure.json`` for a submit of unknown outcome: the run report lists it."""
        metrics.failed(self.hook.gateway.name, request.model, OUTCOME_UNKNOWN)
        record = failure_record(
            gateway=self.hook.gateway.name,
            model=request.model,
            remote_task_id=None,
            cause=OUTCOME_UNKNOWN,
            code=None,
            message=message,
            at=datetime.now(UTC),
        )
        write_failure_record(self.output, record, self.log)

    def _still_usable(self, task_id: str) -> TaskStatus | None:
        """The claimed task's status; None when it failed (not billed, so it may be submitted anew)."""
        try:
            status = self.hook.get_status(task_id)
        except TaskNotFoundError:
            grace = self.hook.gateway.not_found_grace
            if grace is not None:
                # This gateway also answers 404 for a task that is not finished yet: wait for it, and let the
                # wait's grace decide whether it is gone (conclude handles that outcome).
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
        if not self.settings.resubmit_lost_tasks:
            gateway = self.hook.gateway.name
            raise AirflowFailException(
                f"{gateway} no longer knows task {task_id}, submitted by an earlier attempt. Not submitting again "
                f"automatically, since it may have been paid for. Next: if its video is in the {gateway} console, "
                "take it from there; otherwise set resubmit_lost_tasks=True and clear the task (a new, paid "
                "generation)."
            )
        self.log.warning("The gateway no longer knows task %s; submitting again.", task_id)

    def capacity_wait(self, exc: RateLimitError, waiting_since: datetime) -> timedelta:
        """How long to wait before asking a gateway that refused new tasks again; fails past the allowance
        (``generation_timeout`` from the first refusal)."""
        wait = timedelta(
            seconds=min(max(exc.retry_after or 0.0, self.settings.poll_interval, 1.0), CAPACITY_MAX_WAIT_SECONDS)
        )
        if datetime.now(UTC) + wait > waiting_since + self.settings.generation_timeout:
            raise AirflowException(
                f"{self.hook.gateway.name} kept refusing new tasks since {waiting_since.isoformat()} ({exc}); nothing "
                "was submitted. Next: a retry tries again; fewer concurrent generations (the pool's slots, or "
                "max_in_flight) leave room in its queue."
            )
        return wait

    # ---- after waiting ----------------------------------------------------------------------------

    def wait_here(self, task_id: str, deadline: datetime) -> SeedanceEvent:
        """Wait on the worker; the outcome in the same form the trigger reports it."""
        gateway = self.hook.gateway.name
        try:
            status = self.hook.wait(task_id, poll_interval=self.settings.poll_interval, deadline=deadline)
        except TaskNotFoundError as exc:
            return SeedanceEvent(
                status="error",
                gateway=gateway,
                remote_task_id=task_id,
                reason=TaskNotFoundError.__name__,
                message=str(exc),
            )
        if status.state.is_terminal:
            return SeedanceEvent.from_status(gateway, status)
        return SeedanceEvent.deadline_passed(
            gateway, task_id, f"task {task_id} did not finish within {self.settings.generation_timeout}"
        )

    def conclude(self, context: Context, event: SeedanceEvent) -> dict[str, Any]:
        """Store the video the event says is ready and return the result; otherwise fail by cause.

        The request is not validated again: it was validated before it was paid for, and a rule that
        changed since (a provider upgrade) must not strand a finished video.
        """
        request = self.request(validate=False)
        self._follow_task(event.gateway, event.remote_task_id)
        if event.status == "succeeded":
            return self._store(context, request, event.remote_task_id)
        if event.status == "timeout":
            status = self.hook.get_status(event.remote_task_id)
            if status.state is TaskState.SUCCEEDED:  # it finished while the worker was on its way
                return self._store(context, request, status.task_id)
            cancel_after_timeout(self.hook, self.output, status, self.log)
        elif event.status == "failed":
            after_failure(self.hook, self.settings, self.output, event, request, self.log)
        elif event.status in ("cancelled", "expired"):
            self.forget()  # not billed by the gateways; a retry may try again
        elif event.reason == TaskNotFoundError.__name__:
            metrics.failed(event.gateway, request.model, "lost")
            self._lost_task(event.remote_task_id)
            self.forget()
            raise AirflowException(f"{event.message}. Next: a retry submits it again (resubmit_lost_tasks=True).")
        metrics.failed(event.gateway, request.model, event.status)  # a failed task was counted by its cause
        raise AirflowException(
            f"Seedance generation did not produce a video: {event.message} ({event.reason}). "
            + AFTER_NO_VIDEO.get(event.status, "Next: a retry tries again.")
        )

    def _follow_task(self, gateway: str, task_id: str) -> None:
        """Serve through the connection the claim says ``task_id`` was submitted through (its failover chain's
        next, maybe): a task that resumed after waiting in the triggerer starts again from the task's own."""
        claim = read_claim(self.output)
        if claim is not None and claim.remote_task_id == task_id and self._follow(claim):
            return
        if gateway != self.hook.gateway.name:  # no claim to say: the first of the route on that gateway
            hook = next((hook for hook in self.route.hooks if hook.gateway.name == gateway), None)
            if hook is not None:
                self._serve_through(hook)

    def _store(self, context: Context, request: VideoRequest, task_id: str) -> dict[str, Any]:
        """Stream the video (and last frame) into storage and write the manifest."""
        status = self.hook.get_status(task_id)  # fresh result URLs and usage
        try:
            manifest = store_result(
                hook=self.hook,
                status=status,
                output=self.output,
                provenance=self._provenance(request, task_id),
                airflow=airflow_identity(context),
                log=self.log,
            )
        except ResultUnavailableError as exc:
            # Nothing can fetch this video any more. Keeping the claim would make every later run resume
            # the same task and fail the same way, so a person's clear is what pays for a new one.
            metrics.failed(self.hook.gateway.name, request.model, "result_unavailable")
            self.forget()
            raise AirflowFailException(
                f"the video of {self.hook.gateway.name} task {task_id} can no longer be fetched ({exc}); gateways keep "
                f"results for about 24 h. Next: {exc.next_step}"
            ) from None
        self.forget()  # the manifest replaces the claim; a later run without skip_existing generates anew
        # An earlier try's failure record is history once the video is stored.
        remove_quietly(failure_path(self.output), "the video beside it is what counts")
        return self._result(manifest, skipped=False)

    def _provenance(self, request: VideoRequest, task_id: str) -> Provenance:
        """From the claim of the task; when the claim went missing, from the inputs as they can still be read."""
        claim = read_claim(self.output)
        if claim is not None and claim.remote_task_id == task_id:
            if claim.seed is not None:  # re-seeded after output moderation: record the seed that was sent
                request = request.model_copy(update={"seed": claim.seed})
            sent_model = (claim.request or {}).get("model")
            if isinstance(sent_model, str) and sent_model:  # the model id of the gateway that served it
                request = request.model_copy(update={"model": sent_model})
            return Provenance(
                request,
                claim.request_sha256,
                claim.inputs,
                claim.estimated_cost,
                claim.submitted_at,
                claim.unknown_resubmits,
                seedance_conn_id=claim.seedance_conn_id,
                failover=claim.failover,
            )
        try:
            sources = read_sources(request, self.settings.media_conn_id_or_output, self._media_paths())
        except (MediaSourceError, OSError) as exc:
            self.log.warning("The manifest cannot identify the inputs by content (%s).", exc)
            fingerprint, inputs = request_fingerprint(request), []
        else:
            fingerprint = request_fingerprint(request, media_digests(sources))
            inputs = [source.record(None) for source in sources]
        estimate = self.submission.estimate(request, None)
        return Provenance(
            request,
            fingerprint,
            inputs,
            estimate.as_dict() if estimate else None,
            None,
            seedance_conn_id=self.hook.seedance_conn_id,
        )

    # ---- helpers ----------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP clients of every connection this generation used."""
        self.route.close()

    def forget(self) -> None:
        """The claim is done with (the video is stored, or the task ended unbilled): the next attempt may
        submit anew."""
        remove_claim(self.output)

    def _media_paths(self) -> dict[str, ObjectStoragePath]:
        """Inputs given as ``ObjectStoragePath`` objects, by their URI: they keep their own connection."""
        return {storage_uri(item): item for item in self._media_items() if isinstance(item, ObjectStoragePath)}

    def _media_items(self) -> list[Any]:
        """Every media input as given (a URI or an ``ObjectStoragePath``), lists flattened."""
        given = [self.fields.get(name) for name in MEDIA_FIELDS]
        return [item for value in given if value for item in (value if isinstance(value, list) else [value])]

    def _asset_registry_root(self) -> ObjectStoragePath:
        path = self.settings.asset_registry_path
        return storage_path(path, self.settings.output_conn_id) if path else default_registry_root(self.output)


def _nothing_sent(exc: BaseException) -> bool:
    """Whether a failed submit provably created nothing: the hook's own reading of the error (a refusal in
    the gateway's words, a request that never left), as it decides what may be retried."""
    return any(
        isinstance(error, GatewayError | TransportError) and not outcome_unknown(error)
        for error in (exc, exc.__cause__)
    )


def airflow_identity(context: Context) -> dict[str, Any]:
    ti = context["ti"]
    return {
        "dag_id": ti.dag_id,
        "run_id": ti.run_id,
        "task_id": ti.task_id,
        "map_index": ti.map_index,
        "try_number": ti.try_number,
    }
