"""aiokafka's metadata task, against the real broker (streams.aiokafka_metadata).

When that task ends, every later metadata refresh waits for good; aiokafka's
group coordinator waits on one after a failed coordinator lookup, so a
consumer's heartbeat and commits hang with it (the wedged worker of the
broker-kill fault test). The first test shows the hang with aiokafka's own
task, the second that the patched one carries on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import pytest
from aiokafka.client import AIOKafkaClient

from streams import aiokafka_metadata


def fail_once(client: AIOKafkaClient, error: BaseException) -> list[int]:
    """The client's next metadata update raises ``error``; later ones work."""
    real = client._metadata_update
    calls: list[int] = []

    async def update(*args: Any) -> bool:
        calls.append(1)
        if len(calls) == 1:
            raise error
        return await real(*args)

    client._metadata_update = update  # type: ignore[method-assign]
    return calls


async def started(bootstrap: str, synchronizer: Any = None) -> AIOKafkaClient:
    client = AIOKafkaClient(bootstrap_servers=bootstrap, retry_backoff_ms=50)
    await client.bootstrap()
    if synchronizer is not None:  # swap the running task for another implementation
        client._sync_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await client._sync_task
        client._sync_task = asyncio.ensure_future(synchronizer(client))
    return client


async def test_unpatched_task_dies_and_every_refresh_after_it_hangs(namespace):
    client = await started(namespace.bootstrap, aiokafka_metadata.original())
    try:
        fail_once(client, RuntimeError("boom"))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.force_metadata_update(), 5)
        assert client._sync_task.done() and isinstance(client._sync_task.exception(), RuntimeError)
        with pytest.raises(TimeoutError):  # for good
            await asyncio.wait_for(client.force_metadata_update(), 5)
    finally:
        with contextlib.suppress(RuntimeError):  # close() re-raises the dead task's error
            await client.close()


@pytest.mark.parametrize(
    "error", [RuntimeError("boom"), asyncio.CancelledError()], ids=["exception", "cancelled"]
)
async def test_patched_task_logs_and_carries_on(namespace, caplog, error):
    aiokafka_metadata.install()
    assert aiokafka_metadata.installed()
    client = await started(namespace.bootstrap)
    try:
        calls = fail_once(client, error)
        with caplog.at_level(logging.ERROR, logger="streams.aiokafka_metadata"):
            # the refresh that was waiting when the task failed: "not updated"
            assert await asyncio.wait_for(client.force_metadata_update(), 10) is False
        assert "aiokafka's metadata task" in caplog.text
        assert await asyncio.wait_for(client.force_metadata_update(), 10) is True
        task = client._sync_task
        assert len(calls) >= 2 and not task.done()
    finally:
        await client.close()
    assert task.cancelled()  # close() still stops it
