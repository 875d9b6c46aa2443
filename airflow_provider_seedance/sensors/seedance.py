"""SeedanceGenerationSensor: wait for a generation another task submitted, then store it.

With ``SeedanceGenerateVideoOperator(wait_for_completion=False)`` one task submits (and claims) and
returns at once; this sensor joins later, in the same DAG or another, on the same ``output_path``. The
claim beside the output is the hand-over: it names the connection, the remote task, the deadline and
the request as the manifest records it, so the sensor runs the operator's own engine on it
(``generation.lifecycle.Generation.conclude``, waiting as ``generation.deferral`` does) and stores the
video, its last frame and its manifest exactly as the operator would.

The sensor never submits: its generation's settings are the defaults, which neither resubmit nor reseed,
and it only ever concludes. Where the generation ended without a video and nothing is left to wait for
(the claim is gone), it fails without retrying and says which task to clear; where storing failed with
the claim still in place, a retry of the sensor tries again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator, Context, ObjectStoragePath, PokeReturnValue

from airflow_provider_seedance.compat import AirflowException, AirflowFailException
from airflow_provider_seedance.exceptions import ConnectionConfigError
from airflow_provider_seedance.generation.deferral import (
    conclude_or_defer,
    read_event,
    resolve_deferrable,
    say_where_it_waits,
)
from airflow_provider_seedance.generation.lifecycle import Generation
from airflow_provider_seedance.generation.reporting import ReportsGenerations
from airflow_provider_seedance.generation.request_fields import parse_time_scheme_problem
from airflow_provider_seedance.generation.reservations import producer, wait_for_answer
from airflow_provider_seedance.generation.settings import DEFAULTS, GenerationSettings, poll_interval_problem
from airflow_provider_seedance.hooks.seedance import SeedanceHook
from airflow_provider_seedance.links.seedance import (
    SeedanceTaskLink,
    SeedanceVideoLink,
    push_task_record,
    resume_try,
    start_try,
)
from airflow_provider_seedance.outputs.claims import Claim, read_claim
from airflow_provider_seedance.outputs.layout import claim_path
from airflow_provider_seedance.outputs.manifest import stored_result
from airflow_provider_seedance.outputs.store import storage_path, storage_uri
from airflow_provider_seedance.triggers.events import SeedanceEvent


class SeedanceGenerationSensor(ReportsGenerations, BaseSensorOperator):
    """Wait for the generation claimed at ``output_path`` and store its video, last frame and manifest.

    :param output_path: the submitting operator's ``output_path`` (its result's ``output_path``). Templated.
    :param output_conn_id: the connection for the output path, as the submitting operator's. Templated.
    :param seedance_conn_id: the ``seedance`` connection to poll through; default: the one the claim names
        (the submitting operator's). It must reach the claimed task's gateway. Templated.
    :param poll_interval: seconds between status polls, more than 0 and at most 3600; also the sensor's
        ``poke_interval`` when it waits on the worker. Default 15.
    :param deferrable: wait in the triggerer (reusing ``SeedanceTaskTrigger``), freeing the worker slot.
        Defaults to the provider's ``[seedance] default_deferrable`` (True), as the operators. Otherwise the
        sensor pokes on the worker (``mode="reschedule"`` frees the slot between pokes).
    :param cancel_on_kill: cancel the remote task when this sensor is cleared or killed while it waits.
        Default False: the submitting task paid for it, and a rerun of the sensor picks it up again.
    :param kwargs: ``BaseSensorOperator``'s own (``timeout``, ``mode``, ``soft_fail``, ``outlets``...).
        Declared ``Asset``/``AssetAlias`` outlets get the stored video as the operators announce it.

    Returns (XCom) the operator's result for a stored video: ``video_path``, ``video_sha256``, ``manifest_path``,
    ``remote_task_id``, costs. The wait ends at the claim's deadline (the submitter's ``generation_timeout``),
    or at the sensor's own ``timeout`` when that comes first.
    """

    template_fields: Sequence[str] = ("output_path", "output_conn_id", "seedance_conn_id")
    operator_extra_links = (SeedanceTaskLink(), SeedanceVideoLink())
    ui_color = "#f2e6ff"

    def __init__(
        self,
        *,
        output_path: str | ObjectStoragePath,
        output_conn_id: str | None = None,
        seedance_conn_id: str | None = None,
        poll_interval: float = DEFAULTS.poll_interval,
        deferrable: bool | None = None,
        cancel_on_kill: bool = False,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("poke_interval", poll_interval)
        super().__init__(**kwargs)
        self.output_path = output_path
        self.output_conn_id = output_conn_id
        self.seedance_conn_id = seedance_conn_id
        self.poll_interval = poll_interval
        self.deferrable, self.deferrable_by_setting = resolve_deferrable(deferrable)
        self.cancel_on_kill = cancel_on_kill
        problem = parse_time_scheme_problem("output_path", output_path) or poll_interval_problem(poll_interval)
        if problem:
            raise ValueError(f"{self.task_id}: {problem}")

    # ---- the story --------------------------------------------------------------------------------

    def execute(self, context: Context) -> Any:
        start_try(self)
        if not self.deferrable:
            claimed_for = f"The generation claimed for {self.output_path}"
            say_where_it_waits(self, claimed_for, False, self.deferrable_by_setting)
            return super().execute(context)  # BaseSensorOperator's poke loop (timeout, mode, soft_fail)
        claimed = self._claimed(context)
        if isinstance(claimed, dict):
            return claimed
        claim, generation = claimed
        try:
            status = generation.hook.get_status(claim.task_id)
            self.log.info(
                "%s task %s (claimed in %s) is %s; its deadline is %s.",
                claim.gateway,
                claim.task_id,
                storage_uri(claim_path(generation.output)),
                status.state.value,
                claim.deadline,
            )
            return self._stored(
                context,
                claim,
                generation,
                lambda: conclude_or_defer(
                    self,
                    context,
                    generation,
                    status,
                    claim.deadline_at,
                    deferrable=True,
                    by_setting=self.deferrable_by_setting,
                    timeout=timedelta(seconds=self.timeout),  # the sensor's own, where it comes first
                ),
            )
        finally:
            generation.hook.close()

    def poke(self, context: Context) -> bool | PokeReturnValue:
        claimed = self._claimed(context)
        if isinstance(claimed, dict):
            return PokeReturnValue(is_done=True, xcom_value=claimed)
        claim, generation = claimed
        gateway = claim.gateway
        try:
            status = generation.hook.get_status(claim.task_id)
            if status.state.is_terminal:
                event = SeedanceEvent.from_status(gateway, status)
            elif datetime.now(UTC) < claim.deadline_at:
                self.log.info("%s task %s is %s.", gateway, claim.task_id, status.state.value)
                return False
            else:
                message = f"task {claim.task_id} did not finish by its claim's deadline {claim.deadline}"
                event = SeedanceEvent.deadline_passed(gateway, claim.task_id, message)
            result = self._stored(context, claim, generation, lambda: generation.conclude(context, event))
            return PokeReturnValue(is_done=True, xcom_value=result)
        finally:
            generation.hook.close()

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the trigger: the event is checked before anything in it is trusted."""
        resume_try(self)
        parsed = read_event(SeedanceEvent, event, next_step="a retry of this sensor waits for the claimed task again.")
        claimed = self._claimed(context)
        if isinstance(claimed, dict):
            return claimed  # stored meanwhile (by a rerun of the submitting task, say)
        claim, generation = claimed
        try:
            return self._stored(context, claim, generation, lambda: generation.conclude(context, parsed))
        finally:
            generation.hook.close()

    # ---- steps ------------------------------------------------------------------------------------

    def _claimed(self, context: Context) -> tuple[Claim, Generation] | dict[str, Any]:
        """The claimed generation, under settings that never submit, reseed or resubmit (and ``seedance_task``
        pushed); or the stored result when the video is already there. Fails when there is neither."""
        output = storage_path(self.output_path, self.output_conn_id)
        claim = read_claim(output)
        if claim is not None and claim.is_reservation:
            claim = wait_for_answer(claim, output, self.log)
        if claim is None:
            return self._already_stored(output)
        if claim.remote_task_id is None:
            raise AirflowFailException(
                f"the submit reserved in {storage_uri(claim_path(output))} by {producer(claim)} never recorded its "
                f"answer, so whether {claim.gateway} created (and bills) a task is unknown. This sensor does not "
                "submit. Next: clear that submitting task: it finds the task where the gateway's task list can say "
                "(Ark), and otherwise fails saying what to look for in the console."
            )
        if claim.request is None:
            raise AirflowFailException(
                f"the claim {storage_uri(claim_path(output))} was written by an older provider version, without the "
                "request. Next: let the submitting task wait for it (wait_for_completion=True) and clear that task; "
                "it resumes the claimed generation without paying again."
            )
        conn_id = self.seedance_conn_id or claim.seedance_conn_id
        hook = SeedanceHook(conn_id)
        try:
            connection = hook.connection
        except ConnectionConfigError as exc:
            raise AirflowFailException(f"{exc}. Fix the connection, then clear this sensor.") from None
        if connection.gateway.name != claim.gateway:
            raise AirflowFailException(
                f"seedance_conn_id={conn_id!r} connects to {connection.gateway.name}, but the task claimed for "
                f"{storage_uri(output)} is {claim.gateway} task {claim.task_id}. Next: set seedance_conn_id "
                f"to a {claim.gateway} connection (or leave it unset to use the submitter's, "
                f"{claim.seedance_conn_id!r}), then clear this sensor."
            )
        push_task_record(context, connection, claim.task_id, storage_uri(output))
        settings = GenerationSettings(
            seedance_conn_id=conn_id,
            output_conn_id=self.output_conn_id,
            poll_interval=self.poll_interval,
            generation_timeout=claim.allowance,
            cancel_on_kill=self.cancel_on_kill,
        )
        generation = Generation(fields=claim.request, output_path=output, settings=settings, hook=hook, log=self.log)
        return claim, generation

    def _stored(
        self, context: Context, claim: Claim, generation: Generation, conclude: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        """``conclude()`` stores the video as the operator would, or fails: without retrying when nothing is left
        to wait for (the claim is gone), so that the submitting task is the one cleared."""
        try:
            result = conclude()
        except AirflowException as exc:
            if read_claim(generation.output) is not None:
                raise  # the claim stands (storing failed, say): a retry of this sensor tries again
            submitter = claim.airflow
            raise AirflowFailException(
                f"{exc}\nThis sensor does not submit. To generate again, clear the submitting task "
                f"{submitter.get('dag_id')}.{submitter.get('task_id')} (map index {submitter.get('map_index')})."
            ) from None
        self.report_concluded(context, [(claim.request or {}, result)])
        return result

    def _already_stored(self, output: ObjectStoragePath) -> dict[str, Any]:
        """The result of the video stored at ``output``; fails when nothing was ever claimed there."""
        result = stored_result(output)
        if result is None:
            raise AirflowFailException(
                f"nothing to wait for at {storage_uri(output)}: neither a claim ({storage_uri(claim_path(output))}) "
                "nor a stored video. Next: run the submitting SeedanceGenerateVideoOperator (wait_for_completion="
                "False) first, and give this sensor its output_path and output_conn_id."
            )
        self.log.info("%s is already stored; nothing to wait for.", storage_uri(output))
        return result
