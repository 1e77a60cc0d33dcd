"""Settings of every process, from environment variables (prefix ``OCC_``).

``KAFKA_BOOTSTRAP_SERVERS`` and ``OCC_DATABASE_URL`` point the project at an
existing broker and database; the defaults are the project-local services that
``deploy/`` starts.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OCC_", frozen=True, extra="ignore")

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:19092",
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "OCC_KAFKA_BOOTSTRAP_SERVERS"),
    )
    database_url: str = "postgresql://occupancy@127.0.0.1:15432/occupancy"
    #: Prepended to every topic name; tests use it to get fresh topics.
    topic_prefix: str = ""
    #: Faust application id (consumer group and changelog topic prefix).
    app_id: str = "occupancy"
    plant_config: str = "config/demo-plant.toml"
    partitions: int = Field(default=4, ge=1)
    #: Retention of detections.v1: the horizon of recounts by replay.
    detections_retention_hours: int = Field(default=24 * 14, ge=1)
    #: Event-time seconds after which an unseen track is forgotten.
    track_ttl_s: float = Field(default=10.0, gt=0)
    #: Kafka group session timeout: how long a crashed worker's partitions stay
    #: assigned to it before the group moves them on.
    session_timeout_s: float = Field(default=30.0, ge=6.0)
    #: Event-time seconds frames may arrive behind the newest one (watermark lag).
    allowed_lateness_s: float = Field(default=5.0, ge=0)
    #: Wall-clock seconds without any frame after which the watermark follows
    #: the wall clock (so "camera offline" fires even when every camera is silent).
    idle_after_s: float = Field(default=30.0, gt=0)
    #: Wall-clock seconds a camera may make no progress before the zones it
    #: feeds stop waiting for it (its later inputs are then folded late).
    settle_stall_s: float = Field(default=30.0, gt=0)
    #: Wall-clock seconds between progress marks (one record per partition of
    #: zone-deltas.v1 and worker) when no deltas were sent: how long a change
    #: may wait for the marks of cameras that had no crossings.
    progress_interval_s: float = Field(default=0.05, gt=0)
    #: History storage path of a new database: ``auto`` (TimescaleDB when it
    #: is usable), ``plain`` or ``timescaledb`` (see :mod:`schemas.migrate`).
    history_backend: str = "auto"
    #: Days TimescaleDB keeps raw crossings and occupancy samples (at least 8).
    raw_retention_days: int = 30
    #: Producer linger (ms): how long the worker's producer waits to fill a batch.
    producer_linger_ms: float = Field(default=2.0, ge=0)
    #: Seconds one offset commit, or one agent's batch, may stay in hand before
    #: the worker restarts (see :mod:`streams.runtime.watchdog`).
    commit_stall_s: float = Field(default=90.0, gt=0)
    sink_batch_size: int = Field(default=2000, ge=1)
    sink_batch_seconds: float = Field(default=0.25, gt=0)
    #: Alert notifications (optional): a webhook URL and/or an SMTP relay.
    alert_webhook_url: str = ""
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "occupancy@localhost"
    #: Comma-separated recipients.
    smtp_to: str = ""
    notify_retries: int = Field(default=5, ge=1)
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    #: Browser origins besides the API's own that may call it (comma-separated,
    #: e.g. ``https://ops.plant.example``).
    api_allowed_origins: str = ""
    #: Serve the API's /metrics without authentication (for a Prometheus that
    #: cannot send a bearer token).
    api_metrics_public: bool = False
    #: OIDC bearer tokens: all three set, or off. The role comes from
    #: ``oidc_role_claim`` (viewer, operator or admin).
    oidc_issuer: str = ""
    oidc_audience: str = ""
    oidc_jwks_url: str = ""
    oidc_role_claim: str = "roles"
    worker_web_port: int = 6066
    #: The worker's Prometheus exporter (``/metrics``); 0 turns it off. Each
    #: worker on one host needs its own port.
    worker_metrics_port: int = Field(default=9102, ge=0, le=65535)
    #: Address it listens on: ``0.0.0.0`` for a Prometheus on another host.
    worker_metrics_host: str = "127.0.0.1"

    def topic(self, name: str) -> str:
        """Full versioned topic name, e.g. ``detections`` -> ``detections.v1``."""
        return f"{self.topic_prefix}{name}.v1"
