"""The base of both generation operators (one generation, or a batch of them): the shared settings.

The settings themselves (names, defaults, checks, docs) are ``generation.settings.GenerationSettings``;
this class takes them as keyword arguments, because Airflow fills an operator's arguments from
``default_args`` by its signature, keeps them as attributes (some are templated), checks them while the
DAG is parsed, and builds the ``Generation`` for an output once the task's fields are rendered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import AssetAlias, ObjectStoragePath, XComArg

from airflow_provider_seedance.compat import AirflowFailException
from airflow_provider_seedance.exceptions import ConnectionConfigError
from airflow_provider_seedance.generation.lifecycle import Generation
from airflow_provider_seedance.generation.reporting import ReportsGenerations
from airflow_provider_seedance.generation.request_fields import is_template, parse_time_scheme_problem
from airflow_provider_seedance.generation.settings import DEFAULTS, GenerationSettings
from airflow_provider_seedance.hooks.seedance import SeedanceHook

if TYPE_CHECKING:
    from airflow.sdk.definitions.mappedoperator import OperatorPartial


def _known_while_parsed(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments the DAG file gives as values: not templates, nor XComArgs resolved when the task runs."""
    return {
        name: value for name, value in arguments.items() if not is_template(value) and not isinstance(value, XComArg)
    }


class BaseSeedanceGenerationOperator(ReportsGenerations):
    """The settings every generation of a Seedance operator shares: see ``GenerationSettings`` for each one.

    :param asset_alias: a shortcut for ``outlets=[AssetAlias(name)]``: one asset per stored video, named by
        its URI, attached to that alias. Default None. No asset event is emitted unless the task declares
        an outlet: an ``Asset`` outlet (such as the output prefix) gets the run's stored videos in its
        event's extra (``videos``), an ``AssetAlias`` outlet one asset per video.
    """

    ui_color = "#f2e6ff"
    # Whether a generation may go on to the next connection of its connection's failover chain (the batch
    # operator's trigger polls one connection, so its items stay on it).
    fails_over: ClassVar[bool] = True

    def __init__(
        self,
        *,
        seedance_conn_id: str = DEFAULTS.seedance_conn_id,
        output_conn_id: str | None = DEFAULTS.output_conn_id,
        media_conn_id: str | None = DEFAULTS.media_conn_id,
        media_delivery: Sequence[str] | None = DEFAULTS.media_delivery,
        asset_registry_path: str | ObjectStoragePath | None = DEFAULTS.asset_registry_path,
        skip_existing: bool = DEFAULTS.skip_existing,
        poll_interval: float = DEFAULTS.poll_interval,
        generation_timeout: timedelta = DEFAULTS.generation_timeout,
        cancel_on_kill: bool = DEFAULTS.cancel_on_kill,
        resubmit_lost_tasks: bool = DEFAULTS.resubmit_lost_tasks,
        max_cost: float | None = DEFAULTS.max_cost,
        reseed_on_output_moderation: bool = DEFAULTS.reseed_on_output_moderation,
        on_unknown_submit: str = DEFAULTS.on_unknown_submit,
        asset_alias: str | None = None,
        **kwargs: Any,
    ) -> None:
        if asset_alias:
            kwargs["outlets"] = [*(kwargs.get("outlets") or []), AssetAlias(asset_alias)]
        super().__init__(**kwargs)
        given = locals()
        for name in GenerationSettings.names():
            setattr(self, name, given[name])
        self.asset_alias = asset_alias
        try:
            self.check_settings(_known_while_parsed({name: given[name] for name in GenerationSettings.names()}))
        except ValueError as exc:
            raise ValueError(f"{self.task_id}: {exc}") from None

    @classmethod
    def partial(cls, **kwargs: Any) -> OperatorPartial:
        """Airflow builds a mapped task's operator only when each of its task instances runs, so the arguments
        given here are checked now, as ``__init__`` checks an unmapped task's (templated ones wait)."""
        try:
            cls.check_arguments(_known_while_parsed(kwargs))
        except ValueError as exc:
            raise ValueError(f"{kwargs.get('task_id')}: {exc}") from None
        return super().partial(**kwargs)

    @classmethod
    def check_arguments(cls, arguments: Mapping[str, Any]) -> None:
        """Raise ValueError for an argument no run can use; ``arguments`` holds the values known while the DAG
        is parsed. Operators add their own checks to the settings'."""
        cls.check_settings(arguments)

    @staticmethod
    def check_settings(arguments: Mapping[str, Any]) -> None:
        """The shared settings among ``arguments`` (``GenerationSettings`` checks each) and the registry path."""
        GenerationSettings(**{name: arguments[name] for name in GenerationSettings.names() if name in arguments})
        problem = parse_time_scheme_problem("asset_registry_path", arguments.get("asset_registry_path"))
        if problem:
            raise ValueError(problem)

    @cached_property
    def hook(self) -> SeedanceHook:
        return SeedanceHook(self.settings().seedance_conn_id)

    def settings(self) -> GenerationSettings:
        """The shared settings as they stand (rendered, once the task runs)."""
        return GenerationSettings.of(self)

    def generation(self, fields: Mapping[str, Any], output_path: str | ObjectStoragePath) -> Generation:
        """One generation of ``fields`` into ``output_path`` under this operator's settings and connection."""
        return Generation(
            fields=fields,
            output_path=output_path,
            settings=self.settings(),
            hook=self.hook,
            log=self.log,
            failover=self.fails_over,
        )

    def _check_connection(self) -> None:
        """Resolve the seedance connection; a configuration no retry can fix fails the task at once (the failover
        chain's are resolved before a submit, so a broken fallback never keeps a paid task from resuming)."""
        try:
            self.hook.connection  # noqa: B018 - resolving it is the check
        except ConnectionConfigError as exc:
            raise AirflowFailException(f"{exc}. Fix the connection, then clear the task.") from None
