"""What the API process holds: configuration, database pool, live hub, producer."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel

from api.live import LiveHub
from schemas.config import PlantConfig
from streams.settings import Settings

__all__ = ["ApiState"]


@dataclass
class ApiState:
    settings: Settings
    plant: PlantConfig
    pool: AsyncConnectionPool
    hub: LiveHub
    producer: AIOKafkaProducer

    async def publish(self, topic: str, key: str, event: BaseModel) -> None:
        """Publish an event and wait for Kafka's acknowledgement."""
        await self.producer.send_and_wait(
            topic, key=key.encode(), value=event.model_dump_json().encode()
        )
