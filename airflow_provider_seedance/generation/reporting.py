"""What every Airflow task that concludes generations tells Airflow about them, in one base class.

The generation operators and the sensor announce the videos they stored through the outlets the DAG
author declared (``observability.asset_events``) and report OpenLineage facets for them
(``observability.lineage``); both come from the same record of (request fields, result) per generation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_seedance.generation.request_fields import request_fields
from airflow_provider_seedance.observability.asset_events import announce_videos

if TYPE_CHECKING:
    from airflow.providers.common.compat.openlineage.facet import Dataset, RunFacet
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context

    from airflow_provider_seedance.observability.lineage import Concluded


class ReportsGenerations(BaseOperator):
    """A base of the operators and the sensor: ``report_concluded`` once the task's generations are concluded."""

    # What this task concluded, kept on the instance: Airflow reads the lineage from it after ``execute``.
    _concluded: tuple[Concluded, ...] = ()

    def report_concluded(self, context: Context, concluded: Sequence[Concluded]) -> None:
        """Announce the newly stored videos through the declared outlets, and keep them for the lineage."""
        self._concluded = tuple((request_fields(fields), result) for fields, result in concluded)
        announce_videos(context, self.outlets, [result for _, result in concluded])

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage[Dataset, RunFacet]:
        """What this run read and stored, and its generations, for OpenLineage (called by its listener only,
        so the OpenLineage provider is imported only where it is installed and enabled)."""
        from airflow_provider_seedance.observability.lineage import operator_lineage

        return operator_lineage(self._concluded)
