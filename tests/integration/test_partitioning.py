"""Progress marks go to a partition, not a key: ``partition_of`` must agree with
where the broker puts a zone's keyed deltas, or marks would reach other zones."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from streams.runtime.partitioning import partition_of
from streams.settings import Settings
from tests.harness import create_topics

ZONES = [f"zone-{i:03d}" for i in range(40)] + ["facility", "lobby", "hall-ä"]


async def test_partition_of_is_where_keyed_records_land(namespace):
    create_topics(namespace)
    partitions = Settings().partitions
    producer = AIOKafkaProducer(bootstrap_servers=namespace.bootstrap, acks="all")
    await producer.start()
    try:
        landed = {}
        for zone in ZONES:
            meta = await producer.send_and_wait(
                namespace.topic("zone-deltas"), key=zone.encode(), value=b"{}"
            )
            landed[zone] = meta.partition
    finally:
        await producer.stop()
    assert len(set(landed.values())) == partitions  # the keys spread over every partition
    assert {z: partition_of(z.encode(), partitions) for z in ZONES} == landed
