"""The arguments and checks both generation operators share (one generation, or a batch of them).

Each generation's own work (validate, resume or submit, conclude, store) is ``generation.lifecycle.Generation``;
this base class only holds the settings every generation of an operator uses, checks them when the DAG
is parsed, and builds the ``Generation`` for an output once the task's fields are rendered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import AssetAlias, BaseOperator, ObjectStoragePath

from airflow_provider_seedance.compat import AirflowFailException
from airflow_provider_seedance.exceptions import ConnectionConfigError
from airflow_provider_seedance.gateways.delivery import parse_delivery_order
from airflow_provider_seedance.generation.lifecycle import Generation
from airflow_provider_seedance.generation.request_fields import parse_time_scheme_problem, request_fields
from airflow_provider_seedance.generation.settings import GenerationSettings
from airflow_provider_seedance.hooks.seedance import SeedanceHook
from airflow_provider_seedance.observability.asset_events import announce_videos

if TYPE_CHECKING:
    from airflow.providers.common.compat.openlineage.facet import Dataset, RunFacet
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context

# The framework's deferral timeout sits a little past the triggers' own deadlines, as a backstop.
# It covers one status poll's own retries (timeouts and Retry-After waits), which can take minutes.
DEFERRAL_MARGIN = timedelta(minutes=15)


class BaseSeedanceGenerationOperator(BaseOperator):
    """The settings every generation of a Seedance operator shares.

    :param seedance_conn_id: the ``seedance`` connection (API key, base URL, gateway). Templated.
    :param output_conn_id: the connection for the output paths (e.g. an ``aws`` connection). Templated.
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
    :param skip_existing: when an output and its manifest already exist, return them without
        generating (and paying) again.
    :param poll_interval: seconds between status polls, more than 0 and at most 3600.
    :param generation_timeout: how long a generation may take, from submission (at most 72 h);
        then the remote task is cancelled where the gateway can, and the generation fails.
    :param cancel_on_kill: cancel the remote tasks when the Airflow task is cleared, marked or killed
        while waiting, where the gateway can cancel them in their current state. For a task waiting in
        the triggerer this needs Airflow 3.3 (``BaseTrigger.on_kill``); below it the generations keep
        running and their claims let the next run resume them.
    :param reseed_on_output_moderation: when the output (not the input) fails content moderation, which can
        happen at random on identical input, let the task's next retry submit it with another seed (at most
        ``MAX_RESEEDS`` times; needs ``retries``). The seed used is in the manifest. Off: such a failure is
        final (no retry submits it again).
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
    :param asset_alias: a shortcut for ``outlets=[AssetAlias(name)]``: one asset per stored video, named by
        its URI, attached to that alias. Default None. No asset event is emitted unless the task declares
        an outlet: an ``Asset`` outlet (such as the output prefix) gets the run's stored videos in its
        event's extra (``videos``), an ``AssetAlias`` outlet one asset per video (``observability/asset_events.py``).
    """

    ui_color = "#f2e6ff"
    # Request fields and result of each generation this task concluded, for its lineage (observability/lineage.py).
    _concluded: tuple[tuple[Mapping[str, Any], Mapping[str, Any]], ...] = ()

    def __init__(
        self,
        *,
        seedance_conn_id: str = SeedanceHook.default_conn_name,
        output_conn_id: str | None = None,
        media_conn_id: str | None = None,
        media_delivery: Sequence[str] | None = None,
        asset_registry_path: str | ObjectStoragePath | None = None,
        skip_existing: bool = True,
        poll_interval: float = 15.0,
        generation_timeout: timedelta = timedelta(hours=2),
        cancel_on_kill: bool = True,
        resubmit_lost_tasks: bool = False,
        max_cost: float | None = None,
        reseed_on_output_moderation: bool = False,
        on_unknown_submit: str = "fail",
        asset_alias: str | None = None,
        **kwargs: Any,
    ) -> None:
        if asset_alias:
            kwargs["outlets"] = [*(kwargs.get("outlets") or []), AssetAlias(asset_alias)]
        super().__init__(**kwargs)
        self.seedance_conn_id = seedance_conn_id
        self.output_conn_id = output_conn_id
        self.media_conn_id = media_conn_id
        try:
            self.media_delivery = parse_delivery_order(media_delivery)
        except ValueError as exc:
            raise ValueError(f"{self.task_id}: {exc}") from None
        self.asset_registry_path = asset_registry_path
        problem = parse_time_scheme_problem("asset_registry_path", asset_registry_path)
        if problem:
            raise ValueError(f"{self.task_id}: {problem}")
        self.skip_existing = skip_existing
        self.poll_interval = poll_interval
        self.generation_timeout = generation_timeout
        self.cancel_on_kill = cancel_on_kill
        self.resubmit_lost_tasks = resubmit_lost_tasks
        self.max_cost = max_cost
        self.reseed_on_output_moderation = reseed_on_output_moderation
        self.on_unknown_submit = on_unknown_submit
        self.asset_alias = asset_alias
        try:
            self.settings()
        except ValueError as exc:
            raise ValueError(f"{self.task_id}: {exc}") from None

    @cached_property
    def hook(self) -> SeedanceHook:
        return SeedanceHook(self.seedance_conn_id)

    def settings(self) -> GenerationSettings:
        """The shared settings as they stand (rendered, once the task runs)."""
        return GenerationSettings(
            seedance_conn_id=self.seedance_conn_id,
            output_conn_id=self.output_conn_id,
            media_conn_id=self.media_conn_id,
            media_delivery=self.media_delivery,
            asset_registry_path=self.asset_registry_path,
            skip_existing=self.skip_existing,
            poll_interval=self.poll_interval,
            generation_timeout=self.generation_timeout,
            resubmit_lost_tasks=self.resubmit_lost_tasks,
            max_cost=self.max_cost,
            reseed_on_output_moderation=self.reseed_on_output_moderation,
            on_unknown_submit=self.on_unknown_submit,
        )

    def generation(self, fields: Mapping[str, Any], output_path: str | ObjectStoragePath) -> Generation:
        """One generation of ``fields`` into ``output_path`` under this operator's settings and connection."""
        settings = self.settings()
        return Generation(fields=fields, output_path=output_path, settings=settings, hook=self.hook, log=self.log)

    def _check_connection(self) -> None:
        """Resolve the seedance connection; a configuration no retry can fix fails the task at once."""
        try:
            self.hook.connection  # noqa: B018 - resolving it is the check
        except ConnectionConfigError as exc:
            raise AirflowFailException(f"{exc}. Fix the connection, then clear the task.") from None

    def _conclude_task(
        self, context: Context, concluded: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]
    ) -> None:
        """The task's generations are concluded: announce the stored videos through the declared outlets,
        and keep (request fields, result) of each, since the lineage is read from this instance."""
        self._concluded = tuple((request_fields(fields), result) for fields, result in concluded)
        announce_videos(context, self.outlets, [result for _, result in concluded])

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage[Dataset, RunFacet]:
        """What this run read and stored, and its generations, for OpenLineage (called by its listener only,
        so the OpenLineage provider is imported only where it is installed and enabled)."""
        from airflow_provider_seedance.observability.lineage import operator_lineage

        return operator_lineage(self._concluded)
