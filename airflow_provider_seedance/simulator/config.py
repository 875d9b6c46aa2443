"""Settings of a simulator run: timing on a scalable clock, accepted keys, and where media is cached."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from airflow_provider_seedance.simulator.faults import FaultPlan


class SimulatorConfig(BaseModel):
    """Every duration is in simulated seconds; ``time_scale`` turns them into real ones.

    With ``time_scale=0.01`` a generation that "takes" 10 s finishes in 0.1 s, so tests run in
    milliseconds while the simulated timestamps, progress and expiry stay proportionate.
    """

    model_config = ConfigDict(extra="forbid")

    time_scale: float = Field(default=1.0, gt=0)
    queue_seconds: float = Field(default=2.0, ge=0, description="time a task waits as queued")
    run_seconds: float = Field(default=8.0, ge=0, description="time a task runs before it finishes")
    url_ttl_seconds: float = Field(default=86400.0, gt=0, description="lifetime of result URLs (24 h)")
    execution_limit_seconds: float = Field(
        default=172800.0, gt=0, description="a task still queued after this long expires (Ark's default)"
    )
    api_keys: frozenset[str] | None = Field(
        default=None, description="keys accepted as Bearer tokens; None accepts any non-empty key"
    )
    input_fetch_timeout_seconds: float = Field(
        default=5.0, gt=0, description="real seconds a gateway waits for one media input before giving up"
    )
    fps: int = Field(default=24, ge=1, le=60)
    max_queued_tasks: int | None = Field(
        default=None, ge=1, description="Ark's cap on queued tasks per account (120 on BytePlus); None: no cap"
    )
    cache_dir: Path | None = Field(default=None, description="where rendered media is kept; a temp dir if None")
    faults: FaultPlan = Field(default_factory=FaultPlan)

    def real(self, simulated_seconds: float) -> float:
        """Real seconds for a span of simulated seconds."""
        return simulated_seconds * self.time_scale
