"""Access control on a real API process: keys, roles, subscriptions, Origin, audit.

No worker runs: what a refused call would have published is read back from
Kafka's ``commands.v1``, which must hold only the allowed calibration.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from api.limits import MAX_BODY_BYTES, MAX_SUBSCRIPTIONS
from tests.harness import Namespace, Process, create_topics, read_topic
from tests.harness import api as start_api

pytestmark = pytest.mark.integration

CALIBRATE = 'mutation { calibrateZone(zoneId: "lobby", occupancy: 4, reason: "count") { by } }'
CREATE_KEY = 'mutation { createApiKey(name: "grafana", role: VIEWER) { key info { keyId } } }'


async def gql(client: httpx.AsyncClient, query: str, role: str | None, ns: Namespace) -> dict:
    headers = ns.headers(role) if role else {}
    response = await client.post("/graphql", json={"query": query}, headers=headers)
    return {"status": response.status_code, **response.json()}


def code(body: dict) -> str:
    return body["errors"][0]["extensions"]["code"]


async def connection_init(url: str, payload: dict | None) -> str:
    """What the server answers to connection_init: ``connection_ack`` or the close code."""
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        message: dict = {"type": "connection_init"}
        if payload is not None:
            message["payload"] = payload
        await ws.send(json.dumps(message))
        try:
            return json.loads(await asyncio.wait_for(ws.recv(), 10))["type"]
        except ConnectionClosed as e:
            return f"closed {e.rcvd.code if e.rcvd else None}"


async def test_roles_keys_subscriptions_and_origin_on_the_real_api(
    namespace: Namespace, processes: list[Process], tmp_path: Path
) -> None:
    await asyncio.to_thread(create_topics, namespace)
    api, port = start_api(namespace, tmp_path)
    processes.append(api)
    api.wait_for_log("Application startup complete", timeout=60)
    base = f"http://127.0.0.1:{port}"

    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        # Anonymous: only the health check and the dashboard's files.
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/")).status_code == 200
        ide = await client.get("/graphql", headers={"accept": "text/html"})
        assert ide.status_code == 200 and "<html" in ide.text.lower()
        anonymous = await gql(client, "{ zones { id } }", None, namespace)
        assert anonymous["status"] == 401 and code(anonymous) == "UNAUTHENTICATED"
        wrong = await client.post(
            "/graphql",
            json={"query": "{ zones { id } }"},
            headers={"authorization": "Bearer occ_000000000000_" + "x" * 43},
        )
        assert wrong.status_code == 401
        for path in (
            "/metrics",
            "/export/history.csv?zone=lobby",
            "/cameras/cam-north/snapshot.jpg",
        ):
            assert (await client.get(path)).status_code == 401, path
        assert (
            await client.get("/metrics", headers=namespace.headers("viewer"))
        ).status_code == 200

        # A viewer reads but cannot correct or configure.
        viewer = await gql(client, "{ zones { id } me { name role } }", "viewer", namespace)
        assert viewer["data"]["me"] == {"name": "key:test-viewer", "role": "VIEWER"}
        for query in (
            CALIBRATE,
            'mutation { resolveAlert(alertId: "00000000-0000-0000-0000-000000000000", '
            'reason: "x") { alertId } }',
            'mutation { requestSnapshot(cameraId: "cam-north") { id } }',
            CREATE_KEY,
        ):
            refused = await gql(client, query, "viewer", namespace)
            # A refused mutation field is null; its siblings would keep their results.
            assert not any(refused["data"].values()) and code(refused) == "FORBIDDEN", refused
        # An operator corrects but cannot configure; the audit names its key.
        done = await gql(client, CALIBRATE, "operator", namespace)
        assert done["data"]["calibrateZone"]["by"] == "key:test-operator"
        refused = await gql(client, CREATE_KEY, "operator", namespace)
        assert (
            code(refused) == "FORBIDDEN"
            and "needs the admin role" in refused["errors"][0]["message"]
        )
        refused = await gql(client, "{ apiKeys { keyId } }", "operator", namespace)
        assert code(refused) == "FORBIDDEN"

        # An admin makes a key; it works at once and stops at once when revoked.
        made = (await gql(client, CREATE_KEY, "admin", namespace))["data"]["createApiKey"]
        new = {"authorization": f"Bearer {made['key']}"}
        me = await client.post("/graphql", json={"query": "{ me { name role } }"}, headers=new)
        assert me.json()["data"]["me"] == {"name": "key:grafana", "role": "VIEWER"}
        listed = await gql(client, "{ apiKeys { keyId name role createdBy } }", "admin", namespace)
        assert {
            "keyId": made["info"]["keyId"],
            "name": "grafana",
            "role": "VIEWER",
            "createdBy": "key:test-admin",
        } in listed["data"]["apiKeys"]
        revoke = f'mutation {{ revokeApiKey(keyId: "{made["info"]["keyId"]}") {{ revokedBy }} }}'
        revoked = await gql(client, revoke, "admin", namespace)
        assert revoked["data"]["revokeApiKey"]["revokedBy"] == "key:test-admin"
        again = await client.post("/graphql", json={"query": "{ me { name } }"}, headers=new)
        assert again.status_code == 401
        bad = await gql(
            client, 'mutation { revokeApiKey(keyId: "nope") { keyId } }', "admin", namespace
        )
        assert code(bad) == "BAD_USER_INPUT"

        # Another site in the same browser cannot use a stored key.
        evil = await client.post(
            "/graphql",
            json={"query": "{ zones { id } }"},
            headers={**namespace.headers("admin"), "origin": "http://evil.example"},
        )
        assert (
            evil.status_code == 403
            and evil.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        )
        own = await client.post(
            "/graphql",
            json={"query": "{ zones { id } }"},
            headers={**namespace.headers("viewer"), "origin": base},
        )
        assert own.status_code == 200

    # Subscriptions: refused at connection_init without a valid key.
    url = f"ws://127.0.0.1:{port}/graphql"
    assert await connection_init(url, None) == "closed 4403"
    assert await connection_init(url, {"Authorization": "Bearer nonsense"}) == "closed 4403"
    assert await connection_init(url, namespace.connection_init("viewer")["payload"]) == (  # type: ignore[arg-type]
        "connection_ack"
    )

    # Limits: one connection holds at most MAX_SUBSCRIPTIONS; a huge body is not read.
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps(namespace.connection_init("viewer")))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        query = "subscription { alerts { alertId } }"
        for i in range(MAX_SUBSCRIPTIONS + 1):
            message = {"id": str(i), "type": "subscribe", "payload": {"query": query}}
            await ws.send(json.dumps(message))
        answer = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert answer["id"] == str(MAX_SUBSCRIPTIONS) and answer["type"] in ("error", "next")
        errors = answer["payload"] if answer["type"] == "error" else answer["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS", answer
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        huge = {"query": "{ me { name } }", "variables": {"x": "y" * (MAX_BODY_BYTES + 1)}}
        response = await client.post("/graphql", json=huge, headers=namespace.headers("viewer"))
        assert response.status_code == 413

    # Of all the calibrations tried, only the operator's was published.
    published = [
        c for c in await read_topic(namespace, "commands") if c["type"] == "OccupancyCalibrated"
    ]
    assert [(c["zone_id"], c["occupancy"], c["by"]) for c in published] == [
        ("lobby", 4, "key:test-operator")
    ]
