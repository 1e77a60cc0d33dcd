"""What the API process holds: configuration, database pool, live hub, producer."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel

from api.auth.http import Authenticator
from api.live import LiveHub
from schemas.config import PlantConfig
from streams.core.zones import ZoneGraph
from streams.settings import Settings

__all__ = ["ApiState"]


@dataclass
class ApiState:
    settings: Settings
    plant: PlantConfig
    pool: AsyncConnectionPool
    hub: LiveHub
    producer: AIOKafkaProducer
    #: Who may do what (API keys, OIDC); None only in tests that call resolvers directly.
    auth: Authenticator | None = None
    #: Zone containment and which cameras feed which zones, from ``plant``.
    graph: ZoneGraph = field(init=False)

    def __post_init__(self) -> None:
        self.graph = ZoneGraph(self.plant.zones, self.plant.lines)

    async def publish(self, topic: str, key: str, event: BaseModel) -> None:
        """Publish an event and wait for Kafka's acknowledgement."""
        await self.producer.send_and_wait(
            topic, key=key.encode(), value=event.model_dump_json().encode()
        )
