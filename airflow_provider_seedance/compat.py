"""Every difference between the Airflow releases we support (3.0 to 3.3), in one place.

The rest of the package imports version-dependent names from here and never checks a version
itself. Moved imports come from ``apache-airflow-providers-common-compat`` (the Amazon provider
installs it; the official providers use it for the same job); what it does not cover is written
here, and each item says from which release Airflow has it natively:

===============================  =======  ===============================================
difference                       native   what we do below it
===============================  =======  ===============================================
``airflow.sdk.BaseHook``         3.1      common-compat maps it to ``airflow.hooks.base``
``airflow.sdk.conf``,            3.2      common-compat maps them to ``airflow.configuration``
``AirflowFailException`` in SDK           and ``airflow.exceptions``
``determine_kwargs`` (TaskFlow   3.2      common-compat maps it to
functions' arguments) in SDK              ``airflow.utils.operator_helpers``
rendered fields rewritten        3.1      ``@task.seedance`` shows the request its function
after a try                               returned only from 3.1: 3.0 sends them after a failed
(``overwrite_rtif_after_                  try's state and its API refuses (404), which fails
execution``)                              the retry (measured on 3.0.6)
``Stats`` in the SDK             3.2      common-compat maps it to ``airflow.stats`` (which
                                          3.3 deprecates)
async connection lookup          3.3.2    common-compat (>= 1.23) reads the connection in a
(``aget_connection`` +                    worker thread, where blocking on the supervisor is
``Connection.aextra_dejson``)             safe, instead of masking secrets synchronously
``BaseTrigger.on_kill``          3.3      not called: clearing a deferred task leaves the
                                          remote generation running (docs: limitations)
declarative ``conn-fields``      3.2      the hook's ``get_connection_form_widgets`` /
                                          ``get_ui_field_behaviour``, built in
                                          ``hooks/connection_form.py``
``ObjectStoragePath.conn_id``    3.2      read from ``storage_options`` (``storage_conn_id``)
``task_state_store``             3.3      not used on any release: claims (``outputs/claims.py``)
                                          resume a submitted generation everywhere
===============================  =======  ===============================================
"""

from __future__ import annotations

from airflow.providers.common.compat.connection import get_async_connection, get_async_extra_dejson
from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowNotFoundException,
    AirflowSkipException,
    BaseHook,
    DecoratedOperator,
    Stats,
    TaskDecorator,
    conf,
    context_merge,
    determine_kwargs,
    task_decorator_factory,
)
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_1_PLUS
from airflow.sdk import ObjectStoragePath
from airflow.triggers.base import BaseTrigger

__all__ = [
    "OVERWRITE_RENDERED_FIELDS_AFTER_A_TRY",
    "TRIGGER_ON_KILL_SUPPORTED",
    "AirflowException",
    "AirflowFailException",
    "AirflowNotFoundException",
    "AirflowSkipException",
    "BaseHook",
    "DecoratedOperator",
    "Stats",
    "TaskDecorator",
    "conf",
    "context_merge",
    "determine_kwargs",
    "get_async_connection",
    "get_async_extra_dejson",
    "storage_conn_id",
    "task_decorator_factory",
]

# Whether a task may rewrite its rendered fields once it ran (see the table).
OVERWRITE_RENDERED_FIELDS_AFTER_A_TRY: bool = AIRFLOW_V_3_1_PLUS

# Airflow calls ``BaseTrigger.on_kill`` when a deferred task is cleared or marked, from 3.3 on.
TRIGGER_ON_KILL_SUPPORTED: bool = hasattr(BaseTrigger, "on_kill")


def storage_conn_id(path: ObjectStoragePath) -> str | None:
    """The connection an ``ObjectStoragePath`` reads and writes through (a property from 3.2 on)."""
    conn_id = getattr(path, "conn_id", None)  # 3.0/3.1: universal-pathlib raises AttributeError -> None
    return conn_id if conn_id is not None else path.storage_options.get("conn_id")
