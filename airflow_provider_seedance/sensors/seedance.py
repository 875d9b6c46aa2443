"""SeedanceGenerationSensor: wait for a generation another task submitted, then store it.

With ``SeedanceGenerateVideoOperator(wait_for_completion=False)`` one task submits (and claims) and
returns at once; this sensor joins later, in the same DAG or another, on the same ``output_path``. The
claim beside the output is the hand-over: it names the connection, the remote task, the deadline and
the request as the manifest records it, so the sensor stores the video, its last frame and its manifest
exactly as the operator would (``Generation.conclude``), and announces it through its own outlets.

The sensor never submits. Where the generation ended without a video and nothing is left to wait for
(the claim is gone), it fails without retrying and says which task to clear; where storing failed with
the claim still in place, a retry of the sensor tries again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, Context, ObjectStoragePath, PokeReturnValue

from airflow_provider_seedance.compat import AirflowException, AirflowFailException
from airflow_provider_seedance.exceptions import ConnectionConfigError
from airflow_provider_seedance.generation.lifecycle import Generation
from airflow_provider_seedance.generation.request_fields import parse_time_scheme_problem
from airflow_provider_seedance.generation.settings import GenerationSettings, poll_interval_problem
from airflow_provider_seedance.hooks.seedance import SeedanceHook
from airflow_provider_seedance.links.seedance import SEEDANCE_TASK_KEY, SeedanceTaskLink, SeedanceVideoLink, task_record
from airflow_provider_seedance.observability.asset_events import announce_videos
from airflow_provider_seedance.operators.base import DEFERRAL_MARGIN
from airflow_provider_seedance.operators.seedance import default_deferrable
from airflow_provider_seedance.outputs.claims import Claim, read_claim
from airflow_provider_seedance.outputs.layout import claim_path, manifest_path
from airflow_provider_seedance.outputs.manifest import result_from_manifest
from airflow_provider_seedance.outputs.store import read_json, storage_uri
from airflow_provider_seedance.triggers.events import SeedanceEvent
from airflow_provider_seedance.triggers.seedance import SeedanceTaskTrigger

if TYPE_CHECKING:
    from airflow.providers.common.compat.openlineage.facet import Dataset, RunFacet
    from airflow.providers.openlineage.extractors import OperatorLineage

# The claim's allowance (deadline minus submit time) as the generation's timeout, never zero.
MIN_ALLOWANCE = timedelta(seconds=1)


class SeedanceGenerationSensor(BaseSensorOperator):
    """Wait for the generation claimed at ``output_path`` and store its video, last frame and manifest.

    :param output_path: the submitting operator's ``output_path`` (its result's ``output_path``). Templated.
    :param output_conn_id: the connection for the output path, as the submitting operator's. Templated.
    :param seedance_conn_id: the ``seedance`` connection to poll through; default: the one the claim names
        (the submitting operator's). It must reach the claimed task's gateway. Templated.
    :param poll_interval: seconds between status polls, more than 0 and at most 3600; also the sensor's
        ``poke_interval`` when it waits on the worker. Default 15.
    :param deferrable: wait in the triggerer (reusing ``SeedanceTaskTrigger``), freeing the worker slot.
        Defaults to ``[operators] default_deferrable`` when set, else True. Otherwise the sensor pokes on
        the worker (``mode="reschedule"`` frees the slot between pokes).
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
        poll_interval: float = 15.0,
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
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.cancel_on_kill = cancel_on_kill
        problem = parse_time_scheme_problem("output_path", output_path) or poll_interval_problem(poll_interval)
        if problem:
            raise ValueError(f"{self.task_id}: {problem}")
        self._concluded: tuple[tuple[dict[str, Any], dict[str, Any]], ...] = ()

    # ---- the story --------------------------------------------------------------------------------

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)  # BaseSensorOperator's poke loop (timeout, mode, soft_fail)
        claim = self._claim_or_result()
        if isinstance(claim, dict):
            return claim
        generation = self._open(context, claim)
        try:
            status = generation.hook.get_status(claim.remote_task_id)
            if status.state.is_terminal:
                event = SeedanceEvent.from_status(generation.hook.gateway.name, status)
                return self._conclude(context, claim, generation, event)
        finally:
            generation.hook.close()
        self.log.info(
            "Waiting in the triggerer for %s task %s (claimed in %s) until %s.",
            claim.gateway,
            claim.remote_task_id,
            storage_uri(claim_path(self._output)),
            claim.deadline,
        )
        self.defer(
            trigger=SeedanceTaskTrigger(
                seedance_conn_id=generation.settings.seedance_conn_id,
                remote_task_id=claim.remote_task_id,
                deadline=claim.deadline_at.timestamp(),
                poll_interval=self.poll_interval,
                cancel_on_kill=self.cancel_on_kill,
            ),
            method_name="execute_complete",
            # The sensor's own timeout, where it ends the wait before the claim's deadline would.
            timeout=min(
                max(claim.deadline_at - datetime.now(UTC), timedelta(0)) + DEFERRAL_MARGIN,
                timedelta(seconds=self.timeout),
            ),
        )

    def poke(self, context: Context) -> bool | PokeReturnValue:
        claim = self._claim_or_result()
        if isinstance(claim, dict):
            return PokeReturnValue(is_done=True, xcom_value=claim)
        generation = self._open(context, claim)
        hook = generation.hook
        try:
            status = hook.get_status(claim.remote_task_id)
            if not status.state.is_terminal:
                if datetime.now(UTC) < claim.deadline_at:
                    self.log.info("%s task %s is %s.", claim.gateway, claim.remote_task_id, status.state.value)
                    return False
                event = SeedanceEvent(
                    status="timeout",
                    gateway=hook.gateway.name,
                    remote_task_id=claim.remote_task_id,
                    reason="deadline",
                    message=f"task {claim.remote_task_id} did not finish by its claim's deadline {claim.deadline}",
                )
            else:
                event = SeedanceEvent.from_status(hook.gateway.name, status)
            return PokeReturnValue(is_done=True, xcom_value=self._conclude(context, claim, generation, event))
        finally:
            hook.close()

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the trigger: the event is checked before anything in it is trusted."""
        try:
            parsed = SeedanceEvent.parse(event)
        except ValueError as exc:
            raise AirflowException(f"{exc}. Next: a retry of this sensor waits for the claimed task again.") from None
        claim = self._claim_or_result()
        if isinstance(claim, dict):
            return claim  # stored meanwhile (by a rerun of the submitting task, say)
        generation = self._open(context, claim)
        try:
            return self._conclude(context, claim, generation, parsed)
        finally:
            generation.hook.close()

    # ---- steps ------------------------------------------------------------------------------------

    def _claim_or_result(self) -> Claim | dict[str, Any]:
        """The claim to wait for; or the stored result when the video is already there; fails when neither."""
        claim = read_claim(self._output)
        if claim is None:
            manifest = read_json(manifest_path(self._output))
            if manifest is not None and self._output.exists():
                self.log.info("%s is already stored; nothing to wait for.", storage_uri(self._output))
                return result_from_manifest(manifest, storage_uri(manifest_path(self._output)), skipped=True)
            raise AirflowFailException(
                f"nothing to wait for at {storage_uri(self._output)}: neither a claim "
                f"({storage_uri(claim_path(self._output))}) nor a stored video. Next: run the submitting "
                "SeedanceGenerateVideoOperator (wait_for_completion=False) first, and give this sensor its "
                "output_path and output_conn_id."
            )
        if claim.request is None:
            raise AirflowFailException(
                f"the claim {storage_uri(claim_path(self._output))} was written by an older provider version, "
                "without the request. Next: let the submitting task wait for it (wait_for_completion=True) and "
                "clear that task; it resumes the claimed generation without paying again."
            )
        return claim

    def _conclude(self, context: Context, claim: Claim, generation: Generation, event: SeedanceEvent) -> dict[str, Any]:
        """Store the video as the operator would, or fail: without retrying when nothing is left to wait for."""
        try:
            result = generation.conclude(context, event)
        except AirflowException as exc:
            if read_claim(self._output) is not None:
                raise  # the claim stands (storing failed, say): a retry of this sensor tries again
            submitter = claim.airflow
            raise AirflowFailException(
                f"{exc}\nThis sensor does not submit. To generate again, clear the submitting task "
                f"{submitter.get('dag_id')}.{submitter.get('task_id')} (map index {submitter.get('map_index')})."
            ) from None
        self._concluded = ((dict(claim.request or {}), result),)
        announce_videos(context, self.outlets, [result])
        return result

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage[Dataset, RunFacet]:
        """What this sensor stored, for OpenLineage (as the operators report it; see observability/lineage.py)."""
        from airflow_provider_seedance.observability.lineage import operator_lineage

        return operator_lineage(self._concluded)

    # ---- helpers ----------------------------------------------------------------------------------

    @cached_property
    def _output(self) -> ObjectStoragePath:
        if isinstance(self.output_path, ObjectStoragePath):
            return self.output_path
        return ObjectStoragePath(self.output_path, conn_id=self.output_conn_id)

    def _conn_id(self, claim: Claim) -> str:
        return self.seedance_conn_id or claim.seedance_conn_id

    def _open(self, context: Context, claim: Claim) -> Generation:
        """The claimed generation under settings that never submit, reseed or resubmit; pushes ``seedance_task``."""
        conn_id = self._conn_id(claim)
        hook = SeedanceHook(conn_id)
        try:
            record = task_record(hook.connection, claim.remote_task_id, storage_uri(self._output))
        except ConnectionConfigError as exc:
            raise AirflowFailException(f"{exc}. Fix the connection, then clear this sensor.") from None
        if record["gateway"] != claim.gateway:
            raise AirflowFailException(
                f"seedance_conn_id={conn_id!r} connects to {record['gateway']}, but the task claimed for "
                f"{storage_uri(self._output)} is {claim.gateway} task {claim.remote_task_id}. Next: set "
                f"seedance_conn_id to a {claim.gateway} connection (or leave it unset to use the submitter's, "
                f"{claim.seedance_conn_id!r}), then clear this sensor."
            )
        context["ti"].xcom_push(key=SEEDANCE_TASK_KEY, value=record)
        settings = GenerationSettings(
            seedance_conn_id=conn_id,
            output_conn_id=self.output_conn_id,
            media_conn_id=None,
            media_delivery=(),
            asset_registry_path=None,
            skip_existing=True,
            poll_interval=self.poll_interval,
            generation_timeout=max(
                claim.deadline_at - datetime.fromisoformat(claim.submitted_at), timedelta(seconds=1)
            ),
            resubmit_lost_tasks=False,
            max_cost=None,
            reseed_on_output_moderation=False,
            on_unknown_submit="fail",
        )
        return Generation(
            fields=dict(claim.request or {}), output_path=self._output, settings=settings, hook=hook, log=self.log
        )
