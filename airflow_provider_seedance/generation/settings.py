"""The settings every generation of a task shares, defined here once: names, defaults, checks and docs.

The operators take them as keyword arguments (templated where ``TEMPLATED_SETTINGS`` says), keep them as
attributes of the same names, and build a ``GenerationSettings`` from those once rendered; the sensor builds
one from the claim it waits for. Construction checks every value, so a DAG with a bad one fails while it is
parsed, with the field, the value and what is allowed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any

from airflow_provider_seedance.gateways.delivery import Delivery, parse_delivery_order

# Polling a generation less often than hourly only delays its result; more often than 0 s is a busy loop.
MAX_POLL_INTERVAL = 3600.0
# Ark expires a task that has not finished after at most 72 h (execution_expires_after); result URLs last 24 h.
MAX_GENERATION_TIMEOUT = timedelta(hours=72)
# What to do when a submit's answer is lost on a gateway whose task list cannot tell.
UNKNOWN_SUBMIT_CHOICES = ("fail", "resubmit")
# The settings Jinja renders (connection ids and the registry path may come from a template or a Variable).
TEMPLATED_SETTINGS = ("seedance_conn_id", "output_conn_id", "media_conn_id", "asset_registry_path")


def poll_interval_problem(value: float) -> str | None:
    """What is wrong with a ``poll_interval`` (seconds between status polls), or None."""
    if 0 < value <= MAX_POLL_INTERVAL:
        return None
    return (
        f"poll_interval={value!r}; allowed: more than 0 and at most {MAX_POLL_INTERVAL:g} seconds "
        "(15-30 s suits most generations)"
    )


@dataclass(frozen=True, kw_only=True)
class GenerationSettings:
    """The settings every generation of a Seedance operator shares.

    :param seedance_conn_id: the ``seedance`` connection (API key, base URL, gateway). Templated.
    :param output_conn_id: the connection for the output paths (an ``aws``, ``google_cloud_platform`` or
        ``wasb`` connection). Templated.
    :param media_conn_id: the connection that reads media inputs given as storage URIs (and signs
        their URLs); defaults to ``output_conn_id``. Templated.
    :param media_delivery: the ways a storage (or inline) input may reach the gateway, in the order to
        try them: ``presigned_url`` (a GET URL the input's store signs: S3, GCS or Azure; valid past the
        generation's deadline), ``upload`` (the gateway's upload endpoint: apimart images), ``asset`` (the
        gateway's asset library, audited once per content: JimmyAI SP models), ``inline`` (a base64
        ``data:`` URI where the gateway takes one and the body stays under its limit). Default: all four,
        in that order. Inputs are checked against the gateway's documented limits (format, size,
        dimensions, duration, frame rate) before anything is paid for.
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
    :param resubmit_lost_tasks: when a retry finds that the gateway no longer knows the task an
        earlier try submitted, submit again (False: fail instead, since it may have been paid for).
    :param max_cost: the most one generation may cost, in the currency of its price (the shipped BytePlus
        card is USD; a connection's ``extra.prices`` names its own). A generation estimated above it fails
        before it is submitted; with no price known for the model, it fails too. None: no limit.
    :param reseed_on_output_moderation: when the output (not the input) fails content moderation, which can
        happen at random on identical input, let the task's next retry submit it with another seed (at most
        ``MAX_RESEEDS`` times; needs ``retries``). The seed used is in the manifest. Off: such a failure is
        final (no retry submits it again).
    :param on_unknown_submit: what to do when a submit's answer is lost (a dropped connection, a 500, a
        worker killed mid-submit), on gateways whose task list cannot tell whether the task was created:
        ``"fail"`` (default: leave the reservation and say what to check) or ``"resubmit"`` (send it once more,
        at the risk of paying twice; the manifest's ``unknown_resubmits`` counts it). Ark needs neither: the
        operator looks the task up by model and seed, resumes it if it was created and submits once more if
        it provably was not.
    """

    seedance_conn_id: str = "seedance_default"
    output_conn_id: str | None = None
    media_conn_id: str | None = None
    media_delivery: Sequence[str] | None = None
    asset_registry_path: Any = None  # str | ObjectStoragePath | None (ObjectStoragePath is not a runtime type here)
    skip_existing: bool = True
    poll_interval: float = 15.0
    generation_timeout: timedelta = timedelta(hours=2)
    cancel_on_kill: bool = True
    resubmit_lost_tasks: bool = False
    max_cost: float | None = None
    reseed_on_output_moderation: bool = False
    on_unknown_submit: str = "fail"

    def __post_init__(self) -> None:
        parse_delivery_order(self.media_delivery)  # a name that is not a delivery fails here
        problem = poll_interval_problem(self.poll_interval)
        if problem:
            raise ValueError(problem)
        if not timedelta(0) < self.generation_timeout <= MAX_GENERATION_TIMEOUT:
            raise ValueError(
                f"generation_timeout={self.generation_timeout}; allowed: more than 0 and at most "
                f"{MAX_GENERATION_TIMEOUT} (gateways expire a task that has not run by then)"
            )
        if self.max_cost is not None and not self.max_cost > 0:
            raise ValueError(f"max_cost={self.max_cost!r}; allowed: more than 0, or None for no limit")
        if self.on_unknown_submit not in UNKNOWN_SUBMIT_CHOICES:
            raise ValueError(
                f"on_unknown_submit={self.on_unknown_submit!r}; allowed: {', '.join(UNKNOWN_SUBMIT_CHOICES)}"
            )

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(field.name for field in fields(cls))

    @classmethod
    def of(cls, holder: Any) -> GenerationSettings:
        """The settings as ``holder`` (an operator) has them as attributes of the same names."""
        return cls(**{name: getattr(holder, name) for name in cls.names()})

    @property
    def deliveries(self) -> tuple[Delivery, ...]:
        """``media_delivery`` as the ordered deliveries to try (the default order when none was given)."""
        return parse_delivery_order(self.media_delivery)

    @property
    def media_conn_id_or_output(self) -> str | None:
        """The connection that reads media inputs: ``media_conn_id``, else ``output_conn_id``."""
        return self.media_conn_id if self.media_conn_id is not None else self.output_conn_id


DEFAULTS = GenerationSettings()
